"""Reads on sources for the pages: dead letters per source."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hubbub.sources.actions import REPLAYED
from hubbub.sources.models import DeadLetter


def dead_letters_by_source(session: Session, workspace_id: int) -> dict[int, int]:
    """Dead letters not yet replayed successfully, per source id."""
    rows = session.execute(
        select(DeadLetter.source_id, func.count())
        .where(
            DeadLetter.workspace_id == workspace_id,
            DeadLetter.source_id.is_not(None),
            DeadLetter.replay_outcome.is_distinct_from(REPLAYED),
        )
        .group_by(DeadLetter.source_id)
    )
    return {int(source_id or 0): int(count) for source_id, count in rows}
