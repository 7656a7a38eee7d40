"""The demo's orders: a modest, seeded set of conversions for the ``#RideLumen`` campaign (and
some with no campaign), plus a business case, so the metrics page shows actuals beside the plan.

Recorded through :func:`hubbub.measure.actions.record_conversions` like an import, keyed by a
stable order number, so loading the demo again adds nothing.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import Engine

from hubbub.demo.generate import key_days
from hubbub.measure.actions import record_conversions, save_business_case
from hubbub.measure.business import Inputs
from hubbub.measure.conversions import ConversionIn, RecordSummary
from hubbub.measure.models import BusinessCase
from hubbub.store.engine import transaction

CAMPAIGN = "ridelumen"  # the demo topic of kind campaign
#: (what, price in EUR, weight): the bikes and a few accessories people buy with them.
BASKET = (
    ("Lumen Spark", 1990.0, 3),
    ("Lumen Arc", 2990.0, 2),
    ("Lumen Drift", 3490.0, 2),
    ("pannier set", 129.0, 4),
    ("spare battery", 549.0, 2),
    ("service plan", 199.0, 3),
)
#: The plan a marketing lead might have entered for the campaign.
PLAN = Inputs(
    costs=18_000,
    expected_reach=400_000,
    click_rate=0.012,
    conversion_rate=0.02,
    average_order_value=1_100,
    currency="EUR",
)


def demo_conversions(seed: int, days: int, end: datetime) -> list[ConversionIn]:
    """About three orders a day: more in the days after the viral video, fewer after the
    crisis; three in four come through the campaign."""
    rng = random.Random(f"conversions:{seed}")
    viral, crisis = key_days(days, end)
    start = end - timedelta(days=days)
    found: list[ConversionIn] = []
    for day in range(days):
        midnight = start + timedelta(days=day)
        date = midnight.date()
        rate = 3.0
        if timedelta(0) <= date - viral <= timedelta(days=4):
            rate = 7.0
        elif timedelta(0) <= date - crisis <= timedelta(days=3):
            rate = 1.0
        count = sum(1 for _ in range(12) if rng.random() < rate / 12)
        for _ in range(count):
            when = midnight + timedelta(seconds=rng.randint(0, 86_399))
            if when >= end:
                continue
            price = rng.choices([p for _, p, _ in BASKET], weights=[w for *_, w in BASKET])[0]
            found.append(
                ConversionIn(
                    external_id=f"LB-{when:%Y%m%d}-{len(found) + 1:04d}",
                    occurred_at=when,
                    value=price,
                    currency="EUR",
                    topic=CAMPAIGN if rng.random() < 0.75 else None,
                )
            )
    return found


def add_demo_conversions(
    engine: Engine, workspace_id: int, seed: int, days: int, end: datetime
) -> RecordSummary:
    """Record the demo's orders (idempotent) and, when the workspace has none, its plan."""
    items = list(enumerate(demo_conversions(seed, days, end), start=1))
    with transaction(engine) as session:
        done = record_conversions(session, workspace_id, items, "demo")
        if session.get(BusinessCase, workspace_id) is None:
            save_business_case(session, workspace_id, PLAN)
    return done
