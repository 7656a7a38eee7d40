"""Response metrics: working-time percentiles, SLA shares and breaches per agent and queue.

BASE_TIME is Saturday 2026-07-04 12:00 UTC and the team works Monday to Friday 09:00-17:00
UTC with a 60-minute first-response target, so questions asked on Saturday are due Monday
10:00 and every answer's working time starts at Monday 09:00.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.inbox import actions
from hubbub.inbox.metrics import histogram, percentile, response_metrics
from hubbub.inbox.models import Conversation
from hubbub.inbox.sla import DEFAULT_WEEKLY
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.inbox.conftest import brand_post, bsky, make_user, store
from tests.support.factories import BASE_TIME, PERSONAS, example_post

MONDAY_0930 = 2730  # minutes after BASE_TIME
MONDAY_1100 = 2820
COMPLAINT = "my Acme skates broke after one day and support ignores me, terrible"


def bruno(n: int) -> str:
    return f"at://{PERSONAS['bruno']['native_id']}/app.bsky.feed.post/{n:013d}"


def _open(engine: Engine, workspace_id: int, ids: list[int]) -> None:
    with transaction(engine) as session:
        actions.open_conversations_for(session, workspace_id, ids)


@pytest.fixture
def answered(engine: Engine, workspace_id: int, brand: None) -> dict[str, int]:
    """Three complaints on Saturday: one answered in time (queue "care", agent Ana), one late
    (agent Ben, no queue), one never answered; returns the agents' ids."""
    ana = make_user(engine, workspace_id, "ana@acme.example")
    ben = make_user(engine, workspace_id, "ben@acme.example")
    with transaction(engine) as session:
        actions.set_business_hours(
            session,
            workspace_id,
            "UTC",
            DEFAULT_WEEKLY,
            first_response_minutes=60,
            next_response_minutes=120,
        )
        actions.create_queue(session, workspace_id, "care", [ana])
    asked = store(
        engine,
        workspace_id,
        "bluesky",
        [
            example_post(1, "amira", COMPLAINT),
            example_post(2, "bruno", COMPLAINT),
            example_post(3, "amira", COMPLAINT + " again"),
        ],
    )
    _open(engine, workspace_id, list(asked.values()))
    with transaction(engine) as session:
        by_root = {
            c.root_post_id: c
            for c in session.scalars(
                select(Conversation).where(Conversation.workspace_id == workspace_id)
            )
        }
        actions.assign_to_queue(session, by_root[asked[bsky(1)]], "care")
        actions.assign(session, by_root[asked[bruno(2)]], ben)
    replies = store(
        engine,
        workspace_id,
        "bluesky",
        [
            brand_post(MONDAY_0930, "Sorry! DM us", reply_to=bsky(1), thread_root=bsky(1)),
            brand_post(MONDAY_1100, "Sorry! DM us", reply_to=bruno(2), thread_root=bruno(2)),
        ],
    )
    _open(engine, workspace_id, list(replies.values()))
    return {"ana": ana, "ben": ben}


def test_figures_per_agent_and_queue_in_working_minutes(
    engine: Engine, workspace_id: int, answered: dict[str, int]
) -> None:
    start, end = BASE_TIME, BASE_TIME + timedelta(days=1)
    with Session(engine) as session:
        later = response_metrics(session, workspace_id, start, end, now=BASE_TIME + timedelta(2))
        earlier = response_metrics(
            session, workspace_id, start, end, now=BASE_TIME + timedelta(minutes=MONDAY_0930 + 15)
        )
    total = later.overall
    assert (total.conversations, total.answered, total.within_sla, total.breached) == (3, 2, 1, 2)
    assert total.pending == 0 and total.within_sla_share == pytest.approx(1 / 3)
    # Monday 09:30 and 11:00 are 30 and 120 working minutes after the Monday 09:00 opening.
    assert (total.p50_minutes, total.p90_minutes) == (30.0, 120.0)
    assert total.wall_p50_minutes == MONDAY_0930 - 1  # asked at minute 1, wall clock
    assert dict(total.histogram)["15–30 min"] == 1 and dict(total.histogram)["1–2 h"] == 1

    agents = {f.label: f for f in later.by_agent}
    assert set(agents) == {"ana@acme.example", "ben@acme.example", "unassigned"}
    assert (agents["ana@acme.example"].within_sla, agents["ana@acme.example"].breached) == (1, 0)
    assert (agents["ben@acme.example"].breached, agents["ben@acme.example"].p50_minutes) == (1, 120)
    assert (agents["unassigned"].answered, agents["unassigned"].breached) == (0, 1)
    queues = {f.label: f for f in later.by_queue}
    assert queues["care"].conversations == 1 and queues["no queue"].conversations == 2

    # Before 10:00 on Monday the unanswered one is not late yet: pending, not breached.
    assert (earlier.overall.breached, earlier.overall.pending) == (1, 1)
    assert earlier.overall.within_sla_share == 0.5


def test_the_period_and_the_workspace_bound_what_is_counted(
    engine: Engine, workspace_id: int, answered: dict[str, int]
) -> None:
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex", "Globex").id
    with Session(engine) as session:
        before = response_metrics(session, workspace_id, BASE_TIME - timedelta(1), BASE_TIME)
        elsewhere = response_metrics(session, other, BASE_TIME, BASE_TIME + timedelta(1))
        tail = response_metrics(
            session, workspace_id, BASE_TIME + timedelta(minutes=2), BASE_TIME + timedelta(1)
        )
    assert before.overall.conversations == 0 and before.overall.p50_minutes is None
    assert before.overall.within_sla_share is None and before.by_agent == ()
    assert elsewhere.overall.conversations == 0
    assert tail.overall.conversations == 2  # asked at minutes 2 and 3
    assert tail.as_dict()["overall"]["conversations"] == 2


def test_nearest_rank_percentiles_and_buckets() -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert percentile(values, 0.5) == 3.0
    assert percentile(values, 0.9) == 5.0
    assert percentile([7.0], 0.9) == 7.0 and percentile([], 0.5) is None
    counts = dict(histogram([0, 15, 15.5, 61, 2000]))
    assert counts["≤15 min"] == 2 and counts["15–30 min"] == 1
    assert counts["1–2 h"] == 1 and counts[">24 h"] == 1
