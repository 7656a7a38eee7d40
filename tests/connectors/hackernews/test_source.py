"""The live Hacker News source against a local server speaking both APIs over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.connectors.hackernews.normalise import normalise
from hubbub.connectors.hackernews.source import (
    HackerNewsConfig,
    HackerNewsConnector,
    HackerNewsCursor,
)
from hubbub.core.errors import ConfigError, Rejected, UnsafeURL
from hubbub.core.items import DeleteItem, Item, PostItem, RawEvent
from hubbub.settings import Settings
from hubbub.sources.base import SourceContext, connectors
from hubbub.sources.ingest import Ingestor, Target
from hubbub.sources.models import DeadLetter
from tests.connectors.hackernews.server import FakeHN, Reply, comment, story

FIXTURES = Path(__file__).parent / "fixtures"
T0 = 1_718_000_000
Batches = list[list[RawEvent]]


def connector(settings: Settings, hn: FakeHN, **options: Any) -> HackerNewsConnector:
    values = {
        "api_url": hn.api,
        "search_url": hn.search,
        "poll_seconds": 0.02,
        "retry_base_seconds": 0.01,
        "retry_cap_seconds": 0.05,
        **options,
    }
    config = HackerNewsConnector.parse_config(values)
    return HackerNewsConnector(config, SourceContext(settings=settings, source_name="hn-test"))


def collect(
    source: HackerNewsConnector,
    cursor: str | None,
    done: Callable[[Batches], bool],
    seconds: float = 10.0,
) -> Batches:
    """Batches from ``stream`` until ``done`` says so, or ``seconds`` pass (then fail)."""

    async def run() -> Batches:
        batches: Batches = []
        stream = source.stream(cursor)
        try:
            async with asyncio.timeout(seconds):
                async for batch in stream:
                    assert batch, "stream yielded an empty batch"
                    batches.append(batch)
                    if done(batches):
                        break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        return batches

    return asyncio.run(run())


def last_id(batches: Batches) -> int | None:
    return HackerNewsCursor.load(batches[-1][-1].cursor).last_id if batches else None


def reached(target: int) -> Callable[[Batches], bool]:
    return lambda batches: last_id(batches) == target


def ids(batches: Batches) -> list[int]:
    return [int(event.meta["item_id"]) for batch in batches for event in batch]


def outcome(event: RawEvent) -> list[Item] | Rejected:
    try:
        return normalise(event)
    except Rejected as error:
        return error


def seed(hn: FakeHN, first: int, last: int) -> None:
    """Stories on even ids, comments replying to the previous id on odd ones."""
    for item_id in range(first, last + 1):
        when = T0 + item_id
        hn.put(story(item_id, when) if item_id % 2 == 0 else comment(item_id, item_id - 1, when))


def test_registered_and_config_validated() -> None:
    assert connectors.get("hackernews") is HackerNewsConnector
    assert HackerNewsConnector.network == "hackernews"
    with pytest.raises(ValidationError, match="concurency"):
        HackerNewsConnector.parse_config({"concurency": 4})
    with pytest.raises(ValidationError, match="mode"):
        HackerNewsConnector.parse_config({"mode": "top"})


def test_walks_maxitem_in_id_order_with_bounded_concurrency(
    local_settings: Settings, hn: FakeHN
) -> None:
    seed(hn, 1001, 1030)
    hn.item_delay = 0.01
    source = connector(local_settings, hn, initial_items=30, batch_items=7, concurrency=4)
    batches = collect(source, None, reached(1030))
    assert ids(batches) == list(range(1001, 1031))
    assert [len(batch) for batch in batches] == [7, 7, 7, 7, 2]
    for event in (event for batch in batches for event in batch):
        assert HackerNewsCursor.load(event.cursor).last_id == int(event.meta["item_id"])
        items = normalise(event)
        assert isinstance(items[0], PostItem)
        assert items[0].native_id == event.meta["item_id"]
    assert 1 < hn.peak_in_flight <= 4


def test_follows_items_created_while_running(local_settings: Settings, hn: FakeHN) -> None:
    seed(hn, 1001, 1010)

    def grow(batches: Batches) -> bool:
        if last_id(batches) == 1010 and hn.max_item == 1010:
            seed(hn, 1011, 1015)
        return last_id(batches) == 1015

    batches = collect(connector(local_settings, hn, initial_items=10), None, grow)
    assert ids(batches) == list(range(1001, 1016))


def test_resumes_from_cursor_without_gaps_or_repeats(local_settings: Settings, hn: FakeHN) -> None:
    seed(hn, 1001, 1020)
    source = connector(local_settings, hn, initial_items=20, batch_items=6)
    first = collect(source, None, lambda batches: len(batches) == 2)
    saved = first[-1][-1].cursor
    assert HackerNewsCursor.load(saved).last_id == 1012
    seed(hn, 1021, 1025)
    second = collect(connector(local_settings, hn, batch_items=6), saved, reached(1025))
    assert ids(first) + ids(second) == list(range(1001, 1026))


def test_comments_get_their_story_as_thread_root(local_settings: Settings, hn: FakeHN) -> None:
    hn.put(story(400, T0), comment(500, 400, T0 + 1), comment(501, 500, T0 + 2))
    hn.put(story(1001, T0 + 3), comment(1002, 1001, T0 + 4), comment(1003, 1002, T0 + 5))
    hn.put(comment(1004, 501, T0 + 6), comment(1005, 500, T0 + 7))
    hn.put({"by": "pg", "id": 1006, "parent": 1007, "time": T0, "type": "pollopt"})
    source = connector(local_settings, hn, initial_items=6)
    batches = collect(source, None, reached(1006))
    posts = {p.native_id: p for e in batches[0] for p in normalise(e) if isinstance(p, PostItem)}
    roots = {native_id: post.thread_root for native_id, post in posts.items()}
    assert roots == {
        "1001": None,
        "1002": "1001",
        "1003": "1001",
        "1004": "400",
        "1005": "400",
        "1006": "1007",
    }
    # Ancestors before the walk are looked up once, however many comments share them.
    assert [hn.count(f"/v0/item/{i}.json") for i in (400, 500, 501)] == [1, 1, 1]


def test_rate_limit_waits_for_retry_after(local_settings: Settings, hn: FakeHN) -> None:
    seed(hn, 1001, 1005)
    hn.fail("/v0/item/1003.json", Reply(429, b"{}", {"Retry-After": "1"}))
    started = time.monotonic()
    batches = collect(connector(local_settings, hn, initial_items=5), None, reached(1005))
    assert time.monotonic() - started >= 0.9
    assert ids(batches) == list(range(1001, 1006))
    assert all(isinstance(outcome(e), list) for b in batches for e in b)
    assert hn.count("/v0/item/1003.json") == 2


def test_server_errors_are_retried_with_backoff(local_settings: Settings, hn: FakeHN) -> None:
    seed(hn, 1001, 1005)
    hn.fail("/v0/maxitem.json", Reply(503, b"busy"), Reply(500, b"oops"))
    hn.fail("/v0/item/1002.json", Reply(502, b"bad gateway"), Reply(500, b"oops"))
    batches = collect(connector(local_settings, hn, initial_items=5), None, reached(1005))
    assert ids(batches) == list(range(1001, 1006))
    assert all(isinstance(outcome(e), list) for b in batches for e in b)
    assert hn.count("/v0/item/1002.json") == 3


def test_item_failing_every_attempt_is_dead_lettered_not_skipped(
    local_settings: Settings, hn: FakeHN
) -> None:
    seed(hn, 1001, 1005)
    hn.fail("/v0/item/1003.json", *[Reply(500, b"oops")] * 10)
    source = connector(local_settings, hn, initial_items=5, max_attempts=3)
    batches = collect(source, None, reached(1005))
    assert ids(batches) == list(range(1001, 1006))
    events = {int(e.meta["item_id"]): e for b in batches for e in b}
    error = outcome(events[1003])
    assert isinstance(error, Rejected)
    assert error.code == "fetch_failed"
    assert "HTTP 500" in error.detail
    assert hn.count("/v0/item/1003.json") == 3
    assert all(isinstance(outcome(events[i]), list) for i in (1001, 1002, 1004, 1005))


def test_outage_pauses_instead_of_dead_lettering(local_settings: Settings, hn: FakeHN) -> None:
    seed(hn, 1001, 1004)
    source = connector(local_settings, hn, initial_items=4, max_attempts=2)
    # The first two maxitems answer (start, walk); then items and the probe fail for a while.
    hn.fail("/v0/maxitem.json", Reply(body=b"1004"), Reply(body=b"1004"))
    hn.outage = 12
    batches = collect(source, None, reached(1004))
    assert ids(batches) == [1001, 1002, 1003, 1004]
    assert all(isinstance(outcome(e), list) for b in batches for e in b)
    assert hn.outage == 0
    # Every item failed its two attempts once (then the probe failed too) before succeeding.
    assert all(hn.count(f"/v0/item/{i}.json") >= 3 for i in range(1001, 1005))


def test_slow_response_times_out_and_is_retried(local_settings: Settings, hn: FakeHN) -> None:
    seed(hn, 1001, 1003)
    settings = local_settings.model_copy(update={"http_timeout_seconds": 0.5})
    good = hn.items[1002]
    hn.fail("/v0/item/1002.json", Reply(body=good, delay=1.5))
    batches = collect(connector(settings, hn, initial_items=3), None, reached(1003))
    assert ids(batches) == [1001, 1002, 1003]
    posts = outcome(batches[0][1])
    assert isinstance(posts, list)
    assert posts[0].native_id == "1002"  # type: ignore[union-attr]
    assert hn.count("/v0/item/1002.json") >= 2  # a loaded machine may time out the retry too


def test_malformed_json_is_yielded_then_rejected(local_settings: Settings, hn: FakeHN) -> None:
    seed(hn, 1001, 1003)
    hn.items[1002] = b'{"id": 1002, "by": "amira", "time": '
    batches = collect(connector(local_settings, hn, initial_items=3), None, reached(1003))
    assert ids(batches) == [1001, 1002, 1003]
    error = outcome(batches[0][1])
    assert isinstance(error, Rejected)
    assert error.code == "invalid_json"


def test_oversized_item_is_dead_lettered_as_too_large(local_settings: Settings, hn: FakeHN) -> None:
    seed(hn, 1001, 1002)
    hn.put(story(1002, T0, text="x" * 5000))
    settings = local_settings.model_copy(update={"max_payload_bytes": 1024})
    batches = collect(connector(settings, hn, initial_items=2), None, reached(1002))
    error = outcome(batches[0][1])
    assert isinstance(error, Rejected)
    assert error.code == "too_large"


def test_null_is_retried_then_becomes_not_found(local_settings: Settings, hn: FakeHN) -> None:
    seed(hn, 1001, 1004)
    del hn.items[1002]  # never appears
    hn.fail("/v0/item/1003.json", Reply(body=b"null"))  # appears on the second read
    source = connector(local_settings, hn, initial_items=4, max_attempts=3)
    batches = collect(source, None, reached(1004))
    events = {int(e.meta["item_id"]): e for b in batches for e in b}
    error = outcome(events[1002])
    assert isinstance(error, Rejected)
    assert error.code == "not_found"
    assert hn.count("/v0/item/1002.json") == 3
    assert isinstance(outcome(events[1003]), list)
    assert hn.count("/v0/item/1003.json") == 2


def test_failures_reach_the_store_as_distinct_dead_letters(
    settings: Settings, engine: Engine, workspace_id: int, hn: FakeHN
) -> None:
    """Through the real ingest service: every failed id is its own dead letter, none is lost."""
    seed(hn, 1001, 1006)
    del hn.items[1002], hn.items[1003]  # two missing items
    hn.items[1004] = b"<html>oops</html>"
    hn.fail("/v0/item/1005.json", *[Reply(500, b"<html>oops</html>")] * 2)
    source = connector(settings, hn, initial_items=6, max_attempts=2)
    batches = collect(source, None, reached(1006))
    ingestor = Ingestor(engine, settings)
    results = [ingestor.ingest(Target(workspace_id), batch) for batch in batches]
    assert sum(r.rejected for r in results) == 4
    with Session(engine) as session:
        rows = session.execute(select(DeadLetter.reason_code, DeadLetter.reason)).all()
    reasons = sorted((code, reason.split(":")[0]) for code, reason in rows)
    assert reasons == [
        ("fetch_failed", "item 1005"),
        ("invalid_json", "item 1004"),
        ("not_found", "item 1002"),
        ("not_found", "item 1003"),
    ]


def test_updates_refetch_changed_items(local_settings: Settings, hn: FakeHN) -> None:
    seed(hn, 1001, 1010)
    hn.put({"deleted": True, "id": 1003, "parent": 1002, "time": T0, "type": "comment"})
    hn.put(story(1004, T0, score=99, descendants=5))
    hn.updates = [1004, 1003, 5000]  # 5000 is past the cursor: the walk's job, not a refresh
    cursor = HackerNewsCursor(last_id=1010).dump()
    batches = collect(connector(local_settings, hn), cursor, lambda batches: True)
    assert ids(batches) == [1003, 1004]
    assert all(HackerNewsCursor.load(e.cursor).last_id == 1010 for e in batches[0])
    deleted, updated = (normalise(e)[0] for e in batches[0])
    assert isinstance(deleted, DeleteItem)
    assert isinstance(updated, PostItem)
    assert (updated.likes, updated.replies) == (99, 5)
    assert hn.count("/v0/item/5000.json") == 0


def test_keyword_backfill_pages_and_splits_windows(local_settings: Settings, hn: FakeHN) -> None:
    response = orjson.loads((FIXTURES / "search__by_date.json").read_bytes())
    hn.hits = response["hits"]
    hn.pagination_cap = 4  # six matching hits cannot be read in one window
    hn.max_item = 49
    source = connector(
        local_settings, hn, keywords=["hubbub"], backfill_days=3650, search_hits_per_page=2
    )
    batches = collect(source, None, lambda b: sum(map(len, b)) >= 6)
    events = [event for batch in batches for event in batch]
    assert [e.meta["item_id"] for e in events] == [
        "41000007",
        "41000008",
        "41000009",
        "41000010",
        "41000011",
        "41000012",
    ]
    assert len(batches) >= 2
    for batch in batches:
        newest = max(orjson.loads(e.payload)["created_at_i"] for e in batch)
        assert HackerNewsCursor.load(batch[-1].cursor).keywords["hubbub"] >= newest
    posts = [normalise(e)[0] for e in events]
    assert all(isinstance(p, PostItem) for p in posts)
    searches = [r for r in hn.requests if r.startswith("/api/v1/search_by_date")]
    assert all("created_at_i%3E" in r and "hitsPerPage=2" in r for r in searches)
    assert any("page=1" in r for r in searches)

    # Resuming from the saved cursor finds nothing new to backfill and walks on.
    hn.put(story(50, T0))
    resumed = connector(local_settings, hn, keywords=["hubbub"], initial_items=1)
    again = collect(resumed, batches[-1][-1].cursor, lambda b: True)
    assert ids(again) == [50]


def test_backfill_yields_a_hit_seen_on_two_pages_once(local_settings: Settings, hn: FakeHN) -> None:
    """A hit indexed mid-paging pushes the next one onto the following page as well."""
    hits = orjson.loads((FIXTURES / "search__by_date.json").read_bytes())["hits"]
    hn.hits = [*hits, dict(hits[2])]  # served twice, as a page shift makes it appear
    source = connector(
        local_settings, hn, keywords=["hubbub"], backfill_days=3650, search_hits_per_page=2
    )
    batches = collect(source, None, lambda b: True)
    assert sorted(ids(batches)) == sorted(int(h["objectID"]) for h in hits)


def test_items_created_during_the_first_backfill_are_walked(
    local_settings: Settings, hn: FakeHN
) -> None:
    """The walk's start is fixed before the backfill runs, so nothing falls between them."""
    hn.hits = orjson.loads((FIXTURES / "search__by_date.json").read_bytes())["hits"]
    seed(hn, 101, 101)
    source = connector(local_settings, hn, keywords=["hubbub"], backfill_days=3650)

    def grow(batches: Batches) -> bool:
        if len(batches) == 1:
            assert last_id(batches) == 101  # backfill events already carry the walk's start
            seed(hn, 102, 104)
        return last_id(batches) == 104

    batches = collect(source, None, grow)
    assert ids(batches)[-3:] == [102, 103, 104]
    assert len(ids(batches)) == 6 + 3


