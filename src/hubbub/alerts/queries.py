"""Reads of the alerts feature: playbooks, their run log, stored alerts, drafts, crisis mode."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hubbub.alerts.models import AlertRecord, CrisisState, Playbook, PlaybookRun, ReplyDraft


def playbooks(session: Session, workspace_id: int) -> Sequence[Playbook]:
    """The workspace's playbooks by name."""
    return session.scalars(
        select(Playbook).where(Playbook.workspace_id == workspace_id).order_by(Playbook.name)
    ).all()


def playbook(session: Session, workspace_id: int, name: str) -> Playbook | None:
    return session.scalar(
        select(Playbook).where(Playbook.workspace_id == workspace_id, Playbook.name == name)
    )


def runs(
    session: Session, workspace_id: int, playbook_id: int | None = None, limit: int = 100
) -> Sequence[PlaybookRun]:
    """The run log, newest first."""
    query = select(PlaybookRun).where(PlaybookRun.workspace_id == workspace_id)
    if playbook_id is not None:
        query = query.where(PlaybookRun.playbook_id == playbook_id)
    return session.scalars(query.order_by(PlaybookRun.id.desc()).limit(limit)).all()


def stored_alerts(
    session: Session,
    workspace_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Alerts raised in the workspace, oldest first, in their JSON form."""
    query = select(AlertRecord.payload).where(AlertRecord.workspace_id == workspace_id)
    if since is not None:
        query = query.where(AlertRecord.time >= since)
    if until is not None:
        query = query.where(AlertRecord.time < until)
    return list(session.scalars(query.order_by(AlertRecord.time, AlertRecord.id)))


def drafts(session: Session, workspace_id: int) -> Sequence[ReplyDraft]:
    return session.scalars(
        select(ReplyDraft).where(ReplyDraft.workspace_id == workspace_id).order_by(ReplyDraft.id)
    ).all()


def crisis_state(session: Session, workspace_id: int) -> CrisisState | None:
    return session.get(CrisisState, workspace_id)
