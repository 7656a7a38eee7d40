"""Passwords Hubbub generated are one-time: the mark that asks the user to choose their own

Revision ID: 0028_one_time_passwords
Revises: 0027_topic_rematch
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_one_time_passwords"
down_revision: str | None = "0027_topic_rematch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for every existing user: nobody is sent to change a password they already have.
    op.add_column(
        "users", sa.Column("must_change_password_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password_at")
