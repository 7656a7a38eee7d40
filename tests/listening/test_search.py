"""Full-text search: the FTS prefilter plus exact re-check finds exactly what the rule means."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.core.items import DeleteItem, Item
from hubbub.listening.document import Document
from hubbub.listening.models import Topic
from hubbub.listening.query import QueryError, parse
from hubbub.listening.reference import matches
from hubbub.listening.search import Either, Every, Term, prefilter, search_posts
from hubbub.listening.search_index import (
    ID_LOOKBACK,
    OVERFLOW,
    SEARCH_STATE,
    index_posts,
    index_tokens,
    indexed_ids,
    refresh_search_index,
)
from hubbub.posts.actions import store_items
from hubbub.posts.models import Post
from hubbub.store.engine import transaction
from tests.support.factories import BASE_TIME, example_post


def store(engine: Engine, workspace_id: int, items: list[Item], network: str = "bluesky") -> None:
    with transaction(engine) as session:
        store_items(session, workspace_id, network, items, received_at=utcnow())


def texts(engine: Engine, workspace_id: int, rule: str, **options: Any) -> list[str]:
    """Texts of every hit of ``rule``, in result order."""
    with transaction(engine) as session:
        page = search_posts(session, workspace_id, rule, limit=1000, **options)
    return [hit.text for hit in page.hits]


def found(engine: Engine, workspace_id: int, rule: str, **options: Any) -> set[str]:
    return set(texts(engine, workspace_id, rule, **options))


@pytest.fixture
def corpus(engine: Engine, workspace_id: int) -> Engine:
    posts = [
        example_post(1, text="Café ACME rocket skates"),
        example_post(2, text="skates, then a rocket"),
        example_post(3, text="Acmeville is not acme", langs=("fr-CA",)),
        example_post(4, text="acme phone broke, refund please"),
        example_post(5, text="acme makes a great phone today, no refund needed"),
        example_post(6, text="東京タワーに行った 🔥"),
        example_post(7, text="spam spam acme", author="bruno"),
        example_post(8, text="look https://shop.acme.com/x", author="chen"),
        example_post(9, text="replying about acme", reply_to="at://x/1", thread_root="at://x/1"),
        example_post(10, text="", kind="reshare", reshare_of="at://x/2"),
        example_post(11, text="#Acme day with @bob@mastodon.example", hashtags=("Acme",)),
        example_post(12, text="Ελληνικά ΚΑΛΗΜΈΡΑ", title="Straße news"),
    ]
    store(engine, workspace_id, list(posts))
    return engine


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("cafe", {"Café ACME rocket skates"}),
        ("CAFÉ acme", {"Café ACME rocket skates"}),
        ("καλημερα", {"Ελληνικά ΚΑΛΗΜΈΡΑ"}),
        ("strasse", {"Ελληνικά ΚΑΛΗΜΈΡΑ"}),  # the title counts, folded
        ('"rocket skates"', {"Café ACME rocket skates"}),
        ("rocket skates", {"Café ACME rocket skates", "skates, then a rocket"}),
        ("acmev*", {"Acmeville is not acme"}),
        ("caf*", {"Café ACME rocket skates"}),
        ("東京", {"東京タワーに行った 🔥"}),
        ("京タ", {"東京タワーに行った 🔥"}),
        ("タワ*", {"東京タワーに行った 🔥"}),
        ("🔥", {"東京タワーに行った 🔥"}),
        ("ελλην*", {"Ελληνικά ΚΑΛΗΜΈΡΑ"}),
        ("phone NOT refund", set()),
        (
            "acme NOT (phone OR spam OR is:reply OR #acme)",
            {"Café ACME rocket skates", "Acmeville is not acme", "look https://shop.acme.com/x"},
        ),
        ("acme NEAR/1 phone", {"acme phone broke, refund please"}),
        (
            "acme NEAR/3 phone",
            {"acme phone broke, refund please", "acme makes a great phone today, no refund needed"},
        ),
        (
            "(phone OR skates) NEAR/0 (broke OR rocket)",
            {"acme phone broke, refund please", "Café ACME rocket skates"},
        ),
        ("lang:fr", {"Acmeville is not acme"}),
        ("lang:fr-ca", {"Acmeville is not acme"}),
        ("acme author:bruno.bsky.social", {"spam spam acme"}),
        ("author:@CHEN@mastodon.example", {"look https://shop.acme.com/x"}),
        ("domain:acme.com", {"look https://shop.acme.com/x"}),
        ("domain:shop.acme.com has:link", {"look https://shop.acme.com/x"}),
        ("is:reply", {"replying about acme"}),
        ("is:repost", {""}),
        ("#acme", {"#Acme day with @bob@mastodon.example"}),
        ("@bob", {"#Acme day with @bob@mastodon.example"}),
        ("@bob@mastodon.example OR source:mastodon", {"#Acme day with @bob@mastodon.example"}),
        ("acme min_followers:1000 NOT author:amira.bsky.social", set()),
        ("acme NOT min_followers:1000", {"spam spam acme", "look https://shop.acme.com/x"}),
        ("NOT source:bluesky", set()),
    ],
)
def test_rules_find_exactly_their_posts(
    corpus: Engine, workspace_id: int, rule: str, expected: set[str]
) -> None:
    assert found(corpus, workspace_id, rule) == expected


def test_results_equal_the_reference_on_every_stored_post(
    corpus: Engine, workspace_id: int
) -> None:
    with transaction(corpus) as session:
        rows = session.scalars(select(Post).where(Post.workspace_id == workspace_id)).all()
        docs = {p.text: Document(text=p.text, title=p.title or "") for p in rows}
    for rule in ("acme", "NOT acme", "a*", "rocket OR 🔥", "x*", "NOT (acme OR rocket)"):
        expected = {t for t, d in docs.items() if matches(rule, d)}
        assert found(corpus, workspace_id, rule) == expected, rule


def test_deleted_posts_are_not_found_and_leave_the_index(engine: Engine, workspace_id: int) -> None:
    post = example_post(1, text="secret plans of acme")
    store(engine, workspace_id, [post, example_post(2, text="public acme news")])
    assert found(engine, workspace_id, "acme") == {"secret plans of acme", "public acme news"}
    store(engine, workspace_id, [DeleteItem(native_id=post.native_id, at=utcnow())])
    assert found(engine, workspace_id, "acme") == {"public acme news"}
    assert found(engine, workspace_id, "secret OR NOT public") == set()
    with transaction(engine) as session:
        assert len(indexed_ids(session, workspace_id)) == 1


def test_the_index_catches_up_with_new_and_edited_posts(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, [example_post(1, text="first acme post")])
    assert found(engine, workspace_id, "acme") == {"first acme post"}
    store(engine, workspace_id, [example_post(n, text=f"acme again {n}") for n in range(2, 5)])
    assert len(found(engine, workspace_id, "acme")) == 4
    edit = example_post(1, text="rewritten about globex", edited=True)
    store(engine, workspace_id, [edit])
    assert found(engine, workspace_id, "globex") == {"rewritten about globex"}
    assert found(engine, workspace_id, "first") == set()
    with transaction(engine) as session:
        again = refresh_search_index(session, workspace_id)
        state = session.execute(select(SEARCH_STATE)).one()
    assert state.last_post_id >= 4
    assert again.removed == again.indexed  # only the look-back re-check of the recent edit


def test_a_full_refresh_repairs_a_lost_index(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, [example_post(n, text=f"acme {n}") for n in range(1, 6)])
    with transaction(engine) as session:  # a state row ahead of the index, as after a restore
        session.execute(
            SEARCH_STATE.insert().values(workspace_id=workspace_id, last_post_id=ID_LOOKBACK + 99)
        )
    assert found(engine, workspace_id, "acme") == set()
    calls: list[tuple[int, int]] = []
    with transaction(engine) as session:
        result = refresh_search_index(
            session, workspace_id, full=True, progress=lambda *a: calls.append(a)
        )
    assert result.indexed == 5
    assert calls == [(5, 5)]
    assert len(found(engine, workspace_id, "acme")) == 5


def test_pages_have_no_overlaps_or_gaps(engine: Engine, workspace_id: int) -> None:
    same_time = BASE_TIME + timedelta(hours=1)
    posts = [
        example_post(
            n, text=f"acme {n}", created_at=same_time if n % 3 else BASE_TIME + timedelta(minutes=n)
        )
        for n in range(1, 24)
    ]
    posts += [example_post(n, text=f"globex {n}") for n in range(30, 40)]
    store(engine, workspace_id, list(posts))
    everything = texts(engine, workspace_id, "acme")
    assert len(everything) == 23
    for sort in ("time", "engagement"):
        seen: list[str] = []
        cursor = None
        with transaction(engine) as session:
            while True:
                page = search_posts(
                    session, workspace_id, "acme NOT globex", limit=5, cursor=cursor, sort=sort
                )  # type: ignore[arg-type]
                seen += [hit.text for hit in page.hits]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
        assert len(seen) == len(set(seen)) == 23
        if sort == "time":
            assert seen == everything


def test_sort_by_engagement_and_time_window(engine: Engine, workspace_id: int) -> None:
    store(
        engine,
        workspace_id,
        [
            example_post(1, text="acme quiet", likes=0),
            example_post(2, text="acme viral", likes=500, reshares=40, replies=3),
            example_post(3, text="acme liked", likes=30, quotes=2),
            example_post(4, text="acme unknown counts"),
        ],
    )
    ranked = texts(engine, workspace_id, "acme", sort="engagement")
    assert ranked == ["acme viral", "acme liked", "acme unknown counts", "acme quiet"]
    window = texts(
        engine,
        workspace_id,
        "acme",
        since=BASE_TIME + timedelta(minutes=2),
        until=BASE_TIME + timedelta(minutes=4),
    )
    assert window == ["acme liked", "acme viral"]


def test_topic_rule_is_anded(engine: Engine, workspace_id: int) -> None:
    store(
        engine,
        workspace_id,
        [
            example_post(1, text="acme phone"),
            example_post(2, text="acme skates"),
            example_post(3, text="globex phone"),
        ],
    )
    with transaction(engine) as session:
        now = utcnow()
        session.add(
            Topic(
                workspace_id=workspace_id,
                name="phones",
                rule="phone",
                created_at=now,
                updated_at=now,
            )
        )
    assert found(engine, workspace_id, "acme", topic="phones") == {"acme phone"}
    with pytest.raises(Rejected, match="no topic named"):
        found(engine, workspace_id, "acme", topic="nope")


def test_bad_rules_and_cursors_are_refused(engine: Engine, workspace_id: int) -> None:
    with pytest.raises(QueryError):
        found(engine, workspace_id, "acme AND (")
    with pytest.raises(Rejected, match="cursor"):
        found(engine, workspace_id, "acme", cursor="not-a-cursor")


def test_workspaces_do_not_see_each_other(engine: Engine, workspace_id: int) -> None:
    from hubbub.workspaces.actions import ensure_workspace

    with transaction(engine) as session:
        other = ensure_workspace(session, "globex", "Globex").id
    store(engine, workspace_id, [example_post(1, text="acme inside")])
    store(engine, other, [example_post(1, text="acme elsewhere")])
    assert found(engine, workspace_id, "acme") == {"acme inside"}
    assert found(engine, other, "acme") == {"acme elsewhere"}
    with transaction(engine) as session:  # indexing "all ids" for one workspace leaves the other
        every = list(session.scalars(select(Post.id)))
        assert index_posts(session, workspace_id, every).indexed == 1
    assert found(engine, other, "acme", refresh=False) == {"acme elsewhere"}


def test_index_posts_is_enough_without_a_refresh(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, [example_post(n, text=f"pipeline acme {n}") for n in range(3)])
    assert found(engine, workspace_id, "acme", refresh=False) == set()
    with transaction(engine) as session:
        ids = list(session.scalars(select(Post.id)))
        assert index_posts(session, workspace_id, ids[:2]).indexed == 2
        assert index_posts(session, workspace_id, ids[:2]).removed == 2  # re-indexing replaces
    assert len(found(engine, workspace_id, "acme", refresh=False)) == 2


def test_very_long_posts_are_still_found(engine: Engine, workspace_id: int) -> None:
    """Past PostgreSQL's position limit the post is marked, so every query considers it."""
    long_text = " ".join(["filler"] * 17_000) + " rocket skates"
    store(engine, workspace_id, [example_post(1, text=long_text), example_post(2, text="rocket")])
    assert OVERFLOW in index_tokens(Document(text=long_text))
    assert len(found(engine, workspace_id, '"rocket skates"')) == 1
    assert len(found(engine, workspace_id, "rocket")) == 2


def test_not_and_min_followers_leave_the_index_unconstrained() -> None:
    assert prefilter(parse("NOT acme")) is None
    assert prefilter(parse("acme OR NOT globex")) is None
    assert prefilter(parse("min_followers:10 author:bob")) is None
    assert prefilter(parse("acme NOT globex")) == Term(("acme",))
    near = prefilter(parse("acme NEAR/2 (phone OR tv*)"))
    assert isinstance(near, Every)
    assert isinstance(near.parts[1], Either)


def test_bench_rebuilds_the_index_and_times_every_rule(engine: Engine, workspace_id: int) -> None:
    from hubbub.listening.search_bench import RULES, run

    store(engine, workspace_id, [example_post(n, text=f"coffee morning {n}") for n in range(30)])
    assert len(found(engine, workspace_id, "coffee")) == 30  # indexed once already
    figures = run(engine, workspace_id, repeats=1)
    assert (figures["posts"], figures["indexed"]) == (30, 30)
    assert [q["rule"] for q in figures["queries"]] == [rule for rule, _ in RULES]
    assert figures["queries"][0]["hits"] == 20
    assert len(found(engine, workspace_id, '"coffee morning"')) == 30
