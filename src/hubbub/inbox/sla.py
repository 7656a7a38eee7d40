"""Working time: SLA due times counted only in the workspace's business hours and time zone.

Hours are wall-clock intervals per weekday (``{"mon": [["09:00", "17:00"]], ...}``), read in
the workspace's zone with ``zoneinfo``, so a DST change moves the hours with the clock and a
day with a skipped hour simply has one hour less of working time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hubbub.core.errors import Rejected

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WEEKLY: dict[str, list[list[str]]] = {
    day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")
}
#: Farther than this without a single working minute means the hours are empty.
_MAX_DAYS = 400


def _clock(text: str) -> tuple[int, int]:
    try:
        hours, minutes = (int(part) for part in text.split(":"))
    except ValueError:
        raise Rejected("bad_hours", f"{text!r} is not HH:MM") from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        raise Rejected("bad_hours", f"{text!r} is not a time of day")
    return hours, minutes


@dataclass(frozen=True)
class Schedule:
    """Validated business hours: a zone and, per weekday (0 = Monday), (start, end) minutes."""

    zone: ZoneInfo
    days: tuple[tuple[tuple[int, int], ...], ...]

    @classmethod
    def parse(cls, timezone: str, weekly: dict[str, Any]) -> Schedule:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise Rejected("bad_timezone", f"{timezone!r} is not a known time zone") from None
        unknown = set(weekly) - set(DAYS)
        if unknown:
            raise Rejected("bad_hours", f"unknown weekday {sorted(unknown)[0]!r}; use {DAYS}")
        days: list[tuple[tuple[int, int], ...]] = []
        for day in DAYS:
            spans: list[tuple[int, int]] = []
            for span in weekly.get(day, []):
                if not isinstance(span, list | tuple) or len(span) != 2:
                    raise Rejected("bad_hours", f"{day}: each span is [start, end]")
                start_h, start_m = _clock(str(span[0]))
                end_h, end_m = _clock(str(span[1]))
                start, end = start_h * 60 + start_m, end_h * 60 + end_m
                if end <= start:
                    raise Rejected("bad_hours", f"{day}: {span[0]}-{span[1]} ends before it starts")
                spans.append((start, end))
            spans.sort()
            for (_, end), (start, _) in pairwise(spans):
                if start < end:
                    raise Rejected("bad_hours", f"{day}: spans overlap")
            days.append(tuple(spans))
        return cls(zone, tuple(days))

    def _span(self, day: date, minutes: int) -> datetime:
        """The UTC instant of a wall-clock minute of ``day`` (24:00 is the next midnight)."""
        local = datetime.combine(day, time(0), tzinfo=self.zone) + timedelta(minutes=minutes)
        # Adding a timedelta to an aware datetime is wall-clock arithmetic; normalise it.
        wall = local.replace(tzinfo=None)
        return wall.replace(tzinfo=self.zone).astimezone(UTC)

    def add(self, start: datetime, minutes: float) -> datetime:
        """The instant when ``minutes`` of working time have passed after ``start``."""
        if not any(self.days):
            raise Rejected("bad_hours", "the business hours have no working time at all")
        left = timedelta(minutes=minutes)
        day = start.astimezone(self.zone).date() - timedelta(days=1)  # spans may start earlier
        for _ in range(_MAX_DAYS):
            for open_minute, close_minute in self.days[day.weekday()]:
                opens = self._span(day, open_minute)
                closes = self._span(day, close_minute)
                begin = max(opens, start)
                if begin >= closes:
                    continue
                available = closes - begin
                if left <= available:
                    return begin + left
                left -= available
            day += timedelta(days=1)
        raise Rejected("bad_hours", "no working time found within a year")

    def working_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants (zero when ``end`` is not after ``start``)."""
        total = timedelta()
        if end <= start:
            return total
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date()
        while day <= last:
            for open_minute, close_minute in self.days[day.weekday()]:
                begin = max(self._span(day, open_minute), start)
                finish = min(self._span(day, close_minute), end)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total
