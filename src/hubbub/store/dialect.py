"""Dialect-specific statements the write path needs (``INSERT … ON CONFLICT``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(session: Session, table: Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's backend."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database dialect {name}")


def chunks(values: list[Any], size: int = 500) -> list[list[Any]]:
    """Split ``values`` so ``IN (…)`` lists stay under every backend's parameter limit."""
    return [values[i : i + size] for i in range(0, len(values), size)]
