"""Full-text search index over stored posts

``search_docs`` holds one row per indexed post: the folded, encoded words and field keys
(hubbub.listening.search_index). SQLite indexes it with an external-content FTS5 table
(``search_fts``); PostgreSQL keeps the words as a ``tsvector`` under a GIN index.
``search_state`` remembers how far each workspace is indexed. Two partial indexes on posts
let the catch-up find edited and deleted posts without scanning the workspace; they hold
only edited or deleted rows, so a plain insert does not touch them.

None of these is an ORM model (FTS5 and tsvector are outside what autogenerate compares);
migrations/env.py leaves them out of ``alembic check``.

Revision ID: 0006_search
Revises: 0005_graph
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_search"
down_revision: str | None = "0005_graph"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE = (
    "CREATE TABLE search_docs (post_id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL,"
    " body TEXT NOT NULL)",
    "CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_docs',"
    " content_rowid='post_id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TABLE search_state (workspace_id INTEGER PRIMARY KEY, last_post_id INTEGER NOT NULL,"
    " last_edit_at DATETIME, last_delete_at DATETIME)",
    "CREATE INDEX ix_posts_search_edited ON posts (workspace_id, edited_at)"
    " WHERE edited_at IS NOT NULL",
    "CREATE INDEX ix_posts_search_deleted ON posts (workspace_id, deleted_at) WHERE deleted = 1",
)
POSTGRESQL = (
    "CREATE TABLE search_docs (post_id BIGINT PRIMARY KEY, workspace_id BIGINT NOT NULL,"
    " doc TSVECTOR NOT NULL)",
    "CREATE INDEX ix_search_docs_doc ON search_docs USING GIN (doc)",
    "CREATE TABLE search_state (workspace_id BIGINT PRIMARY KEY, last_post_id BIGINT NOT NULL,"
    " last_edit_at TIMESTAMP WITH TIME ZONE, last_delete_at TIMESTAMP WITH TIME ZONE)",
    "CREATE INDEX ix_posts_search_edited ON posts (workspace_id, edited_at)"
    " WHERE edited_at IS NOT NULL",
    "CREATE INDEX ix_posts_search_deleted ON posts (workspace_id, deleted_at) WHERE deleted",
)


def upgrade() -> None:
    statements = SQLITE if op.get_context().dialect.name == "sqlite" else POSTGRESQL
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP INDEX ix_posts_search_deleted")
    op.execute("DROP INDEX ix_posts_search_edited")
    op.execute("DROP TABLE search_state")
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TABLE search_fts")
    op.execute("DROP TABLE search_docs")
