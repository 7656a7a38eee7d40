"""``INSERT … ON CONFLICT DO NOTHING`` of many rows straight through the DBAPI's executemany.

On the ingest hot path SQLAlchemy's per-row parameter handling costs more than SQLite's own
insert. Values still pass through each column type's own bind processor (UTC checks, JSON,
SQLite's datetime format), so the rows stored are exactly those the ORM would store.

A column that is NULL in every row of a batch is left out of its statement (its default is
NULL: no column here has a server default), so the driver binds only what carries a value: a
batch of Jetstream posts leaves 10 of the 31 posts columns empty, and binding those NULLs was
about a fifth of SQLite's insert time.
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
        self._statements: dict[tuple[str, tuple[int, ...]], str] = {}
        # Columns never left out: a server default would differ from NULL, and an upsert's
        # keys and counters belong in every statement.
        keys, counters = add_on_conflict or ((), ())
        self._always = frozenset(
            i
            for i, name in enumerate(self.columns)
            if name in keys
            or name in counters
            or table.c[name].server_default is not None
            or table.c[name].server_onupdate is not None
        )

    def processors(self, dialect: Dialect) -> dict[str, Processor]:
        """Each column's bind processor for ``dialect`` (None where values pass unchanged)."""
        return dict(zip(self.columns, self._prepare(dialect)[1], strict=True))

    def _prepare(self, dialect: Dialect) -> tuple[str, list[Processor]]:
        found = self._prepared.get(dialect.name)
        if found is None:
            processors: list[Processor] = [
                self.table.c[name].type._cached_bind_processor(dialect) for name in self.columns
            ]
            found = (self._statement(dialect, tuple(range(len(self.columns)))), processors)
            self._prepared[dialect.name] = found
        return found

    def _statement(self, dialect: Dialect, kept: tuple[int, ...]) -> str:
        """The insert of the columns at positions ``kept``, built once per dialect and set."""
        sql = self._statements.get((dialect.name, kept))
        if sql is not None:
            return sql
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
            f"({', '.join(quote(self.columns[i]) for i in kept)}) "
            f"VALUES ({', '.join(mark for _ in kept)}) {conflict}"
        )
        if len(self._statements) >= MAX_STATEMENTS:
            self._statements.clear()
        self._statements[(dialect.name, kept)] = sql
        return sql

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
        sql, rows = self._without_empty_columns(conn.dialect, params)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, rows)
            return max(int(cursor.rowcount), 0)
        finally:
            cursor.close()

    def _without_empty_columns(
        self, dialect: Dialect, params: Sequence[Sequence[Any]]
    ) -> tuple[str, Sequence[Sequence[Any]]]:
        """The statement and rows for ``params`` less the columns that are NULL in every row."""
        columns = list(zip(*params, strict=True))
        if len(columns) != len(self.columns):
            raise ValueError(f"rows of {len(columns)} values for {len(self.columns)} columns")
        rows = len(params)
        kept = tuple(
            i
            for i, values in enumerate(columns)
            if values[0] is not None or i in self._always or values.count(None) != rows
        )
        if len(kept) == len(columns) or not kept:  # (all empty: the database says what fails)
            return self._prepare(dialect)[0], params
        return self._statement(dialect, kept), list(zip(*(columns[i] for i in kept), strict=True))


#: Column sets whose statements a bulk insert keeps (a batch's empty columns pick one).
MAX_STATEMENTS = 256
