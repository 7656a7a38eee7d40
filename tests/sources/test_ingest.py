"""The ingest service: rejects kept with reasons, cursor saved with the data, replays are no-ops."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.connectors.rss.source import RssConnector
from hubbub.core.clock import utcnow
from hubbub.core.items import RawEvent
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.sources.actions import REPLAYED, add_source, replay_dead_letter
from hubbub.sources.base import SourceContext
from hubbub.sources.ingest import Ingestor, Target
from hubbub.sources.models import DeadLetter, Source
from hubbub.store.engine import transaction
from tests.connectors.rss.feedserver import Reply, feed_server, run_until
from tests.support.factories import jsonl_event, jsonl_line


def _posts(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Post)) or 0)


def _letters(engine: Engine) -> list[DeadLetter]:
    with Session(engine) as session:
        return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))


BAD_EVENTS = {
    "invalid_json": b'{"v": 1, "type": "post", ',
    "invalid_utf8": b'{"v": 1, "text": "\xff\xfe broken"}',
    "unknown_version": b'{"v": 99, "type": "post"}',
    "unknown_type": b'{"v": 1, "type": "poll"}',
    "missing_field": orjson.dumps({"v": 1, "type": "post", "network": "bluesky"}),
    "bad_field": jsonl_line(1, text=42),
    "bad_timestamp": jsonl_line(2, created_at="yesterday-ish"),
}


@pytest.mark.parametrize("reason", sorted(BAD_EVENTS))
def test_bad_input_becomes_a_dead_letter_with_its_reason(
    engine: Engine, settings: Settings, workspace_id: int, reason: str
) -> None:
    ingestor = Ingestor(engine, settings)
    good = jsonl_event(10)
    bad = RawEvent(payload=BAD_EVENTS[reason], format="jsonl")
    result = ingestor.ingest(Target(workspace_id), [bad, good])
    assert result.rejected == 1 and result.store.stored == 1
    (letter,) = _letters(engine)
    assert letter.reason_code == reason
    assert letter.payload == BAD_EVENTS[reason]
    assert letter.reason


def test_oversize_and_future_payloads_are_refused(
    engine: Engine, tmp_path, db_url: str, workspace_id: int
) -> None:
    settings = Settings(home=tmp_path, database_url=db_url, max_payload_bytes=2048)
    ingestor = Ingestor(engine, settings)
    huge = jsonl_event(1, text="x" * 5000)
    future = jsonl_event(2, created_at=(utcnow() + timedelta(days=30)).isoformat())
    result = ingestor.ingest(Target(workspace_id), [huge, future, jsonl_event(3)])
    assert result.reasons == {"too_large": 1, "future_timestamp": 1}
    assert _posts(engine) == 1
    sizes = {letter.reason_code: letter.payload_size for letter in _letters(engine)}
    assert sizes["too_large"] == len(huge.payload)


def test_counts_the_store_cannot_hold_are_refused_and_the_rest_is_stored(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    # On PostgreSQL one of these failed the batch's insert ("integer out of range").
    famous = orjson.loads(jsonl_line(2))
    famous["author"]["followers"] = 5_000_000_000
    result = Ingestor(engine, settings).ingest(
        Target(workspace_id),
        [
            jsonl_event(1, likes=3_000_000_000),
            RawEvent(payload=orjson.dumps(famous), format="jsonl"),
            jsonl_event(3, reshares=-4),
            jsonl_event(4, likes=2**31 - 1),
        ],
    )
    assert result.reasons == {"bad_count": 3} and result.store.stored == 1
    reasons = [letter.reason for letter in _letters(engine)]
    assert "likes 3000000000 is not a count from 0 to 2,147,483,647" in reasons[0]
    assert "author followers 5000000000" in reasons[1]
    assert "reshares -4" in reasons[2]


def test_unknown_format_is_a_dead_letter(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    result = Ingestor(engine, settings).ingest(
        Target(workspace_id), [RawEvent(payload=b"{}", format="no-such-format")]
    )
    assert result.reasons == {"unknown_format": 1}


def test_the_same_bad_event_twice_is_one_dead_letter(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ingestor = Ingestor(engine, settings)
    bad = RawEvent(payload=b"not json", format="jsonl")
    ingestor.ingest(Target(workspace_id), [bad])
    ingestor.ingest(Target(workspace_id), [bad])
    assert len(_letters(engine)) == 1


def test_cursor_moves_with_the_batch(engine: Engine, settings: Settings, workspace_id: int) -> None:
    with transaction(engine) as session:
        source = add_source(session, settings, workspace_id, "bluesky", "firehose", {}, {})
        source_id = source.id
    ingestor = Ingestor(engine, settings)
    target = Target(workspace_id, source_id)
    ingestor.ingest(
        target,
        [jsonl_event(n) for n in range(5)]
        + [RawEvent(payload=b"garbage", format="jsonl", cursor=None)],
    )
    with Session(engine) as session:
        source = session.get_one(Source, source_id)
        assert source.cursor == "4"
        assert (source.events_total, source.stored_total, source.rejected_total) == (6, 5, 1)


def test_a_failed_transaction_moves_no_cursor_and_stores_nothing(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:
        source_id = add_source(session, settings, workspace_id, "bluesky", "firehose", {}, {}).id
    # A workspace that does not exist makes the insert fail on its foreign key, mid-batch.
    with pytest.raises(Exception):  # noqa: B017, PT011
        Ingestor(engine, settings).ingest(
            Target(workspace_id + 999, source_id), [jsonl_event(1), jsonl_event(2)]
        )
    with Session(engine) as session:
        assert session.get_one(Source, source_id).cursor is None
    assert _posts(engine) == 0


def test_dead_letter_replay_after_the_limit_is_raised(
    engine: Engine, tmp_path, db_url: str, workspace_id: int
) -> None:
    strict = Settings(home=tmp_path, database_url=db_url, max_payload_bytes=2048)
    Ingestor(engine, strict).ingest(Target(workspace_id), [jsonl_event(1, text="y" * 4000)])
    (letter,) = _letters(engine)
    outcome, _ = replay_dead_letter(Ingestor(engine, strict), letter.id)
    assert outcome.startswith("still refused: too_large")
    relaxed = Settings(home=tmp_path, database_url=db_url)
    outcome, result = replay_dead_letter(Ingestor(engine, relaxed), letter.id)
    assert outcome == REPLAYED and result is not None and result.store.stored == 1
    (letter,) = _letters(engine)
    assert letter.replay_outcome == REPLAYED and _posts(engine) == 1


def test_a_rolled_back_batch_leaves_no_author_in_the_cache(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ingestor = Ingestor(engine, settings)
    with pytest.raises(Exception):  # noqa: B017, PT011
        ingestor.ingest(Target(workspace_id + 999), [jsonl_event(1)])
    assert (
        ingestor.author_cache.get(
            (workspace_id + 999, "bluesky", "did:plc:amira0000000000000000000")
        )
        is None
    )
    # The same author then stores fine in a real workspace: no stale id was kept.
    assert ingestor.ingest(Target(workspace_id), [jsonl_event(2)]).store.stored == 1


def test_cached_authors_still_record_new_handles(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    from hubbub.posts.models import AuthorHandle

    key = (workspace_id, "bluesky", "did:plc:amira0000000000000000000")
    ingestor = Ingestor(engine, settings)
    ingestor.ingest(Target(workspace_id), [jsonl_event(1)])
    assert ingestor.author_cache.get(key) is not None
    line = orjson.loads(jsonl_line(2))
    line["author"].update(handle="amira.dev", followers=5000)
    ingestor.ingest(Target(workspace_id), [RawEvent(payload=orjson.dumps(line), format="jsonl")])
    with Session(engine) as session:
        handles = set(session.scalars(select(AuthorHandle.handle)))
    assert handles == {"amira.bsky.social", "amira.dev"}
    cached = ingestor.author_cache.get(key)
    assert cached is not None
    assert (cached.handle, cached.followers) == ("amira.dev", 5000)


def test_each_failed_fetch_is_kept_and_shown_on_its_source(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """A connector reports a failed fetch as an event without bytes: each distinct failure is
    its own dead letter (not one per workspace), and its source shows it as its last error."""
    reports: dict[str, RawEvent] = {}
    with feed_server() as server:
        for name, status in (("gone", 404), ("withdrawn", 410)):
            url = server.script(f"/{name}", Reply(b"no feed here", status=status))
            feed = RssConnector(
                RssConnector.parse_config({"url": url, "interval_seconds": 60}),
                SourceContext(settings, name),
            )
            reports[name] = run_until(feed, None, lambda batches: len(batches) >= 1)[0][0]
    ingestor = Ingestor(engine, settings)
    with transaction(engine) as session:
        ids = {
            name: add_source(session, settings, workspace_id, "rss", name, {"url": url}, {}).id
            for name, url in (("gone", server.base + "/gone"), ("withdrawn", server.base + "/w"))
        }
    for _ in range(2):  # the same failure reported again is the same letter
        for name, report in reports.items():
            assert ingestor.ingest(Target(workspace_id, ids[name]), [report]).rejected == 1
    letters = _letters(engine)
    assert [(letter.reason_code, letter.source_id) for letter in letters] == [
        ("http_status", ids["gone"]),
        ("http_status", ids["withdrawn"]),
    ]
    assert "404" in letters[0].reason and "410" in letters[1].reason
    with Session(engine) as session:
        for name, status in (("gone", "404"), ("withdrawn", "410")):
            source = session.get_one(Source, ids[name])
            assert source.last_error is not None and status in source.last_error
            assert source.last_error.startswith("http_status: ")
            assert source.last_error_at is not None
