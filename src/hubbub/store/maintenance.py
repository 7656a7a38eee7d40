"""Keeping PostgreSQL's planner informed while a store is young.

A table PostgreSQL has never analysed looks tiny to the planner, so an ``IN (…)`` lookup of 500
ids was planned as a scan of the whole workspace. Autovacuum fixes that, but only after its
nap; a listener fills a new workspace faster. ``GrowthAnalyzer`` runs ``ANALYZE`` each time
the rows written since the last one double (1k, 2k, 4k …): a logarithmic number of short
analyses, after which autovacuum's own thresholds take over.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, text

log = logging.getLogger("hubbub.store")


class GrowthAnalyzer:
    """Counts rows written and analyses the named tables at each doubling (PostgreSQL only)."""

    def __init__(
        self, engine: Engine, tables: tuple[str, ...], first: int = 1_000, last: int = 4_000_000
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.enabled = engine.dialect.name == "postgresql"
        self.written = 0
        self.next_at = first
        self.last = last

    def wrote(self, rows: int) -> None:
        if not self.enabled or rows <= 0 or self.next_at > self.last:
            return
        self.written += rows
        if self.written < self.next_at:
            return
        self.next_at *= 2
        quoted = ", ".join(self.engine.dialect.identifier_preparer.quote(t) for t in self.tables)
        try:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f"ANALYZE {quoted}"))
        except Exception:  # statistics are an optimisation; never fail ingest over them
            log.warning("ANALYZE %s failed", quoted, exc_info=True)
