"""``hubbub goals`` and ``hubbub business-case`` through the real command."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from hubbub.cli import app
from hubbub.settings import get_settings

Invoke = Callable[..., Result]


@pytest.fixture
def hubbub(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    monkeypatch.setenv("HUBBUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HUBBUB_DATABASE_URL", db_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    invoke("init")
    yield invoke
    get_settings.cache_clear()


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
