"""Recording conversions: checks, idempotency by external id, conflicts, topics, audit, the
CSV reader, and the totals and business-case actuals read back (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.accounts.models import AuditEntry
from hubbub.core.errors import Rejected
from hubbub.listening.actions import add_topic, remove_topic
from hubbub.measure import actions, queries
from hubbub.measure.business import Inputs
from hubbub.measure.conversions import ConversionIn, decoded_lines, read_csv
from hubbub.measure.models import Conversion
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace

pytestmark = pytest.mark.db

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def _in(n: int, amount: float, days_ago: float = 1, **changes: object) -> tuple[int, ConversionIn]:
    fields: dict[str, object] = {
        "external_id": f"order-{n}",
        "occurred_at": NOW - days_ago * DAY,
        "value": amount,
        "currency": "EUR",
        "topic": None,
    }
    fields.update(changes)
    return n, ConversionIn(**fields)  # type: ignore[arg-type]


@pytest.fixture
def topics(engine: Engine, workspace_id: int) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "spring-sale", "#springsale", "campaign")
        add_topic(session, workspace_id, "skates", "skates", "brand")


def _record(
    engine: Engine, workspace_id: int, items: list[tuple[int, ConversionIn]], source: str = "api"
) -> tuple[int, int, int, list[tuple[int, str]]]:
    with transaction(engine) as session:
        done = actions.record_conversions(session, workspace_id, items, source, now=NOW)
    return done.accepted, done.duplicates, done.rejected, done.reasons


def test_recorded_once_however_often_sent(engine: Engine, workspace_id: int, topics: None) -> None:
    batch = [
        _in(1, 120.5, topic="spring-sale"),
        _in(2, 80, days_ago=3, topic="spring-sale"),
        _in(3, 19.99, currency="usd"),
        _in(1, 120.5, topic="spring-sale"),  # the same line twice in one file
    ]
    assert _record(engine, workspace_id, batch) == (3, 1, 0, [])
    assert _record(engine, workspace_id, batch[:3]) == (0, 3, 0, [])  # sent again
    changed = [_in(2, 81, days_ago=3, topic="spring-sale"), _in(4, 10)]
    accepted, duplicates, rejected, reasons = _record(engine, workspace_id, changed)
    assert (accepted, duplicates, rejected) == (1, 0, 1)
    assert reasons == [(2, "external_id 'order-2' is recorded already with other values")]
    with Session(engine) as session:
        rows = session.scalars(select(Conversion).order_by(Conversion.external_id)).all()
        assert [(r.external_id, r.value, r.currency, r.source) for r in rows] == [
            ("order-1", 120.5, "EUR", "api"),
            ("order-2", 80.0, "EUR", "api"),
            ("order-3", 19.99, "USD", "api"),
            ("order-4", 10.0, "EUR", "api"),
        ]
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "conversion.record")
        ).all()
    # One entry per call that recorded something; the pure replay wrote none.
    assert [(a.detail["accepted"], a.detail["duplicates"]) for a in audit] == [(3, 1), (1, 0)]


def test_a_repeated_id_with_other_values_in_one_batch_is_refused(
    engine: Engine, workspace_id: int
) -> None:
    result = _record(engine, workspace_id, [_in(7, 10), _in(8, 11, external_id="order-7")])
    assert result == (1, 0, 1, [(8, "external_id 'order-7' repeats line 7")])


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"external_id": "  "}, "external_id needs"),
        ({"external_id": "x" * 201}, "external_id needs"),
        ({"external_id": "ordér-1"}, "printable ASCII"),
        ({"occurred_at": datetime(2026, 11, 1, 12)}, "time zone"),
        ({"occurred_at": NOW + 2 * DAY}, "future"),
        ({"value": -5.0}, "no refunds"),
        ({"value": float("nan")}, "value is a number"),
        ({"currency": "euro"}, "three-letter"),
        ({"topic": "nope"}, "no topic named 'nope'"),
    ],
)
def test_bad_conversions_are_refused_with_the_reason(
    engine: Engine, workspace_id: int, changes: dict[str, object], reason: str
) -> None:
    accepted, _, rejected, reasons = _record(engine, workspace_id, [_in(1, 10, **changes)])
    assert (accepted, rejected) == (0, 1)
    assert reason in reasons[0][1]


def test_workspaces_keep_their_own_ids_and_totals(
    engine: Engine, workspace_id: int, topics: None
) -> None:
    with transaction(engine) as session:
        globex = ensure_workspace(session, "globex", "Globex").id
    assert _record(engine, workspace_id, [_in(1, 100, topic="spring-sale")])[0] == 1
    assert _record(engine, globex, [_in(1, 999)])[0] == 1  # the same id elsewhere is new
    with Session(engine) as session:
        ours = queries.conversion_totals(session, workspace_id, NOW - 7 * DAY, NOW)
        theirs = queries.conversion_totals(session, globex, NOW - 7 * DAY, NOW)
    assert (ours.conversions, ours.revenue) == (1, {"EUR": 100.0})
    assert (theirs.conversions, theirs.revenue) == (1, {"EUR": 999.0})


def test_totals_per_topic_period_and_currency(
    engine: Engine, workspace_id: int, topics: None
) -> None:
    items = [
        _in(1, 100, days_ago=1, topic="spring-sale"),
        _in(2, 50.25, days_ago=2, topic="spring-sale"),
        _in(3, 30, days_ago=2, topic="spring-sale", currency="USD"),
        _in(4, 70, days_ago=3, topic="skates"),
        _in(5, 5, days_ago=4),
        _in(6, 1000, days_ago=9, topic="spring-sale"),  # the week before
    ]
    assert _record(engine, workspace_id, items)[0] == 6
    with transaction(engine) as session:
        sale = session.scalar(
            select(Conversion.topic_id).where(Conversion.external_id == "order-1")
        )
        by_topic = queries.conversions_by_topic(session, workspace_id, NOW - 7 * DAY, NOW)
        before = queries.conversions_by_topic(session, workspace_id, NOW - 14 * DAY, NOW - 7 * DAY)
        # Removing the topic keeps its conversions, attributed to no topic from then on.
        remove_topic(session, workspace_id, "skates")
    assert by_topic[sale] == queries.ConversionTotals(3, {"EUR": 150.25, "USD": 30.0})
    assert by_topic[None] == queries.ConversionTotals(1, {"EUR": 5.0})
    assert before == {sale: queries.ConversionTotals(1, {"EUR": 1000.0})}
    with Session(engine) as session:
        after = queries.conversions_by_topic(session, workspace_id, NOW - 7 * DAY, NOW)
        assert after[None] == queries.ConversionTotals(2, {"EUR": 75.0})
        assert session.scalar(select(func.count()).select_from(Conversion)) == 6


def test_business_case_actuals_in_its_currency(
    engine: Engine, workspace_id: int, topics: None
) -> None:
    plan = Inputs(
        costs=200,
        expected_reach=10_000,
        click_rate=0.02,
        conversion_rate=0.05,
        average_order_value=40,
    )
    with transaction(engine) as session:
        actions.save_business_case(session, workspace_id, plan)
        view = queries.business_case(session, workspace_id, NOW - 7 * DAY, NOW)
    assert view is not None and view.actuals is None  # nothing recorded: projection only
    _record(engine, workspace_id, [_in(1, 100), _in(2, 60.5), _in(3, 30, currency="USD")])
    with Session(engine) as session:
        view = queries.business_case(session, workspace_id, NOW - 7 * DAY, NOW)
    assert view is not None and view.actuals is not None
    actual = view.actuals
    assert (actual.conversions, actual.revenue, actual.net) == (2, 160.5, 160.5 - 200)
    assert actual.roi == pytest.approx((160.5 - 200) / 200)
    assert actual.average_order_value == pytest.approx(80.25)
    assert actual.other_currencies == {"USD": 1}
    assert view.projection.conversions == pytest.approx(10)  # the plan is still shown beside


def test_the_csv_reader_names_lines_and_reasons() -> None:
    text = (
        "\ufeffExternal_ID,occurred_at,value,campaign,note\n"
        "a-1,2026-11-19T10:00:00Z,12.5,spring-sale,first\n"
        "\n"
        "a-2,yesterday,3,,\n"
        "a-3,2026-11-19T11:00:00+01:00,lots,,\n"
        'a-4,2026-11-19T12:00:00Z,"1,5",,\n'
    )
    ignored, rows = read_csv(text.splitlines(keepends=True), "EUR")
    found = list(rows)
    assert ignored == ["note"]
    assert found[0].line == 2 and found[0].item == ConversionIn(
        "a-1", datetime(2026, 11, 19, 10, tzinfo=UTC), 12.5, "EUR", "spring-sale"
    )
    assert [(row.line, row.reason) for row in found[1:]] == [
        (4, "occurred_at 'yesterday' is not an ISO 8601 time"),
        (5, "value 'lots' is not a number"),
        (6, "value '1,5' is not a number"),
    ]
    with pytest.raises(Rejected, match="lacks value"):
        read_csv(["external_id,occurred_at\n"], "EUR")
    with pytest.raises(Rejected, match="empty"):
        read_csv([], "EUR")


def test_lines_not_utf8_or_too_big_are_refused_alone_and_the_rest_read() -> None:
    raw = [
        b"\xef\xbb\xbfexternal_id,occurred_at,value\n",
        b"b-1,2026-11-19T10:00:00Z,12\n",
        b"b-2,2026-11-19T10:00:00Z,1\xe9\n",
        b"b-3," + b"a" * 200_000 + b",1\n",
        b"b-4,2026-11-19T10:00:00Z,7\n",
    ]
    undecodable: set[int] = set()
    _, rows = read_csv(decoded_lines(raw, undecodable), "EUR", undecodable)
    found = [(row.line, row.item.external_id if row.item else row.reason) for row in rows]
    assert found == [
        (2, "b-1"),
        (3, "not UTF-8 text"),
        (4, "not a readable CSV row: field larger than field limit (131072)"),
        (5, "b-4"),
    ]


def test_a_conversions_goal_per_topic_or_for_all(
    engine: Engine, workspace_id: int, topics: None
) -> None:
    quarter = "2026-Q4"
    items = [
        _in(1, 10, days_ago=1, topic="spring-sale"),
        _in(2, 10, days_ago=30, topic="spring-sale"),
        _in(3, 10, days_ago=2),
        _in(4, 10, days_ago=60),  # 21 September: the quarter before
    ]
    assert _record(engine, workspace_id, items)[0] == 4
    with transaction(engine) as session:
        actions.add_goal(session, workspace_id, "conversions", quarter, 40, "spring-sale")
        actions.add_goal(session, workspace_id, "conversions", quarter, 100)
    with Session(engine) as session:
        found = {p.topic: p for p in queries.goal_progress(session, workspace_id, quarter, NOW)}
    assert (found["spring-sale"].actual, found[None].actual) == (2, 3)
    elapsed = NOW - datetime(2026, 10, 1, tzinfo=UTC)
    assert found[None].forecast == pytest.approx(3 * timedelta(days=92) / elapsed)  # run rate
    assert found["spring-sale"].share == pytest.approx(2 / 40)


def test_two_writers_of_one_id_record_it_once(engine: Engine, workspace_id: int) -> None:
    """B looks the id up while A's insert is not committed yet; B's insert then waits on the
    unique index and, once A commits, finds the row there: a duplicate, not an error."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: B would wait before its lookup")
    outcome: list[tuple[int, int, int]] = []
    with transaction(engine) as first:
        done = actions.record_conversions(first, workspace_id, [_in(1, 10)], "api", now=NOW)
        assert done.accepted == 1

        def second() -> None:
            with transaction(engine) as session:
                found = actions.record_conversions(
                    session, workspace_id, [_in(1, 10)], "api", now=NOW
                )
            outcome.append((found.accepted, found.duplicates, found.rejected))

        writer = threading.Thread(target=second)
        writer.start()
        writer.join(timeout=1)
        assert writer.is_alive()  # waiting for the first transaction
    writer.join(timeout=30)
    assert outcome == [(0, 1, 0)]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Conversion)) == 1
