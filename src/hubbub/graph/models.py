"""What the team knows about an author that the data cannot say: advocate, employee, … blocked."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hubbub.store.base import Base
from hubbub.store.types import BigId, UTCDateTime

MarkKind = Literal["advocate", "employee", "partner", "competitor", "blocked"]
MARK_KINDS: tuple[str, ...] = get_args(MarkKind)


class AuthorMark(Base):
    """One mark on one author of a workspace; an author may carry several (employee and
    advocate). ``blocked`` authors are left out of rankings."""

    __tablename__ = "author_marks"
    __table_args__ = (
        Index("uq_author_marks_author_mark", "author_id", "mark", unique=True),
        Index("ix_author_marks_workspace", "workspace_id", "mark"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    mark: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
