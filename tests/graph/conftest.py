"""Fixtures for graph tests: small graph folders in the IMM format, written per test."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.graph.helpers import Edge, FolderMaker


@pytest.fixture
def make_folder(tmp_path: Path) -> FolderMaker:
    """Write attribute.txt and both edge files; `lt` defaults to the IC edges."""
    counter = itertools.count()

    def make(
        n: int,
        ic: Sequence[Edge],
        lt: Sequence[Edge] | None = None,
        *,
        m: int | None = None,
    ) -> Path:
        folder = tmp_path / f"graph{next(counter)}"
        folder.mkdir()
        (folder / "attribute.txt").write_text(f"n={n}\nm={len(ic) if m is None else m}\n")
        for name, edges in (("graph_ic.inf", ic), ("graph_lt.inf", ic if lt is None else lt)):
            (folder / name).write_text("".join(f"{u} {v} {p}\n" for u, v, p in edges))
        return folder

    return make
