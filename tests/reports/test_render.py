"""A report of a loaded week in every format: PDF pages checked with pdftoppm, XLSX read back
with openpyxl, HTML escaping, CSV formula neutralising, and the period's bounds."""

from __future__ import annotations

import csv
import io
import subprocess
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.inbox.actions import add_account
from hubbub.listening.actions import add_topic, get_topic
from hubbub.listening.dashboard import share_of_voice
from hubbub.reports.render import (
    Report,
    ReportError,
    build_report,
    csv_text,
    page_parts,
    render,
    render_html,
    render_pdf,
    render_xlsx,
)
from hubbub.reports.sections import DEFAULT_SECTIONS, SectionResult, Table
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.listening.ingesting import ingest, post
from tests.reports.conftest import SCRIPT_TEXT, WEEK_END, WEEK_START, Loaded, require_pdftoppm

UTC_ZONE = ZoneInfo("UTC")


def _report(engine: Engine, workspace_id: int, **kwargs: object) -> Report:
    with Session(engine) as session:
        return build_report(
            session,
            workspace_id,
            WEEK_START,
            WEEK_END,
            tz=UTC_ZONE,
            now=WEEK_END,
            **kwargs,  # type: ignore[arg-type]
        )


def test_sections_count_the_week_only(engine: Engine, loaded: Loaded) -> None:
    report = _report(engine, loaded.workspace_id)
    assert [s.key for s in report.sections] == list(DEFAULT_SECTIONS)
    by_key = {s.key: s for s in report.sections}
    # the Monday-after post and the next week's alert stay out
    assert by_key["overview"].data["totals"] == {"skates": 4, "voltaro": 1}
    volume = {t.name: t for t in by_key["overview"].tables}["volume"]
    assert volume.rows[3] == ["2026-07-02", 1, 0] and volume.rows[5] == ["2026-07-04", 2, 1]
    sov = by_key["share_of_voice"].tables[0].rows
    # voltaro is the only competitor: nothing to compare it with
    assert sov == [["skates", "brand", 4, 0.8, 0.8], ["voltaro", "competitor", 1, None, 0.2]]
    assert [row[1] for row in by_key["alerts"].tables[0].rows] == ["volume_spike"]
    assert by_key["inbox"].data == {"statuses": {"new": 1}, "breaches": 1}
    top = by_key["top_posts"].tables[0].rows
    assert top[0][4] == 42 and top[0][5] == SCRIPT_TEXT
    funnel = {row[0]: row for row in by_key["funnel"].tables[0].rows}
    assert funnel["skates"][1:4] == [4, 0, 3]


def test_chosen_sections_and_topics(engine: Engine, loaded: Loaded) -> None:
    report = _report(
        engine, loaded.workspace_id, sections=["alerts", "overview"], topics=["voltaro"]
    )
    assert [s.key for s in report.sections] == ["overview", "alerts"]
    assert report.sections[0].data["totals"] == {"voltaro": 1}
    with pytest.raises(ReportError, match="nope"):
        _report(engine, loaded.workspace_id, sections=["nope"])
    with pytest.raises(ReportError, match="no topic 'nope'"):
        _report(engine, loaded.workspace_id, topics=["nope"])


