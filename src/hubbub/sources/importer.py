"""``hubbub import``: a file split into raw events by its format's layout, then ingested.

Importing is idempotent (every write is keyed by native id), so running the same file twice
adds nothing; what cannot be read becomes a dead letter with a reason, like live input.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import orjson

from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.core.items import RawEvent
from hubbub.sources.base import CSV_ERROR, format_layout, normalisers
from hubbub.sources.decode import load_json
from hubbub.sources.ingest import CUT_FROM, Ingestor, IngestResult, Target

Progress = Callable[[int], None]
DOCUMENT_FACTOR = 64


def _lines(handle: BinaryIO, keep: int, *, blank: bool = False) -> Iterator[tuple[int, bytes, int]]:
    """(line number, line without its newline, its whole size) of each line, blank ones only
    with ``blank``; a line over ``keep`` bytes is cut to ``keep + 1`` of them, so it is never
    held whole in memory, and the rest of it is only counted."""
    number = 0
    while True:
        line = handle.readline(keep + 1)
        if not line:
            return
        number += 1
        size, last = len(line), line
        if len(line) > keep and not line.endswith(b"\n"):
            while last and not last.endswith(b"\n"):
                last = handle.readline(1 << 20)
                size += len(last)
        size -= len(last) - len(last.rstrip(b"\r\n"))  # the newline is not the line's
        stripped = line.rstrip(b"\r\n")
        if blank or stripped.strip():
            yield number, stripped, size


def _document_events(data: bytes, fmt: str, meta: dict[str, str]) -> Iterator[RawEvent]:
    stripped = data.lstrip()
    if stripped.startswith(b"["):
        try:
            parsed = load_json(data)
        except Rejected:
            yield RawEvent(payload=data, format=fmt, meta=meta)
            return
        for element in parsed:
            yield RawEvent(payload=orjson.dumps(element), format=fmt, meta=meta)
        return
    yield RawEvent(payload=data, format=fmt, meta=meta)


def _csv_events(handle: BinaryIO, fmt: str, meta: dict[str, str], keep: int) -> Iterator[RawEvent]:
    """Records as JSON objects of header → cell, each with the line it starts on.

    What the csv module cannot read (a NUL byte, a field too large) is passed on as the
    record's own bytes with the reason in ``meta[CSV_ERROR]``, as is a line that is not UTF-8
    or is longer than ``keep`` (cut, with its whole size): each is refused with its bytes kept
    while the rest of the file still imports. Blank lines reach the parser, since inside a
    quoted field they are part of the text."""
    aside: list[RawEvent] = []  # refused lines, passed on before the next record
    record: list[tuple[int, bytes]] = []  # the lines of the record being parsed

    def decoded() -> Iterator[str]:
        for number, raw, size in _lines(handle, keep, blank=True):
            where = meta | {"line": str(number)}
            if size > len(raw):
                aside.append(RawEvent(raw, fmt, meta=where | {CUT_FROM: str(size)}))
                continue
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                aside.append(RawEvent(raw, fmt, meta=where))
                continue
            record.append((number, raw))
            yield text + "\n"

    previous = csv.field_size_limit()
    csv.field_size_limit(max(keep, previous))  # size is judged per record, by the ingestor
    try:
        rows = csv.DictReader(decoded(), restkey="_extra")
        try:
            rows.fieldnames  # noqa: B018 - reads the header, so no record starts with it
        except csv.Error as exc:  # nothing after an unreadable header can be read
            yield from aside
            yield _unreadable(record, fmt, meta, f"header: {exc}")
            return
        yield from aside
        aside.clear()
        record.clear()
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error as exc:
                if record:
                    aside.append(_unreadable(record, fmt, meta, str(exc)))
                row = None
            yield from aside
            aside.clear()
            if row is not None:
                where = meta | {"line": str(record[0][0])} if record else meta
                yield RawEvent(payload=orjson.dumps(row), format=fmt, meta=where)
            record.clear()
        yield from aside
    finally:
        csv.field_size_limit(previous)


def _unreadable(
    record: list[tuple[int, bytes]], fmt: str, meta: dict[str, str], error: str
) -> RawEvent:
    payload = b"\n".join(raw for _number, raw in record)
    return RawEvent(payload, fmt, meta=meta | {"line": str(record[0][0]), CSV_ERROR: error})


#: The first bytes of compressed files, whose lines would otherwise each be refused as junk.
_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"PK\x03\x04": "zip",
}


#: What ``hubbub import`` reads: a file, or a stream (standard input, ``-`` on the command line).
Input = Path | io.BufferedReader
STDIN = Path("-")


def compression_of(source: Input) -> str | None:
    """The compression a file's (or a stream's, left unread) first bytes say it has, if any."""
    if isinstance(source, io.BufferedReader):
        head = source.peek(8)[:8]
    else:
        with source.open("rb") as handle:
            head = handle.read(8)
    return next((name for magic, name in _COMPRESSED.items() if head.startswith(magic)), None)


@contextmanager
def _opened(source: Input) -> Iterator[BinaryIO]:
    if isinstance(source, io.BufferedReader):
        yield source  # the caller's stream: not ours to close
        return
    with source.open("rb") as handle:
        yield handle


def _rest(handle: BinaryIO) -> int:
    """Bytes left in ``handle``, read through without keeping them."""
    size = 0
    while chunk := handle.read(1 << 20):
        size += len(chunk)
    return size


def file_events(source: Input, fmt: str, limit: int, keep: int = 0) -> Iterator[RawEvent]:
    """The raw events of one file or stream, streamed (line and csv input is never read whole).

    A line over ``limit`` bytes is still read up to ``keep`` bytes (the dead-letter store's
    share), so a refused line can be replayed whole once the limit is raised; a longer one is
    cut and says its whole size in ``meta[CUT_FROM]``. Lines carry their number.
    """
    normalisers.get(fmt)  # unknown formats fail before anything is read
    # Undated feed entries take the time they reached us; for a file, that is the import.
    name = "-" if isinstance(source, io.BufferedReader) else str(source)
    meta = {"file": name, "received_at": utcnow().isoformat()}
    layout = format_layout(fmt)
    with _opened(source) as handle:
        if layout == "lines":
            for number, line, size in _lines(handle, max(limit, keep)):
                found = meta | {"line": str(number)}
                if size > len(line):
                    found[CUT_FROM] = str(size)
                yield RawEvent(payload=line, format=fmt, meta=found)
        elif layout == "csv":
            yield from _csv_events(handle, fmt, meta, max(limit, keep))
        else:
            # A document may hold an array of many events, so it may be larger than one event;
            # past DOCUMENT_FACTOR events' worth it is refused whole, without being read whole.
            data = handle.read(limit * DOCUMENT_FACTOR + 1)
            if len(data) > limit * DOCUMENT_FACTOR:
                # A file's size is known; a stream's rest is read through to learn it.
                size = (
                    source.stat().st_size if isinstance(source, Path) else len(data) + _rest(handle)
                )
                whole = meta | {CUT_FROM: str(size)}
                yield RawEvent(payload=data[: max(limit, keep) + 1], format=fmt, meta=whole)
                return
            yield from _document_events(data, fmt, meta)


def files_below(path: Path) -> list[Path]:
    """``path`` itself if it is a file, else every file below it in name order, leaving out
    hidden files and folders (``.git``, editor swap files)."""
    if not path.is_dir():
        return [path]
    return sorted(
        found
        for found in path.rglob("*")
        if found.is_file()
        and not any(part.startswith(".") for part in found.relative_to(path).parts)
    )


def import_file(
    ingestor: Ingestor, target: Target, path: Path, fmt: str, progress: Progress | None = None
) -> IngestResult:
    """Ingest a file in batches; ``progress`` is called with the bytes read so far."""
    return import_files(ingestor, target, [path], fmt, progress)


def import_files(
    ingestor: Ingestor,
    target: Target,
    sources: Sequence[Input],
    fmt: str,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest files (or a stream) one after another as one stream of batches (one prepare
    worker for all of them; a batch may hold the end of one file and the start of the next);
    ``progress`` is called with the bytes read so far over all of them."""
    total = IngestResult()
    read = 0
    sizes: deque[int] = deque()

    def batches() -> Iterator[list[RawEvent]]:
        nonlocal read
        batch: list[RawEvent] = []
        size = ingestor.settings.ingest_batch_size
        settings = ingestor.settings
        for source in sources:
            before = read
            for event in file_events(
                source, fmt, settings.max_payload_bytes, settings.dead_letter_max_bytes
            ):
                batch.append(event)
                read += len(event.payload) + 1
                if len(batch) >= size:
                    sizes.append(read)
                    yield batch
                    batch = []
            if isinstance(source, Path):  # each event counts about its bytes; a file, exactly
                read = before + source.stat().st_size
        if batch:
            sizes.append(read)
            yield batch

    for result in ingestor.ingest_stream(target, batches()):
        total.add(result)
        if progress:
            progress(sizes.popleft())  # bytes up to the end of the batch just written
    return total
