"""Every recorded real server response: statuses and notifications normalise, the rest is refused."""

from __future__ import annotations

import json
import re
from datetime import UTC

import pytest

from hubbub.connectors.mastodon.normalise import normalise
from hubbub.core.errors import PartlyRejected, Rejected
from hubbub.core.items import InteractionItem, Item, PostItem, RawEvent

from .recorded import Recorded, interactions

SERVER = "https://mastodon.social"
# Endpoints whose bodies are statuses, notifications or documents made of them.
STATUS_BODIES = re.compile(
    r"/api/v1/statuses/\d+$|/api/v1/statuses/\d+/context$|/api/v1/notifications$"
    r"|/api/v2/notifications\?|/api/v2/search\?"
)


def _cases() -> list[Recorded]:
    try:
        return list(interactions())
    except pytest.skip.Exception:
        return []


def run(body: str) -> list[Item]:
    """The items of a document, with those of a partly refused one."""
    return refused(body)[0]


def refused(body: str) -> tuple[list[Item], list[tuple[Rejected, bytes]]]:
    """Items, and each refused part with its payload of its own (the ingest's dead letters)."""
    try:
        return normalise(RawEvent(body.encode(), "mastodon", meta={"server": SERVER})), []
    except PartlyRejected as partly:
        return partly.items, partly.parts


def by_uri(suffix: str) -> str:
    for rec in interactions():
        if rec.uri.endswith(suffix):
            return rec.body
    raise AssertionError(f"no recording of {suffix}")


def check_item(item: Item) -> None:
    if isinstance(item, PostItem):
        assert item.native_id.startswith("https://")
        assert item.author.native_id.startswith("https://")
        assert item.author.handle and "@" in item.author.handle
        assert item.created_at.tzinfo is UTC
        assert re.search(r"</?(p|br|a|span)\b", item.text) is None
        assert all(link.startswith(("http://", "https://")) for link in item.links)
    elif isinstance(item, InteractionItem):
        assert item.actor.native_id.startswith("https://")
        assert item.created_at.tzinfo is UTC


def test_recordings_are_present() -> None:
    records = interactions()
    assert len({r.cassette for r in records}) == 95
    assert sum(1 for r in records if STATUS_BODIES.search(r.uri)) >= 25


@pytest.mark.parametrize(
    "rec", _cases(), ids=lambda r: f"{r.cassette.removeprefix('test_entity_')}-{r.uri[-24:]}"
)
def test_every_recorded_body(rec: Recorded) -> None:
    if STATUS_BODIES.search(rec.uri):
        items = run(rec.body)
        assert items, "a status/notification document produced nothing"
        for item in items:
            check_item(item)
    else:
        with pytest.raises(Rejected) as caught:
            run(rec.body)
        assert caught.value.code in {"unknown_type", "api_error"}
        assert caught.value.detail


def test_status_fields() -> None:
    items = run(by_uri("/api/v1/statuses/110446223051565765"))
    assert len(items) == 1
    post = items[0]
    assert isinstance(post, PostItem)
    assert post.native_id == "https://icosahedron.website/users/halcy/statuses/110446222386355655"
    assert post.url == "https://icosahedron.website/@halcy/110446222386355655"
    assert post.author.native_id == "https://icosahedron.website/@halcy"
    assert post.author.handle == "halcy@icosahedron.website"
    assert (post.author.followers, post.author.following, post.author.posts_count) == (
        3553,
        540,
        75076,
    )
    assert post.text == (
        "test post for mastodon.py stuff\n\n@halcy you're a doo-doo head\n\n"
        "edit: editing this to have the maximum amount of fields filled :trans_heart: "
        "#ThisIsAHashtag"
    )
    assert post.mentions == ("https://icosahedron.website/@halcy",)
    assert post.hashtags == ("thisisahashtag",)
    assert post.links == ()
    assert post.media == ("gif",)
    assert post.langs == ("de",)
    assert (post.likes, post.reshares, post.replies, post.quotes) == (1, 0, 0, 0)
    assert post.edited is True
    assert '"favourites_count":1' in post.raw


def test_local_account_handle_is_qualified_with_the_server() -> None:
    post = run(by_uri("/api/v1/statuses/110446183735368325"))[0]
    assert isinstance(post, PostItem)
    assert post.author.handle == "halcy@mastodon.social"
    assert post.edited is True


