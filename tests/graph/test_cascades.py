"""Cascade trees: shape figures against the definitions, and the Higgs tree inference."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.core.errors import Rejected
from hubbub.graph.cascades import (
    Cascade,
    higgs_cascades,
    read_higgs,
    structural_virality,
    structural_virality_pairwise,
    summarise,
)


def _tree(parents: list[int], times: list[float] | None = None) -> Cascade:
    cascade = Cascade.start("k", "u0", 0.0 if times is None else times[0])
    for i, parent in enumerate(parents[1:], start=1):
        cascade.add(f"u{i}", parent, float(i) if times is None else times[i], "reshare")
    return cascade


def test_path_and_star_by_hand() -> None:
    # Path a-b-c: distances 1, 1, 2 → 4/3. Star of n: 2(n − 1)/n.
    assert structural_virality([-1, 0, 1]) == pytest.approx(4 / 3)
    assert structural_virality_pairwise([-1, 0, 1]) == pytest.approx(4 / 3)
    star = [-1] + [0] * 9
    assert structural_virality(star) == pytest.approx(2 * 9 / 10)
    assert structural_virality([-1]) == 0.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=0, max_size=40))
def test_linear_formula_equals_all_pairs(choices: list[int]) -> None:
    parents = [-1] + [c % (i + 1) for i, c in enumerate(choices)]
    assert structural_virality(parents) == pytest.approx(structural_virality_pairwise(parents))


def test_summary_figures() -> None:
    #      0
    #    1   2
    #   3 4   5
    #   6
    parents = [-1, 0, 0, 1, 1, 2, 3]
    summary = summarise(_tree(parents, [10, 11, 12, 20, 30, 40, 100]))
    assert summary.size == 7
    assert summary.depth == 3
    assert summary.max_breadth == 3
    assert summary.seconds_to_half == 10  # 4th of 7 adoptions at t=20
    assert summary.duration_seconds == 90
    assert summary.starter == "u0"
    assert summary.top_amplifiers == [("u1", 3), ("u2", 1), ("u3", 1)]  # ties: earlier first
    assert summary.structural_virality == pytest.approx(structural_virality_pairwise(parents))


def test_cascade_refuses_bad_order() -> None:
    cascade = Cascade.start("k", "root", 5.0)
    with pytest.raises(ValueError, match="time order"):
        cascade.add("a", 0, 4.0, "reshare")
    with pytest.raises(ValueError, match="earlier node"):
        cascade.add("a", 3, 6.0, "reshare")
    assert cascade.add("a", 0, 6.0, "reshare")
    assert not cascade.add("a", 0, 7.0, "reply")  # once per user
    assert len(cascade.prefix(5.5)) == 1


def test_higgs_inference() -> None:
    events = [
        (100, "c", "x", "MT"),  # c has a tie to x before the cascade
        (200, "x", "b", "RT"),  # cascade of b: x adopts from b
        (210, "c", "b", "RT"),  # c follows x → parent x
        (220, "d", "b", "RE"),  # replies hang on the starter
        (230, "d", "b", "RT"),  # d already in
        (240, "b", "b", "RT"),  # self-retweet ignored
        (250, "e", "b", "MT"),  # mentions are not adoptions
        (250 + 7 * 3600, "f", "b", "RT"),  # after the gap: a new cascade of b
    ]
    first, second = higgs_cascades(events, gap_seconds=6 * 3600)
    assert first.users == ["b", "x", "c", "d"]
    assert first.parents == [-1, 0, 1, 0]
    assert first.kinds == ["root", "reshare", "reshare", "reply"]
    assert first.audience == [0, 0, 0, 0]  # nobody had received anything before
    assert second.users == ["b", "f"]
    assert second.audience[0] == 4  # b had received RT, RT, RE, RT (the self-RT not counted)
    assert summarise(first).depth == 2


def test_read_higgs_refuses(tmp_path: Path) -> None:
    with pytest.raises(Rejected) as missing:
        read_higgs(tmp_path)
    assert missing.value.code == "missing_file"
    with gzip.open(tmp_path / "higgs-activity_time.txt.gz", "wt") as handle:
        handle.write("1 2 1341100972 RT\n1 2 notatime RT\n")
    with pytest.raises(Rejected) as bad:
        read_higgs(tmp_path)
    assert bad.value.code == "bad_line"
    assert ":2:" in bad.value.detail
