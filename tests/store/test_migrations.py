"""Models and migrations never drift; the schema upgrades from nothing on both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, make_url, text

from hubbub.migrations import alembic_config
from hubbub.store.engine import make_engine


def test_models_match_migrations(engine: Engine) -> None:
    command.check(alembic_config(engine))  # raises when autogenerate would emit operations


def test_history_is_linear_and_named() -> None:
    from hubbub.store.engine import make_engine

    script = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    heads = script.get_heads()
    assert len(heads) == 1
    for revision in script.walk_revisions():
        assert (revision.doc and not revision.revision.isalnum()) or "_" in revision.revision


UPGRADE = (
    "import sys; from hubbub.migrations import upgrade; from hubbub.store.engine import "
    "make_engine; upgrade(make_engine(sys.argv[1]))"
)


@pytest.fixture
def empty_db_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A URL to a database with no schema at all, of the backend under test."""
    if make_url(db_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"hubbub_fresh_{os.getpid()}"
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_processes_starting_together_on_an_empty_store_each_migrate_it_once(
    empty_db_url: str,
) -> None:
    # `serve --workers N` and a worker started beside it all upgrade at start; before the
    # lock, two ran the first migration at once and one died on "table already exists".
    starting = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADE, empty_db_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=120)[0].decode() for process in starting]
    assert [process.returncode for process in starting] == [0] * 4, "\n".join(outputs)
    engine = make_engine(empty_db_url)
    try:
        script = ScriptDirectory.from_config(alembic_config(engine))
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        assert [v for (v,) in versions] == [script.get_current_head()]
        command.check(alembic_config(engine))
    finally:
        engine.dispose()


def test_fingerprints_of_posts_stored_before_0032_still_find_their_copies(
    empty_db_url: str,
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import insert, select
    from sqlalchemy.orm import Session

    from hubbub.migrations import upgrade
    from hubbub.posts.actions import store_items
    from hubbub.posts.fingerprint import fingerprint
    from hubbub.posts.models import Author, Post, PostFingerprint
    from hubbub.store.engine import transaction
    from hubbub.workspaces.actions import ensure_workspace
    from tests.support.factories import example_post

    text_ = "Acme rocket skates are back in stock at every store"
    at = datetime(2026, 11, 1, tzinfo=UTC)
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0031_inbox_token_authors")
        with transaction(engine) as session:
            workspace_id = ensure_workspace(session, "acme").id
            author_id = session.execute(
                insert(Author)
                .values(workspace_id=workspace_id, network="bluesky", native_id="did:plc:a")
                .values(first_seen_at=at, last_seen_at=at)
                .returning(Author.id)
            ).scalar_one()
            post_id = session.execute(
                insert(Post)
                .values(workspace_id=workspace_id, network="bluesky", native_id="at://a/1")
                .values(author_id=author_id, text=text_, created_at=at, received_at=at)
                .values(fingerprint=fingerprint(text_, 24))
                .returning(Post.id)
            ).scalar_one()
        upgrade(engine)
        with Session(engine) as session:
            keys = session.execute(select(PostFingerprint.post_id)).scalars().all()
        assert keys == [post_id]
        copy = example_post(2, author="chen", text=text_, native_id="m:2", created_at=at)
        with transaction(engine) as session:
            result = store_items(session, workspace_id, "mastodon", [copy], received_at=at)
        assert result.near_duplicates == 1
    finally:
        engine.dispose()
