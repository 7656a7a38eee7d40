"""The live source against a local server speaking Mastodon's REST and SSE streaming API."""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import pydantic
import pytest

from hubbub.connectors.mastodon.normalise import normalise
from hubbub.connectors.mastodon.source import MastodonSource
from hubbub.core.items import DeleteItem, PostItem, RawEvent
from hubbub.settings import Settings
from hubbub.sources.base import connectors

from .conftest import collect, entity_id, make_source, outcome
from .fake_server import Fault, MastodonState, sse
from .recorded import recorded_notifications, timeline_of

HOSTILE = (
    '<p>Buy <script>alert("x")</script>now <a href="javascript:alert(1)" onclick="steal()">'
    'here</a> <img src="x" onerror="steal()"><a href="https://shop.example/deal">deal</a></p>'
)


def ids(events: list[RawEvent]) -> list[str]:
    return [i for i in (entity_id(e) for e in events) if i is not None]


def count_ids(n: int):  # type: ignore[no-untyped-def]
    return lambda events: len(ids(events)) >= n


def test_registered_with_secret_field() -> None:
    assert connectors.get("mastodon") is MastodonSource
    assert MastodonSource.network == "mastodon"
    assert MastodonSource.secret_fields == ("access_token",)


@pytest.mark.parametrize(
    "values",
    [
        {"server": "http://mastodon.social"},
        {"server": "https://mastodon.social/api"},
        {"server": "https://mastodon.social", "timelines": ["home"]},
        {"server": "https://mastodon.social", "timelines": ["list:abc"]},
        {"server": "https://mastodon.social", "timelines": []},
        {"server": "https://mastodon.social", "poll_seconds": 0},
    ],
)
def test_config_refuses_bad_values(values: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        MastodonSource.parse_config(values)


@pytest.mark.parametrize("text", ["public, hashtag:Brand", '["public", "hashtag:Brand"]'])
def test_config_takes_timelines_as_text(text: str) -> None:
    config = MastodonSource.parse_config({"server": "https://mastodon.social", "timelines": text})
    assert config.model_dump()["timelines"] == ["public", "hashtag:brand"]


def test_config_normalises_server_and_tags() -> None:
    config = MastodonSource.parse_config(
        {"server": "https://Mastodon.Social/", "timelines": ["hashtag:#Brand", "hashtag:brand"]}
    )
    assert config.model_dump()["server"] == "https://mastodon.social"
    assert config.model_dump()["timelines"] == ["hashtag:brand"]


def test_stream_disconnects_are_backfilled_without_gaps_or_duplicates(
    mastodon: tuple[MastodonState, str], local_settings: Settings
) -> None:
    state, url = mastodon
    statuses = timeline_of(30)
    state.timelines["public"] = statuses[:10]
    state.streams = [
        # first connection: five live updates, then a frame cut off by a clean close
        [
            ("await_rest", 1),
            *[("update", s) for s in statuses[10:15]],
            ("send", b'event: update\ndata: {"id":'),
            ("publish", statuses[15:20]),
        ],
        # second: repeats two already backfilled, three new, then the socket drops
        [
            ("await_rest", 2),
            *[("send", sse("update", json.dumps(s))) for s in statuses[18:20]],
            *[("update", s) for s in statuses[20:25]],
            ("publish", statuses[25:30]),
            ("abort", None),
        ],
    ]
    source = make_source(url, local_settings)
    events = collect(source, until=count_ids(30), settle=0.3)

    assert ids(events) == [s["id"] for s in statuses]
    backfills = [r.query.get("min_id") for r in state.requests("/api/v1/timelines/public")]
    assert backfills[:3] == [None, ["1015"], ["1025"]]
    assert len(state.requests("/api/v1/streaming/public")) >= 3
    cursor = json.loads(events[-1].cursor or "")
    assert cursor == {"server": url, "timelines": {"public": "1030"}}
    for event in events:
        assert event.meta["server"] == url
        items = normalise(event)
        assert isinstance(items[0], PostItem)


def test_resume_from_cursor_backfills_only_newer(
    mastodon: tuple[MastodonState, str], local_settings: Settings
) -> None:
    state, url = mastodon
    statuses = timeline_of(12)
    state.timelines["public"] = statuses
    cursor = json.dumps({"server": url, "timelines": {"public": "1009"}})
    events = collect(make_source(url, local_settings), cursor, until=count_ids(3), settle=0.2)
    assert ids(events) == ["1010", "1011", "1012"]
    assert state.requests("/api/v1/timelines/public")[0].query["min_id"] == ["1009"]


def test_cursor_of_another_server_is_ignored(
    mastodon: tuple[MastodonState, str], local_settings: Settings
) -> None:
    state, url = mastodon
    state.timelines["public"] = timeline_of(3)
    cursor = json.dumps({"server": "https://elsewhere.example", "timelines": {"public": "1002"}})
    events = collect(make_source(url, local_settings), cursor, until=count_ids(3))
    assert ids(events) == ["1001", "1002", "1003"]


def test_backfill_pages_forward_by_min_id(
    mastodon: tuple[MastodonState, str], local_settings: Settings
) -> None:
    state, url = mastodon
    statuses = timeline_of(95)
    state.timelines["public"] = statuses
    cursor = json.dumps({"server": url, "timelines": {"public": "1000"}})
    source = make_source(url, local_settings, streaming=False)
    events = collect(source, cursor, until=count_ids(95), settle=0.2)
    assert ids(events) == [s["id"] for s in statuses]
    pages = [r.query["min_id"][0] for r in state.requests("/api/v1/timelines/public")[:3]]
    assert pages == ["1000", "1040", "1080"]


def test_rate_limited_429_waits_retry_after(
    mastodon: tuple[MastodonState, str], local_settings: Settings
) -> None:
    state, url = mastodon
    state.timelines["public"] = timeline_of(2)
    state.faults = [Fault(429, {"Retry-After": "1"})]
    source = make_source(url, local_settings, streaming=False)
    events = collect(source, until=count_ids(2))
    assert ids(events) == ["1001", "1002"]
    first, second = state.requests("/api/v1/timelines/public")[:2]
    assert second.at - first.at >= 0.95
    assert source.states["public"] == "ok"


def test_rate_limit_headers_slow_down_before_zero(
    mastodon: tuple[MastodonState, str], local_settings: Settings
) -> None:
    state, url = mastodon
    state.timelines["public"] = timeline_of(2)
    state.rate_remaining = 3
    state.rate_reset_seconds = 0.8
    source = make_source(url, local_settings, streaming=False, rate_limit_reserve=5)
    collect(source, until=lambda _: len(state.requests("/api/v1/timelines/public")) >= 2)
    first, second = state.requests("/api/v1/timelines/public")[:2]
    assert second.at - first.at >= 0.6  # waited for the window to reset, not poll_seconds


def test_server_errors_back_off_with_growing_delays(
    mastodon: tuple[MastodonState, str], local_settings: Settings
) -> None:
    state, url = mastodon
    state.timelines["public"] = timeline_of(1)
    state.faults = [Fault(500), Fault(502), Fault(500)]
    source = make_source(url, local_settings, streaming=False, retry_base_seconds=0.1)
    events = collect(source, until=count_ids(1))
    assert ids(events) == ["1001"]
    times = [r.at for r in state.requests("/api/v1/timelines/public")[:4]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # full jitter draws from [ceiling/2, ceiling] with ceilings 0.1, 0.2, 0.4
    assert gaps[0] >= 0.05
    assert gaps[1] >= 0.1
    assert gaps[2] >= 0.2
    assert gaps[2] > gaps[0]


def test_slow_rest_response_times_out_and_retries(
    mastodon: tuple[MastodonState, str], local_settings: Settings
) -> None:
    state, url = mastodon
    state.timelines["public"] = timeline_of(2)
    state.faults = [Fault(delay=1.0)]
    settings = local_settings.model_copy(update={"http_timeout_seconds": 0.3})
    source = make_source(url, settings, streaming=False)
    events = collect(source, until=count_ids(2))
    assert ids(events) == ["1001", "1002"]
    assert len(state.requests("/api/v1/timelines/public")) >= 2


def test_silent_stream_is_reconnected_and_backfilled(
    mastodon: tuple[MastodonState, str], local_settings: Settings
) -> None:
    state, url = mastodon
    statuses = timeline_of(4)
    state.timelines["public"] = statuses[:2]
    state.streams = [[("await_rest", 1), ("publish", statuses[2:]), ("hold", 5.0)]]
    source = make_source(url, local_settings, stream_idle_seconds=0.3)
    events = collect(source, until=count_ids(4))
    assert ids(events) == ["1001", "1002", "1003", "1004"]
    assert len(state.requests("/api/v1/streaming/public")) >= 2


def test_malformed_sse_frames(
    mastodon: tuple[MastodonState, str], local_settings: Settings
) -> None:
    state, url = mastodon
    statuses = timeline_of(3)
    hostile = dict(statuses[2], content=HOSTILE, spoiler_text="")
    state.timelines["public"] = []
    garbage = (
        b"this line has no field name\n\n"
        b": a comment\n\n"
        b"data: data without an event name\n\n"
        b"event: filters_changed\n\n"
        b"event: update\ndata: {not json\n\n"
        b'event: update\ndata: {"id": "\xff"}\n\n'
        b"event: update\r\ndata: " + json.dumps(statuses[0]).encode() + b"\r\n\r\n"
        b"retry: 100\nid: 7\n\n"
    )
    state.streams = [
        [
            ("await_rest", 1),
            ("send", garbage),
            ("send", sse("update", statuses[1])),
            ("send", sse("update", hostile)),
            ("send", sse("delete", statuses[1]["id"])),
            ("send", sse("delete", "999999")),
            ("hold", 5.0),
        ]
    ]
    source = make_source(url, local_settings)
    events = collect(source, until=lambda ev: len(ev) >= 7, settle=0.2)
    assert len(events) == 7
    outcomes = [outcome(event) for event in events]
    assert outcomes[:2] == ["invalid_json", "invalid_utf8"]
    posts = [o[0] for o in outcomes[2:5] if isinstance(o, list) and isinstance(o[0], PostItem)]
    assert [p.native_id for p in posts] == [s["uri"] for s in statuses]
    assert posts[2].text == "Buy now here deal"
    assert posts[2].links == ("https://shop.example/deal",)
    deleted = outcomes[5]
    assert isinstance(deleted, list)
    assert isinstance(deleted[0], DeleteItem)
    assert deleted[0].native_id == statuses[1]["uri"]  # local id mapped through what we saw
    unknown = outcomes[6]
    assert isinstance(unknown, list)
    assert isinstance(unknown[0], DeleteItem)
    assert unknown[0].native_id == f"{url}/api/v1/statuses/999999"


def test_oversized_stream_event_is_dead_lettered_and_stream_goes_on(
    mastodon: tuple[MastodonState, str], local_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    state, url = mastodon
    statuses = timeline_of(2)
    settings = local_settings.model_copy(update={"max_payload_bytes": 4096})
    big = dict(statuses[0], content="<p>" + "x" * 10_000 + "</p>")
    small = dict(
        statuses[1],
        content="<p>ok</p>",
        account={**statuses[1]["account"], "note": "", "fields": [], "emojis": []},
    )
    state.streams = [[("send", sse("update", big)), ("send", sse("update", small)), ("hold", 5.0)]]
    state.timelines["public"] = []
    with caplog.at_level(logging.WARNING):
        events = collect(make_source(url, settings), until=count_ids(1), settle=0.2)
    assert ids(events) == ["1002"]
    assert "stream events over 4096 bytes passed on cut" in caplog.text
    oversize = [e for e in events if len(e.payload) > 4096]
    assert len(oversize) == 1  # handed on, so the ingest service keeps it as too_large
    assert normalise_event_code(oversize[0], settings) == "too_large"


def test_expired_token_is_reported_and_retried_never_raised(
    mastodon: tuple[MastodonState, str], local_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    state, url = mastodon
    state.timelines["public"] = timeline_of(1)
    state.faults = [Fault(401, body='{"error": "The access token is invalid"}')]
    source = make_source(url, local_settings, token="expired", streaming=False)
    with caplog.at_level(logging.INFO):
        events = collect(source, until=count_ids(1))
    assert ids(events) == ["1001"]
    assert "auth_failed" in caplog.text
    assert "expired or revoked" in caplog.text
    first, second = state.requests("/api/v1/timelines/public")[:2]
    assert second.at - first.at >= 0.25  # auth_retry_seconds, not the short backoff


def test_auth_failure_state_is_visible_while_waiting(
    mastodon: tuple[MastodonState, str], local_settings: Settings
) -> None:
    state, url = mastodon
    state.timelines["public"] = []
    state.faults = [Fault(403, body="{}")] * 50
    source = make_source(url, local_settings, token="revoked", streaming=False)
    collect(source, until=lambda _: bool(state.requests("/api/v1/timelines/public")), settle=0.1)
    assert source.state == "auth_failed"


def test_streaming_refused_falls_back_to_polling(
    mastodon: tuple[MastodonState, str], local_settings: Settings
) -> None:
    state, url = mastodon
    statuses = timeline_of(3)
    state.timelines["public"] = statuses[:1]
    state.stream_status = 401  # public streaming needs a token on this server
    source = make_source(url, local_settings)

    def grow(events: list[RawEvent]) -> bool:
        if len(ids(events)) == 1:
            state.timelines["public"].extend(statuses[1:])
        return len(ids(events)) >= 3

    events = collect(source, until=grow)
    assert ids(events) == ["1001", "1002", "1003"]
    assert len(state.requests("/api/v1/streaming/public")) == 1


def test_hashtag_and_notifications_routes(
    mastodon: tuple[MastodonState, str], local_settings: Settings
) -> None:
    state, url = mastodon
    state.timelines["hashtag:brand"] = timeline_of(2)
    state.notifications = recorded_notifications()
    source = make_source(
        url,
        local_settings,
        token="t",
        streaming=False,
        timelines=["hashtag:Brand", "notifications"],
    )
    wanted = 2 + len(state.notifications)
    events = collect(source, until=count_ids(wanted), settle=0.1)
    assert len(ids(events)) == wanted
    assert state.requests("/api/v1/timelines/tag/brand")
    note_request = state.requests("/api/v1/notifications")[0]
    assert "favourite" in note_request.query["types[]"]
    posts = rejected = 0
    for event in events:
        if event.meta["timeline"] != "notifications":
            continue
        assert event.meta["account"] == "https://example.social/@brand"
        result = outcome(event)
        if isinstance(result, list):
            posts += len(result)
        else:
            assert result == "missing_status"
            rejected += 1
    assert posts == 1
    assert rejected == len(state.notifications) - 1
    cursor = json.loads(events[-1].cursor or "")
    assert set(cursor["timelines"]) == {"hashtag:brand", "notifications"}


def test_loopback_refused_by_default_settings(
    mastodon: tuple[MastodonState, str], tmp_path: Path
) -> None:
    state, url = mastodon
    state.timelines["public"] = timeline_of(1)
    source = make_source(url, Settings(home=tmp_path), streaming=False)
    events = collect(source, until=lambda _: source.state == "config_error", timeout=5)
    assert events == []
    assert state.log == []


def test_loopback_allowed_with_local_settings(
    mastodon: tuple[MastodonState, str], local_settings: Settings
) -> None:
    state, url = mastodon
    state.timelines["public"] = timeline_of(1)
    events = collect(make_source(url, local_settings, streaming=False), until=count_ids(1))
    assert ids(events) == ["1001"]


@pytest.mark.parametrize(
    ("spec", "stream_path", "stream_query", "rest_path", "rest_query"),
    [
        ("public", "/api/v1/streaming/public", {}, "/api/v1/timelines/public", {}),
        (
            "public:local",
            "/api/v1/streaming/public/local",
            {},
            "/api/v1/timelines/public",
            {"local": ["true"]},
        ),
        (
            "hashtag:Brand",
            "/api/v1/streaming/hashtag",
            {"tag": ["brand"]},
            "/api/v1/timelines/tag/brand",
            {},
        ),
        ("list:42", "/api/v1/streaming/list", {"list": ["42"]}, "/api/v1/timelines/list/42", {}),
    ],
)
def test_timeline_routes(
    mastodon: tuple[MastodonState, str],
    local_settings: Settings,
    spec: str,
    stream_path: str,
    stream_query: dict[str, list[str]],
    rest_path: str,
    rest_query: dict[str, list[str]],
) -> None:
    state, url = mastodon
    key = spec.lower()
    state.timelines[key] = timeline_of(1)
    events = collect(
        make_source(url, local_settings, token="t", timelines=[spec]), until=count_ids(1)
    )
    assert json.loads(events[0].cursor or "")["timelines"] == {key: "1001"}
    stream = state.requests("/api/v1/streaming/")[0]
    assert (stream.path, stream.query) == (stream_path, stream_query)
    rest = state.requests("/api/v1/timelines/")[0]
    assert rest.path == rest_path
    assert {k: v for k, v in rest.query.items() if k != "limit"} == rest_query


def normalise_event_code(event: RawEvent, settings: Settings) -> str:
    """The reason the ingest service gives for refusing ``event``."""
    from hubbub.core.clock import utcnow
    from hubbub.core.errors import Rejected
    from hubbub.sources.ingest import normalise_event

    try:
        normalise_event(event, settings, utcnow())
    except Rejected as rejected:
        return rejected.code
    return "accepted"