def test_stories_mode_takes_new_stories_and_comments_through_updates(
    local_settings: Settings, hn: FakeHN
) -> None:
    hn.put(story(1001, T0, kids=[1002]), comment(1002, 1001, T0 + 1), story(1003, T0 + 2))
    hn.put(comment(1004, 999, T0 + 3))  # a comment on an old story: not a new story
    hn.new_stories = [1003, 1001, 990]
    hn.updates = [1001]
    source = connector(local_settings, hn, mode="stories")
    cursor = HackerNewsCursor(last_id=1000).dump()
    batches = collect(source, cursor, lambda b: 1002 in ids(b))
    assert ids(batches) == [1001, 1003, 1001, 1002]
    assert last_id(batches) == 1003
    assert hn.count("/v0/item/1004.json") == 0
    reply = normalise(batches[-1][-1])[0]
    assert isinstance(reply, PostItem)
    assert reply.reply_to == "1001"


def test_loopback_refused_with_default_settings(tmp_path: Path, hn: FakeHN) -> None:
    seed(hn, 1001, 1002)
    settings = Settings(home=tmp_path)
    with pytest.raises(UnsafeURL):
        collect(connector(settings, hn, initial_items=2), None, reached(1002))
    with pytest.raises(UnsafeURL):
        collect(connector(settings, hn, keywords=["x"]), None, reached(1002))
    assert hn.requests == []


def test_loopback_allowed_with_local_settings(local_settings: Settings, hn: FakeHN) -> None:
    seed(hn, 1001, 1002)
    batches = collect(connector(local_settings, hn, initial_items=2), None, reached(1002))
    assert ids(batches) == [1001, 1002]


@pytest.mark.parametrize(
    "text", ["not json", "[]", '{"v": 2, "last_id": 1}', '{"v": 1, "last_id": "9"}']
)
def test_corrupt_cursor_is_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        HackerNewsCursor.load(text)


def test_cursor_round_trips() -> None:
    cursor = HackerNewsCursor(last_id=42, keywords={"hubbub": T0})
    assert HackerNewsCursor.load(cursor.dump()) == cursor
    assert HackerNewsCursor.load(cursor.dump(43)).last_id == 43


def test_every_config_field_is_documented() -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "connectors" / "hackernews.md"
    text = docs.read_text(encoding="utf-8")
    missing = [name for name in HackerNewsConfig.model_fields if f"| `{name}` |" not in text]
    assert missing == []
