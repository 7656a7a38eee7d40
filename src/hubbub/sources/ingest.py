"""The ingest service: raw events in, normalised rows and dead letters out, one transaction.

For each batch: every event is size-checked and normalised by its format's normaliser; what is
refused (or crashes the normaliser) becomes a dead letter with a reason; the rest is stored;
and the source's cursor moves to the batch's last position — all committed together. A crash
before the commit loses nothing acknowledged (the network replays from the old cursor); a crash
after it duplicates nothing (every write is keyed by native id).

A batch is handled in two steps. ``prepare`` does all that needs no write — decoding,
normalising, the stages' selection, and the posts' driver-ready rows — and ``write`` stores
the result in one transaction. For long inputs ``ingest_stream`` prepares the next batches in a
worker process while the current one is written: the writer is the only one that writes, so
the guarantees above do not change, and the work is split over two cores.
"""

from __future__ import annotations

import hashlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing import get_context
from typing import Any, cast

import orjson
from sqlalchemy import Engine, Table, case, update
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.collector import fewer_collections, settle_long_lived
from hubbub.core.errors import PartlyRejected, Rejected
from hubbub.core.items import AuthorRef, AuthorUpdate, InteractionItem, Item, PostItem, RawEvent
from hubbub.posts.actions import AuthorCache, StoreResult, store_prepared
from hubbub.posts.prepare import PreparedGroup, prepare_items
from hubbub.settings import Settings
from hubbub.sources.base import format_network, normalisers
from hubbub.sources.models import DeadLetter, Source
from hubbub.sources.stages import IngestStage, Selection, ingest_stages
from hubbub.store.dialect import insert_ignoring_conflicts
from hubbub.store.engine import make_engine, transaction
from hubbub.store.maintenance import GrowthAnalyzer


@dataclass(frozen=True)
class Target:
    """Where a batch goes: the workspace, and the source whose cursor it advances (if any)."""

    workspace_id: int
    source_id: int | None = None


@dataclass
class IngestResult:
    events: int = 0
    rejected: int = 0
    dropped: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    store: StoreResult = field(default_factory=StoreResult)
    cursor: str | None = None
    newest_event_at: datetime | None = None

    def add(self, other: IngestResult) -> None:
        self.events += other.events
        self.rejected += other.rejected
        self.dropped += other.dropped
        self.reasons.update(other.reasons)
        self.store.add(other.store)
        self.cursor = other.cursor or self.cursor
        if other.newest_event_at and (
            self.newest_event_at is None or other.newest_event_at > self.newest_event_at
        ):
            self.newest_event_at = other.newest_event_at


@dataclass
class Refusal:
    """An event refused with a reason (plain strings: it may cross a process boundary)."""

    event: RawEvent
    code: str
    detail: str


@dataclass
class PreparedNetwork:
    network: str
    groups: list[PreparedGroup]
    selections: list[Selection]


@dataclass
class PreparedBatch:
    """A batch after ``prepare``: what ``write`` stores, nothing written yet."""

    events: int
    refusals: list[Refusal]
    networks: list[PreparedNetwork]
    cursor: str | None
    newest_event_at: datetime | None
    received_at: datetime


#: The largest count the store keeps: counts are INTEGER columns (4 bytes on PostgreSQL).
MAX_COUNT = 2**31 - 1
_POST_COUNTS = ("likes", "reshares", "replies", "quotes")
_AUTHOR_COUNTS = ("followers", "following", "posts_count")


def _check_counts(item: Item) -> None:
    """Refuse a count the store cannot hold: one such value failed the whole batch's insert
    on PostgreSQL ("integer out of range"), so the import or listener stopped on it."""
    author: AuthorRef | None = None
    if isinstance(item, PostItem):
        for name in _POST_COUNTS:
            _check_count(item.native_id, name, getattr(item, name))
        author = item.author
    elif isinstance(item, InteractionItem):
        author = item.actor
    elif isinstance(item, AuthorUpdate):
        author = item.author
    if author is not None:
        for name in _AUTHOR_COUNTS:
            _check_count(author.native_id, f"author {name}", getattr(author, name))


def _check_count(native_id: str, name: str, value: int | None) -> None:
    if value is not None and not 0 <= value <= MAX_COUNT:
        raise Rejected(
            "bad_count", f"{native_id[:200]}: {name} {value} is not a count from 0 to {MAX_COUNT:,}"
        )


