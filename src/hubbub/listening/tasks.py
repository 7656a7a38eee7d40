"""Listening work the pipeline (``hubbub worker``, ``hubbub up``) runs on its timer."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.core.errors import Rejected
from hubbub.listening.actions import RematchResult, pending_rematches, rematch_topic
from hubbub.listening.enrichment import Enrichment

REMATCH_PAGES_PER_TICK = 20  # transactions of up to 1,000 posts: a big topic takes many ticks


def run_pending_rematches(
    engine: Engine,
    workspace_id: int,
    *,
    enrichment: Enrichment | None = None,
    max_pages: int = REMATCH_PAGES_PER_TICK,
) -> list[tuple[str, RematchResult]]:
    """Go on with the re-matches of the workspace's topics whose rule changed, oldest request
    first, for up to ``max_pages`` pages; a re-match resumes where the last tick stopped."""
    done: list[tuple[str, RematchResult]] = []
    with Session(engine) as session:
        names = pending_rematches(session, workspace_id)
        session.commit()
        for name in names:
            left = max_pages - sum(result.pages for _, result in done)
            if left <= 0:
                break
            try:
                result = rematch_topic(
                    session, workspace_id, name, max_pages=left, enrichment=enrichment
                )
            except Rejected:  # removed (or renamed) since it was listed: the next tick sees
                session.rollback()
                continue
            done.append((name, result))
    return done
