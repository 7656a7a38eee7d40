"""Accounts, memberships, API tokens, sessions and the audit log

Revision ID: 0003_accounts
Revises: 0002_selective_identity_indexes
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0003_accounts"
down_revision: str | None = "0002_selective_identity_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
