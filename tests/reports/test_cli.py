"""``hubbub report`` through the real command: render every format, manage schedules, send."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from hubbub.settings import Settings, get_settings
from hubbub.store.engine import make_engine
from hubbub.workspaces.access import open_store
from tests.reports.conftest import Mailbox, load_week
from tests.support.cli import Invoke, hubbub_cli
from tests.support.terminal import at_columns, fits


@pytest.fixture
def hubbub(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    with hubbub_cli(db_url, tmp_path / "home", monkeypatch) as invoke:
        yield invoke


@pytest.fixture
def default_loaded(hubbub: Invoke, db_url: str, settings: Settings) -> int:
    workspace_id = open_store().workspace_id("default")
    engine = make_engine(db_url)
    load_week(engine, settings, workspace_id)
    engine.dispose()
    return workspace_id


WEEK = ("--since", "2026-06-29", "--until", "2026-07-05")


def test_render_every_format(hubbub: Invoke, default_loaded: int, tmp_path: Path) -> None:
    pdf = tmp_path / "out" / "week.pdf"
    shown = hubbub("report", "render", *WEEK, "--out", str(pdf))
    assert "2026-06-29 – 2026-07-05 (UTC)" in shown.output
    assert pdf.read_bytes().startswith(b"%PDF-")
    xlsx = tmp_path / "week.xlsx"
    hubbub("report", "render", *WEEK, "-f", "xlsx", "-s", "overview,alerts", "--out", str(xlsx))
    assert load_workbook(xlsx).sheetnames == ["volume", "alerts"]
    html = tmp_path / "week.html"
    hubbub("report", "render", *WEEK, "-f", "html", "--timezone", "Asia/Tokyo", "-o", str(html))
    assert "(Asia/Tokyo)" in html.read_text()
    folder = tmp_path / "csv"
    hubbub("report", "render", *WEEK, "-f", "csv", "-s", "share_of_voice", "-o", str(folder))
    rows = list(csv.reader(io.StringIO((folder / "share_of_voice.csv").read_text())))
    assert rows == [
        [
            "topic",
            "kind",
            "mentions",
            "share of voice (vs competitors)",
            "share of this report's mentions",
        ],
        ["skates", "brand", "4", "0.8", "0.8"],
        ["voltaro", "competitor", "1", "", "0.2"],
    ]
    hubbub("report", "render", "--period", "month", "-o", str(tmp_path / "m.pdf"))
    failed = hubbub("report", "render", *WEEK, "-s", "nope", "-o", str(tmp_path / "x"), code=1)
    assert "nope" in failed.output
    hubbub("report", "render", "--since", "2026-06-29", "-o", str(tmp_path / "x"), code=1)
    hubbub("report", "render", "-f", "docx", "-o", str(tmp_path / "x"), code=1)


def test_schedules_and_send_due(
    hubbub: Invoke,
    default_loaded: int,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    added = hubbub(
        "report", "schedule", "add", "Digest", "--to", "boss@acme.example", "--cadence", "week"
    )
    assert "report schedule 1 added" in added.output
    assert "SMTP is not configured" in added.output
    listed = hubbub("report", "schedule", "list").output
    assert "Digest" in listed and "boss@acme.example" in listed and "week" in listed
    hubbub("report", "schedule", "add", "Digest", "--to", "boss@acme.example", code=1)
    typo = hubbub(
        "report", "schedule", "add", "Other", "--to", "b@acme.example", "-t", "nope", code=1
    )
    assert "no topic 'nope' in this workspace" in typo.output
    assert "Other" not in hubbub("report", "schedule", "list").output
    hubbub("report", "send-due", code=1)  # no SMTP yet
    monkeypatch.setenv("HUBBUB_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HUBBUB_SMTP_PORT", str(mailbox.port))
    monkeypatch.setenv("HUBBUB_SMTP_FROM", "reports@acme.example")
    monkeypatch.setenv("HUBBUB_SMTP_STARTTLS", "false")
    get_settings.cache_clear()
    # the schedule was made now: its first period has not ended, so nothing is due yet
    assert "sent 0, retrying 0, dead 0" in hubbub("report", "send-due").output
    assert mailbox.messages == []
    hubbub("report", "schedule", "remove", "1")
    assert "Digest" not in hubbub("report", "schedule", "list").output
    hubbub("report", "schedule", "remove", "1", code=1)


def test_schedules_fit_80_columns(hubbub: Invoke) -> None:
    recipient = "marketing-leadership-weekly-digest@acme-rocket-skates.example"
    hubbub("topic", "add", "skates", '"rocket skates"')
    hubbub("report", "schedule", "add", "Weekly digest for the leadership team", "--to", recipient,
           "--to", "boss@acme.example", "--topic", "skates", "--timezone", "America/Argentina/Buenos_Aires")  # fmt: skip
    narrow = fits(at_columns(80, "report", "schedule", "list"))
    assert "week" in narrow and "skates" in narrow and "…" in narrow
    assert recipient not in narrow.replace("\n", "")
    wide = at_columns(320, "report", "schedule", "list")
    for value in (
        recipient,
        "Weekly digest for the leadership team",
        "Buenos_Aires",
        "top_authors",
    ):
        assert value in wide
    assert "left out" not in wide
