"""The write path: idempotent, deletes win, authors and handles, near-duplicates."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.items import AuthorUpdate, DeleteItem, InteractionItem
from hubbub.posts.actions import (
    defers_fingerprint_keys,
    fingerprint_merge_rows,
    merge_fingerprint_tail,
    store_items,
)
from hubbub.posts.models import (
    Author,
    AuthorHandle,
    Interaction,
    Post,
    PostFingerprint,
    PostFingerprintTail,
)
from hubbub.store.engine import transaction
from tests.support.factories import BASE_TIME, example_author, example_post


def _store(engine: Engine, workspace_id: int, items: list, network: str = "bluesky"):  # type: ignore[no-untyped-def]
    with transaction(engine) as session:
        return store_items(session, workspace_id, network, items, received_at=utcnow())


def _count(engine: Engine, model: type, *where) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_same_batch_twice_stores_once(engine: Engine, workspace_id: int) -> None:
    items = [example_post(n) for n in range(50)]
    first = _store(engine, workspace_id, items)
    second = _store(engine, workspace_id, items)
    assert (first.stored, first.duplicates) == (50, 0)
    assert (second.stored, second.duplicates) == (0, 50)
    assert _count(engine, Post) == 50
    assert _count(engine, Author) == 1


def test_fields_round_trip_with_utc_times(engine: Engine, workspace_id: int) -> None:
    post = example_post(
        1,
        reply_to="at://x/app.bsky.feed.post/1",
        thread_root="at://x/r",
        mentions=("did:plc:bruno0000000000000000000",),
        hashtags=("acme",),
        links=("https://acme.example/skates",),
        media=("image",),
        likes=3,
    )
    _store(engine, workspace_id, [post])
    with Session(engine) as session:
        stored = session.scalars(select(Post)).one()
    assert stored.created_at == post.created_at
    assert stored.created_at.tzinfo is not None
    assert (stored.reply_to, stored.thread_root) == (post.reply_to, post.thread_root)
    assert stored.mentions == list(post.mentions)
    assert stored.hashtags == ["acme"] and stored.media == ["image"] and stored.likes == 3
    assert stored.lang == "en"


def test_workspaces_are_separate(engine: Engine, workspace_id: int) -> None:
    from hubbub.workspaces.actions import ensure_workspace

    with transaction(engine) as session:
        other = ensure_workspace(session, "globex").id
    _store(engine, workspace_id, [example_post(1)])
    result = _store(engine, other, [example_post(1)])
    assert result.stored == 1
    assert _count(engine, Post, Post.workspace_id == other) == 1
    assert _count(engine, Post, Post.workspace_id == workspace_id) == 1


def test_delete_clears_text_and_wins_over_replay(engine: Engine, workspace_id: int) -> None:
    post = example_post(7)
    _store(engine, workspace_id, [post])
    _store(engine, workspace_id, [DeleteItem(native_id=post.native_id, at=BASE_TIME)])
    _store(engine, workspace_id, [post])  # a replay after the delete must not resurrect it
    with Session(engine) as session:
        stored = session.scalars(select(Post)).one()
    assert stored.deleted and stored.text == "" and stored.raw == ""


def test_delete_before_create_keeps_it_deleted(engine: Engine, workspace_id: int) -> None:
    post = example_post(8)
    _store(engine, workspace_id, [DeleteItem(native_id=post.native_id, at=BASE_TIME)])
    result = _store(engine, workspace_id, [post])
    assert result.stored == 0
    assert _count(engine, Post) == 0


def test_edit_updates_text_once(engine: Engine, workspace_id: int) -> None:
    _store(engine, workspace_id, [example_post(2)])
    edit = example_post(2, text="Edited: the skates are back", edited=True)
    assert _store(engine, workspace_id, [edit]).updated == 1
    assert _store(engine, workspace_id, [edit]).updated == 0  # replay of the edit changes nothing
    with Session(engine) as session:
        stored = session.scalars(select(Post)).one()
    assert stored.text == "Edited: the skates are back" and stored.edited_at is not None


def test_counts_update_when_they_change(engine: Engine, workspace_id: int) -> None:
    _store(engine, workspace_id, [example_post(3, likes=1)])
    assert _store(engine, workspace_id, [example_post(3, likes=1)]).updated == 0
    assert _store(engine, workspace_id, [example_post(3, likes=9, replies=2)]).updated == 1
    with Session(engine) as session:
        stored = session.scalars(select(Post)).one()
    assert (stored.likes, stored.replies) == (9, 2)


def test_an_older_capture_never_winds_counts_back(engine: Engine, workspace_id: int) -> None:
    """A live capture then last week's export of the same post: each count keeps its highest
    figure, whatever order the captures arrive in, and a capture without a count leaves it."""
    _store(engine, workspace_id, [example_post(4, likes=9, reshares=1, replies=None)])
    older = example_post(4, likes=2, reshares=3, replies=5)
    assert _store(engine, workspace_id, [older]).updated == 1  # reshares and replies grew
    assert _store(engine, workspace_id, [older]).updated == 0
    assert _store(engine, workspace_id, [example_post(4, likes=1, reshares=0)]).updated == 0
    with Session(engine) as session:
        stored = session.scalars(select(Post)).one()
    assert (stored.likes, stored.reshares, stored.replies) == (9, 3, 5)


def test_handle_history_and_identity_updates(engine: Engine, workspace_id: int) -> None:
    _store(engine, workspace_id, [example_post(1)])
    renamed = example_author("amira", handle="amira.dev")
    _store(engine, workspace_id, [AuthorUpdate(author=renamed, at=BASE_TIME)])
    _store(engine, workspace_id, [AuthorUpdate(author=renamed, at=BASE_TIME, active=False)])
    with Session(engine) as session:
        author = session.scalars(select(Author)).one()
        handles = set(session.scalars(select(AuthorHandle.handle)))
    assert author.handle == "amira.dev" and author.active is False
    assert handles == {"amira.bsky.social", "amira.dev"}


def test_interactions_are_idempotent_and_deletable(engine: Engine, workspace_id: int) -> None:
    like = InteractionItem(
        native_id="at://did:plc:bruno/app.bsky.feed.like/1",
        kind="like",
        actor=example_author("bruno"),
        created_at=BASE_TIME,
        target_post=example_post(1).native_id,
    )
    assert _store(engine, workspace_id, [like]).interactions == 1
    again = _store(engine, workspace_id, [like])
    assert (again.interactions, again.interaction_duplicates) == (0, 1)
    gone = DeleteItem(native_id=like.native_id, at=BASE_TIME)
    assert _store(engine, workspace_id, [gone]).deletes == 1
    assert _count(engine, Interaction, Interaction.deleted.is_(True)) == 1
    # The deletion again, and the like after it: nothing new, each counted once.
    replayed = _store(engine, workspace_id, [gone, like])
    assert (replayed.delete_duplicates, replayed.already_deleted) == (1, 1)
    assert replayed.outcomes() == (0, 2, 0)


def test_every_item_has_one_outcome(engine: Engine, workspace_id: int) -> None:
    """An updated post is not also a duplicate; a profile update that changes nothing is."""
    renamed = AuthorUpdate(author=example_author("amira", handle="amira.dev"), at=BASE_TIME)
    assert _store(engine, workspace_id, [example_post(5, likes=1), renamed]).outcomes() == (1, 0, 1)
    grown = example_post(5, likes=4)
    assert _store(engine, workspace_id, [grown, example_post(6), renamed]).outcomes() == (1, 1, 1)


def test_cross_network_copy_is_linked_not_counted_twice(engine: Engine, workspace_id: int) -> None:
    text = "Acme launches rocket skates today! https://acme.example/a"
    _store(engine, workspace_id, [example_post(1, text=text)])
    cross = example_post(
        2,
        author="chen",
        text="ACME launches rocket skates today!! https://t.co/x",
        native_id="https://mastodon.example/@chen/1",
    )
    result = _store(engine, workspace_id, [cross], network="mastodon")
    assert result.near_duplicates == 1
    with Session(engine) as session:
        first = session.scalar(select(Post.id).where(Post.network == "bluesky"))
        copy = session.scalars(select(Post).where(Post.network == "mastodon")).one()
    assert copy.near_dup_of == first


def test_same_words_by_different_people_on_one_network_are_separate(
    engine: Engine, workspace_id: int
) -> None:
    text = "Happy launch day to everyone at Acme, great work"
    result = _store(
        engine,
        workspace_id,
        [example_post(1, text=text), example_post(2, author="bruno", text=text)],
    )
    assert result.near_duplicates == 0


def test_same_author_repeat_in_one_batch_is_linked(engine: Engine, workspace_id: int) -> None:
    text = "Syndicated: Acme rocket skates review, part one"
    result = _store(engine, workspace_id, [example_post(1, text=text), example_post(2, text=text)])
    assert result.near_duplicates == 1


def test_cross_network_copy_far_apart_is_not_linked(engine: Engine, workspace_id: int) -> None:
    text = "Acme launches rocket skates today, read all about it"
    _store(engine, workspace_id, [example_post(1, text=text)])
    late = example_post(
        2, author="chen", text=text, native_id="m:1", created_at=BASE_TIME + timedelta(days=30)
    )
    assert _store(engine, workspace_id, [late], network="mastodon").near_duplicates == 0


def test_same_author_repeat_is_linked_even_after_someone_else_said_it(
    engine: Engine, workspace_id: int
) -> None:
    text = "Has anyone contacted support about the battery yet?"
    other = example_post(1, author="bruno", text=text)
    first = example_post(2, text=text)
    repeat = example_post(3, text=text)
    result = _store(engine, workspace_id, [other, first, repeat])
    assert result.near_duplicates == 1
    with Session(engine) as session:
        ids = dict(session.execute(select(Post.native_id, Post.id)).all())
        links = dict(session.execute(select(Post.native_id, Post.near_dup_of)).all())
    assert links[repeat.native_id] == ids[first.native_id]
    assert links[first.native_id] is None
    assert links[other.native_id] is None


def test_the_tail_grows_with_the_store_from_ten_thousand_rows() -> None:
    # A merge rewrites up to the whole key table: in a big store it waits for more rows.
    assert fingerprint_merge_rows(0) == fingerprint_merge_rows(100_000) == 10_000
    assert fingerprint_merge_rows(1_000_000) == 31_622
    assert fingerprint_merge_rows(10_000_000) == 100_000


def _merge_tail(engine: Engine) -> int:
    with transaction(engine) as session:
        return merge_fingerprint_tail(session.connection(), min_rows=1)


def _copy_on_mastodon(n: int, text: str):  # type: ignore[no-untyped-def]
    return example_post(n, author="chen", text=text, native_id=f"https://mastodon.example/{n}")


def test_copies_are_linked_whether_the_first_post_is_in_the_tail_or_merged(
    engine: Engine, workspace_id: int
) -> None:
    merged_text = "Acme rocket skates are back in stock at every store"
    tail_text = "Acme rocket skates get a firmware update next week"
    deferred = defers_fingerprint_keys(engine.dialect)
    _store(engine, workspace_id, [example_post(1, text=merged_text)])
    assert _merge_tail(engine) == (1 if deferred else 0)  # PostgreSQL stores keys at once
    _store(engine, workspace_id, [example_post(2, text=tail_text)])
    assert _count(engine, PostFingerprint) == (1 if deferred else 2)
    assert _count(engine, PostFingerprintTail) == (1 if deferred else 0)
    copies = [_copy_on_mastodon(3, merged_text), _copy_on_mastodon(4, tail_text)]
    assert _store(engine, workspace_id, copies, network="mastodon").near_duplicates == 2
    assert _merge_tail(engine) == (3 if deferred else 0)  # the second post and both copies
    assert _count(engine, PostFingerprint) == 4
    assert _count(engine, PostFingerprintTail) == 0


def test_a_merged_post_is_found_by_its_edited_text_only(engine: Engine, workspace_id: int) -> None:
    before, after = "Acme skates: first impressions", "Acme skates: a week of commuting on them"
    _store(engine, workspace_id, [example_post(1, text=before)])
    _merge_tail(engine)
    _store(engine, workspace_id, [example_post(1, text=after, edited=True)])
    stale = _store(engine, workspace_id, [_copy_on_mastodon(2, before)], network="mastodon")
    assert stale.near_duplicates == 0
    _merge_tail(engine)  # the old and the new key are both in the key table now
    fresh = _store(engine, workspace_id, [_copy_on_mastodon(3, after)], network="mastodon")
    assert fresh.near_duplicates == 1


def test_a_deleted_post_is_no_copy_target_after_a_merge(engine: Engine, workspace_id: int) -> None:
    text = "Acme skates recall notice for the spring batch"
    post = example_post(1, text=text)
    _store(engine, workspace_id, [post])
    _merge_tail(engine)
    _store(engine, workspace_id, [DeleteItem(native_id=post.native_id, at=BASE_TIME)])
    result = _store(engine, workspace_id, [_copy_on_mastodon(2, text)], network="mastodon")
    assert result.near_duplicates == 0


def _keys(engine: Engine) -> list[tuple[int, int]]:
    """Every fingerprint key, key table and tail together, as (post id, fingerprint)."""
    with Session(engine) as session:
        rows = session.execute(
            select(PostFingerprint.post_id, PostFingerprint.fingerprint).union_all(
                select(PostFingerprintTail.post_id, PostFingerprintTail.fingerprint)
            )
        ).all()
    return sorted((post_id, fingerprint) for post_id, fingerprint in rows)


def _live_fingerprints(engine: Engine) -> list[tuple[int, int]]:
    with Session(engine) as session:
        rows = session.execute(
            select(Post.id, Post.fingerprint).where(Post.fingerprint.is_not(None))
        ).all()
    return sorted((post_id, fingerprint) for post_id, fingerprint in rows)


@pytest.mark.parametrize("merged", [False, True], ids=["in the tail", "merged"])
def test_an_edit_or_delete_removes_the_key_of_the_text_it_replaces(
    engine: Engine, workspace_id: int, merged: bool
) -> None:
    edited = example_post(1, text="Acme skates: first impressions after a day")
    gone = example_post(2, text="Acme skates recall notice for the spring batch")
    _store(engine, workspace_id, [edited, gone])
    if merged:
        _merge_tail(engine)
    _store(
        engine,
        workspace_id,
        [
            example_post(1, text="Acme skates: a week of commuting on them", edited=True),
            DeleteItem(native_id=gone.native_id, at=BASE_TIME),
        ],
    )
    assert len(_live_fingerprints(engine)) == 1
    assert _keys(engine) == _live_fingerprints(engine)
    _merge_tail(engine)
    assert _keys(engine) == _live_fingerprints(engine)


def test_a_writer_that_waited_for_another_keeps_every_key_once(
    engine: Engine, workspace_id: int
) -> None:
    # The waiting writer read the newest post id before the other committed (SQLite takes
    # the write lock only at the first insert), so the other's posts are in its read-back.
    _store(engine, workspace_id, [example_post(1)])  # the author exists: no author insert
    holder = Session(engine)
    holder.begin()
    store_items(holder, workspace_id, "bluesky", [example_post(2)], received_at=utcnow())
    failures: list[BaseException] = []

    def waiting_writer() -> None:
        try:
            _store(engine, workspace_id, [example_post(3)])
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    thread = threading.Thread(target=waiting_writer)
    thread.start()
    try:
        thread.join(1.0)
        holder.commit()
    finally:
        holder.close()
        thread.join(30)
    assert failures == []
    with Session(engine) as session:
        keys = session.execute(
            select(PostFingerprint.post_id).union_all(select(PostFingerprintTail.post_id))
        ).scalars()
        assert sorted(keys) == sorted(session.scalars(select(Post.id)))
