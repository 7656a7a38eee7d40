"""`hubbub intent classify|train|eval`: output format, order, errors and the JSON report."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from hubbub.enrich.intent import LABELS, predict
from hubbub.enrich.intent.cli import intent_app
from hubbub.enrich.intent.data import DATA_PATH
from hubbub.enrich.intent.model import LinearIntent

runner = CliRunner()
TEXTS = [
    "where can I buy the Ploom City in Leeds?",
    "",
    "worst delivery ever, cold food AGAIN",
    "tab\tinside",
    "a\rb\u2028c",
    "Win a free PS6!!! follow and retweet",
]


def _mounted() -> typer.Typer:
    """The lead mounts the app this way as `hubbub intent`."""
    app = typer.Typer()
    app.add_typer(intent_app, name="intent")
    return app


def _rows(output: str) -> list[tuple[str, float]]:
    rows = []
    for line in output.splitlines():
        label, value = line.split("\t")
        rows.append((label, float(value)))
    return rows


def test_classify_stdin_one_row_per_line_in_order() -> None:
    result = runner.invoke(_mounted(), ["intent", "classify", "-"], input="\n".join(TEXTS) + "\n")
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    # "\r" and U+2028 do not end a post: six lines in, six rows out.
    assert len(rows) == len(TEXTS)
    expected = predict(TEXTS)
    assert [label for label, _ in rows] == expected
    assert all(label in LABELS and 0.0 < score <= 1.0 for label, score in rows)


def test_classify_file(tmp_path: Path) -> None:
    path = tmp_path / "posts.txt"
    path.write_text("does it come in blue?\nplease add dark mode\n", encoding="utf-8")
    result = runner.invoke(intent_app, ["classify", str(path)])
    assert result.exit_code == 0, result.output
    assert [label for label, _ in _rows(result.output)] == ["question", "feature_request"]


def test_classify_missing_file_fails_cleanly(tmp_path: Path) -> None:
    result = runner.invoke(intent_app, ["classify", str(tmp_path / "absent.txt")])
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_classify_bad_weights_fails_cleanly(tmp_path: Path) -> None:
    bad = tmp_path / "w.npz"
    bad.write_bytes(b"junk")
    result = runner.invoke(intent_app, ["classify", "--weights", str(bad), "-"], input="hi\n")
    assert result.exit_code == 2
    assert "bad_weights" in result.output and "not a weights file" in result.output
    assert "allow_pickle" not in result.output  # numpy's advice to load untrusted pickles


def test_train_writes_loadable_weights(tmp_path: Path) -> None:
    data = tmp_path / "posts.tsv"
    lines = DATA_PATH.read_text(encoding="utf-8").splitlines()[::3]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "w.npz"
    result = runner.invoke(intent_app, ["train", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["rows"] == len(lines)
    assert summary["bytes"] == out.stat().st_size
    assert LinearIntent.load(out).classify(["is it open today?"])[0].label in LABELS


def test_train_refuses_a_malformed_set(tmp_path: Path) -> None:
    data = tmp_path / "posts.tsv"
    data.write_text("maybe\tsomething\n", encoding="utf-8")
    result = runner.invoke(intent_app, ["train", "--data", str(data), "--out", str(tmp_path / "w")])
    assert result.exit_code == 2
    assert "unknown_label" in result.output


def test_eval_json_is_one_object_with_per_class_figures(tmp_path: Path) -> None:
    data = tmp_path / "posts.tsv"
    lines = DATA_PATH.read_text(encoding="utf-8").splitlines()[::2]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(intent_app, ["eval", "--json", "--data", str(data), "--folds", "3"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["n"] == len(lines) and report["folds"] == 3
    assert set(report["per_class"]) == set(LABELS)
    for row in report["per_class"].values():
        assert {"precision", "recall", "f1", "support"} <= set(row)
    assert 0.0 <= report["macro_f1"] <= 1.0
    assert len(report["fold_macro_f1"]) == 3


def test_eval_table(tmp_path: Path) -> None:
    data = tmp_path / "posts.tsv"
    lines = DATA_PATH.read_text(encoding="utf-8").splitlines()[::4]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(intent_app, ["eval", "--data", str(data), "--folds", "2"])
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.output and "feature_request" in result.output
