"""Models and migrations never drift; the schema upgrades from nothing on both backends."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from hubbub.migrations import alembic_config


def test_models_match_migrations(engine: Engine) -> None:
    command.check(alembic_config(engine))  # raises when autogenerate would emit operations


def test_history_is_linear_and_named() -> None:
    from hubbub.store.engine import make_engine

    script = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    heads = script.get_heads()
    assert len(heads) == 1
    for revision in script.walk_revisions():
        assert (revision.doc and not revision.revision.isalnum()) or "_" in revision.revision
