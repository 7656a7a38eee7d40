"""``hubbub bench ingest``: decode + normalise + store of Jetstream post events into SQLite.

Side by side in one run (three rounds by default, see ``run``), each side in a fresh child
process and a fresh database:

* ``baseline``: the standard library's ``json`` and ``sqlite3`` decode the same events and
  bulk-insert them into the same ``posts`` table (no authors, no dedupe, no validation);
* ``hubbub``: the real ingest service (normaliser, authors, handle history, tombstones,
  near-duplicate fingerprints, dead letters, cursor) through SQLAlchemy, as ``hubbub import``
  runs it: a prepare worker process decodes and prepares the next batches while the writer
  stores the current one (``HUBBUB_INGEST_PREPARE_WORKERS=0`` keeps it all in one process).
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from hubbub.bench import machine

BATCH = 500


def _events(n: int, seed: int) -> list[bytes]:
    from hubbub.connectors.bluesky.workload import jetstream_events

    return jetstream_events(n, seed=seed)


def _batches(path: str) -> Iterator[list[bytes]]:
    """The workload file in batches, streamed: peak memory is the ingest path's own."""
    with open(path, "rb") as handle:
        batch: list[bytes] = []
        for line in handle:
            batch.append(line.rstrip(b"\n"))
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def peak_rss_mb() -> float:
    """This process's own peak resident memory.

    ``ru_maxrss`` survives fork+exec on Linux (a child reports its parent's peak), so the
    kernel's per-address-space high-water mark is read where it exists.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_peak_rss_mb() -> float:
    """Largest peak of this process's reaped children (the prepare worker)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def fresh_store(folder: Path) -> tuple[str, int]:
    from hubbub.migrations import upgrade
    from hubbub.store.engine import make_engine, transaction
    from hubbub.workspaces.actions import ensure_workspace

    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as session:
        workspace_id = ensure_workspace(session, "bench").id
    engine.dispose()
    return url, workspace_id


def _run_baseline(path: str, folder: str, commit_batches: int) -> dict[str, Any]:
    url, workspace_id = fresh_store(Path(folder))
    from hubbub.store.engine import sqlite_pragmas

    db = sqlite3.connect(url.split("///", 1)[1])
    sqlite_pragmas(db)  # the same settings as the store, so only the work differs
    db.execute(
        "INSERT INTO authors (workspace_id, network, native_id, active, first_seen_at,"
        " last_seen_at) VALUES (?, 'bluesky', 'baseline', 1, '2026-01-01', '2026-01-01')",
        (workspace_id,),
    )
    author_id = db.execute("SELECT id FROM authors").fetchone()[0]
    db.commit()
    sql = (
        "INSERT INTO posts (workspace_id, network, native_id, author_id, kind, text, langs,"
        " created_at, received_at, mentions, hashtags, links, media, deleted, raw)"
        " VALUES (?, 'bluesky', ?, ?, 'post', ?, ?, ?, ?, '[]', '[]', '[]', '[]', 0, ?)"
    )
    started = time.perf_counter()
    events = 0
    for lines in _batches(path):
        rows = []
        for line in lines:
            event = json.loads(line)
            commit = event["commit"]
            record = commit["record"]
            rows.append(
                (
                    workspace_id,
                    f"at://{event['did']}/{commit['collection']}/{commit['rkey']}",
                    author_id,
                    record.get("text", ""),
                    json.dumps(record.get("langs", [])),
                    record["createdAt"],
                    record["createdAt"],
                    line.decode(),
                )
            )
        db.executemany(sql, rows)
        events += len(lines)
        if events % (BATCH * commit_batches) == 0:
            db.commit()
    db.commit()
    elapsed = time.perf_counter() - started
    stored = db.execute("SELECT count(*) FROM posts").fetchone()[0]
    db.close()
    return {
        "events": events,
        "stored": stored,
        "seconds": elapsed,
        "events_per_second": events / elapsed,
        "peak_rss_mb": peak_rss_mb(),
    }


