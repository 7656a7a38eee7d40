"""Dialect-specific statements the write path needs (``INSERT … ON CONFLICT``, key lists)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Dialect,
    Table,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String, TypeDecorator


def insert_ignoring_conflicts(session: Session, table: Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's backend."""
    return insert_ignoring_conflicts_on(session.get_bind().dialect, table)


def insert_ignoring_conflicts_on(dialect: Dialect, table: Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for ``dialect``."""
    name = dialect.name
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database dialect {name}")


#: The PostgreSQL advisory lock key of :func:`take_turns_storing_posts` ("hubb").
POST_WRITES_LOCK = 0x68756262


def take_turns_storing_posts(conn: Connection) -> None:
    """Make transactions that store posts, interactions or deletes take turns, each from this
    call until it commits, before they look anything up.

    Then their rows become visible in id order: the pipeline's jobs follow new rows by id, and
    would pass for good over a lower id that a slower concurrent transaction (another source of
    ``hubbub listen``, an import) committed after a higher one. And what a batch looks up
    (tombstones, stored posts, fingerprints) cannot change before it writes: a delete another
    writer commits meanwhile comes after the batch, and still wins.

    PostgreSQL: an advisory lock. SQLite has a single writer, but a deferred transaction takes
    the write lock only at its first write, after the lookups: ``BEGIN IMMEDIATE`` takes it now.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POST_WRITES_LOCK})
    elif conn.dialect.name == "sqlite":
        driver = conn.connection.driver_connection
        # Already in a transaction: the sqlite3 module began it at a write, which took the lock.
        if driver is not None and not driver.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def insert_updating_on_conflict(
    session: Session, table: Table, values: dict[str, Any], keys: list[str], update: list[str]
) -> Any:
    """``INSERT … ON CONFLICT (keys) DO UPDATE SET`` the ``update`` columns from ``values``."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        pg = postgresql.insert(table).values(**values)
        return pg.on_conflict_do_update(
            index_elements=keys, set_={column: pg.excluded[column] for column in update}
        )
    if name == "sqlite":
        lite = sqlite.insert(table).values(**values)
        return lite.on_conflict_do_update(
            index_elements=keys, set_={column: lite.excluded[column] for column in update}
        )
    raise RuntimeError(f"unsupported database dialect {name}")


def json_list_contains(
    column: ColumnElement[Any] | QueryableAttribute[Any], value: int, dialect: Dialect
) -> ColumnElement[bool]:
    """True where the JSON list in ``column`` holds ``value``."""
    if dialect.name == "postgresql":
        return cast(column, postgresql.JSONB).contains([value])
    each = func.json_each(column).table_valued("value")
    return select(literal_column("1")).select_from(each).where(each.c.value == value).exists()


def chunks(values: list[Any], size: int = 500) -> list[list[Any]]:
    """Split ``values`` so ``IN (…)`` lists stay under every backend's parameter limit."""
    return [values[i : i + size] for i in range(0, len(values), size)]


class _JSONList(TypeDecorator[list[Any]]):
    """A list bound as one JSON text parameter."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: list[Any] | None, dialect: Dialect) -> str | None:
        return None if value is None else orjson.dumps(value).decode()


def in_keys(
    column: ColumnElement[Any] | QueryableAttribute[Any], dialect: Dialect, name: str = "keys"
) -> Any:
    """``column IN (…)`` over a list given as the parameter ``name``.

    SQLite reads the list from one JSON parameter with ``json_each``: an expanding ``IN``
    renders a placeholder per key at every execution, ~5 µs an event on the ingest writer.
    PostgreSQL takes it as one array parameter (``= ANY(…)``): the expanding form rendered a
    placeholder per key and PostgreSQL parsed and planned each 500-key text anew.
    """
    if dialect.name == "sqlite":
        keys = func.json_each(bindparam(name, type_=_JSONList()))
        return column.in_(select(literal_column("value")).select_from(keys))
    return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))


def unindexed(column: ColumnElement[Any] | QueryableAttribute[Any]) -> Any:
    """``column`` as an expression no index serves (``column + 0``).

    For walks in id order (``id > cursor ORDER BY id LIMIT n``) filtered by workspace: given
    ``workspace_id = ?``, SQLite's planner picks the workspace's index, then reads and sorts
    every post of the workspace for each page, so a backfill of 5 M posts ran for hours. This
    leaves it the primary key's range, which reads each post once over the whole walk.
    """
    return column + 0


class off_index(FunctionElement[Any]):  # noqa: N801 - used like a function, as SQLAlchemy's are
    """``column`` written so SQLite's planner uses no index for it (``+column``, which keeps the
    value and its type, dates included); other backends get the column as it is.

    For ``ORDER BY counter DESC LIMIT n`` over an index that starts (key, counter): given a range
    on a later column of that index as well, SQLite skip-scans the range and sorts every row of
    it; without, it walks the counter in order and stops after ``n`` rows that pass.
    """

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any] | QueryableAttribute[Any]) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(off_index)
def _column_as_is(element: off_index, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(off_index, "sqlite")
def _column_off_index(element: off_index, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.clauses, **kw)
