"""``hubbub listen``: every enabled source streamed concurrently into the ingest service.

Each source runs as its own task. A batch is acknowledged (the connector asked for more) only
after the ingest transaction that stores it and its cursor has committed. A connector that
fails is restarted from the stored cursor after a jittered backoff; its error is kept on the
source row for the UI and ``hubbub source list``, and so is the last warning a connector logs
while it retries by itself (a server that does not answer, a name that does not resolve). A
fetch refused for good is stored by the ingest, from the event the connector yields for it;
the log lines restating it (``REPORTED``) are left out, so the source keeps that first,
precise error and its time.

The set of sources is read again every ``source_rescan_seconds``: a source added, changed
(settings or credentials), disabled or removed — from the web app or the CLI — is started,
restarted or stopped without restarting the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from pydantic import BaseModel
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.items import RawEvent
from hubbub.settings import Settings
from hubbub.sources.actions import record_source_error
from hubbub.sources.backoff import Backoff
from hubbub.sources.base import Connector, SourceContext, connectors, is_reported
from hubbub.sources.ingest import Ingestor, IngestResult, Target
from hubbub.sources.models import Source
from hubbub.sources.secrets import decrypt_credentials
from hubbub.store.engine import transaction

log = logging.getLogger("hubbub.listen")


@dataclass
class ListenStats:
    """Running totals for the live status line, counted as an import's summary counts them
    (``StoreResult.outcomes``): items of every kind — posts, interactions, deletes, profile
    updates — that were accepted, duplicate or updated."""

    started: float = field(default_factory=time.monotonic)
    events: int = 0
    accepted: int = 0
    duplicate: int = 0
    updated: int = 0
    dropped: int = 0
    rejected: int = 0
    newest_event_at: datetime | None = None
    errors: dict[str, str] = field(default_factory=dict)
    window: list[tuple[float, int]] = field(default_factory=list)

    def record(self, result: IngestResult) -> None:
        accepted, duplicate, updated = result.store.outcomes()
        self.events += result.events
        self.accepted += accepted
        self.duplicate += duplicate
        self.updated += updated
        self.dropped += result.dropped
        self.rejected += result.rejected
        if result.newest_event_at and (
            self.newest_event_at is None or result.newest_event_at > self.newest_event_at
        ):
            self.newest_event_at = result.newest_event_at
        now = time.monotonic()
        self.window.append((now, self.events))
        self.window = [(t, n) for t, n in self.window if now - t <= 10]

    def rate(self) -> float:
        if len(self.window) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self.window[0], self.window[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def lag_seconds(self) -> float | None:
        if self.newest_event_at is None:
            return None
        return max(0.0, (utcnow() - self.newest_event_at).total_seconds())


@dataclass(frozen=True)
class _Problem:
    message: str
    at: datetime
    reported: bool
    """The connector also yielded it as a failed fetch, which the ingest stored (``REPORTED``)."""


class _LastProblem(logging.Handler):
    """The newest warning or error a running connector logged (a fetch that failed, a lost
    connection), so a source failing over and over shows it in its health, not just in the
    log: the listener stores it as the source's last error at each rescan, with the time it
    was logged — unless it restates a failed fetch the ingest already stored."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._problem: _Problem | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self._problem = _Problem(
            record.getMessage()[:2000],
            datetime.fromtimestamp(record.created, UTC),
            is_reported(record),
        )

    def take(self) -> _Problem | None:
        """The problem logged since the last call, if any."""
        problem, self._problem = self._problem, None
        return problem


def _signature(source: Source) -> tuple[str, str, str | None]:
    """What a running source depends on: a change restarts it."""
    return (
        source.kind,
        orjson.dumps(source.config, option=orjson.OPT_SORT_KEYS).decode(),
        (source.credentials),
    )


