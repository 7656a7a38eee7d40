"""Response metrics of the inbox over a period: how fast the team answers, and within the SLA.

A conversation belongs to the period its first customer post (the thread's root) was written
in. Response times are counted in *working* minutes of the workspace's business hours, the
same clock the SLA targets use (:mod:`hubbub.inbox.sla`); wall-clock minutes are given too.
Counts come from one grouped SQL aggregate; percentiles need each conversation's working time,
which only Python's zone-aware calendar can count, so those rows are read one by one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from math import ceil
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from hubbub.accounts.models import User
from hubbub.core.clock import utcnow
from hubbub.inbox.models import Conversation, Queue
from hubbub.inbox.queries import policy
from hubbub.posts.models import Post

#: Upper bounds (working minutes) of the histogram's buckets; the last bucket is open.
BUCKETS: tuple[tuple[str, float], ...] = (
    ("≤15 min", 15),
    ("15–30 min", 30),
    ("30–60 min", 60),
    ("1–2 h", 120),
    ("2–4 h", 240),
    ("4–8 h", 480),
    ("8–24 h", 1440),
    (">24 h", float("inf")),
)
CLOCK = "working minutes (business hours, as the SLA counts)"


@dataclass(frozen=True)
class ResponseFigures:
    """One group (all, an agent, a queue); shares and percentiles are None without data."""

    label: str
    conversations: int
    answered: int
    within_sla: int
    breached: int
    #: Unanswered, and the customer deleted everything they wrote in it before it was due:
    #: nobody could answer, so it counts neither as in time nor as breached.
    withdrawn: int
    pending: int
    within_sla_share: float | None
    p50_minutes: float | None
    p90_minutes: float | None
    wall_p50_minutes: float | None
    histogram: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ResponseMetrics:
    """The workspace's first responses for conversations started in [start, end)."""

    start: datetime
    end: datetime
    now: datetime
    clock: str
    overall: ResponseFigures
    by_agent: tuple[ResponseFigures, ...]
    by_queue: tuple[ResponseFigures, ...]

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        for key in ("start", "end", "now"):
            values[key] = getattr(self, key).isoformat()
        return values


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least ``share`` of values at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(ceil(share * len(ordered)), 1) - 1]


def histogram(minutes: Iterable[float]) -> tuple[tuple[str, int], ...]:
    counts = dict.fromkeys((label for label, _ in BUCKETS), 0)
    for value in minutes:
        for label, bound in BUCKETS:
            if value <= bound:
                counts[label] += 1
                break
    return tuple(counts.items())


@dataclass
class _Tally:
    conversations: int = 0
    answered: int = 0
    within_sla: int = 0
    breached: int = 0
    withdrawn: int = 0

    def add(self, row: Sequence[Any]) -> None:
        self.conversations += int(row[0] or 0)
        self.answered += int(row[1] or 0)
        self.within_sla += int(row[2] or 0)
        self.breached += int(row[3] or 0)
        self.withdrawn += int(row[4] or 0)


def _figures(label: str, tally: _Tally, working: list[float], wall: list[float]) -> ResponseFigures:
    decided = tally.within_sla + tally.breached
    return ResponseFigures(
        label=label,
        conversations=tally.conversations,
        answered=tally.answered,
        within_sla=tally.within_sla,
        breached=tally.breached,
        withdrawn=tally.withdrawn,
        pending=tally.conversations - decided - tally.withdrawn,
        within_sla_share=tally.within_sla / decided if decided else None,
        p50_minutes=percentile(working, 0.5),
        p90_minutes=percentile(working, 0.9),
        wall_p50_minutes=percentile(wall, 0.5),
        histogram=histogram(working),
    )


def response_metrics(
    session: Session,
    workspace_id: int,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
) -> ResponseMetrics:
    """First-response figures of conversations whose first customer post is in [start, end).

    Within SLA: answered at or before the due time stored when it opened. Breached: answered
    after it, or still unanswered once it has passed at ``now``. Withdrawn: unanswered, and
    the customer deleted all they wrote in it before it was due (``withdrawn_at``): nobody
    could answer, so neither. Pending: none of these yet.
    """
    now = now or utcnow()
    asked = Post.created_at
    answered = Conversation.first_responded_at.is_not(None)
    due = Conversation.first_response_due
    in_time = and_(answered, Conversation.first_responded_at <= due)
    withdrawn = and_(
        ~answered, Conversation.withdrawn_at.is_not(None), Conversation.withdrawn_at <= due
    )
    late = (answered & (Conversation.first_responded_at > due)) | (
        ~answered & (due < now) & ~withdrawn
    )
    scope = (
        Conversation.workspace_id == workspace_id,
        asked >= start,
        asked < end,
    )
    counts = session.execute(
        select(
            Conversation.assignee_user_id,
            Conversation.queue_id,
            func.count(),
            func.sum(case((answered, 1), else_=0)),
            func.sum(case((in_time, 1), else_=0)),
            func.sum(case((late, 1), else_=0)),
            func.sum(case((withdrawn, 1), else_=0)),
        )
        .join(Post, Post.id == Conversation.root_post_id)
        .where(*scope)
        .group_by(Conversation.assignee_user_id, Conversation.queue_id)
    ).all()
    times = session.execute(
        select(
            Conversation.assignee_user_id,
            Conversation.queue_id,
            asked,
            Conversation.first_responded_at,
        )
        .join(Post, Post.id == Conversation.root_post_id)
        .where(*scope, answered)
    ).all()

    schedule = policy(session, workspace_id).schedule
    tallies: dict[tuple[str, int | None], _Tally] = defaultdict(_Tally)
    working: dict[tuple[str, int | None], list[float]] = defaultdict(list)
    wall: dict[tuple[str, int | None], list[float]] = defaultdict(list)
    for agent, queue, *numbers in counts:
        for key in (("all", None), ("agent", agent), ("queue", queue)):
            tallies[key].add(numbers)
    for agent, queue, asked_at, responded_at in times:
        if responded_at is None:  # excluded by the query; narrows the type
            continue
        minutes = schedule.working_between(asked_at, responded_at).total_seconds() / 60
        clock = max((responded_at - asked_at).total_seconds() / 60, 0.0)
        for key in (("all", None), ("agent", agent), ("queue", queue)):
            working[key].append(minutes)
            wall[key].append(clock)

    agent_ids = [key[1] for key in tallies if key[0] == "agent" and key[1] is not None]
    queue_ids = [key[1] for key in tallies if key[0] == "queue" and key[1] is not None]
    emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(agent_ids))).all())
    names = dict(
        session.execute(
            select(Queue.id, Queue.name).where(
                Queue.id.in_(queue_ids), Queue.workspace_id == workspace_id
            )
        ).all()
    )

    def group(kind: str, labels: dict[int, str], none_label: str) -> tuple[ResponseFigures, ...]:
        keys = sorted(
            (key for key in tallies if key[0] == kind),
            key=lambda key: (key[1] is None, labels.get(key[1] or 0, "")),
        )
        return tuple(
            _figures(
                none_label if key[1] is None else labels.get(key[1], f"#{key[1]}"),
                tallies[key],
                working[key],
                wall[key],
            )
            for key in keys
        )

    overall = ("all", None)
    return ResponseMetrics(
        start=start,
        end=end,
        now=now,
        clock=CLOCK,
        overall=_figures("all", tallies[overall], working[overall], wall[overall]),
        by_agent=group("agent", emails, "unassigned"),
        by_queue=group("queue", names, "no queue"),
    )
