"""The ingest service: raw events in, normalised rows and dead letters out, one transaction.

For each batch: every event is size-checked and normalised by its format's normaliser; what is
refused (or crashes the normaliser) becomes a dead letter with a reason; the rest is stored;
and the source's cursor moves to the batch's last position — all committed together. A crash
before the commit loses nothing acknowledged (the network replays from the old cursor); a crash
after it duplicates nothing (every write is keyed by native id).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, update
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.core.items import Item, PostItem, RawEvent
from hubbub.posts.actions import AuthorCache, StoreResult, store_items
from hubbub.settings import Settings
from hubbub.sources.base import format_network, normalisers
from hubbub.sources.models import DeadLetter, Source
from hubbub.sources.stages import IngestStage, Selection, ingest_stages
from hubbub.store.dialect import insert_ignoring_conflicts
from hubbub.store.engine import transaction
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
    event: RawEvent
    error: Rejected


def normalise_event(event: RawEvent, settings: Settings, now: datetime) -> list[Item]:
    """Decode one raw event; every failure, expected or not, becomes a :class:`Rejected`."""
    if len(event.payload) > settings.max_payload_bytes:
        raise Rejected(
            "too_large",
            f"payload of {len(event.payload)} bytes is over {settings.max_payload_bytes}",
        )
    try:
        normaliser = normalisers.get(event.format)
        format_network(event.format)
    except KeyError as exc:
        raise Rejected("unknown_format", str(exc).strip("\"'")) from None
    try:
        items = normaliser(event)
    except Rejected:
        raise
    except (RecursionError, MemoryError) as exc:
        raise Rejected("too_complex", f"{type(exc).__name__} while decoding") from None
    except Exception as exc:  # a normaliser bug must not stop the listener or lose the event
        raise Rejected("normaliser_error", f"{type(exc).__name__}: {exc}"[:500]) from None
    horizon = now + timedelta(seconds=settings.max_future_skew_seconds)
    for item in items:
        if isinstance(item, PostItem) and item.created_at > horizon:
            raise Rejected(
                "future_timestamp",
                f"{item.native_id[:200]} is dated {item.created_at.isoformat()}, "
                f"past {horizon.isoformat()}",
            )
    return items


class Ingestor:
    """Stores batches for one database; shared by the listener, importer, replay and bench."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.author_cache = AuthorCache()
        self.analyzer = GrowthAnalyzer(engine, ("posts", "authors", "interactions", "tombstones"))
        self.stages: list[IngestStage] = [
            ingest_stages.get(name)(settings) for name in ingest_stages
        ]

    def ingest(self, target: Target, events: Sequence[RawEvent]) -> IngestResult:
        now = utcnow()
        result = IngestResult(events=len(events))
        by_network: dict[str, list[Item]] = {}
        refusals: list[Refusal] = []
        for event in events:
            try:
                items = normalise_event(event, self.settings, now)
            except Rejected as rejected:
                refusals.append(Refusal(event, rejected))
                continue
            by_network.setdefault(format_network(event.format), []).extend(items)
            for item in items:
                if isinstance(item, PostItem) and (
                    result.newest_event_at is None or item.created_at > result.newest_event_at
                ):
                    result.newest_event_at = item.created_at
        for event in reversed(events):
            if event.cursor is not None:
                result.cursor = event.cursor
                break
        selections = {
            network: self._select(target, network, items) for network, items in by_network.items()
        }
        for network, chain in selections.items():
            if chain:
                by_network[network] = chain[-1].items
                result.dropped += sum(selection.dropped for selection in chain)
        with transaction(self.engine) as session:
            for network, items in by_network.items():
                result.store.add(
                    store_items(
                        session,
                        target.workspace_id,
                        network,
                        items,
                        received_at=now,
                        source_id=target.source_id,
                        near_duplicate_min_chars=self.settings.near_duplicate_min_chars,
                        author_cache=self.author_cache,
                    )
                )
                for stage, selection in zip(self.stages, selections.get(network, ()), strict=False):
                    stage.after_store(session, target.workspace_id, network, selection)
            if refusals:
                self._dead_letters(session, target, refusals, now)
            result.rejected = len(refusals)
            result.reasons.update(r.error.code for r in refusals)
            if target.source_id is not None:
                self._advance(session, target.source_id, result, now)
        # Only now, after the commit, are the authors' ids and values certain.
        self.author_cache.put_many(result.store.author_states)
        store = result.store
        self.analyzer.wrote(store.stored + store.authors_new + store.interactions + store.deletes)
        return result

    def _select(self, target: Target, network: str, items: list[Item]) -> list[Selection]:
        """Each stage in turn narrows what is kept; the last one's items are stored."""
        chain: list[Selection] = []
        for stage in self.stages:
            chain.append(stage.select(self.engine, target.workspace_id, network, items))
            items = chain[-1].items
        return chain

    def _dead_letters(
        self, session: Session, target: Target, refusals: list[Refusal], now: datetime
    ) -> None:
        limit = self.settings.dead_letter_max_bytes
        rows: list[dict[str, Any]] = []
        for refusal in refusals:
            payload = refusal.event.payload
            rows.append(
                {
                    "workspace_id": target.workspace_id,
                    "source_id": target.source_id,
                    "format": refusal.event.format,
                    "reason_code": refusal.error.code,
                    "reason": refusal.error.detail[:2000],
                    "payload": payload[:limit],
                    "payload_size": len(payload),
                    "payload_sha256": hashlib.sha256(payload).hexdigest(),
                    "truncated": len(payload) > limit,
                    "meta": dict(refusal.event.meta),
                    "cursor": refusal.event.cursor,
                    "received_at": now,
                    "replayed_at": None,
                    "replay_outcome": None,
                }
            )
        session.execute(insert_ignoring_conflicts(session, cast(Table, DeadLetter.__table__)), rows)

    @staticmethod
    def _advance(session: Session, source_id: int, result: IngestResult, now: datetime) -> None:
        values: dict[str, Any] = {
            "events_total": Source.events_total + result.events,
            "stored_total": Source.stored_total + result.store.stored,
            "rejected_total": Source.rejected_total + result.rejected,
            "last_event_at": now,
        }
        if result.cursor is not None:
            values["cursor"] = result.cursor
        session.execute(update(Source).where(Source.id == source_id).values(**values))
