"""Times are aware UTC inside; a naive datetime reaching the database is a bug."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import StatementError

from hubbub.store.engine import transaction
from hubbub.workspaces.models import Workspace


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime"), transaction(engine) as session:
        session.add(Workspace(slug="naive", name="n", created_at=datetime(2026, 1, 1)))
        session.flush()
