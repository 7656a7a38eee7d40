"""Writes of the graph feature: marking authors."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.graph.models import MARK_KINDS, AuthorMark
from hubbub.posts.models import Author


def _check(session: Session, workspace_id: int, author_id: int, mark: str) -> None:
    if mark not in MARK_KINDS:
        raise Rejected("bad_mark", f"{mark!r} is not one of {', '.join(MARK_KINDS)}")
    owner = session.scalar(select(Author.workspace_id).where(Author.id == author_id))
    if owner != workspace_id:
        raise Rejected("unknown_author", f"author {author_id} is not in this workspace")


def mark_author(
    session: Session, workspace_id: int, author_id: int, mark: str, note: str | None = None
) -> AuthorMark:
    """Put a mark on an author; marking twice keeps one mark (and updates the note)."""
    _check(session, workspace_id, author_id, mark)
    existing = session.scalar(
        select(AuthorMark).where(AuthorMark.author_id == author_id, AuthorMark.mark == mark)
    )
    if existing is not None:
        if note is not None:
            existing.note = note
        return existing
    row = AuthorMark(
        workspace_id=workspace_id, author_id=author_id, mark=mark, note=note, created_at=utcnow()
    )
    session.add(row)
    session.flush()
    return row


def unmark_author(session: Session, workspace_id: int, author_id: int, mark: str) -> bool:
    """Take a mark off; False when the author did not carry it."""
    _check(session, workspace_id, author_id, mark)
    result = session.execute(
        delete(AuthorMark).where(
            AuthorMark.workspace_id == workspace_id,
            AuthorMark.author_id == author_id,
            AuthorMark.mark == mark,
        )
    )
    return bool(getattr(result, "rowcount", 0))
