"""The business case: the projection's arithmetic, validation, storage per workspace."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.core.errors import Rejected
from hubbub.core.items import RawEvent
from hubbub.listening.actions import add_topic
from hubbub.measure import actions, queries
from hubbub.measure.business import ACTUALS, Inputs, project
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.listening.ingesting import ingest
from tests.support.factories import BASE_TIME, PERSONAS, jsonl_line

PLAN = Inputs(
    costs=10_000,
    expected_reach=500_000,
    click_rate=0.02,
    conversion_rate=0.03,
    average_order_value=80,
)


def _followed(n: int) -> RawEvent:
    """A post about rocket skates by Amira, whose follower count the record carries."""
    record = orjson.loads(jsonl_line(n, text="rocket skates!"))
    record["author"]["followers"] = PERSONAS["amira"]["followers"]
    return RawEvent(payload=orjson.dumps(record), format="jsonl", cursor=str(n))


def test_projection_from_reach_to_roi() -> None:
    projection = project(PLAN)
    assert projection.clicks == pytest.approx(10_000)
    assert projection.conversions == pytest.approx(300)
    assert projection.revenue == pytest.approx(24_000)
    assert projection.net == pytest.approx(14_000)
    assert projection.roi == pytest.approx(1.4)
    free = project(Inputs(0, 1000, 0.1, 0.1, 10))
    assert free.roi is None and free.revenue == pytest.approx(100)
    # Recorded conversions measure the order value; clicks (so both rates) are not tracked.
    assert {a.field for a in ACTUALS if not a.tracked} == {
        "costs",
        "click_rate",
        "conversion_rate",
    }


def test_stored_per_workspace_with_measured_reach(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", '"rocket skates"', "brand")
        other = ensure_workspace(session, "globex", "Globex").id
    ingest(engine, settings, workspace_id, [_followed(10), _followed(20)])
    start, end = BASE_TIME, BASE_TIME + timedelta(days=1)
    with transaction(engine) as session:
        assert queries.business_case(session, workspace_id, start, end) is None
        actions.save_business_case(session, workspace_id, PLAN)
        actions.save_business_case(session, workspace_id, Inputs(5000, 1000, 0.5, 0.5, 10, "usd"))
    with Session(engine) as session:
        view = queries.business_case(session, workspace_id, start, end)
        assert queries.business_case(session, other, start, end) is None
    assert view is not None
    assert view.projection.inputs == Inputs(5000, 1000, 0.5, 0.5, 10, "USD")  # replaced
    assert view.projection.revenue == pytest.approx(2500)
    assert view.measured_reach == 2 * PERSONAS["amira"]["followers"]


@pytest.mark.parametrize(
    "inputs",
    [
        Inputs(-1, 1000, 0.1, 0.1, 10),
        Inputs(1, 1000, 1.5, 0.1, 10),
        Inputs(1, 1000, 0.1, -0.1, 10),
        Inputs(1, float("inf"), 0.1, 0.1, 10),
        Inputs(1, 1000, 0.1, 0.1, 10, "euro"),
    ],
)
def test_bad_inputs_are_refused(engine: Engine, workspace_id: int, inputs: Inputs) -> None:
    with pytest.raises(Rejected), transaction(engine) as session:
        actions.save_business_case(session, workspace_id, inputs)
