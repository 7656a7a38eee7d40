"""Reads of the alerts feature: playbooks, their run log, stored alerts, drafts, crisis mode."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hubbub.alerts.models import (
    AlertRecord,
    CrisisState,
    NotifyChannel,
    Playbook,
    PlaybookRun,
    ReplyDraft,
)


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


def alert_records(
    session: Session,
    workspace_id: int,
    *,
    topic: str | None = None,
    kind: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Sequence[AlertRecord]:
    """Stored alerts, newest first, optionally of one topic or kind (a page of them)."""
    query = select(AlertRecord).where(AlertRecord.workspace_id == workspace_id)
    if topic:
        query = query.where(AlertRecord.topic == topic)
    if kind:
        query = query.where(AlertRecord.kind == kind)
    query = query.order_by(AlertRecord.time.desc(), AlertRecord.id.desc())
    return session.scalars(query.offset(offset).limit(limit)).all()


def alert_record(session: Session, workspace_id: int, alert_id: int) -> AlertRecord | None:
    """One stored alert of the workspace (None for another workspace's id)."""
    return session.scalar(
        select(AlertRecord).where(
            AlertRecord.workspace_id == workspace_id, AlertRecord.id == alert_id
        )
    )


def alert_facets(session: Session, workspace_id: int) -> tuple[list[str], list[str]]:
    """The topics and kinds the workspace's stored alerts have, for filter menus."""
    base = select(AlertRecord).where(AlertRecord.workspace_id == workspace_id).subquery()
    topics = session.scalars(select(base.c.topic).distinct().order_by(base.c.topic))
    kinds = session.scalars(select(base.c.kind).distinct().order_by(base.c.kind))
    return list(topics), list(kinds)


def playbook_by_id(session: Session, workspace_id: int, playbook_id: int) -> Playbook | None:
    return session.scalar(
        select(Playbook).where(Playbook.workspace_id == workspace_id, Playbook.id == playbook_id)
    )


def last_runs(session: Session, workspace_id: int) -> dict[int, PlaybookRun]:
    """Each playbook's newest real (not dry) run."""
    newest = (
        select(func.max(PlaybookRun.id))
        .where(PlaybookRun.workspace_id == workspace_id, PlaybookRun.dry_run.is_(False))
        .group_by(PlaybookRun.playbook_id)
    )
    found = session.scalars(select(PlaybookRun).where(PlaybookRun.id.in_(newest)))
    return {run.playbook_id: run for run in found}


def pending_drafts(session: Session, workspace_id: int) -> Sequence[ReplyDraft]:
    """Drafts waiting for the next step of their approval chain, oldest first."""
    return session.scalars(
        select(ReplyDraft)
        .where(ReplyDraft.workspace_id == workspace_id, ReplyDraft.status == "pending_approval")
        .order_by(ReplyDraft.id)
    ).all()


#: How many ready or decided drafts the playbooks page lists.
RECENT_DRAFTS = 20


def decided_drafts(
    session: Session, workspace_id: int, limit: int = RECENT_DRAFTS
) -> Sequence[ReplyDraft]:
    """The newest drafts no longer waiting: ready to post (approved, or never needing it) or
    rejected, newest first."""
    return session.scalars(
        select(ReplyDraft)
        .where(
            ReplyDraft.workspace_id == workspace_id,
            ReplyDraft.status.in_(("draft", "approved", "rejected")),
        )
        .order_by(ReplyDraft.id.desc())
        .limit(limit)
    ).all()


def reply_draft(session: Session, workspace_id: int, draft_id: int) -> ReplyDraft | None:
    return session.scalar(
        select(ReplyDraft).where(ReplyDraft.workspace_id == workspace_id, ReplyDraft.id == draft_id)
    )


def runs_for_alert(
    session: Session, workspace_id: int, alert_key: str, limit: int = 100
) -> Sequence[PlaybookRun]:
    """The real runs an alert caused (their dedupe key is ``playbook id|alert key``)."""
    return session.scalars(
        select(PlaybookRun)
        .where(
            PlaybookRun.workspace_id == workspace_id,
            PlaybookRun.dedupe_key.endswith(f"|{alert_key}", autoescape=True),
        )
        .order_by(PlaybookRun.id.desc())
        .limit(limit)
    ).all()


def channels(session: Session, workspace_id: int) -> Sequence[NotifyChannel]:
    return session.scalars(
        select(NotifyChannel)
        .where(NotifyChannel.workspace_id == workspace_id)
        .order_by(NotifyChannel.name)
    ).all()


def channel(session: Session, workspace_id: int, name: str) -> NotifyChannel | None:
    return session.scalars(
        select(NotifyChannel).where(
            NotifyChannel.workspace_id == workspace_id, NotifyChannel.name == name
        )
    ).one_or_none()


def channel_by_id(session: Session, workspace_id: int, channel_id: int) -> NotifyChannel | None:
    return session.scalars(
        select(NotifyChannel).where(
            NotifyChannel.workspace_id == workspace_id, NotifyChannel.id == channel_id
        )
    ).one_or_none()
