"""A long stream prepared ahead in a worker process stores exactly what one process stores."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session, aliased

from hubbub.connectors.bluesky.workload import jetstream_events
from hubbub.core.items import RawEvent
from hubbub.posts.models import Author, AuthorHandle, Post
from hubbub.runtime import load_connectors
from hubbub.settings import Settings
from hubbub.sources.importer import import_file
from hubbub.sources.ingest import Ingestor, Target
from hubbub.sources.models import DeadLetter
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.support.factories import PERSONAS, jsonl_line

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


def _commits(engine: Engine) -> list[int]:
    seen: list[int] = []
    event.listen(engine, "commit", lambda _conn: seen.append(1))
    return seen


def test_batches_prepared_ahead_share_a_transaction_and_store_the_same(
    engine: Engine, tmp_path: Path, db_url: str
) -> None:
    settings = Settings(
        home=tmp_path, database_url=db_url, ingest_batch_size=BATCH, ingest_commit_batches=4
    )
    with transaction(engine) as session:
        alone = ensure_workspace(session, "alone").id
        piped = ensure_workspace(session, "piped").id
    events = _events()[:500]
    batches = _batches(events)
    assert len(batches) == Ingestor.AHEAD + 2
    inline = [
        r.store.stored for r in Ingestor(engine, settings).ingest_stream(Target(alone), batches)
    ]

    def slow_last(source: list[list[RawEvent]]) -> Iterator[list[RawEvent]]:
        yield from source[:-1]
        time.sleep(2)  # the worker prepares everything sent so far meanwhile
        yield source[-1]

    ingestor = Ingestor(engine, settings, worker_setup=load_connectors)
    ingestor.wait_for_worker = True
    commits = _commits(engine)
    results = list(ingestor.ingest_stream(Target(piped), slow_last(batches)))
    assert [r.store.stored for r in results] == inline
    assert [r.cursor for r in results] == [b[-1].cursor for b in batches]
    # The first batch alone, then the ready ones four at a time.
    assert len(commits) < len(batches)
    assert _stored(engine, piped) == _stored(engine, alone)


def _handle_line(n: int, handle: str) -> RawEvent:
    amira = PERSONAS["amira"]
    line = jsonl_line(n, author="amira")
    line = line.replace(amira["handle"].encode(), handle.encode())
    return RawEvent(payload=line, format="jsonl", cursor=str(n))


def test_a_later_batch_in_the_transaction_sees_what_an_earlier_one_wrote(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ingestor = Ingestor(engine, settings)
    target = Target(workspace_id)
    ingestor.ingest(target, [_handle_line(1, "old.example")])  # committed: in the cache now
    renamed = ingestor.preparer.prepare(target, [_handle_line(2, "new.example")])
    back = ingestor.preparer.prepare(target, [_handle_line(3, "old.example")])
    results = ingestor.write_many(target, [renamed, back])
    assert [r.store.stored for r in results] == [1, 1]
    with Session(engine) as session:
        author = session.scalars(select(Author).where(Author.workspace_id == workspace_id)).one()
        assert author.handle == "old.example"
        handles = session.scalars(
            select(AuthorHandle.handle).where(AuthorHandle.author_id == author.id)
        )
        assert set(handles) == {"old.example", "new.example"}
    # The next batch reads the committed state from the cache, not the first batch's.
    again = ingestor.ingest(target, [_handle_line(4, "new.example")])
    assert again.store.authors_updated == 1


def _pg(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _refuse_native_id(engine: Engine, native_id: str) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON posts WHEN NEW.native_id = "
                    f"'{native_id}' BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
                )
            )
            return
        conn.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.native_id = '{native_id}' THEN RAISE EXCEPTION 'refused by test'; "
                "END IF; RETURN NEW; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON posts FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        )


def test_a_failing_batch_takes_its_whole_transaction_back(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ingestor = Ingestor(engine, settings)
    target = Target(workspace_id)
    first = ingestor.preparer.prepare(target, [_handle_line(1, "new.example")])
    second = ingestor.preparer.prepare(target, [_handle_line(2, "new.example")])
    _refuse_native_id(engine, "bluesky:amira:2")
    try:
        with pytest.raises(Exception, match="refused by test"):
            ingestor.write_many(target, [first, second])
    finally:  # on PostgreSQL the next tests of this process reuse the database
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse" + (" ON posts" if _pg(engine) else "")))
            if _pg(engine):
                conn.execute(text("DROP FUNCTION refuse()"))
    with Session(engine) as session:
        assert session.scalar(select(Post.id).where(Post.workspace_id == workspace_id)) is None
        assert session.scalar(select(Author.id).where(Author.workspace_id == workspace_id)) is None
    # Nothing of the failed transaction was remembered: the author is written again.
    result = ingestor.write(target, first)
    assert result.store.stored == 1 and result.store.authors_new == 1
