"""``INSERT … ON CONFLICT DO NOTHING`` of many rows straight through the DBAPI's executemany.

On the ingest hot path SQLAlchemy's per-row parameter handling costs more than SQLite's own
insert. Values still pass through each column type's own bind processor (UTC checks, JSON,
SQLite's datetime format), so the rows stored are exactly those the ORM would store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Table

_PLACEHOLDER = {"sqlite": "?", "postgresql": "%s"}
Processor = Callable[[Any], Any] | None


# Values converted once per distinct value and type in a batch: rollup rows repeat a few
# days and hours thousands of times. (Type too, so ``1`` and ``True`` stay apart.)
_MEMO_TYPES = (datetime, str, int, float)


def processed(values: list[Any], process: Callable[[Any], Any]) -> list[Any]:
    """Each value through ``process``; a repeat of the same object (one timestamp for the whole
    batch, the shared empty tuple) reuses the previous result instead of converting again, and
    so does a repeat of an equal datetime, string or number."""
    out: list[Any] = []
    last_in: Any = None
    last_out: Any = None
    memo: dict[tuple[type, Any], Any] = {}
    for value in values:
        if value is None:
            out.append(None)
        elif value is last_in:
            out.append(last_out)
        elif isinstance(value, _MEMO_TYPES):
            key = (value.__class__, value)
            found = memo.get(key, memo)
            if found is memo:
                found = memo[key] = process(value)
            last_in, last_out = value, found
            out.append(found)
        else:
            last_in, last_out = value, process(value)
            out.append(last_out)
    return out


class BulkInsert:
    """A prepared bulk insert of ``columns`` into ``table``, ignoring conflicting rows.

    With ``add_on_conflict=(keys, counters)`` a row whose ``keys`` are stored already adds its
    ``counters`` to the stored row's instead (the rollups' upsert).
    """

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        add_on_conflict: tuple[Sequence[str], Sequence[str]] | None = None,
    ) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.add_on_conflict = add_on_conflict
        self._prepared: dict[str, tuple[str, list[Processor]]] = {}

    def processors(self, dialect: Dialect) -> dict[str, Processor]:
        """Each column's bind processor for ``dialect`` (None where values pass unchanged)."""
        return dict(zip(self.columns, self._prepare(dialect)[1], strict=True))

    def _prepare(self, dialect: Dialect) -> tuple[str, list[Processor]]:
        found = self._prepared.get(dialect.name)
        if found is None:
            mark = _PLACEHOLDER[dialect.name]
            quote = dialect.identifier_preparer.quote
            # Identifiers come from the table definition, never from input; values are bound.
            table = quote(self.table.name)
            conflict = "ON CONFLICT DO NOTHING"
            if self.add_on_conflict is not None:
                keys, counters = self.add_on_conflict
                adds = ", ".join(
                    f"{quote(c)} = {table}.{quote(c)} + excluded.{quote(c)}" for c in counters
                )
                conflict = f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {adds}"
            sql = (
                f"INSERT INTO {table} "  # noqa: S608
                f"({', '.join(quote(c) for c in self.columns)}) "
                f"VALUES ({', '.join(mark for _ in self.columns)}) {conflict}"
            )
            processors: list[Processor] = [
                self.table.c[name].type._cached_bind_processor(dialect) for name in self.columns
            ]
            found = (sql, processors)
            self._prepared[dialect.name] = found
        return found

    def execute(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert ``rows`` (mappings with every column); returns how many were new (or, adding
        on conflict, how many rows were written)."""
        if not rows:
            return 0
        processors = self._prepare(conn.dialect)[1]
        columns: list[list[Any]] = []
        for name, process in zip(self.columns, processors, strict=True):
            values = [row[name] for row in rows]
            if process is not None:
                values = processed(values, process)
            columns.append(values)
        return self.execute_processed(conn, list(zip(*columns, strict=True)))

    def execute_processed(self, conn: Connection, params: Sequence[Sequence[Any]]) -> int:
        """Insert rows whose values are already in column order and through their processors."""
        if not params:
            return 0
        sql = self._prepare(conn.dialect)[0]
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, params)
            return max(int(cursor.rowcount), 0)
        finally:
            cursor.close()
