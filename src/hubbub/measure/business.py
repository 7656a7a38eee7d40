"""The business-case calculator: planned reach through clicks and conversions to revenue and ROI.

Every figure here is a projection from the planned inputs; :data:`ACTUALS` says what replaces
each input once measured. Recorded conversions (``hubbub.measure.queries.case_actuals``) give
actual conversions, revenue, order value and ROI; link clicks are not tracked yet.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Inputs:
    costs: float
    expected_reach: float
    click_rate: float
    conversion_rate: float
    average_order_value: float
    currency: str = "EUR"


@dataclass(frozen=True)
class Projection:
    """clicks = reach × click rate; conversions = clicks × conversion rate;
    revenue = conversions × order value; ROI = (revenue − costs) ÷ costs."""

    inputs: Inputs
    clicks: float
    conversions: float
    revenue: float
    net: float
    roi: float | None


def project(inputs: Inputs) -> Projection:
    clicks = inputs.expected_reach * inputs.click_rate
    conversions = clicks * inputs.conversion_rate
    revenue = conversions * inputs.average_order_value
    net = revenue - inputs.costs
    return Projection(
        inputs=inputs,
        clicks=clicks,
        conversions=conversions,
        revenue=revenue,
        net=net,
        roi=net / inputs.costs if inputs.costs else None,
    )


@dataclass(frozen=True)
class Actual:
    """What replaces a planned input, and whether Hubbub measures it today."""

    field: str
    replaced_by: str
    tracked: bool


ACTUALS: tuple[Actual, ...] = (
    Actual("costs", "entered by the team (no cost tracking)", False),
    Actual(
        "expected_reach",
        "potential reach of the brand topics (measured; shown beside the plan, an upper bound)",
        True,
    ),
    Actual("click_rate", "clicks on tracked links ÷ reach (tracked links: not built)", False),
    Actual(
        "conversion_rate",
        "recorded conversions ÷ clicks on tracked links (conversions: recorded; clicks: not built)",
        False,
    ),
    Actual(
        "average_order_value",
        "revenue ÷ number of the recorded conversions (CSV import or API)",
        True,
    ),
)
