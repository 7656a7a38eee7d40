"""Nothing acknowledged is lost, nothing is stored twice: the listener is SIGKILLed mid-stream.

A local Jetstream server (a separate process) streams 100,000 distinct post events and
replays from whatever cursor each new connection asks for, so every restart re-sends events
already stored. ``hubbub listen`` (a separate process) is killed with SIGKILL at random
moments at least five times and restarted; at the end the stored posts must equal the
distinct events sent, exactly.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from hubbub.posts.models import Post
from hubbub.sources.models import Source
from tests.support.jetstream_server import spawned

ROOT = Path(__file__).resolve().parents[2]
EVENTS = int(os.environ.get("HUBBUB_CRASH_EVENTS", "100000"))
KILLS = 6
SEED = 11

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _env(tmp_path: Path, db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HUBBUB_HOME": str(tmp_path / "home"),
            "HUBBUB_DATABASE_URL": db_url,
            "HUBBUB_ALLOWED_PRIVATE_HOSTS": '["127.0.0.1"]',
            "HUBBUB_INGEST_BATCH_SIZE": "500",
            "HUBBUB_INGEST_BATCH_SECONDS": "0.2",
            "COLUMNS": "200",
        }
    )
    return env


@pytest.fixture
def jetstream(tmp_path: Path) -> Iterator[str]:
    with spawned(EVENTS, SEED, tmp_path / "server.log") as url:
        yield url


def _counts(db_url: str) -> tuple[int, int, str | None]:
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            # One statement, so one snapshot: on PostgreSQL the server finishes a COMMIT its
            # SIGKILLed client had sent, and two statements could straddle it.
            total, distinct = session.execute(
                select(func.count(), func.count(func.distinct(Post.native_id))).select_from(Post)
            ).one()
            cursor = session.scalar(select(Source.cursor))
            return int(total), int(distinct), cursor
    finally:
        engine.dispose()


def _listen(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hubbub", "listen", "--workspace", "crash"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _wait_for(db_url: str, at_least: int, process: subprocess.Popen[bytes], limit: float) -> int:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        stored = _counts(db_url)[0]
        if stored >= at_least:
            return stored
        assert process.poll() is None, "listener exited on its own"
        time.sleep(0.05)
    raise AssertionError(f"stored fewer than {at_least} posts within {limit}s")


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    jetstream: str, db_url: str, tmp_path: Path
) -> None:
    env = _env(tmp_path, db_url)
    log = tmp_path / "listen.log"
    setup = [
        ["init", "--workspace", "crash"],
        [
            "source",
            "add",
            "bluesky",
            "firehose",
            "--workspace",
            "crash",
            "--set",
            f"url={jetstream}",
            "--set",
            "collections=app.bsky.feed.post",
        ],
    ]
    for args in setup:
        subprocess.run(
            [sys.executable, "-m", "hubbub", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )

    rng = random.Random(SEED)
    thresholds = sorted(rng.sample(range(EVENTS // 20, EVENTS * 9 // 10), KILLS))
    kills_mid_stream = 0
    for threshold in thresholds:
        listener = _listen(env, log)
        try:
            _wait_for(db_url, threshold, listener, limit=120)
            time.sleep(rng.uniform(0.0, 0.3))  # land anywhere: mid-batch, mid-commit, idle
        finally:  # killed on failure too, so a failing run leaves no listener behind
            listener.send_signal(signal.SIGKILL)
            listener.wait()
        stored, distinct, _ = _counts(db_url)
        assert stored == distinct
        kills_mid_stream += stored < EVENTS

    listener = _listen(env, log)
    try:
        _wait_for(db_url, EVENTS, listener, limit=300)
        time.sleep(1.0)  # anything beyond EVENTS would be a duplicate; give it a chance to show
    finally:
        listener.send_signal(signal.SIGTERM)
        try:
            listener.wait(timeout=30)
        except subprocess.TimeoutExpired:
            listener.kill()
            listener.wait()

    stored, distinct, cursor = _counts(db_url)
    assert kills_mid_stream >= 5, f"only {kills_mid_stream} kills landed before the end"
    assert stored == distinct == EVENTS
    assert cursor is not None and int(cursor) > 0