def _run_hubbub(path: str, folder: str, commit_batches: int) -> dict[str, Any]:
    from hubbub.connectors import load_ingest_plugins
    from hubbub.core.items import RawEvent
    from hubbub.runtime import load_connectors
    from hubbub.settings import Settings
    from hubbub.sources.ingest import Ingestor, Target
    from hubbub.store.engine import make_engine

    load_connectors()
    url, workspace_id = fresh_store(Path(folder))
    settings = Settings(
        home=Path(folder),
        database_url=url,
        ingest_batch_size=BATCH,
        ingest_commit_batches=commit_batches,
    )
    ingestor = Ingestor(make_engine(url), settings, worker_setup=load_ingest_plugins)
    target = Target(workspace_id)
    events = stored = rejected = batches = 0

    def raw_batches() -> Iterator[list[RawEvent]]:
        number = 0
        for lines in _batches(path):
            yield [
                RawEvent(payload=line, format="jetstream", cursor=str(number + i))
                for i, line in enumerate(lines)
            ]
            number += len(lines)

    # The clock starts before the prepare worker does: its start-up is part of the run.
    started = time.perf_counter()
    for result in ingestor.ingest_stream(target, raw_batches()):
        stored += result.store.stored
        rejected += result.rejected
        events += result.events
        batches += 1
    elapsed = time.perf_counter() - started
    return {
        "events": events,
        "stored": stored,
        "rejected": rejected,
        "seconds": elapsed,
        "events_per_second": events / elapsed,
        "prepare_workers": settings.ingest_prepare_workers,
        # Batches the writer prepared itself while the worker was starting.
        "batches_prepared_inline": batches - ingestor.batches_prepared_by_worker,
        # Writer and prepare worker together (the worker is a reaped child by now).
        "peak_rss_mb": peak_rss_mb() + worker_peak_rss_mb(),
        "peak_rss_mb_writer": peak_rss_mb(),
        "peak_rss_mb_prepare_worker": worker_peak_rss_mb(),
    }


def _in_child(function: Any, *args: Any) -> dict[str, Any]:
    # Not a multiprocessing.Pool: its daemonic workers may not start the prepare worker.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return dict(pool.submit(function, *args).result())


def run(
    events: int, seed: int = 0, commit_batches: int | None = None, rounds: int = 3
) -> dict[str, Any]:
    """Both sides on the same generated events, ``rounds`` times; targets from issue #2.

    ``commit_batches`` (default: the setting) is the most batches Hubbub writes in one
    transaction when its prepare worker is ahead; the baseline commits that often too, so
    neither side gets larger transactions than the other.

    Each round runs both sides back to back, the order swapped every round, so a pair shares
    the machine's moment: on a shared VM the baseline alone swung by 20 % between runs
    minutes apart. The summary is the median round (ratio of the pair, rates of each side);
    every round is in ``rounds``. The floor (10,000 events/s) is checked on Hubbub's median
    rate over the rounds.
    """
    from hubbub.settings import Settings

    if commit_batches is None:
        commit_batches = Settings.model_fields["ingest_commit_batches"].default
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    pairs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        path = folder / "events.jsonl"
        path.write_bytes(b"\n".join(_events(events, seed)) + b"\n")
        for number in range(rounds):
            sides = {"baseline": _run_baseline, "hubbub": _run_hubbub}
            order = list(sides) if number % 2 == 0 else list(reversed(sides))
            pair: dict[str, Any] = {"order": order}
            for side in order:
                store = folder / f"{number}-{side}"
                store.mkdir()
                pair[side] = _in_child(sides[side], str(path), str(store), commit_batches)
                shutil.rmtree(store)
            pair["ratio_to_baseline"] = (
                pair["hubbub"]["events_per_second"] / pair["baseline"]["events_per_second"]
            )
            pairs.append(pair)
    median = sorted(pairs, key=lambda pair: pair["ratio_to_baseline"])[(rounds - 1) // 2]
    ratio = float(median["ratio_to_baseline"])
    rates = {side: _median(pairs, side) for side in ("baseline", "hubbub")}
    return {
        "benchmark": "ingest",
        "events": events,
        "batch": BATCH,
        "commit_batches": commit_batches,
        "machine": machine(),
        # The median round's figures, whole; each side's median rate over the rounds; the
        # highest peak memory of any round.
        "baseline": median["baseline"],
        "hubbub": median["hubbub"],
        "ratio_to_baseline": ratio,
        "events_per_second_median": rates,
        "peak_rss_mb_max": {
            side: max(pair[side]["peak_rss_mb"] for pair in pairs) for side in rates
        },
        "rounds": pairs,
        "targets": {
            "ratio_to_baseline_min": 0.5,
            "events_per_second_min": 10_000,
            "met": ratio >= 0.5
            and rates["hubbub"] >= 10_000
            and all(pair["hubbub"]["stored"] == events for pair in pairs),
        },
    }


def _median(pairs: list[dict[str, Any]], side: str) -> float:
    """The median rate of one side over the rounds (the lower middle one of an even count)."""
    rates = sorted(pair[side]["events_per_second"] for pair in pairs)
    return float(rates[(len(rates) - 1) // 2])
