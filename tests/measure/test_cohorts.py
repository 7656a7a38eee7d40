"""Cohort retention, returning engagers and the sentiment of returning against new authors from
the real rollups and matches, each against a direct count over the same mentions (Python, by
hand), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.core.items import RawEvent
from hubbub.listening.actions import add_topic, get_topic
from hubbub.listening.models import PostEnrichment, TopicMatch
from hubbub.measure.cohorts import (
    add_months,
    cohort_retention,
    month_start,
    returning_engagers,
    sentiment_by_loyalty,
    week_start,
)
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.listening.ingesting import ingest
from tests.support.factories import jsonl_line

pytestmark = pytest.mark.db

END = datetime(2026, 11, 15, 9, 30, tzinfo=UTC)


def _at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


# (author, when): mentions of "skates" by seven people over June to November 2026.
MENTIONS = [
    ("old", _at("2026-06-10")),  # first seen before the window: in no cohort
    ("old", _at("2026-09-02")),
    ("ana", _at("2026-08-01", 0)),  # the first hour of August
    ("ana", _at("2026-09-30", 23)),  # the last hour of September
    ("ana", _at("2026-11-03")),
    ("ben", _at("2026-08-20")),
    ("ben", _at("2026-08-21")),  # same week, same month
    ("cy", _at("2026-09-14")),
    ("cy", _at("2026-10-14")),
    ("cy", _at("2026-11-14")),
    ("dee", _at("2026-10-31", 23)),
    ("dee", _at("2026-11-01", 0)),
    ("eve", _at("2026-11-10")),
    ("eve", _at("2026-11-11")),  # same ISO week as the 10th
    ("fay", _at("2026-11-16")),  # after END: not counted anywhere
]


def mention(n: int, who: str, when: datetime, text: str = "skates talk") -> RawEvent:
    """A jsonl post about skates by ``who`` (any name, not only the personas) at ``when``."""
    record = orjson.loads(jsonl_line(n))
    record.update(
        text=f"{text} {n}",
        native_id=f"bluesky:{who}:{n}",
        author={"native_id": f"did:plc:{who}", "handle": f"{who}.example"},
        created_at=when.isoformat(),
    )
    return RawEvent(payload=orjson.dumps(record), format="jsonl", cursor=str(n))


@pytest.fixture
def skates(engine: Engine, settings: Settings, workspace_id: int) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", "skates", "brand")
    events = [mention(n, who, when) for n, (who, when) in enumerate(MENTIONS, start=1)]
    assert ingest(engine, settings, workspace_id, events).rejected == 0


def _expected_retention(end: datetime, months: int) -> dict[tuple[int, int], int]:
    """(cohort index, months since) → authors, counted directly from MENTIONS."""
    last = month_start(end - timedelta(microseconds=1))
    first = add_months(last, 1 - months)
    seen = [(who, when) for who, when in MENTIONS if when < end]
    firsts: dict[str, datetime] = {}
    for who, when in seen:
        firsts[who] = min(when, firsts.get(who, when))

    def index(when: datetime) -> int:
        return (when.year - first.year) * 12 + when.month - first.month

    counts: dict[tuple[int, int], set[str]] = {}
    for who, when in seen:
        if firsts[who] >= first and when >= first:
            cohort = index(firsts[who])
            counts.setdefault((cohort, index(when) - cohort), set()).add(who)
    return {key: len(people) for key, people in counts.items()}


@pytest.mark.parametrize("months", [1, 4, 6])
def test_cohort_retention_matches_a_direct_count(
    engine: Engine, workspace_id: int, skates: None, months: int
) -> None:
    with Session(engine) as session:
        topic = get_topic(session, workspace_id, "skates")
        found = cohort_retention(session, topic, END, months)
    expected = _expected_retention(END, months)
    assert len(found.cohorts) == months and found.partial
    assert found.months[-1].isoformat() == "2026-11-01"
    for c, cohort in enumerate(found.cohorts):
        assert cohort.size == expected.get((c, 0), 0)
        for k, active in enumerate(cohort.active):
            if c + k >= months:
                assert active is None  # not observed yet
            else:
                assert active == expected.get((c, k), 0), (cohort.month, k)
    if months == 4:  # the oracle itself, spelled out once: Aug, Sep, Oct, Nov cohorts
        assert [c.size for c in found.cohorts] == [2, 1, 1, 1]  # ana+ben, cy, dee, eve
        assert found.cohorts[0].active == (2, 1, 0, 1)  # ana in Sep and Nov
        assert found.cohorts[0].shares == (1.0, 0.5, 0.0, 0.5)
        assert found.cohorts[2].active == (1, 1, None, None)  # dee: Oct, then Nov 1st


def test_cohorts_of_a_closed_month_and_another_topic(
    engine: Engine, workspace_id: int, skates: None
) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "empty", "nothing-matches-this", "other")
    with Session(engine) as session:
        closed = cohort_retention(
            session, get_topic(session, workspace_id, "skates"), datetime(2026, 10, 1, tzinfo=UTC)
        )
        empty = cohort_retention(session, get_topic(session, workspace_id, "empty"), END)
    assert not closed.partial and closed.months[-1].isoformat() == "2026-09-01"
    assert [c.size for c in closed.cohorts[-2:]] == [2, 1]
    assert all(c.size == 0 and c.shares[0] is None for c in empty.cohorts)


def _expected_engagers(start: datetime, end: datetime) -> int:
    weeks: dict[str, set[datetime]] = {}
    for who, when in MENTIONS:
        if when < end:
            weeks.setdefault(who, set()).add(week_start(when))
    active = {who for who, when in MENTIONS if start <= when < end}
    return sum(1 for who in active if len(weeks[who]) >= 2)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (END - timedelta(days=7), END),
        (END - timedelta(days=30), END),
        (datetime(2026, 8, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC)),
        (datetime(2026, 6, 1, tzinfo=UTC), END),
        (END, END),
    ],
)
def test_returning_engagers_match_a_direct_count(
    engine: Engine, workspace_id: int, skates: None, start: datetime, end: datetime
) -> None:
    with Session(engine) as session:
        topic = get_topic(session, workspace_id, "skates")
        assert returning_engagers(session, topic, start, end) == _expected_engagers(start, end)


def test_returning_engagers_by_hand(engine: Engine, workspace_id: int, skates: None) -> None:
    with Session(engine) as session:
        topic = get_topic(session, workspace_id, "skates")
        # The last week: cy (Sep…Nov) and eve (one week only) wrote: 1.
        assert returning_engagers(session, topic, END - timedelta(days=7), END) == 1
        # 30 days: ana and cy; dee wrote on Saturday 31 Oct and Sunday 1 Nov, one ISO week.
        assert returning_engagers(session, topic, END - timedelta(days=30), END) == 2
        # August: ben wrote twice but in one week; ana only once so far: none.
        august = (datetime(2026, 8, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC))
        assert returning_engagers(session, topic, *august) == 0


def test_sentiment_of_returning_and_new_authors_matches_a_direct_count(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", "skates", "brand")
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)
    happy, angry = "I love my skates, they are wonderful", "these skates are awful, I hate them"
    said = [
        ("ret", _at("2026-10-20"), happy),  # before the period: makes "ret" returning
        ("ret", _at("2026-11-02"), happy),
        ("ret", _at("2026-11-03"), angry),
        ("neo", _at("2026-11-04"), angry),
        ("neo", _at("2026-11-05"), happy),
        ("nu", _at("2026-11-06"), "skates"),
        ("late", _at("2026-11-09"), angry),  # after the period
    ]
    events = [mention(n, who, when, text) for n, (who, when, text) in enumerate(said, start=1)]
    assert ingest(engine, settings, workspace_id, events).rejected == 0
    with Session(engine) as session:
        topic = get_topic(session, workspace_id, "skates")
        found = sentiment_by_loyalty(session, topic, start, end)
        # The direct count: every match with its author and its post's label.
        rows = session.execute(
            select(TopicMatch.author_id, TopicMatch.created_at, PostEnrichment.sentiment_label)
            .join(PostEnrichment, PostEnrichment.post_id == TopicMatch.post_id)
            .where(TopicMatch.topic_id == topic.id)
        ).all()
    before = {author for author, at, _ in rows if at < start}
    inside = [(author in before, label) for author, at, label in rows if start <= at < end]
    for group, flag in (("returning", True), ("new", False)):
        mine = [label for returning, label in inside if returning is flag]
        assert getattr(found, f"{group}_mentions") == len(mine)
        for label in ("positive", "negative"):
            assert getattr(found, f"{group}_{label}") == mine.count(label)
            expected = mine.count(label) / len(mine) if mine else None
            assert found.share(group, label) == expected
    assert (found.returning_mentions, found.new_mentions) == (2, 3)
    assert found.returning_negative >= 1 and found.new_negative >= 1  # "awful", "hate"
