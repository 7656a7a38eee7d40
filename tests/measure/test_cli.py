"""``hubbub goals``, ``business-case`` and ``metrics conversions`` through the real command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from hubbub.core.clock import utcnow
from hubbub.measure.forecast import quarter_bounds, quarter_of
from tests.support.cli import Invoke, hubbub_cli
from tests.support.terminal import at_columns, fits


@pytest.fixture
def hubbub(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    with hubbub_cli(db_url, tmp_path / "home", monkeypatch) as invoke:
        yield invoke


def test_goals_add_list_remove(hubbub: Invoke) -> None:
    hubbub("topic", "add", "skates", '"rocket skates"')
    added = hubbub("goals", "add", "mentions", "500", "--topic", "skates", "--quarter", "2026-Q4")
    assert "2026-Q4" in added.output
    hubbub("goals", "add", "within_sla_share", "0.9", "--quarter", "2026-Q4")
    refused = hubbub("goals", "add", "mentions", "5", "--quarter", "2026-Q4", code=1)
    assert "per topic" in refused.stderr
    listed = json.loads(hubbub("goals", "list", "--json").output)["goals"]
    assert [(g["kpi"], g["topic"], g["target"]) for g in listed] == [
        ("mentions", "skates", 500.0),
        ("within_sla_share", None, 0.9),
    ]
    table = hubbub("goals", "list", "--quarter", "2026-Q4").output
    assert "within_sla_share" in table and "90.0%" in table
    hubbub("goals", "remove", str(listed[0]["goal_id"]))
    assert hubbub("goals", "remove", str(listed[0]["goal_id"]), code=1).exit_code == 1
    assert len(json.loads(hubbub("goals", "list", "--json").output)["goals"]) == 1


def test_business_case_set_and_show(hubbub: Invoke) -> None:
    assert "no business case" in hubbub("business-case", "show", code=1).stderr
    hubbub(
        "business-case",
        "set",
        "--costs",
        "10000",
        "--reach",
        "500000",
        "--click-rate",
        "0.02",
        "--conversion-rate",
        "0.03",
        "--order-value",
        "80",
    )
    shown = json.loads(hubbub("business-case", "show", "--json").output)
    assert shown["conversions"] == pytest.approx(300) and shown["roi"] == pytest.approx(1.4)
    assert shown["measured_reach_quarter_to_date"] == 0
    assert "click_rate" in hubbub("business-case", "show").output
    bad = hubbub(
        "business-case",
        "set",
        "--costs",
        "1",
        "--reach",
        "1",
        "--click-rate",
        "2",
        "--conversion-rate",
        "0.1",
        "--order-value",
        "1",
        code=1,
    )
    assert "fraction" in bad.stderr


def test_conversions_import_is_idempotent_and_says_why_rows_are_refused(
    hubbub: Invoke, tmp_path: Path
) -> None:
    hubbub("topic", "add", "spring", "#spring", "--kind", "campaign")
    now = utcnow().replace(microsecond=0)
    day = (now - timedelta(days=1)).isoformat()
    good = tmp_path / "orders.csv"
    good.write_text(
        "external_id,occurred_at,value,currency,campaign,customer\n"
        f"A-1,{day},100,EUR,spring,someone\n"
        f"A-2,{day},50.5,,spring,\n"  # the default currency
        f"A-3,{day},20,USD,,\n"
        f"A-1,{day},100,EUR,spring,again\n"  # the same order twice in the file
    )
    first = json.loads(hubbub("metrics", "conversions", "import", str(good), "--json").output)
    assert (first["accepted"], first["duplicates"], first["rejected"]) == (3, 1, 0)
    assert first["ignored_columns"] == ["customer"]
    again = hubbub("metrics", "conversions", "import", str(good)).output
    assert "accepted 0, duplicates 4, rejected 0" in again
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "external_id,occurred_at,value,topic\n"
        f"A-1,{day},999,spring\n"  # recorded already with another value
        "A-9,2026-11-01 10:00,5,\n"  # no time zone
        f"A-10,{day},5,autumn\n"  # no such topic
        f"A-11,{day},7,\n"
    )
    refused = hubbub("metrics", "conversions", "import", str(bad), code=1).output
    assert "accepted 1, duplicates 0, rejected 3" in refused
    assert "line 2: external_id 'A-1' is recorded already with other values" in refused
    assert "line 3: occurred_at needs a time zone" in refused
    assert "line 4: no topic named 'autumn'" in refused
    missing = tmp_path / "missing.csv"
    missing.write_text("id,value\n1,2\n")
    assert (
        "lacks external_id, occurred_at"
        in hubbub("metrics", "conversions", "import", str(missing), code=1).stderr
    )
    hubbub(
        "business-case", "set", "--costs", "100", "--reach", "1000", "--click-rate", "0.1",
        "--conversion-rate", "0.1", "--order-value", "10",
    )  # fmt: skip
    shown = json.loads(hubbub("business-case", "show", "--json").output)
    actual = shown["actual_quarter_to_date"]
    if (now - timedelta(days=1)) >= quarter_bounds(quarter_of(now))[0]:
        # in EUR (157.5); A-3 in USD is left out.
        assert (actual["conversions"], actual["revenue"]) == (3, 157.5)
        assert actual["roi"] == pytest.approx(0.575) and actual["other_currencies"] == {"USD": 1}
    else:  # the first day of a quarter: yesterday's orders belong to the last one
        assert actual is None


def test_goals_and_business_case_fit_80_columns(hubbub: Invoke) -> None:
    topic = "competitor-skates-emea-social-launch"  # 36 characters
    hubbub("topic", "add", topic, '"rocket skates"')
    hubbub("goals", "add", "mentions", "125000", "--topic", topic, "--quarter", "2026-Q4")
    hubbub("goals", "add", "within_sla_share", "0.9", "--quarter", "2026-Q4")
    narrow = fits(at_columns(80, "goals", "list"))
    assert "within_sla_share" in narrow and "90.0%" in narrow and "125,000" in narrow
    assert topic not in narrow and "competitor-" in narrow and "…" in narrow
    assert "left out at this width: quarter" in narrow
    wide = at_columns(250, "goals", "list")
    assert topic in wide and "2026-Q4" in wide and "forecast" in wide and "left out" not in wide

    hubbub("business-case", "set", "--costs", "1250000", "--reach", "48000000",
           "--click-rate", "0.02", "--conversion-rate", "0.03", "--order-value", "80")  # fmt: skip
    shown = fits(at_columns(80, "business-case", "show"))
    assert "measured potential reach, quarter so far" in shown and "1,250,000.00 EUR" in shown
