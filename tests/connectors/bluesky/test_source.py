"""The Jetstream connector against a local Jetstream-protocol server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import orjson
import pydantic
import pytest
import zstandard

from hubbub.connectors.bluesky.normalise import FOLLOW, LIKE, POST, REPOST, normalise_jetstream
from hubbub.connectors.bluesky.source import JetstreamConfig, JetstreamConnector
from hubbub.connectors.bluesky.workload import jetstream_events
from hubbub.core.errors import ConfigError, Rejected, UnsafeURL
from hubbub.core.items import RawEvent
from hubbub.settings import Settings
from hubbub.sources.backoff import Backoff
from hubbub.sources.base import SourceContext, connectors
from tests.connectors.bluesky.events import normalise, recorded_lines
from tests.support.jetstream_server import MALFORMED_FRAMES, JetstreamServer

TIMEOUT = 15.0


def _settings(base: Settings, **changes: Any) -> Settings:
    values = {"ingest_batch_size": 100, "ingest_batch_seconds": 0.05, **changes}
    return base.model_copy(update=values)


def _connector(settings: Settings, **config: Any) -> JetstreamConnector:
    connector = JetstreamConnector(
        JetstreamConfig.model_validate(config), SourceContext(settings, source_name="test")
    )
    # Reconnect quickly: the tests drop connections on purpose.
    connector.backoff = Backoff(base=0.01, cap=0.05)
    return connector


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


async def _collect(
    connector: JetstreamConnector,
    cursor: str | None,
    done: Callable[[list[RawEvent]], bool],
) -> list[list[RawEvent]]:
    """Batches from the connector until ``done`` says enough has arrived."""
    batches: list[list[RawEvent]] = []
    received: list[RawEvent] = []
    stream = connector.stream(cursor)
    try:
        async for batch in stream:
            assert batch, "batches are never empty"
            batches.append(batch)
            received.extend(batch)
            if done(received):
                break
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    return batches


def _has_all(lines: list[bytes]) -> Callable[[list[RawEvent]], bool]:
    wanted = set(lines)
    return lambda received: wanted <= {event.payload for event in received}


def _time_us(line: bytes) -> int:
    value: int = orjson.loads(line)["time_us"]
    return value


def test_registered_as_bluesky() -> None:
    assert connectors.get("bluesky") is JetstreamConnector
    assert JetstreamConnector.network == "bluesky"


def test_receives_every_recorded_event_it_subscribed_to(local_settings: Settings) -> None:
    lines = recorded_lines("expected_v1.jsonl")
    collected = {POST, REPOST, LIKE, FOLLOW}
    wanted = [
        line
        for line in lines
        if orjson.loads(line)["kind"] != "commit"
        or orjson.loads(line)["commit"]["collection"] in collected
    ]
    settings = _settings(local_settings, ingest_batch_size=40)

    async def scenario() -> tuple[list[list[RawEvent]], JetstreamServer]:
        server = JetstreamServer(lines)
        async with server as url:
            batches = await _collect(_connector(settings, url=url), None, _has_all(wanted))
        return batches, server

    batches, server = _run(scenario())
    received = [event for batch in batches for event in batch]
    assert sorted(event.payload for event in received) == sorted(wanted)
    assert all(len(batch) <= 40 for batch in batches)
    assert all(event.format == "jetstream" for event in received)
    # Cursors never move backwards, and each is the highest time_us seen so far.
    cursors = [int(event.cursor or 0) for event in received]
    assert cursors == sorted(cursors)
    assert cursors[-1] == max(_time_us(line) for line in wanted)
    (subscription,) = server.subscriptions
    assert subscription.collections == [POST, REPOST, LIKE, FOLLOW]
    assert subscription.cursor is None
    assert not subscription.compress
    for event in received:
        assert normalise(event.payload)


def test_resumes_after_server_side_disconnects_without_gaps(local_settings: Settings) -> None:
    lines = jetstream_events(1200, seed=11)

    async def scenario() -> tuple[list[list[RawEvent]], JetstreamServer]:
        server = JetstreamServer(lines, close_after=250)
        async with server as url:
            connector = _connector(_settings(local_settings), url=url, resume_rewind_seconds=0)
            batches = await _collect(connector, None, _has_all(lines))
        return batches, server

    batches, server = _run(scenario())
    received = [event.payload for batch in batches for event in batch]
    assert set(received) == set(lines)
    reconnects = len(server.subscriptions) - 1
    assert reconnects == 4
    # Resuming at the last cursor replays that one event (Jetstream's cursor is inclusive).
    assert len(received) == len(lines) + reconnects
    assert [sub.sent for sub in server.subscriptions[:-1]] == [250] * reconnects
    # Each connection resumes exactly at the last event the previous one delivered.
    times = sorted(_time_us(line) for line in lines)
    assert [sub.cursor for sub in server.subscriptions] == [None] + [
        times[249 * k] for k in range(1, reconnects + 1)
    ]


def test_rewinds_the_cursor_a_little_on_resume(local_settings: Settings) -> None:
    lines = jetstream_events(600, seed=12)
    start = _time_us(lines[300])

    async def scenario() -> tuple[list[list[RawEvent]], JetstreamServer]:
        server = JetstreamServer(lines, close_after=200, close_times=1)
        async with server as url:
            connector = _connector(_settings(local_settings), url=url, resume_rewind_seconds=0.1)
            batches = await _collect(connector, str(start), _has_all(lines[300:]))
        return batches, server

    batches, server = _run(scenario())
    first, second = server.subscriptions
    assert first.cursor == start - 100_000
    received = [event for batch in batches for event in batch]
    last_before_drop = max(_time_us(event.payload) for event in received[: first.sent])
    assert second.cursor == last_before_drop - 100_000
    assert {event.payload for event in received} >= set(lines[300:])


def test_malformed_frames_are_passed_on_with_the_previous_cursor(
    local_settings: Settings,
) -> None:
    lines = jetstream_events(200, seed=13)

    async def scenario() -> list[list[RawEvent]]:
        async with JetstreamServer(lines, malformed_every=25) as url:
            connector = _connector(_settings(local_settings), url=url)
            return await _collect(connector, None, lambda got: len(got) >= 208)

    received = [event for batch in _run(scenario()) for event in batch]
    assert len(received) == 208
    bad = [(index, event) for index, event in enumerate(received) if event.payload not in lines]
    assert [event.payload for _, event in bad] == list(MALFORMED_FRAMES) * 2
    codes = set()
    for index, event in bad:
        assert event.cursor == received[index - 1].cursor
        assert event.cursor == str(_time_us(received[index - 1].payload))
        with pytest.raises(Rejected) as caught:
            normalise(event.payload)
        codes.add(caught.value.code)
    assert codes == {"invalid_json", "missing_field", "invalid_utf8", "bad_shape"}


def test_a_time_far_in_the_future_does_not_move_the_cursor(local_settings: Settings) -> None:
    lines = jetstream_events(20, seed=22)
    future = orjson.loads(jetstream_events(1, seed=23)[0])
    future["time_us"] = _time_us(lines[-1]) + 10 * 365 * 86_400 * 1_000_000
    lines.append(orjson.dumps(future))

    async def scenario() -> list[list[RawEvent]]:
        async with JetstreamServer(lines) as url:
            connector = _connector(_settings(local_settings), url=url)
            return await _collect(connector, None, _has_all(lines))

    received = [event for batch in _run(scenario()) for event in batch]
    assert received[-1].payload == lines[-1]
    assert received[-1].cursor == received[-2].cursor == str(_time_us(lines[-2]))


def test_zstd_frames_are_decompressed(local_settings: Settings) -> None:
    lines = jetstream_events(300, seed=14)

    async def scenario() -> tuple[list[list[RawEvent]], JetstreamServer]:
        server = JetstreamServer(lines)
        async with server as url:
            connector = _connector(_settings(local_settings), url=url, compress=True)
            batches = await _collect(connector, None, _has_all(lines))
        return batches, server

    batches, server = _run(scenario())
    assert server.subscriptions[0].compress
    received = [event for batch in batches for event in batch]
    assert [event.payload for event in received] == lines
    assert all(not event.meta for event in received)


def test_plain_frames_pass_when_the_server_ignores_compress(local_settings: Settings) -> None:
    lines = jetstream_events(50, seed=21)

    async def scenario() -> list[list[RawEvent]]:
        async with JetstreamServer(lines, honour_compress=False) as url:
            connector = _connector(_settings(local_settings), url=url, compress=True)
            return await _collect(connector, None, _has_all(lines))

    received = [event for batch in _run(scenario()) for event in batch]
    assert [event.payload for event in received] == lines
    assert all(not event.meta for event in received)


def test_zstd_with_a_dictionary(local_settings: Settings, tmp_path: Any) -> None:
    samples: list[Any] = jetstream_events(2000, seed=15)
    dictionary = zstandard.train_dictionary(16_384, samples).as_bytes()
    path = tmp_path / "jetstream.dict"
    path.write_bytes(dictionary)
    lines = jetstream_events(200, seed=16)

    async def scenario(with_dictionary: bool) -> list[list[RawEvent]]:
        async with JetstreamServer(lines, zstd_dictionary=dictionary) as url:
            config: dict[str, Any] = {"url": url, "compress": True}
            if with_dictionary:
                config["zstd_dictionary"] = str(path)
            connector = _connector(_settings(local_settings), **config)
            return await _collect(connector, None, lambda got: len(got) >= len(lines))

    received = [event for batch in _run(scenario(True)) for event in batch]
    assert [event.payload for event in received] == lines
    # Without the dictionary nothing can be read, yet every frame still reaches ingest.
    unreadable = [event for batch in _run(scenario(False)) for event in batch]
    assert len(unreadable) == len(lines)
    assert {event.meta["error"] for event in unreadable} == {"bad_encoding"}
    with pytest.raises(Rejected) as caught:
        normalise_jetstream(unreadable[0])
    assert caught.value.code == "bad_encoding"


def test_oversize_events_reach_ingest(local_settings: Settings) -> None:
    big = orjson.loads(jetstream_events(1, seed=17)[0])
    big["commit"]["record"]["text"] = "x" * 300_000
    small = jetstream_events(5, seed=18)
    big["time_us"] = _time_us(small[-1]) + 1
    lines = [*small, orjson.dumps(big)]
    settings = _settings(local_settings, max_payload_bytes=100_000)

    async def scenario(compress: bool) -> list[RawEvent]:
        async with JetstreamServer(lines) as url:
            connector = _connector(settings, url=url, compress=compress)
            batches = await _collect(connector, None, lambda got: len(got) >= 6)
        return [event for batch in batches for event in batch]

    plain = _run(scenario(False))
    assert len(plain[-1].payload) > 300_000  # whole, for ingest to refuse as too large
    compressed = _run(scenario(True))
    assert compressed[-1].meta["error"] == "too_large"
    assert len(compressed[-1].payload) < 100_000  # the compressed frame, not its expansion
    assert [event.payload for event in compressed[:5]] == lines[:5]


def test_refuses_loopback_with_default_settings() -> None:
    async def scenario() -> None:
        async with JetstreamServer(jetstream_events(3)) as url:
            connector = _connector(Settings(), url=url)
            await _collect(connector, None, lambda got: True)

    with pytest.raises(UnsafeURL):
        _run(scenario())


def test_keeps_trying_until_the_server_is_up(local_settings: Settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lines = jetstream_events(50, seed=19)

    async def scenario() -> list[list[RawEvent]]:
        connector = _connector(_settings(local_settings), url=f"ws://127.0.0.1:{port}/subscribe")
        collecting = asyncio.create_task(_collect(connector, None, _has_all(lines)))
        await asyncio.sleep(0.3)
        assert not collecting.done()
        # Up at last, but it refuses the first two handshakes with HTTP 503.
        async with JetstreamServer(lines, port=port, refuse_connections=2):
            return await collecting

    received = [event.payload for batch in _run(scenario()) for event in batch]
    assert set(received) == set(lines)


def test_long_did_lists_are_sent_in_an_options_message(local_settings: Settings) -> None:
    lines = jetstream_events(400, seed=20)
    dids = sorted({orjson.loads(line)["did"] for line in lines})
    chosen = dids[:80]
    wanted = [line for line in lines if orjson.loads(line)["did"] in chosen]

    async def scenario() -> tuple[list[list[RawEvent]], JetstreamServer]:
        server = JetstreamServer(lines)
        async with server as url:
            connector = _connector(_settings(local_settings), url=url, wanted_dids=chosen)
            batches = await _collect(connector, None, _has_all(wanted))
            await asyncio.sleep(0.1)
        return batches, server

    batches, server = _run(scenario())
    received = [event.payload for batch in batches for event in batch]
    assert sorted(received) == sorted(wanted)
    assert "wantedDids" not in server.subscriptions[0].path
    assert server.subscriptions[0].dids == chosen


def test_short_did_lists_go_in_the_query(local_settings: Settings) -> None:
    connector = _connector(
        local_settings,
        url="wss://jetstream.example/subscribe",
        wanted_dids=["did:plc:abc"],
        collections=["app.bsky.graph.*"],
        compress=True,
    )
    assert connector.subscribe_url(1783175888085434) == (
        "wss://jetstream.example/subscribe?wantedCollections=app.bsky.graph.%2A"
        "&wantedDids=did%3Aplc%3Aabc&compress=true&maxMessageSizeBytes=16777216"
        "&cursor=1783175888085434"
    )


@pytest.mark.parametrize(
    "config",
    [
        {"url": "https://jetstream.example/subscribe"},
        {"url": "ws://"},
        {"collections": []},
        {"collections": ["not an nsid"]},
        {"collections": ["app.bsky.graph.block"]},
        {"collections": [".*"]},
        {"collections": ["app..*"]},
        {"wanted_dids": ["did:plc:"]},
        {"resume_rewind_seconds": -1},
        {"unknown": 1},
    ],
)
def test_bad_config_is_refused(config: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        JetstreamConnector.parse_config(config)


def test_bad_cursor_and_missing_dictionary_are_config_errors(
    local_settings: Settings, tmp_path: Any
) -> None:
    async def first(connector: JetstreamConnector, cursor: str | None) -> None:
        await _collect(connector, cursor, lambda got: True)

    connector = _connector(local_settings, url="ws://127.0.0.1:9/subscribe")
    with pytest.raises(ConfigError):
        _run(first(connector, "yesterday"))
    connector = _connector(
        local_settings,
        url="ws://127.0.0.1:9/subscribe",
        compress=True,
        zstd_dictionary=str(tmp_path / "missing.dict"),
    )
    with pytest.raises(ConfigError):
        _run(first(connector, None))


def test_server_runs_as_a_script(local_settings: Settings) -> None:
    root = Path(__file__).resolve().parents[3]
    expected = jetstream_events(100, seed=5)

    async def scenario() -> list[list[RawEvent]]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.jetstream_server",
            "--port",
            "0",
            "--generate",
            "100",
            "--seed",
            "5",
            "--rate",
            "5000",
            cwd=root,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            url = (await process.stdout.readline()).decode().strip()
            assert url.startswith("ws://127.0.0.1:")
            connector = _connector(_settings(local_settings), url=url)
            return await _collect(connector, None, _has_all(expected))
        finally:
            process.terminate()
            await process.wait()

    received = [event.payload for batch in _run(scenario()) for event in batch]
    assert received == expected
