"""Working time across weekends and DST changes, in the workspace's own zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hubbub.core.errors import Rejected
from hubbub.inbox.sla import DEFAULT_WEEKLY, Schedule

EVERY_DAY = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def test_a_friday_afternoon_question_is_due_on_monday_morning() -> None:
    berlin = Schedule.parse("Europe/Berlin", DEFAULT_WEEKLY)
    # Friday 2026-07-03 16:30 in Berlin (CEST, UTC+2) = 14:30 UTC; 60 working minutes
    asked = datetime(2026, 7, 3, 14, 30, tzinfo=UTC)
    due = berlin.add(asked, 60)
    # 30 minutes on Friday, the other 30 from Monday 09:00 CEST = 07:00 UTC
    assert due == datetime(2026, 7, 6, 7, 30, tzinfo=UTC)
    assert berlin.working_between(asked, due) == timedelta(minutes=60)


def test_a_post_on_saturday_waits_for_monday_opening() -> None:
    schedule = Schedule.parse("UTC", DEFAULT_WEEKLY)
    due = schedule.add(datetime(2026, 7, 4, 12, 0, tzinfo=UTC), 15)
    assert due == datetime(2026, 7, 6, 9, 15, tzinfo=UTC)


def test_hours_follow_the_wall_clock_across_the_spring_dst_change() -> None:
    new_york = Schedule.parse("America/New_York", EVERY_DAY)
    # Saturday 2026-03-07 16:00 EST (UTC-5) = 21:00 UTC; clocks go forward on Sunday 8 March
    asked = datetime(2026, 3, 7, 21, 0, tzinfo=UTC)
    due = new_york.add(asked, 120)
    # 60 minutes on Saturday; Sunday opens at 09:00 EDT (UTC-4) = 13:00 UTC, +60 minutes
    assert due == datetime(2026, 3, 8, 14, 0, tzinfo=UTC)


def test_a_night_shift_over_the_autumn_change_has_an_extra_hour() -> None:
    # Open all Sunday in Berlin; on 2026-10-25 clocks go back, so that Sunday has 25 hours
    sundays = Schedule.parse("Europe/Berlin", {"sun": [["00:00", "24:00"]]})
    start = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # Sunday 00:00 CEST
    end = datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # Monday 00:00 CET
    assert sundays.working_between(start, end) == timedelta(hours=25)
    assert sundays.add(start, 25 * 60) == end


@pytest.mark.parametrize(
    ("zone", "weekly"),
    [
        ("Mars/Olympus", DEFAULT_WEEKLY),
        ("UTC", {"mon": [["17:00", "09:00"]]}),
        ("UTC", {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}),
        ("UTC", {"someday": [["09:00", "17:00"]]}),
        ("UTC", {"mon": [["9", "17:00"]]}),
    ],
)
def test_bad_hours_are_refused(zone: str, weekly: dict[str, list[list[str]]]) -> None:
    with pytest.raises(Rejected):
        Schedule.parse(zone, weekly)


def test_hours_without_any_working_time_are_refused_when_used() -> None:
    with pytest.raises(Rejected, match="no working time"):
        Schedule.parse("UTC", {}).add(datetime(2026, 1, 1, tzinfo=UTC), 10)
