"""A report built from its sections, and its four formats: HTML, PDF, XLSX and CSV.

HTML is rendered with autoescaping and inline CSS and SVG (it must read the same offline, in a
mail client and in the PDF); the PDF is that HTML through weasyprint, which is allowed to fetch
nothing; the XLSX holds one sheet per table and the CSV one file per table.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.reports import queries
from hubbub.reports.schedule import period_label
from hubbub.reports.sections import (
    SECTIONS,
    Badge,
    Cell,
    ReportScope,
    SectionResult,
    Table,
    ordered,
)
from hubbub.workspaces.models import Workspace

FORMATS = ("pdf", "html", "xlsx", "csv")
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "application/zip",
}


class ReportError(ValueError):
    """A report that cannot be built as asked (unknown section or topic)."""


@dataclass(frozen=True)
class Report:
    workspace: str
    title: str
    period: str
    start: datetime
    end: datetime
    generated_at: datetime
    topics: list[str]
    sections: list[SectionResult]

    def tables(self) -> list[Table]:
        return [table for result in self.sections for table in result.tables]


def build_report(
    session: Session,
    workspace_id: int,
    start: datetime,
    end: datetime,
    *,
    sections: Sequence[str] = (),
    topics: Sequence[str] = (),
    tz: ZoneInfo,
    title: str = "Report",
    now: datetime | None = None,
) -> Report:
    """Run the chosen sections (all by default) over [start, end) for the named topics."""
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise ReportError(f"no workspace {workspace_id}")
    try:
        keys = ordered(list(sections))
    except KeyError as exc:
        raise ReportError(str(exc.args[0])) from None
    try:
        chosen = queries.report_topics(session, workspace_id, topics)
    except KeyError as exc:
        raise ReportError(f"no topic {exc.args[0]!r} in this workspace") from None
    moment = now or utcnow()
    scope = ReportScope(workspace_id, start, end, tz, tuple(chosen), moment)
    return Report(
        workspace=workspace.name,
        title=title,
        period=period_label(start, end, tz),
        start=start,
        end=end,
        generated_at=moment,
        topics=[t.name for t in chosen],
        sections=[SECTIONS.get(key).build(session, scope) for key in keys],
    )


def _cell(value: Cell) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


_environment = Environment(
    loader=PackageLoader("hubbub.reports", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters["cell"] = _cell
_environment.tests["badge"] = lambda value: isinstance(value, Badge)


#: Columns an A4 page holds at the report's 8.5 pt before cells squeeze words apart.
PAGE_COLUMNS = 8


def page_parts(table: Table, limit: int = PAGE_COLUMNS) -> list[Table]:
    """A table too wide for a printed page as several, each led by the first column again
    (the date or the topic), so no column runs off the page or breaks its words."""
    if len(table.headers) <= limit:
        return [table]
    width = len(table.headers)
    starts = range(1, width, limit - 1)
    parts = []
    for number, start in enumerate(starts, start=1):
        columns = [0, *range(start, min(start + limit - 1, width))]
        parts.append(
            Table(
                name=table.name,
                title=f"{table.title} ({number} of {len(starts)})",
                headers=[table.headers[i] for i in columns],
                rows=[[row[i] for i in columns] for row in table.rows],
            )
        )
    return parts


_environment.filters["page_parts"] = page_parts


def render_html(report: Report, *, paged: bool = False) -> str:
    """The report as one self-contained HTML page (no external resource); ``paged`` splits
    tables wider than a printed page (the PDF's)."""
    return _environment.get_template("report.html").render(report=report, paged=paged)


def _refuse(url: str, *_args: Any, **_kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"reports load no external resource ({url[:80]})")


def render_pdf(report: Report) -> bytes:
    """The HTML through weasyprint; a URL in the page is never fetched."""
    from weasyprint import HTML  # imported here: it loads pango, which the CLI rarely needs

    pdf = HTML(string=render_html(report, paged=True), url_fetcher=_refuse).write_pdf()
    assert pdf is not None
    return bytes(pdf)


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_names(tables: Sequence[Table]) -> list[str]:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique ignoring case."""
    names: list[str] = []
    seen: set[str] = set()
    for table in tables:
        base = _SHEET_BAD.sub("_", table.name)[:31] or "table"
        name, n = base, 2
        while name.lower() in seen:
            suffix = f"_{n}"
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        seen.add(name.lower())
        names.append(name)
    return names


def render_xlsx(report: Report) -> bytes:
    """One sheet per table: headers in bold on the first row, then the rows.

    Text cells stay text even when they start with ``=``: a post is never a formula.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    tables = report.tables()
    for name, table in zip(_sheet_names(tables), tables, strict=True):
        sheet = book.create_sheet(name)
        sheet.append(table.headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(row)
        for line in sheet.iter_rows(min_row=2):
            for cell in line:
                if isinstance(cell.value, str) and cell.data_type == "f":
                    cell.data_type = "s"
    if not tables:
        book.create_sheet("report")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(table: Table) -> str:
    """The table as CSV; text that a spreadsheet would run as a formula gets a leading ``'``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow(
            ["'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v for v in row]
        )
    return out.getvalue()


def csv_files(report: Report) -> dict[str, str]:
    """File name → CSV text, one per table."""
    tables = report.tables()
    return {
        f"{name}.csv": csv_text(table)
        for name, table in zip(_sheet_names(tables), tables, strict=True)
    }


def render_csv_zip(report: Report) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in csv_files(report).items():
            archive.writestr(name, text)
    return out.getvalue()


def render(report: Report, fmt: str) -> bytes:
    """The report in ``fmt`` (one of :data:`FORMATS`; csv is a ZIP of one file per table)."""
    if fmt == "pdf":
        return render_pdf(report)
    if fmt == "html":
        return render_html(report).encode()
    if fmt == "xlsx":
        return render_xlsx(report)
    if fmt == "csv":
        return render_csv_zip(report)
    raise ReportError(f"format is one of {', '.join(FORMATS)}")