class Listener:
    """Runs the enabled sources of one workspace (or of all, ``workspace_id=None``)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        workspace_id: int | None,
        source_names: list[str] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.workspace_id = workspace_id
        self.source_names = source_names
        self.ingestor = Ingestor(engine, settings)
        self.stats = ListenStats()
        # SQLite has one writer; serialising here avoids lock waits between sources.
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._running: dict[int, tuple[tuple[str, str, str | None], asyncio.Task[None]]] = {}
        self._problems: dict[int, tuple[str, _LastProblem]] = {}

    def _sources(self) -> list[Source]:
        with Session(self.engine) as session:
            query = select(Source).where(Source.enabled.is_(True))
            if self.workspace_id is not None:
                query = query.where(Source.workspace_id == self.workspace_id)
            if self.source_names:
                query = query.where(Source.name.in_(self.source_names))
            return list(session.scalars(query))

    @property
    def running(self) -> list[str]:
        """Names of the sources being listened to now."""
        return sorted(task.get_name() for _, task in self._running.values())

    def reconcile(self) -> None:
        """Start new sources, restart changed ones, stop disabled or removed ones."""
        wanted = {source.id: source for source in self._sources()}
        for source_id in list(self._running):
            signature, task = self._running[source_id]
            source = wanted.get(source_id)
            if source is None or _signature(source) != signature or task.done():
                task.cancel()
                del self._running[source_id]
        for source_id, source in wanted.items():
            if source_id not in self._running:
                task = asyncio.create_task(self._run_source(source), name=source.name)
                self._running[source_id] = (_signature(source), task)

    async def run(self, stop: asyncio.Event) -> None:
        self.reconcile()
        if not self._running:
            log.warning("no enabled sources to listen to yet; add one with `hubbub source add`")
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.source_rescan_seconds)
                await self._record_problems()
                if not stop.is_set():
                    self.reconcile()
        finally:
            tasks = [task for _, task in self._running.values()]
            self._running.clear()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _record_problems(self) -> None:
        """Store what each source's connector last complained of, once per rescan at most."""
        for source_id, (name, problems) in list(self._problems.items()):
            problem = problems.take()
            if problem is not None:
                self.stats.errors[name] = problem.message
                if not problem.reported:  # the ingest stored that one, precisely
                    await asyncio.to_thread(
                        self._record_error, source_id, problem.message, problem.at
                    )

    def _record_error(self, source_id: int, message: str, at: datetime) -> None:
        with transaction(self.engine) as session:
            record_source_error(session, source_id, message, at)

    def _cursor(self, source_id: int) -> str | None:
        with Session(self.engine) as session:
            return session.scalar(select(Source.cursor).where(Source.id == source_id))

    async def _ingest(self, target: Target, batch: list[RawEvent]) -> IngestResult:
        if self._write_lock is None:
            return await asyncio.to_thread(self.ingestor.ingest, target, batch)
        async with self._write_lock:
            return await asyncio.to_thread(self.ingestor.ingest, target, batch)

    async def _run_source(self, source: Source) -> None:
        connector_class = connectors.get(source.kind)
        config = connector_class.parse_config(source.config)
        ctx = SourceContext(
            settings=self.settings,
            source_name=source.name,
            credentials=decrypt_credentials(self.settings, source.credentials),
            # Per source, not per name: two workspaces may both have a source called "blog".
            log=logging.getLogger(f"hubbub.sources.{source.id}.{source.name}"),
        )
        problems = _LastProblem()
        ctx.log.addHandler(problems)
        self._problems[source.id] = (source.name, problems)
        try:
            await self._stream_source(source, connector_class, config, ctx)
        finally:
            ctx.log.removeHandler(problems)
            self._problems.pop(source.id, None)

    async def _stream_source(
        self,
        source: Source,
        connector_class: type[Connector],
        config: BaseModel,
        ctx: SourceContext,
    ) -> None:
        target = Target(workspace_id=source.workspace_id, source_id=source.id)
        backoff = Backoff(base=1.0, cap=120.0)
        while True:
            connector = connector_class(config, ctx)
            try:
                async for batch in connector.stream(self._cursor(source.id)):
                    if not batch:
                        continue
                    result = await self._ingest(target, batch)
                    self.stats.record(result)
                    self.stats.errors.pop(source.name, None)
                    backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken connector must not stop the others
                message = f"{type(exc).__name__}: {exc}"
                log.exception("source %s failed; restarting from its cursor", source.name)
                self.stats.errors[source.name] = message
                with transaction(self.engine) as session:
                    record_source_error(session, source.id, message)
            await asyncio.sleep(backoff.next_delay())
