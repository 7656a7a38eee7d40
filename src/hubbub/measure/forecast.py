"""Calendar quarters and the quarter-end forecast of a goal's KPI.

Method (docs/metrics.md): an additive KPI (a count) is extrapolated at the quarter's run rate
so far, ``actual × quarter length ÷ time elapsed``; a level (a share, a percentile) is
forecast to stay where the quarter so far has it. Before one whole day has passed there is
no forecast: a few hours' rate says too little about three months.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hubbub.core.errors import Rejected
from hubbub.measure.kpis import Kpi

MIN_ELAPSED = timedelta(days=1)
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def quarter_of(moment: datetime) -> str:
    """The calendar quarter (UTC) holding ``moment``, as ``YYYY-Qn``."""
    moment = moment.astimezone(UTC)
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def quarter_bounds(label: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next quarter) in UTC."""
    found = _QUARTER.match(label.strip())
    if not found:
        raise Rejected("bad_quarter", f"{label!r} is not a quarter like 2026-Q4")
    year, quarter = int(found.group(1)), int(found.group(2))
    if not 1900 <= year <= 9998:  # the quarters before and after must be dates too
        raise Rejected("bad_quarter", f"{label!r}: the year is from 1900 to 9998")
    start = datetime(year, 3 * quarter - 2, 1, tzinfo=UTC)
    end = (
        datetime(year + 1, 1, 1, tzinfo=UTC)
        if quarter == 4
        else datetime(year, 3 * quarter + 1, 1, tzinfo=UTC)
    )
    return start, end


def previous_quarter(label: str) -> str:
    start, _ = quarter_bounds(label)
    return quarter_of(start - timedelta(seconds=1))


def forecast(
    kpi: Kpi, actual: float | None, start: datetime, end: datetime, as_of: datetime
) -> float | None:
    """The KPI's expected value at ``end`` given ``actual`` over [start, min(as_of, end))."""
    if actual is None:
        return None
    if as_of >= end:
        return actual  # the quarter is over: its value is final
    elapsed = as_of - start
    if elapsed < MIN_ELAPSED:
        return None
    if not kpi.additive:
        return actual
    return actual * ((end - start) / elapsed)


@dataclass(frozen=True)
class Progress:
    """A goal measured so far: ``share`` is actual ÷ target; ``on_track`` compares the forecast
    with the target in the KPI's better direction (None while there is no forecast)."""

    goal_id: int
    kpi: Kpi
    topic: str | None
    quarter: str
    target: float
    start: datetime
    end: datetime
    as_of: datetime
    actual: float | None
    forecast: float | None
    share: float | None
    on_track: bool | None


def progress(
    goal_id: int,
    kpi: Kpi,
    topic: str | None,
    quarter: str,
    target: float,
    actual: float | None,
    as_of: datetime,
) -> Progress:
    start, end = quarter_bounds(quarter)
    expected = forecast(kpi, actual, start, end, as_of)
    on_track = None
    if expected is not None:
        on_track = expected >= target if kpi.better == "higher" else expected <= target
    return Progress(
        goal_id=goal_id,
        kpi=kpi,
        topic=topic,
        quarter=quarter,
        target=target,
        start=start,
        end=end,
        as_of=as_of,
        actual=actual,
        forecast=expected,
        share=actual / target if actual is not None and target else None,
        on_track=on_track,
    )
