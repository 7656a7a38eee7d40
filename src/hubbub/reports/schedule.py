"""Report periods in a time zone, and when a schedule's period is due.

A week runs Monday 00:00 to Monday 00:00 and a month from the 1st to the 1st, both in the
schedule's zone (the workspace's business-hours zone by default), so a report follows the
team's calendar across daylight-saving changes; the bounds are stored and queried in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hubbub.reports.models import CADENCES


class PeriodError(ValueError):
    """A period that cannot be built (unknown cadence, zone, or dates the wrong way round)."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PeriodError(f"unknown time zone {name!r}") from exc


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _first_day(cadence: str, day: date) -> date:
    if cadence == "week":
        return day - timedelta(days=day.weekday())
    if cadence == "month":
        return day.replace(day=1)
    raise PeriodError(f"cadence is one of {', '.join(CADENCES)}, not {cadence!r}")


def _next_first_day(cadence: str, first: date) -> date:
    if cadence == "week":
        return first + timedelta(days=7)
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def period_containing(cadence: str, moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the week or month (in ``tz``) that holds ``moment``."""
    first = _first_day(cadence, moment.astimezone(tz).date())
    return _midnight(first, tz), _midnight(_next_first_day(cadence, first), tz)


def last_complete_period(cadence: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The latest week or month (in ``tz``) that ended at or before ``now``."""
    start, _end = period_containing(cadence, now, tz)
    return period_containing(cadence, start - timedelta(seconds=1), tz)


def explicit_period(since: date, until: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Whole days from ``since`` through ``until`` (inclusive) in ``tz``."""
    if until < since:
        raise PeriodError(f"the last day ({until}) is before the first ({since})")
    if (until - since).days > 366:
        raise PeriodError("a report covers at most 366 days")
    return _midnight(since, tz), _midnight(until + timedelta(days=1), tz)


def due_at(period_end: datetime, send_hour: int, tz: ZoneInfo) -> datetime:
    """When a period's report goes out: ``send_hour`` local time on the day the period ends."""
    local_end = period_end.astimezone(tz).date()
    return datetime.combine(local_end, time(send_hour), tzinfo=tz).astimezone(UTC)


def period_label(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    return f"{first.isoformat()} – {last.isoformat()} ({tz.key})"
