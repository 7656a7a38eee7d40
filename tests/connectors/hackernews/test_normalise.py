"""The Hacker News normaliser against the documented payloads, one test per fixture."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.connectors.hackernews.normalise import clean_text, normalise, unfetched
from hubbub.core.errors import Rejected
from hubbub.core.items import DeleteItem, Item, PostItem, RawEvent
from hubbub.sources.base import normalisers

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def run(payload: bytes | Any, **meta: str) -> list[Item]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return normalise(RawEvent(payload=body, format="hackernews", meta=dict(meta)))


def one_post(payload: bytes | Any) -> PostItem:
    items = run(payload)
    assert len(items) == 1
    assert isinstance(items[0], PostItem)
    return items[0]


def rejected(payload: bytes | Any, **meta: str) -> Rejected:
    with pytest.raises(Rejected) as info:
        run(payload, **meta)
    return info.value


def test_registered_under_its_format() -> None:
    assert normalisers.get("hackernews") is normalise


def test_item_story() -> None:
    post = one_post(fixture("item__story.json"))
    assert post.native_id == "8863"
    assert post.author.native_id == "dhouston"
    assert post.author.url == "https://news.ycombinator.com/user?id=dhouston"
    assert post.title == "My YC app: Dropbox - Throw away your USB drive"
    assert post.text == ""
    assert post.links == ("http://www.getdropbox.com/u/2/screencast.html",)
    assert post.url == "https://news.ycombinator.com/item?id=8863"
    assert post.likes == 111
    assert post.replies == 71
    assert post.reply_to is None
    assert post.thread_root is None
    assert post.created_at == datetime(2007, 4, 4, 19, 16, 40, tzinfo=UTC)
    assert orjson.loads(post.raw)["id"] == 8863


def test_item_comment() -> None:
    post = one_post(fixture("item__comment.json"))
    assert post.native_id == "2921983"
    assert post.reply_to == "2921506"
    assert post.thread_root is None  # the Firebase item does not name its story
    assert post.text == (
        "Aw shucks, guys ... you make me blush with your compliments.\n\n"
        "Tell you what, Ill make a deal: I'll keep writing if you keep reading. K?"
    )
    assert post.likes is None
    assert post.created_at.tzinfo is UTC


def test_item_comment_takes_thread_root_from_the_source() -> None:
    items = run(fixture("item__comment.json"), thread_root="2921500")
    assert isinstance(items[0], PostItem)
    assert items[0].thread_root == "2921500"
    assert items[0].reply_to == "2921506"


def test_item_comment_html_becomes_plain_text_and_links() -> None:
    post = one_post(fixture("item__comment_html.json"))
    assert post.text.startswith('We moved to Hubbub last month & it\'s "fine" so far.\n\nDocs: ')
    assert "https://example.com/docs/hubbub?x=1&y=2" in post.text
    assert "  pip install hubbub\n  hubbub up" in post.text
    assert post.text.endswith("1 < 2 always")
    assert "<" not in post.text.replace("1 < 2", "")
    assert post.links == ("https://example.com/docs/hubbub?x=1&y=2",)


def test_item_ask() -> None:
    post = one_post(fixture("item__ask.json"))
    assert post.title == "Ask HN: The Arc Effect"
    assert post.links == ()  # "url": "" is no link
    assert post.text.startswith("or HN: the Next Iteration\n\nI get the impression")
    assert post.text.count("\n\n") == 3
    assert post.replies == 16


def test_item_job() -> None:
    post = one_post(fixture("item__job.json"))
    assert post.title == "Justin.tv is looking for a Lead Flash Engineer!"
    assert post.links == ("http://www.justin.tv/problems/bml",)
    assert post.likes == 6
    assert post.replies is None


def test_item_poll() -> None:
    post = one_post(fixture("item__poll.json"))
    assert post.native_id == "126809"
    assert post.text == ""
    assert post.likes == 46
    assert post.replies == 54


def test_item_pollopt() -> None:
    post = one_post(fixture("item__pollopt.json"))
    assert post.reply_to == "160704"
    assert post.thread_root == "160704"
    assert post.likes == 335
    assert post.text == "Yes, ban them; I'm tired of seeing Valleywag stories on News.YC."


def test_item_deleted() -> None:
    items = run(fixture("item__deleted.json"))
    assert items == [DeleteItem(native_id="41000003", at=datetime.fromtimestamp(1718000100, UTC))]


def test_item_deleted_uses_fetch_time_when_known() -> None:
    items = run(fixture("item__deleted.json"), fetched_at="2026-01-02T03:04:05+00:00")
    assert items == [DeleteItem("41000003", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))]


def test_item_dead_is_refused_not_tombstoned() -> None:
    """Tombstones are permanent; a dead item can be vouched back, so it is only refused."""
    error = rejected(fixture("item__dead.json"))
    assert error.code == "dead"
    assert "41000004" in error.detail


def test_item_missing_is_not_found() -> None:
    error = rejected(fixture("item__missing.json"), item_id="77")
    assert error.code == "not_found"
    assert "77" in error.detail


def test_maxitem_is_not_an_item() -> None:
    assert rejected(fixture("maxitem.json")).code == "bad_shape"


def test_updates_is_not_an_item() -> None:
    assert rejected(fixture("updates.json")).code == "unknown_type"


def test_search_by_date() -> None:
    items = run(fixture("search__by_date.json"))
    assert [item.native_id for item in items if isinstance(item, PostItem)] == [
        "41000012",
        "41000011",
        "41000010",
        "41000009",
        "41000008",
        "41000007",
    ]
    posts = {item.native_id: item for item in items if isinstance(item, PostItem)}
    show = posts["41000010"]
    assert show.title == "Show HN: Hubbub, self-hosted social listening"
    assert show.likes == 42
    assert show.replies == 2
    assert show.thread_root is None
    assert show.links == ("https://example.com/hubbub",)
    assert show.created_at == datetime.fromtimestamp(1718000300, UTC)


def test_search_hit_comment() -> None:
    post = one_post(fixture("search__hit_comment.json"))
    assert post.native_id == "41000012"
    assert post.author.native_id == "bea"
    assert post.reply_to == "41000011"
    assert post.thread_root == "41000010"
    assert post.text == "Hubbub's inbox is the part we use most. https://example.com/inbox"
    assert post.links == ("https://example.com/inbox",)
    assert post.likes is None
    assert post.url == "https://news.ycombinator.com/item?id=41000012"


def test_search_hit_ask() -> None:
    post = one_post(fixture("search__hit_ask.json"))
    assert post.text == "We are evaluating Hubbub & friends.\n\nHow does it scale?"
    assert post.links == ()
    assert post.likes == 7


def test_firebase_and_algolia_share_native_ids() -> None:
    """The same HN item through both APIs must dedupe: same native_id, same canonical URL."""
    hit = orjson.loads(fixture("search__hit_comment.json"))
    item = {
        "by": hit["author"],
        "id": int(hit["objectID"]),
        "parent": hit["parent_id"],
        "text": hit["comment_text"],
        "time": hit["created_at_i"],
        "type": "comment",
    }
    via_search, via_api = one_post(hit), one_post(item)
    assert via_search.native_id == via_api.native_id
    assert via_search.url == via_api.url
    assert via_search.text == via_api.text
    assert via_search.created_at == via_api.created_at


def test_unfetched_envelope_is_rejected_with_its_reason() -> None:
    payload = unfetched(7, "https://h/v0/item/7.json", "fetch_failed", "HTTP 500 x4", b"<h1>")
    error = rejected(payload)
    assert (error.code, error.detail) == ("fetch_failed", "item 7: HTTP 500 x4")
    assert orjson.loads(payload)["hubbub_unfetched"]["body"] == "<h1>"
    assert unfetched(8, "u", "not_found", "null") != unfetched(9, "u", "not_found", "null")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b'{"id": 1, "by":', "invalid_json"),
        (b"\xff\xfe{}", "invalid_utf8"),
        (b"[1, 2]", "bad_shape"),
        ({"id": 1, "by": "a", "time": 1, "type": "rant"}, "unknown_type"),
        ({"id": 1, "by": "a", "time": 1}, "missing_field"),
        ({"id": 1, "time": 1, "type": "story"}, "missing_field"),
        ({"id": 1, "by": "a", "type": "story"}, "missing_field"),
        ({"id": 1, "by": "a", "time": 1, "type": "comment"}, "missing_field"),
        ({"id": "1", "by": "a", "time": 1, "type": "story"}, "bad_field"),
        ({"id": True, "by": "a", "time": 1, "type": "story"}, "bad_field"),
        ({"id": -5, "by": "a", "time": 1, "type": "story"}, "bad_field"),
        ({"id": 1, "by": 7, "time": 1, "type": "story"}, "bad_field"),
        ({"id": 1, "by": "a", "time": "2024-01-01", "type": "story"}, "bad_field"),
        ({"id": 1, "by": "a", "time": True, "type": "story"}, "bad_timestamp"),
        ({"id": 1, "by": "a", "time": -1, "type": "story"}, "bad_timestamp"),
        ({"id": 1, "by": "a", "time": 10**20, "type": "story"}, "bad_timestamp"),
        ({"id": 1, "by": "a", "time": 1, "type": "story", "score": "9"}, "bad_field"),
        ({"id": 1, "by": "a", "time": 1, "type": "story", "score": -1}, "bad_field"),
        ({"id": 1, "by": "a", "time": 1, "type": "story", "text": ["x"]}, "bad_field"),
        ({"id": 1, "by": "a", "time": 1, "type": "story", "kids": ["2"]}, "bad_field"),
        ({"id": 1, "by": "a", "time": 1, "type": "comment", "parent": "2"}, "bad_field"),
        ({"hits": {}}, "bad_field"),
        ({"hits": [5]}, "bad_shape"),
        ({"objectID": "x1", "_tags": ["story"], "author": "a", "created_at_i": 1}, "bad_field"),
        ({"objectID": "1", "author": "a", "created_at_i": 1}, "missing_field"),
        (
            {"objectID": "1", "_tags": ["front_page"], "author": "a", "created_at_i": 1},
            "unknown_type",
        ),
        (
            {"objectID": "1", "_tags": ["comment"], "author": "a", "created_at_i": 1},
            "missing_field",
        ),
        ({"objectID": "1", "_tags": ["story"], "author": "a"}, "missing_field"),
        (
            {"objectID": "1", "_tags": ["story"], "author": "a", "created_at": "soon"},
            "bad_timestamp",
        ),
        ({"title": "no id at all"}, "unknown_type"),
    ],
)
def test_bad_payloads_are_rejected_with_a_code(payload: bytes | Any, code: str) -> None:
    assert rejected(payload).code == code


def test_one_bad_hit_rejects_the_response_and_names_it() -> None:
    response = orjson.loads(fixture("search__by_date.json"))
    del response["hits"][2]["author"]
    error = rejected(response)
    assert error.code == "missing_field"
    assert "hits[2]" in error.detail


def test_algolia_created_at_is_used_without_created_at_i() -> None:
    hit = orjson.loads(fixture("search__hit_ask.json"))
    del hit["created_at_i"]
    assert one_post(hit).created_at == datetime.fromtimestamp(1718000200, UTC)


def test_clean_text_drops_script_content_and_never_returns_markup() -> None:
    assert clean_text("a<script>alert(1)</script><p>b &lt;i&gt;") == "a\n\nb <i>"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=20,
)
item_keys = st.sampled_from(
    [
        "id",
        "by",
        "time",
        "type",
        "text",
        "parent",
        "url",
        "score",
        "kids",
        "deleted",
        "dead",
        "objectID",
        "_tags",
        "author",
        "created_at_i",
        "story_id",
        "parent_id",
        "hits",
        "points",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(item_keys, json_values, max_size=8))
def test_any_json_object_is_items_or_rejected(data: dict[str, Any]) -> None:
    try:
        items: list[Item] | Rejected = run(data)
    except Rejected as error:
        items = error
    if isinstance(items, Rejected):
        assert items.code
    else:
        assert all(isinstance(item, PostItem | DeleteItem) for item in items)


def test_a_far_future_item_is_refused_by_the_ingest_service() -> None:
    """The skew is the configured one (checked once, centrally), not a connector constant."""
    from hubbub.core.clock import utcnow
    from hubbub.settings import Settings
    from hubbub.sources.ingest import normalise_event

    item = {"id": 1, "by": "a", "time": 4102444800, "type": "story"}  # 2100-01-01
    event = RawEvent(payload=orjson.dumps(item), format="hackernews")
    with pytest.raises(Rejected) as refused:
        normalise_event(event, Settings(), utcnow())
    assert refused.value.code == "future_timestamp"
    relaxed = Settings(max_future_skew_seconds=100 * 365 * 86_400)
    assert normalise_event(event, relaxed, utcnow())
