"""The `label<TAB>score` filter every scorer's CLI shares: one text a line in, one verdict out."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO, TextIO

import typer

from hubbub.enrich.sentiment.model import chunks

LabelBatch = Callable[[list[str]], Sequence[tuple[str, float]]]


def fail(message: str) -> typer.Exit:
    """Print ``message`` to stderr and give the exit to raise (status 2: bad usage or input)."""
    typer.echo(message, err=True)
    return typer.Exit(code=2)


def _lines(stream: TextIO) -> Iterator[str]:
    for line in stream:
        yield line.removesuffix("\n").removesuffix("\r")


def write_labels(file: str, label_batch: LabelBatch) -> None:
    """Read ``file`` (``-``: stdin) one text a line and print ``label<TAB>score`` per line, in
    input order, scoring in batches so a long input streams."""
    if file == "-":
        raw: BinaryIO = typer.get_binary_stream("stdin")
    else:
        try:
            raw = open(file, "rb")  # noqa: SIM115 - closed below; stdin is left open
        except OSError as exc:
            raise fail(f"error: cannot read {file}: {exc.strerror}") from exc
    # Only "\n" ends a text: a stray "\r" or U+2028 inside one must not add an output line.
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="\n")
    out = sys.stdout
    try:
        for batch in chunks(_lines(stream)):
            out.write("".join(f"{label}\t{score:.4f}\n" for label, score in label_batch(batch)))
            out.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly like other Unix filters.
        sys.stderr.close()
    finally:
        stream.detach()
        if file != "-":
            raw.close()
