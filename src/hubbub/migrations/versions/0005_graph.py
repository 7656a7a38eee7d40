"""Author marks and interaction-graph state

Revision ID: 0005_graph
Revises: 0004_topics
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0005_graph"
down_revision: str | None = "0004_topics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