def normalise_event(event: RawEvent, settings: Settings, now: datetime) -> list[Item]:
    """Decode one raw event; every failure, expected or not, becomes a :class:`Rejected`."""
    size = whole_size(event)
    if size > settings.max_payload_bytes:
        raise Rejected("too_large", f"payload of {size} bytes is over {settings.max_payload_bytes}")
    try:
        normaliser = normalisers.get(event.format)
        format_network(event.format)
    except KeyError as exc:
        raise Rejected("unknown_format", str(exc).strip("\"'")) from None
    partly: PartlyRejected | None = None
    try:
        items = normaliser(event)
    except PartlyRejected as exc:
        partly, items = exc, exc.items
    except Rejected:
        raise
    except (RecursionError, MemoryError) as exc:
        raise Rejected("too_complex", f"{type(exc).__name__} while decoding") from None
    except Exception as exc:  # a normaliser bug must not stop the listener or lose the event
        raise Rejected("normaliser_error", f"{type(exc).__name__}: {exc}"[:500]) from None
    horizon = now + timedelta(seconds=settings.max_future_skew_seconds)
    for item in items:
        _check_counts(item)
        if isinstance(item, PostItem) and item.created_at > horizon:
            raise Rejected(
                "future_timestamp",
                f"{item.native_id[:200]} is dated {item.created_at.isoformat()}, "
                f"past {horizon.isoformat()}",
            )
    if partly is not None:
        raise partly
    return items


class Preparer:
    """The no-write half of ingest; also what a prepare worker process runs."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.stages: list[IngestStage] = [
            ingest_stages.get(name)(settings) for name in ingest_stages
        ]

    def prepare(self, target: Target, events: Sequence[RawEvent]) -> PreparedBatch:
        now = utcnow()
        by_network: dict[str, list[Item]] = {}
        refusals: list[Refusal] = []
        newest: datetime | None = None
        for event in events:
            try:
                items = normalise_event(event, self.settings, now)
            except PartlyRejected as partly:  # the rest is stored, each refused part kept
                items = partly.items
                refusals.extend(
                    Refusal(
                        RawEvent(part, event.format, event.cursor, event.meta), r.code, r.detail
                    )
                    for r, part in partly.parts
                )
            except Rejected as rejected:
                refusals.append(Refusal(event, rejected.code, rejected.detail))
                continue
            by_network.setdefault(format_network(event.format), []).extend(items)
            for item in items:
                if isinstance(item, PostItem) and (newest is None or item.created_at > newest):
                    newest = item.created_at
        cursor = next((e.cursor for e in reversed(events) if e.cursor is not None), None)
        networks = []
        dialect = self.engine.dialect
        for network, items in by_network.items():
            selections = self._select(target, network, items)
            kept = selections[-1].items if selections else items
            groups = prepare_items(kept, network, dialect, self.settings.near_duplicate_min_chars)
            for selection in selections:
                selection.items = []  # stored through ``groups``; not carried twice
            networks.append(PreparedNetwork(network, groups, selections))
        return PreparedBatch(len(events), refusals, networks, cursor, newest, now)

    def _select(self, target: Target, network: str, items: list[Item]) -> list[Selection]:
        """Each stage in turn narrows what is kept; the last one's items are stored."""
        chain: list[Selection] = []
        for stage in self.stages:
            chain.append(stage.select(self.engine, target.workspace_id, network, items))
            items = chain[-1].items
        return chain


# The prepare worker's own Preparer, built once per process by _start_worker.
_worker: Preparer | None = None


def _start_worker(url: str, settings: Settings, setup: Callable[[], None]) -> None:
    global _worker  # noqa: PLW0603 - one per worker process, by design
    setup()
    _worker = Preparer(make_engine(url, writer=False), settings)
    settle_long_lived()  # this process only prepares batches from now on


def _worker_ready() -> None:
    """Returns once the worker process has run its initializer."""


PackedEvents = tuple[list[bytes], list[str], list[str | None], list[dict[str, str]]]


def _pack(events: Sequence[RawEvent]) -> PackedEvents:
    """A batch as four lists, for the trip to the worker: pickling 500 dataclass objects cost
    the writer's process ~1.5 µs an event, the lists a tenth of that."""
    return (
        [e.payload for e in events],
        [e.format for e in events],
        [e.cursor for e in events],
        [e.meta for e in events],
    )


