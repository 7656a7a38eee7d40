"""A long stream prepared ahead in a worker process stores exactly what one process stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, aliased

from hubbub.connectors.bluesky.workload import jetstream_events
from hubbub.core.items import RawEvent
from hubbub.posts.models import Author, Post
from hubbub.runtime import load_connectors
from hubbub.settings import Settings
from hubbub.sources.importer import import_file
from hubbub.sources.ingest import Ingestor, Target
from hubbub.sources.models import DeadLetter
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.support.factories import jsonl_line

BATCH = 50


def _events() -> list[RawEvent]:
    """Jetstream posts, Hubbub lines with cross-network copies and repeats, and bad input."""
    events = [
        RawEvent(payload=line, format="jetstream", cursor=f"j{i}")
        for i, line in enumerate(jetstream_events(700, seed=3))
    ]
    for n in range(150):
        text = f"Syndicated note {n % 40}: the Acme rocket skates ship on Friday"
        events.append(RawEvent(payload=jsonl_line(n, text=text), format="jsonl"))
        events.append(
            RawEvent(payload=jsonl_line(n, network="mastodon", text=text), format="jsonl")
        )
        if n % 25 == 0:
            cut = b'{"v": 1, "type": "post", "n": %d, ' % n
            events.append(RawEvent(payload=cut, format="jsonl"))
    events += events[100:160]  # a replayed stretch: nothing stored twice
    return events


def _stored(engine: Engine, workspace_id: int) -> set[tuple[Any, ...]]:
    canonical = aliased(Post)
    with Session(engine) as session:
        rows = session.execute(
            select(
                Post.network,
                Post.native_id,
                Post.text,
                Post.langs,
                Post.mentions,
                Post.fingerprint,
                Post.created_at,
                Author.native_id,
                canonical.native_id,
            )
            .join(Author, Author.id == Post.author_id)
            .outerjoin(canonical, canonical.id == Post.near_dup_of)
            .where(Post.workspace_id == workspace_id)
        )
        return {tuple(tuple(v) if isinstance(v, list) else v for v in row) for row in rows}


def _letters(engine: Engine, workspace_id: int) -> list[tuple[str, bytes]]:
    with Session(engine) as session:
        rows = session.execute(
            select(DeadLetter.reason_code, DeadLetter.payload)
            .where(DeadLetter.workspace_id == workspace_id)
            .order_by(DeadLetter.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def _batches(events: list[RawEvent]) -> list[list[RawEvent]]:
    return [events[i : i + BATCH] for i in range(0, len(events), BATCH)]


def test_worker_prepared_stream_stores_what_one_process_stores(
    engine: Engine, tmp_path: Path, db_url: str
) -> None:
    settings = Settings(home=tmp_path, database_url=db_url, ingest_batch_size=BATCH)
    with transaction(engine) as session:
        alone = ensure_workspace(session, "alone").id
        piped = ensure_workspace(session, "piped").id
    events = _events()

    inline = Ingestor(engine, settings)
    totals_alone = [r.store.stored for r in inline.ingest_stream(Target(alone), _batches(events))]
    assert inline.batches_prepared_by_worker == 0

    ingestor = Ingestor(engine, settings, worker_setup=load_connectors)
    ingestor.wait_for_worker = True
    results = list(ingestor.ingest_stream(Target(piped), _batches(events)))
    batches = len(_batches(events))
    assert ingestor.batches_prepared_by_worker == batches - Ingestor.START_AT_BATCH
    assert [r.store.stored for r in results] == totals_alone
    assert results[-1].cursor == "j159"

    stored = _stored(engine, piped)
    assert stored == _stored(engine, alone)
    assert len(stored) == 700 + 300
    assert sum(1 for row in stored if row[-1] is not None) >= 150 + 110  # copies + repeats
    assert _letters(engine, piped) == _letters(engine, alone)
    assert len(_letters(engine, piped)) == 6


def test_import_of_a_long_file_uses_the_worker_and_reports_progress_in_order(
    engine: Engine, tmp_path: Path, db_url: str, workspace_id: int
) -> None:
    settings = Settings(home=tmp_path, database_url=db_url, ingest_batch_size=BATCH)
    path = tmp_path / "events.jsonl"
    lines = jetstream_events(600, seed=5)
    path.write_bytes(b"\n".join(lines) + b"\n")
    ingestor = Ingestor(engine, settings, worker_setup=load_connectors)
    ingestor.wait_for_worker = True
    seen: list[int] = []
    result = import_file(ingestor, Target(workspace_id), path, "jetstream", progress=seen.append)
    assert result.store.stored == 600 and result.rejected == 0
    assert ingestor.batches_prepared_by_worker == 600 // BATCH - Ingestor.START_AT_BATCH
    assert seen == sorted(seen) and seen[-1] == path.stat().st_size
    again = import_file(ingestor, Target(workspace_id), path, "jetstream")
    assert again.store.stored == 0 and again.store.duplicates == 600
