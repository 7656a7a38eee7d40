"""Times are aware UTC inside; a naive datetime reaching the database is a bug."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from hubbub.migrations import upgrade
from hubbub.store.engine import make_engine, transaction
from hubbub.workspaces.models import Workspace


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime"), transaction(engine) as session:
        session.add(Workspace(slug="naive", name="n", created_at=datetime(2026, 1, 1)))
        session.flush()


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 26, 13, 0, 0, tzinfo=UTC),  # no fraction: SQLite still stores .000000
        datetime(2026, 11, 26, 13, 0, 0, 123_400, tzinfo=UTC),
        datetime(2026, 11, 26, 14, 30, tzinfo=timezone(timedelta(hours=1, minutes=30))),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ],
)
def test_datetimes_come_back_aware_utc_and_equal(engine: Engine, moment: datetime) -> None:
    with transaction(engine) as session:
        session.add(Workspace(slug="when", name="w", created_at=moment))
    with Session(engine) as session:
        stored = session.scalars(select(Workspace.created_at)).one()
        row = session.connection().execute(select(Workspace.created_at)).one()
    for value in (stored, row[0]):
        assert value == moment and value.tzinfo is UTC


def test_sqlite_text_without_a_fraction_or_with_an_offset_is_read(tmp_path: Path) -> None:
    """Rows written by hand or by other tools: every ISO form SQLite may hold reads as UTC."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine)
    try:
        for text, expected in [
            ("2026-11-26 13:00:00", datetime(2026, 11, 26, 13, tzinfo=UTC)),
            ("2026-11-26T13:00:00.5", datetime(2026, 11, 26, 13, 0, 0, 500_000, tzinfo=UTC)),
            ("2026-11-26 15:00:00+02:00", datetime(2026, 11, 26, 13, tzinfo=UTC)),
        ]:
            with engine.begin() as connection:
                connection.exec_driver_sql("DELETE FROM workspaces")
                connection.exec_driver_sql(
                    "INSERT INTO workspaces (slug, name, created_at) VALUES ('t', 't', ?)", (text,)
                )
            with Session(engine) as session:
                value = session.scalars(select(Workspace.created_at)).one()
            assert value == expected and value.tzinfo is UTC, text
    finally:
        engine.dispose()
