"""The labelled set is well-formed, covers every intent and holds no templated near-copies."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from hubbub.core.errors import Rejected
from hubbub.enrich.intent.data import DATA_PATH, LABELS, near_duplicates, read_posts

MIN_PER_LABEL = 60


def test_dataset_size_labels_and_uniqueness() -> None:
    data = read_posts()
    assert len(data.texts) >= 600
    counts = Counter(LABELS[i] for i in data.labels)
    assert set(counts) == set(LABELS)
    assert min(counts.values()) >= MIN_PER_LABEL, counts
    assert len({t.strip().lower() for t in data.texts}) == len(data.texts)


def test_every_line_is_label_tab_text() -> None:
    lines = DATA_PATH.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(read_posts().texts)
    for line in lines:
        label, text = line.split("\t")
        assert label in LABELS
        assert text == text.strip() and text


def test_no_near_duplicate_posts() -> None:
    data = read_posts()
    assert near_duplicates(data.texts, threshold=0.5) == []


def test_near_duplicate_check_finds_templated_copies() -> None:
    texts = [
        "@Brewly my machine shows a red light and won't brew, how do I fix it?",
        "@Lumora my machine shows a red light and won't brew, how do I fix it?",
        "completely different words about the weather today",
    ]
    pairs = near_duplicates(texts, threshold=0.5)
    assert [(i, j) for i, j, _ in pairs] == [(0, 1)]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("question\n", "missing_field"),
        ("questions\tdoes it work?\n", "unknown_label"),
        ("spam\t   \n", "missing_field"),
        ("spam\ta\tb\n", "bad_text"),
        ("", "empty"),
    ],
)
def test_malformed_files_are_rejected(tmp_path: Path, content: str, code: str) -> None:
    path = tmp_path / "posts.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(Rejected) as caught:
        read_posts(path)
    assert caught.value.code == code


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(Rejected) as caught:
        read_posts(tmp_path / "absent.tsv")
    assert caught.value.code == "unreadable"


def test_labels_are_indices_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "posts.tsv"
    path.write_text("none\thello\nspam\tfree money\n", encoding="utf-8")
    data = read_posts(path)
    assert data.texts == ["hello", "free money"]
    assert data.labels.tolist() == [LABELS.index("none"), LABELS.index("spam")]
    assert data.labels.dtype == np.int64