#: ``RawEvent.meta`` key of a payload its reader cut (a file's over-long line): its whole size.
CUT_FROM = "cut_from_bytes"


def whole_size(event: RawEvent) -> int:
    """The payload's size before its reader cut it, else its own."""
    cut = event.meta.get(CUT_FROM)
    return int(cut) if cut and cut.isdecimal() else len(event.payload)


def letter_digest(event: RawEvent) -> str:
    """What makes a dead letter the same one again: its bytes, or, for an event without any (a
    connector's report of a fetch that failed), what failed, where and why."""
    if event.payload:
        return hashlib.sha256(event.payload).hexdigest()
    reported = orjson.dumps(dict(event.meta), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(b"meta:" + reported).hexdigest()


def _fetch_failure(refusals: Sequence[Refusal]) -> str | None:
    """The last failed fetch a connector reported in the batch, as the source's last error."""
    for refusal in reversed(refusals):
        if not refusal.event.payload and "error" in refusal.event.meta:
            return f"{refusal.code}: {refusal.detail}"
    return None


def _prepare_in_worker(target: Target, packed: PackedEvents) -> PreparedBatch:
    if _worker is None:
        raise RuntimeError("prepare worker used before it was started")
    events = [RawEvent(*fields) for fields in zip(*packed, strict=True)]
    return _worker.prepare(target, events)


class Ingestor:
    """Stores batches for one database; shared by the listener, importer, replay and bench.

    ``worker_setup`` (a plugin loader, e.g. ``connectors.load_ingest_plugins``) lets
    ``ingest_stream`` start a prepare worker process; without it everything runs here.
    """

    # A stream starts the worker at its second batch (one-batch inputs never pay for it) and
    # keeps ingesting here until the worker is ready; then it keeps AHEAD batches in flight.
    START_AT_BATCH = 1
    AHEAD = 8

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        worker_setup: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.worker_setup = worker_setup
        self.preparer = Preparer(engine, settings)
        self.stages = self.preparer.stages
        self.author_cache = AuthorCache()
        self.batches_prepared_by_worker = 0
        # Block until the worker is up instead of ingesting here meanwhile (tests use it to
        # make the hand-over deterministic).
        self.wait_for_worker = False
        # A stage that loads a model: the worker prepares every batch, from the first one.
        self.worker_only = any(stage.slow_to_start for stage in self.stages)
        self.analyzer = GrowthAnalyzer(
            engine,
            (
                "posts",
                "authors",
                "interactions",
                "tombstones",
                "post_fingerprints",
            ),
        )

    def ingest(self, target: Target, events: Sequence[RawEvent]) -> IngestResult:
        return self.write(target, self.preparer.prepare(target, events))

    def ingest_stream(
        self, target: Target, batches: Iterable[Sequence[RawEvent]]
    ) -> Iterator[IngestResult]:
        """``ingest`` of each batch in order; long streams prepare ahead in a worker process."""
        pool: ProcessPoolExecutor | None = None
        ready: Future[None] | None = None
        pending: deque[Future[PreparedBatch]] = deque()
        with fewer_collections():
            yield from self._stream(target, batches, pool, ready, pending)

    def _stream(
        self,
        target: Target,
        batches: Iterable[Sequence[RawEvent]],
        pool: ProcessPoolExecutor | None,
        ready: Future[None] | None,
        pending: deque[Future[PreparedBatch]],
    ) -> Iterator[IngestResult]:
        try:
            start_at = 0 if self.worker_only else self.START_AT_BATCH
            for number, batch in enumerate(batches):
                if pool is None and number >= start_at:
                    pool = self._start_pool()
                    ready = pool.submit(_worker_ready) if pool is not None else None
                    if ready is not None and (self.wait_for_worker or self.worker_only):
                        ready.result()
                if pool is None or ready is None or not ready.done():
                    yield self.ingest(target, batch)
                    continue
                ready.result()  # a worker that failed to start fails the stream loudly
                pending.append(pool.submit(_prepare_in_worker, target, _pack(batch)))
                if len(pending) > self.AHEAD:
                    yield from self._write_ahead(target, pending)
            while pending:
                yield from self._write_ahead(target, pending)
        finally:
            for future in pending:
                future.cancel()
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _start_pool(self) -> ProcessPoolExecutor | None:
        workers = self.settings.ingest_prepare_workers
        if not workers or self.worker_setup is None:
            return None
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context("spawn"),
            initializer=_start_worker,
            initargs=(
                self.engine.url.render_as_string(hide_password=False),
                self.settings,
                self.worker_setup,
            ),
        )

    def _write_ahead(
        self, target: Target, pending: deque[Future[PreparedBatch]]
    ) -> list[IngestResult]:
        """Write the oldest prepared batch, with those after it that are ready already."""
        batches = [pending.popleft().result()]
        while pending and pending[0].done() and len(batches) < self.settings.ingest_commit_batches:
            batches.append(pending.popleft().result())
        self.batches_prepared_by_worker += len(batches)
        return self.write_many(target, batches)

    def write(self, target: Target, prepared: PreparedBatch) -> IngestResult:
        """Store a prepared batch, its dead letters and the cursor in one transaction."""
        return self.write_many(target, [prepared])[0]

    def write_many(self, target: Target, batches: Sequence[PreparedBatch]) -> list[IngestResult]:
        """Store prepared batches in order in one transaction: all of them, or none."""
        results = []
        authors = self.author_cache.layer()
        with transaction(self.engine) as session:
            for prepared in batches:
                results.append(self._store(session, target, prepared, authors))
                authors.put_many(results[-1].store.author_states)
        # Only now, after the commit, are the authors' ids and values certain.
        authors.commit()
        for result in results:
            store = result.store
            self.analyzer.wrote(
                store.stored + store.authors_new + store.interactions + store.deletes
            )
        return results

    def _store(
        self, session: Session, target: Target, prepared: PreparedBatch, authors: AuthorCache
    ) -> IngestResult:
        now = prepared.received_at
        result = IngestResult(
            events=prepared.events,
            cursor=prepared.cursor,
            newest_event_at=prepared.newest_event_at,
        )
        for part in prepared.networks:
            result.dropped += sum(selection.dropped for selection in part.selections)
            result.store.add(
                store_prepared(
                    session,
                    target.workspace_id,
                    part.groups,
                    received_at=now,
                    source_id=target.source_id,
                    author_cache=authors,
                )
            )
            for stage, selection in zip(self.stages, part.selections, strict=False):
                stage.after_store(session, target.workspace_id, part.network, selection)
        refusals = prepared.refusals
        if refusals:
            self._dead_letters(session, target, refusals, now)
        result.rejected = len(refusals)
        result.reasons.update(r.code for r in refusals)
        if target.source_id is not None:
            self._advance(session, target.source_id, result, now, _fetch_failure(refusals))
        return result

    def _dead_letters(
        self, session: Session, target: Target, refusals: list[Refusal], now: datetime
    ) -> None:
        limit = self.settings.dead_letter_max_bytes
        rows: list[dict[str, Any]] = []
        for refusal in refusals:
            payload, size = refusal.event.payload, whole_size(refusal.event)
            rows.append(
                {
                    "workspace_id": target.workspace_id,
                    "source_id": target.source_id,
                    "format": refusal.event.format,
                    "reason_code": refusal.code,
                    "reason": refusal.detail[:2000],
                    "payload": payload[:limit],
                    "payload_size": size,
                    "payload_sha256": letter_digest(refusal.event),
                    "truncated": size > min(len(payload), limit),
                    "meta": dict(refusal.event.meta),
                    "cursor": refusal.event.cursor,
                    "received_at": now,
                    "replayed_at": None,
                    "replay_outcome": None,
                }
            )
        session.execute(insert_ignoring_conflicts(session, cast(Table, DeadLetter.__table__)), rows)

    @staticmethod
    def _advance(
        session: Session, source_id: int, result: IngestResult, now: datetime, error: str | None
    ) -> None:
        values: dict[str, Any] = {
            "events_total": Source.events_total + result.events,
            "stored_total": Source.stored_total + result.store.stored,
            "rejected_total": Source.rejected_total + result.rejected,
            "last_event_at": now,
        }
        if error is not None:
            values |= {"last_error": error[:2000], "last_error_at": now}
        if result.cursor is not None:
            values["cursor"] = result.cursor
        if result.newest_event_at is not None:
            newest = result.newest_event_at
            values["newest_event_at"] = case(
                (Source.newest_event_at.is_(None), newest),
                (Source.newest_event_at < newest, newest),
                else_=Source.newest_event_at,
            )
        session.execute(update(Source).where(Source.id == source_id).values(**values))