def test_pdf_has_pages_that_are_not_blank(engine: Engine, loaded: Loaded, tmp_path: Path) -> None:
    pdftoppm = require_pdftoppm()
    pdf = render_pdf(_report(engine, loaded.workspace_id))
    assert pdf.startswith(b"%PDF-")
    (tmp_path / "report.pdf").write_bytes(pdf)
    subprocess.run(
        [pdftoppm, "-r", "40", "-png", str(tmp_path / "report.pdf"), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2  # eight sections do not fit one A4 page
    with Image.open(pages[0]) as first:
        grey = first.convert("L")
        extrema = grey.getextrema()
        histogram = grey.histogram()
    assert extrema[0] < 100  # some dark ink: text, axes
    non_white = sum(histogram[:250]) / sum(histogram)
    assert 0.01 < non_white < 0.9


def test_an_empty_workspace_still_renders(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    report = _report(engine, workspace_id)
    assert "Nothing in this period." in render_html(report)
    assert render_pdf(report).startswith(b"%PDF-")


def test_xlsx_has_a_sheet_per_table_with_headers_and_values(engine: Engine, loaded: Loaded) -> None:
    report = _report(engine, loaded.workspace_id)
    book = load_workbook(io.BytesIO(render_xlsx(report)))
    tables = report.tables()
    assert book.sheetnames == [t.name for t in tables]
    for table in tables:
        rows = [list(row) for row in book[table.name].iter_rows(values_only=True)]
        assert rows[0] == table.headers
        assert rows[1:] == table.rows, table.name
    cell = book["top_posts"]["F2"]
    assert cell.value == SCRIPT_TEXT and cell.data_type == "s"  # text, never a formula


def test_html_escapes_post_text_and_loads_nothing(engine: Engine, loaded: Loaded) -> None:
    html = render_html(_report(engine, loaded.workspace_id))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    lowered = html.lower()
    assert "<link" not in lowered and " src=" not in lowered and "@import" not in lowered
    assert "<svg" in html  # the charts are inline


def test_csv_keeps_formulas_as_text(engine: Engine, loaded: Loaded) -> None:
    report = _report(engine, loaded.workspace_id)
    table = next(t for t in report.tables() if t.name == "top_posts")
    rows = list(csv.reader(io.StringIO(csv_text(table))))
    assert rows[0] == table.headers
    assert rows[1][5] == "'" + SCRIPT_TEXT
    archive = zipfile.ZipFile(io.BytesIO(render(report, "csv")))
    assert sorted(archive.namelist()) == sorted(f"{t.name}.csv" for t in report.tables())


def test_a_post_naming_two_topics_is_one_post_and_two_topic_mentions(
    engine: Engine, settings: Settings, loaded: Loaded
) -> None:
    both = post(200, "rocket skates or voltaro, which one?", author="chen")
    assert ingest(engine, settings, loaded.workspace_id, [both]).rejected == 0
    overview = {s.key: s for s in _report(engine, loaded.workspace_id).sections}["overview"]
    figures = dict(overview.figures)
    assert overview.data["totals"] == {"skates": 5, "voltaro": 2}
    assert figures["Topic mentions"] == "7"
    assert figures["Posts"] == "6" == str(overview.data["posts"])


def test_a_post_that_is_a_title_alone_shows_its_title(
    engine: Engine, settings: Settings, loaded: Loaded
) -> None:
    story = post(
        300,
        "",
        author="chen",
        title="Show HN: rocket skates that fold",
        likes=500,
        network="hackernews",
        native_id="hackernews:9001",
    )
    assert ingest(engine, settings, loaded.workspace_id, [story]).rejected == 0
    top = {s.key: s for s in _report(engine, loaded.workspace_id).sections}["top_posts"]
    assert top.tables[0].rows[0][5] == "Show HN: rocket skates that fold"


def test_share_of_voice_means_what_the_dashboard_and_funnel_mean(
    engine: Engine, settings: Settings, loaded: Loaded
) -> None:
    """Against the competitors, as the topic dashboard and the funnel count it; the part of
    the report's own topics is a second, differently named column."""
    with transaction(engine) as session:
        add_topic(session, loaded.workspace_id, "wheels", "wheels", "product")
        add_topic(session, loaded.workspace_id, "pedalia", "pedalia", "competitor")
    more = [
        post(400, "rocket skates with new wheels", author="chen"),
        post(410, "wheels, wheels everywhere", author="bruno"),
        post(420, "pedalia is fine", author="chen"),
        post(430, "pedalia or voltaro?", author="amira"),
    ]
    assert ingest(engine, settings, loaded.workspace_id, more).rejected == 0
    report = _report(engine, loaded.workspace_id)
    by_key = {s.key: s for s in report.sections}
    table = by_key["share_of_voice"].tables[0]
    assert table.headers == [
        "topic",
        "kind",
        "mentions",
        "share of voice (vs competitors)",
        "share of this report's mentions",
    ]
    rows = {row[0]: row for row in table.rows}
    # skates 5, wheels 2, voltaro 2, pedalia 2: 11 topic mentions, 4 of competitors
    assert [rows[name][2] for name in ("skates", "wheels", "voltaro", "pedalia")] == [5, 2, 2, 2]
    assert rows["skates"][3:] == [pytest.approx(5 / 9), 0.4545]
    assert rows["wheels"][3:] == [pytest.approx(2 / 6), 0.1818]
    assert rows["voltaro"][3] == pytest.approx(0.5)  # against pedalia
    funnel = by_key["funnel"].tables[0]
    column = funnel.headers.index("share of voice (vs competitors)")
    assert {row[0]: row[column] for row in funnel.rows} == {n: r[3] for n, r in rows.items()}
    with Session(engine) as session:
        for name in rows:
            topic = get_topic(session, loaded.workspace_id, name)
            dashboard = share_of_voice(session, topic, WEEK_START, WEEK_END)
            assert rows[name][3] == pytest.approx(dashboard[0].percent / 100)
    html = render_html(report)
    assert "<b>55.6%</b>skates vs competitors" in html
    assert "<th>share of this report&#39;s mentions</th>" in html


def test_own_accounts_are_marked_in_the_top_authors(
    engine: Engine, settings: Settings, loaded: Loaded
) -> None:
    """As on the topic dashboard: listed, marked "your account" (by id, or by handle in any
    case), in the table the exports hold and as a badge in the HTML and PDF."""
    with transaction(engine) as session:
        add_account(
            session, settings, loaded.workspace_id, "bluesky", "did:plc:x", "@Bruno.Bsky.Social"
        )
    report = _report(engine, loaded.workspace_id)
    table = next(t for t in report.tables() if t.name == "top_authors")
    assert table.headers[-1] == "own"
    marked = {row[0]: row[-1] for row in table.rows}
    assert marked == {
        "amira.bsky.social": None,
        "bruno.bsky.social": "your account",
        "chen@mastodon.example": None,
    }
    html = render_html(report)
    section = html.split('id="section-top_authors"')[1].split("</section>")[0]
    assert section.count('<span class="badge own">your account</span>') == 1
    assert "bruno.bsky.social" in section.split("your account")[0].rsplit("<tr>", 1)[1]
    assert render_pdf(report).startswith(b"%PDF-")


def test_a_table_wider_than_a_page_is_split_and_stays_inside_it(tmp_path: Path) -> None:
    """Thirteen topics a day: the PDF prints the columns in parts, each led by the date, and
    no ink reaches the page's right margin."""
    topics = [f"volumetric-topic-{n:02d}" for n in range(13)]
    days = [f"2026-11-{day:02d}" for day in range(1, 8)]
    wide = Table("volume", "Mentions per day", ["day", *topics], [[d, *range(13)] for d in days])
    parts = page_parts(wide)
    assert [len(p.headers) for p in parts] == [8, 7]
    assert all(p.headers[0] == "day" and [r[0] for r in p.rows] == days for p in parts)
    assert [h for p in parts for h in p.headers[1:]] == topics  # every column, once
    assert parts[0].title == "Mentions per day (1 of 2)"
    moment = WEEK_START
    report = Report(
        "acme", "Weekly report", "a week", moment, moment, moment, topics,
        [SectionResult("overview", "Volume", tables=[wide])],
    )  # fmt: skip
    assert render_html(report).count("<table>") == 1  # the HTML export keeps it whole
    pdftoppm = require_pdftoppm()
    (tmp_path / "wide.pdf").write_bytes(render_pdf(report))
    subprocess.run(
        [pdftoppm, "-r", "50", "-png", str(tmp_path / "wide.pdf"), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    for page in sorted(tmp_path.glob("page-*.png")):
        with Image.open(page) as image:
            grey = image.convert("L")
            margin = grey.crop((grey.width - 20, 0, grey.width, grey.height - 40))  # 10 mm
            assert margin.getextrema()[0] > 200, f"{page.name}: ink in the right margin"
