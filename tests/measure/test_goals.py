"""Goals: validation, progress from the real rollups and inbox, and the run-rate forecast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.accounts.models import AuditEntry
from hubbub.core.errors import Rejected
from hubbub.listening.actions import add_topic, remove_topic
from hubbub.measure import actions, queries
from hubbub.measure.forecast import forecast, previous_quarter, quarter_bounds, quarter_of
from hubbub.measure.kpis import KPIS
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.listening.ingesting import ingest, post
from tests.support.factories import BASE_TIME

QUARTER = "2026-Q3"  # BASE_TIME is 2026-07-04
AS_OF = BASE_TIME + timedelta(days=2)  # 2026-07-06 12:00: 5.5 of the quarter's 92 days


@pytest.fixture
def skates(engine: Engine, settings: Settings, workspace_id: int) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", '"rocket skates"', "brand")
    ingest(
        engine,
        settings,
        workspace_id,
        [
            post(10, "My rocket skates arrived, I love them"),
            post(20, "These rocket skates broke after a week", author="bruno"),
            post(30, "rocket skates again", author="chen"),
            post(24 * 60 * 10, "rocket skates, ten days on"),  # after AS_OF: not counted
        ],
    )


def test_quarters() -> None:
    assert quarter_of(datetime(2026, 11, 26, tzinfo=UTC)) == "2026-Q4"
    assert quarter_bounds("2026-Q4") == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert quarter_bounds("2026-Q1")[1] == datetime(2026, 4, 1, tzinfo=UTC)
    assert previous_quarter("2026-Q1") == "2025-Q4"
    for bad in ("2026-Q5", "2026Q1", "Q1-2026", ""):
        with pytest.raises(Rejected):
            quarter_bounds(bad)


def test_forecast_methods() -> None:
    start, end = quarter_bounds(QUARTER)
    day_ten = start + timedelta(days=10)
    mentions, share = KPIS["mentions"], KPIS["positive_share"]
    assert forecast(mentions, 50.0, start, end, day_ten) == pytest.approx(50 * 92 / 10)
    assert forecast(share, 0.4, start, end, day_ten) == 0.4  # a level stays where it is
    assert forecast(mentions, 5.0, start, end, start + timedelta(hours=20)) is None  # too early
    assert forecast(mentions, 70.0, start, end, end + timedelta(days=3)) == 70.0  # final
    assert forecast(mentions, None, start, end, day_ten) is None


@pytest.mark.usefixtures("skates")
def test_progress_of_funnel_and_inbox_goals(engine: Engine, workspace_id: int) -> None:
    with transaction(engine) as session:
        actions.add_goal(session, workspace_id, "mentions", QUARTER, 100, "skates")
        actions.add_goal(session, workspace_id, "negative_share", QUARTER, 0.1, "skates")
        actions.add_goal(session, workspace_id, "sla_breaches", QUARTER, 5)
        actions.add_goal(session, workspace_id, "mentions", "2026-Q4", 10, "skates")
    with Session(engine) as session:
        found = {
            p.kpi.name: p for p in queries.goal_progress(session, workspace_id, QUARTER, AS_OF)
        }
        later = queries.goal_progress(session, workspace_id, "2026-Q4", AS_OF)
    mentions = found["mentions"]
    assert mentions.actual == 3 and mentions.share == pytest.approx(0.03)
    assert mentions.forecast == pytest.approx(3 * 92 / 5.5)
    assert mentions.on_track is False and mentions.topic == "skates"
    negative = found["negative_share"]
    assert negative.actual is not None and negative.forecast == negative.actual
    assert negative.on_track is (negative.actual <= 0.1)
    breaches = found["sla_breaches"]
    assert (breaches.actual, breaches.forecast, breaches.on_track) == (0.0, 0.0, True)
    assert breaches.topic is None
    (future,) = later
    assert future.actual is None and future.forecast is None and future.on_track is None


@pytest.mark.usefixtures("skates")
def test_goal_validation_and_removal(engine: Engine, workspace_id: int) -> None:
    refused = [
        ("reach_of_the_moon", QUARTER, 1.0, "skates", "unknown_kpi"),
        ("mentions", "2026-Q9", 1.0, "skates", "bad_quarter"),
        ("mentions", QUARTER, -1.0, "skates", "bad_target"),
        ("mentions", QUARTER, float("nan"), "skates", "bad_target"),
        ("positive_share", QUARTER, 1.5, "skates", "bad_target"),
        ("mentions", QUARTER, 10.0, None, "topic_needed"),
        ("within_sla_share", QUARTER, 0.9, "skates", "no_topic"),
    ]
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex", "Globex").id
        goal = actions.add_goal(session, workspace_id, "mentions", QUARTER, 10, "skates")
        goal_id = goal.id
    for kpi, quarter, target, topic, code in refused:
        with pytest.raises(Rejected) as caught, transaction(engine) as session:
            actions.add_goal(session, workspace_id, kpi, quarter, target, topic)
        assert caught.value.code == code, kpi
    with pytest.raises(Rejected, match="exists already"), transaction(engine) as session:
        actions.add_goal(session, workspace_id, "mentions", QUARTER, 20, "skates")
    with pytest.raises(Rejected), transaction(engine) as session:  # globex has no such topic
        actions.add_goal(session, other, "mentions", QUARTER, 20, "skates")
    with transaction(engine) as session:
        assert actions.remove_goal(session, other, goal_id) is False  # not globex's to remove
        assert actions.remove_goal(session, workspace_id, goal_id) is True
        assert actions.remove_goal(session, workspace_id, goal_id) is False
        audited = session.scalars(
            select(AuditEntry.action).where(AuditEntry.workspace_id == workspace_id)
        ).all()
    assert [a for a in audited if a.startswith("goal.")] == ["goal.add", "goal.remove"]


@pytest.mark.usefixtures("skates")
def test_removing_a_topic_removes_its_goals(engine: Engine, workspace_id: int) -> None:
    with transaction(engine) as session:
        actions.add_goal(session, workspace_id, "mentions", QUARTER, 10, "skates")
        actions.add_goal(session, workspace_id, "sla_breaches", QUARTER, 1)
        remove_topic(session, workspace_id, "skates")
    with Session(engine) as session:
        assert [g.kpi for g in queries.goals(session, workspace_id)] == ["sla_breaches"]
