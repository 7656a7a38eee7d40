"""``INSERT … ON CONFLICT DO NOTHING`` of many rows straight through the DBAPI's executemany.

On the ingest hot path SQLAlchemy's per-row parameter handling costs more than SQLite's own
insert. Values still pass through each column type's own bind processor (UTC checks, JSON,
SQLite's datetime format), so the rows stored are exactly those the ORM would store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Table

_PLACEHOLDER = {"sqlite": "?", "postgresql": "%s"}
Processor = Callable[[Any], Any] | None


def processed(values: list[Any], process: Callable[[Any], Any]) -> list[Any]:
    """Each value through ``process``; a repeat of the same object (one timestamp for the whole
    batch, the shared empty tuple) reuses the previous result instead of converting again."""
    out: list[Any] = []
    last_in: Any = None
    last_out: Any = None
    for value in values:
        if value is None:
            out.append(None)
        elif value is last_in:
            out.append(last_out)
        else:
            last_in, last_out = value, process(value)
            out.append(last_out)
    return out


class BulkInsert:
    """A prepared bulk insert of ``columns`` into ``table``, ignoring conflicting rows."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
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
            sql = (
                f"INSERT INTO {quote(self.table.name)} "  # noqa: S608
                f"({', '.join(quote(c) for c in self.columns)}) "
                f"VALUES ({', '.join(mark for _ in self.columns)}) ON CONFLICT DO NOTHING"
            )
            processors: list[Processor] = [
                self.table.c[name].type._cached_bind_processor(dialect) for name in self.columns
            ]
            found = (sql, processors)
            self._prepared[dialect.name] = found
        return found

    def execute(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert ``rows`` (mappings with every column); returns how many were new."""
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
