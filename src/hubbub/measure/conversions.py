"""Conversions as reported (a CSV file, an API request): the checks each one passes before it
is recorded, and the CSV reader. The write is :func:`hubbub.measure.actions.record_conversions`.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hubbub.core.errors import Rejected

#: Largest value of one conversion; NUMERIC(18, 4) holds up to 10^14.
MAX_VALUE = 1e12
#: A clock a little ahead is tolerated; a conversion dated later than this is a typo.
FUTURE_SLACK = timedelta(days=1)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_EXTERNAL_ID = 200
SOURCES = ("csv", "api", "cli", "demo")
CURRENCY = re.compile(r"^[A-Z]{3}$")
_EXTERNAL_ID = re.compile(r"^[!-~](?:[ -~]*[!-~])?$")  # printable ASCII, no edge spaces

REQUIRED_COLUMNS = ("external_id", "occurred_at", "value")
OPTIONAL_COLUMNS = ("currency", "topic", "campaign")  # campaign: another name for topic
MAX_REASONS = 1000  # reasons kept for a summary; the counts are always complete


@dataclass(frozen=True)
class ConversionIn:
    """One conversion as reported; ``topic`` is a topic's name (a campaign is a topic)."""

    external_id: str
    occurred_at: datetime
    value: float
    currency: str
    topic: str | None = None


@dataclass
class RecordSummary:
    """What happened to each reported conversion: recorded, already there, or refused (with
    the line or position and the reason)."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    conflicts: int = 0  # of the rejected: an id recorded already with other values
    reasons: list[tuple[int, str]] = field(default_factory=list)
    accepted_ids: list[int] = field(default_factory=list)

    def refuse(self, where: int, reason: str) -> None:
        self.rejected += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append((where, reason))

    def add(self, other: RecordSummary) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.conflicts += other.conflicts
        self.reasons.extend(other.reasons[: max(0, MAX_REASONS - len(self.reasons))])
        self.accepted_ids.extend(other.accepted_ids)

    def as_dict(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "conflicts": self.conflicts,
            "reasons": [{"line": where, "reason": reason} for where, reason in self.reasons],
        }


def checked(item: ConversionIn, now: datetime) -> ConversionIn:
    """The conversion normalised (currency upper case, time in UTC), or Rejected saying why."""
    external_id = item.external_id.strip()
    if not external_id or len(external_id) > MAX_EXTERNAL_ID:
        raise Rejected("bad_external_id", f"external_id needs 1 to {MAX_EXTERNAL_ID} characters")
    if not _EXTERNAL_ID.match(external_id):
        raise Rejected("bad_external_id", "external_id takes printable ASCII characters only")
    when = item.occurred_at
    if when.tzinfo is None or when.utcoffset() is None:
        raise Rejected("bad_time", "occurred_at needs a time zone (Z or +01:00)")
    try:
        when = when.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 has no UTC time
        raise Rejected("bad_time", "occurred_at lies in the future or before 2000") from None
    if not EARLIEST <= when <= now + FUTURE_SLACK:
        raise Rejected("bad_time", "occurred_at lies in the future or before 2000")
    value = item.value
    if not math.isfinite(value) or not 0 <= value <= MAX_VALUE:
        raise Rejected("bad_value", f"value is a number from 0 to {MAX_VALUE:g} (no refunds)")
    currency = item.currency.strip().upper()
    if not CURRENCY.match(currency):
        raise Rejected("bad_currency", "currency is a three-letter code such as EUR")
    topic = (item.topic or "").strip() or None
    return ConversionIn(external_id, when, round(float(value), 4), currency, topic)


def parse_time(text: str) -> datetime:
    """ISO 8601 (``2026-11-20T14:03:00Z``); :func:`checked` refuses one without a zone."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise Rejected("bad_time", f"occurred_at {text[:40]!r} is not an ISO 8601 time") from None


def parse_value(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise Rejected("bad_value", f"value {text[:40]!r} is not a number") from None


@dataclass(frozen=True)
class CsvRow:
    """A data line of the file: its line number, and the conversion or why it was refused."""

    line: int
    item: ConversionIn | None
    reason: str | None = None


def decoded_lines(raw: Iterable[bytes], undecodable: set[int]) -> Iterator[str]:
    """UTF-8 lines of a file read as bytes (a leading BOM dropped). A line that is not UTF-8
    is given with replacement characters and its number noted in ``undecodable``, so
    :func:`read_csv` refuses that row alone instead of the import stopping half-way."""
    for number, line in enumerate(raw, start=1):
        data = line[3:] if number == 1 and line.startswith(b"\xef\xbb\xbf") else line
        try:
            yield data.decode("utf-8")
        except UnicodeDecodeError:
            undecodable.add(number)
            yield data.decode("utf-8", errors="replace")


def read_csv(
    lines: Iterable[str], default_currency: str, undecodable: set[int] | None = None
) -> tuple[list[str], Iterator[CsvRow]]:
    """(ignored column names, rows) of a CSV file with a header line.

    Columns: ``external_id``, ``occurred_at``, ``value`` (required), ``currency`` (else
    ``default_currency``), ``topic`` or ``campaign`` (a topic's name); others are ignored.
    """
    reader = csv.reader(iter(lines))
    try:
        header = next(reader, None)
    except csv.Error as exc:  # a binary file, a header line past the csv module's limit
        raise Rejected("bad_header", f"the first line is not a CSV header: {exc}") from None
    if header is None:
        raise Rejected("empty_file", "the file is empty; it needs a header line")
    names = [name.strip().lower().lstrip("\ufeff") for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise Rejected("missing_columns", f"the header lacks {', '.join(missing)}")
    ignored = [n for n in names if n not in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]
    where = {
        name: names.index(name) for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if name in names
    }

    def cell(row: list[str], name: str) -> str:
        index = where.get(name)
        return row[index] if index is not None and index < len(row) else ""

    def rows() -> Iterator[CsvRow]:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a field over the csv module's size limit
                yield CsvRow(reader.line_num, None, f"not a readable CSV row: {exc}")
                continue
            line = reader.line_num
            if undecodable and line in undecodable:
                yield CsvRow(line, None, "not UTF-8 text")
                continue
            if not any(value.strip() for value in row):
                continue
            try:
                item = ConversionIn(
                    external_id=cell(row, "external_id"),
                    occurred_at=parse_time(cell(row, "occurred_at")),
                    value=parse_value(cell(row, "value")),
                    currency=cell(row, "currency").strip() or default_currency,
                    topic=cell(row, "topic").strip() or cell(row, "campaign").strip() or None,
                )
            except Rejected as exc:
                yield CsvRow(line, None, exc.detail)
                continue
            yield CsvRow(line, item)

    return ignored, rows()
