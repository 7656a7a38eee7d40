"""Topic graphs now take in reshares of the topic's posts: rebuild every topic graph once

A reshare carries no text, so it never matches a topic itself; topic graphs built before this
revision lack reshare edges. Setting a topic state's match count to -1 makes the graph job's
next step see a changed topic and rebuild it from the posts (``graph.actions._topics``).

Revision ID: 0022_topic_graph_reshares
Revises: 0021_link_resolutions
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0022_topic_graph_reshares"
down_revision: str | None = "0021_link_resolutions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


REBUILD_TOPIC_GRAPHS = "UPDATE graph_state SET matches = -1 WHERE topic_id <> 0"


def upgrade() -> None:
    op.execute(REBUILD_TOPIC_GRAPHS)


def downgrade() -> None:
    pass  # the rebuilt graphs are what the older code would also accept