def test_context_resolves_parents_and_thread_root() -> None:
    items = run(by_uri("/api/v1/statuses/110446983926957470/context"))
    root, final = items
    assert isinstance(root, PostItem)
    assert isinstance(final, PostItem)
    assert root.reply_to is None
    # the focal status is not in a Context; its uri is rebuilt from the local author's uri form
    assert final.reply_to == "https://mastodon.social/users/halcy/statuses/110446983926957470"
    assert final.thread_root == root.native_id


def test_remote_reply_to_local_account_is_resolved_from_the_mention() -> None:
    remote = run(by_uri("/api/v1/statuses/110447012773105565"))[0]
    parent = run(by_uri("/api/v1/statuses/110447003454258227"))[0]
    assert isinstance(remote, PostItem)
    assert isinstance(parent, PostItem)
    assert remote.reply_to == parent.native_id
    assert remote.media == ("audio",)
    assert parent.media == ("image",)


def test_card_link_is_kept() -> None:
    post = run(by_uri("/api/v1/statuses/110447098625216345"))[0]
    assert isinstance(post, PostItem)
    assert post.links == (
        "https://soundcloud.com/wakarangirl/popstars-dj-wakaran-girl-khard-bass-flex-1",
    )


def test_quote_emits_both_posts_and_drops_the_inline_fallback() -> None:
    quoting, quoted = run(by_uri("/api/v1/statuses/115044073088181107"))
    assert isinstance(quoting, PostItem)
    assert isinstance(quoted, PostItem)
    assert quoting.quote_of == quoted.native_id
    assert "RE:" not in quoting.text
    assert quoting.reply_to == f"{SERVER}/api/v1/statuses/115044053131672379"
    # the quoted status quotes again, but only by local id (a ShallowQuote)
    assert quoted.quote_of == f"{SERVER}/api/v1/statuses/115044056977193502"
    assert '"quoted_status":{"id"' in quoting.raw


def test_notifications_page_keeps_the_one_with_a_status() -> None:
    items, parts = refused(by_uri("/api/v1/notifications"))
    assert len(items) == 1
    assert isinstance(items[0], PostItem)
    assert parts and {r.code for r, _ in parts} == {"missing_status"}


def test_mention_notification_without_status_is_rejected_alone() -> None:
    import json

    page = json.loads(by_uri("/api/v1/notifications"))
    lonely = next(n for n in page if n["status"] is None)
    with pytest.raises(Rejected) as caught:
        run(json.dumps(lonely))
    assert caught.value.code == "missing_status"


def test_grouped_notifications_give_likes_reshares_and_follows() -> None:
    body = next(
        r.body for r in interactions() if r.cassette == "test_entity_partialaccountwithavatar"
    )
    items = run(body)
    kinds = {i.kind for i in items if isinstance(i, InteractionItem)}
    assert kinds <= {"like", "follow"}
    assert kinds
    likes = [i for i in items if isinstance(i, InteractionItem) and i.kind == "like"]
    for like in likes:
        assert like.target_post is not None
        assert like.native_id == f"{like.target_post}#favourited-by:{like.actor.native_id}"


def test_grouped_mentions_without_their_status_are_refused_each_on_its_own() -> None:
    """A group whose status the page leaves out is a dead letter of its own, holding the
    group and the accounts it names, so it can be read (and replayed) alone."""
    page = json.loads(
        next(r.body for r in interactions() if r.cassette == "test_entity_partialaccountwithavatar")
    )
    group = next(g for g in page["notification_groups"] if g["type"] == "mention")
    page["statuses"] = [s for s in page["statuses"] if s["id"] != group["status_id"]]
    items, parts = refused(json.dumps(page))
    assert items
    reason, part = next((r, json.loads(p)) for r, p in parts if r.code == "missing_status")
    assert f"names status {group['status_id']} not in the document" in reason.detail
    assert reason.detail.startswith("notification_groups[")
    assert part["notification_groups"] == [group] and part["statuses"] == []
    assert {a["id"] for a in part["accounts"]} == set(group["sample_account_ids"])
    with pytest.raises(Rejected) as again:
        run(json.dumps(part))
    assert again.value.code == "missing_status"


def test_grouped_mentions_of_deleted_statuses_are_dead_letters() -> None:
    body = next(
        r.body for r in interactions() if r.cassette == "test_entity_groupednotificationsresults"
    )
    items, parts = refused(body)
    assert len(items) == 1 and len(parts) == 39
    assert all(r.code == "missing_status" and "has no status" in r.detail for r, _ in parts)


def test_search_results_give_their_statuses() -> None:
    items = run(by_uri("/api/v2/search?exclude_unreviewed=1&q=halcy&resolve=1"))
    assert len(items) == 2
    assert all(isinstance(i, PostItem) for i in items)
