"""`hubbub sentiment` (default FILE argument beside `train`) and `hubbub eval sentiment`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hubbub.enrich.sentiment import LABELS, default_model
from hubbub.enrich.sentiment.cli import eval_app, sentiment_app
from hubbub.enrich.sentiment.ml import ml_available
from hubbub.enrich.sentiment.model import LinearSentiment
from tests.support.data import shared_path

runner = CliRunner()
TEXTS = ["I love it!", "worst day ever", "the bus leaves at noon", "", "great\tjob", "a\rb\u2028c"]


def _parse(output: str) -> list[tuple[str, float]]:
    rows = []
    for line in output.splitlines():
        label, value = line.split("\t")
        rows.append((label, float(value)))
    return rows


def _mounted() -> typer.Typer:
    """The lead mounts our apps this way into the main CLI."""
    app = typer.Typer()
    app.add_typer(sentiment_app, name="sentiment")
    app.add_typer(eval_app, name="eval")
    return app


def test_stdin_lines_in_order() -> None:
    result = runner.invoke(sentiment_app, [], input="\n".join(TEXTS) + "\n")
    assert result.exit_code == 0, result.output
    rows = _parse(result.output)
    expected = [
        (e.label, e.score) if text.strip() else ("neutral", 0.0)  # a blank line: nothing to score
        for text, e in zip(TEXTS, default_model().score(TEXTS), strict=True)
    ]
    assert [r[0] for r in rows] == [e[0] for e in expected]
    assert [r[1] for r in rows] == pytest.approx([e[1] for e in expected], abs=1e-4)
    assert rows[TEXTS.index("")] == ("neutral", 0.0)
    assert rows[0][0] == "positive"
    assert rows[1][0] == "negative"


@pytest.mark.parametrize("args", [["{file}"], ["{file}", "--tier", "default"], ["-"]])
def test_file_argument_and_dash(tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "posts.txt"
    path.write_text("\r\n".join(TEXTS) + "\r\n", encoding="utf-8")
    argv = [a.format(file=path) for a in args]
    result = runner.invoke(_mounted(), ["sentiment", *argv], input="\n".join(TEXTS) + "\n")
    assert result.exit_code == 0, result.output
    rows = _parse(result.output)
    assert len(rows) == len(TEXTS)
    assert all(label in LABELS and -1 <= value <= 1 for label, value in rows)


def test_ml_tier_without_the_extra_says_how_to_install_it() -> None:
    if ml_available():
        pytest.skip("the ml extra is installed here; tests/enrich/sentiment/test_ml.py covers it")
    result = runner.invoke(sentiment_app, ["-", "--tier", "ml"], input="hello\n")
    assert result.exit_code == 2
    assert "ml_extra_missing" in result.output
    assert "pip install 'hubbub[ml]'" in result.output


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(sentiment_app, [str(tmp_path / "nope.txt")])
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_train_subcommand_writes_loadable_weights(tmp_path: Path) -> None:
    pool = tmp_path / "data" / "semeval_2013_2016"
    pool.mkdir(parents=True)
    texts = ["love it", "hate it", "it is tuesday", "so good", "so bad", "a chair"] * 5
    labels = ["2", "0", "1", "2", "0", "1"] * 5
    (pool / "train_text.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    (pool / "train_labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    (pool / "train_sources.txt").write_text("twitter-2013train\n" * 30, encoding="utf-8")
    out = tmp_path / "w.npz"
    result = runner.invoke(
        _mounted(), ["sentiment", "train", "--data", str(tmp_path / "data"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["rows"] == 30
    model = LinearSentiment.load(out)
    assert [s.label for s in model.score(["love it", "hate it"])] == ["positive", "negative"]
    scored = runner.invoke(sentiment_app, ["-", "--weights", str(out)], input="hate it\n")
    assert scored.output.startswith("negative\t")
    again = tmp_path / "again.npz"
    args = ["train", "--data", str(tmp_path / "data"), "--out", str(again)]
    assert runner.invoke(sentiment_app, args).exit_code == 0
    assert again.read_bytes() == out.read_bytes()  # same seed, same bytes


def test_train_refuses_a_missing_data_folder(tmp_path: Path) -> None:
    result = runner.invoke(sentiment_app, ["train", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "missing_file" in result.output


def _check_scorer_block(block: dict[str, object], n: int) -> None:
    assert set(block) >= {"accuracy", "macro_recall", "macro_f1", "confusion", "posts_per_s"}
    confusion = block["confusion"]
    assert isinstance(confusion, dict)
    matrix = confusion["rows_truth_cols_predicted"]
    assert len(matrix) == 3
    assert sum(map(sum, matrix)) == n


def test_eval_tweeteval_json(tmp_path: Path) -> None:
    folder = shared_path("sentiment", "tweeteval_val")
    text = tmp_path / "t.txt"
    labels = tmp_path / "l.txt"
    text.write_text(
        "".join((folder / "val_text.txt").read_text().splitlines(True)[:60]), encoding="utf-8"
    )
    labels.write_text("".join((folder / "val_labels.txt").read_text().splitlines(True)[:60]))
    args = ["eval", "sentiment", "--format", "tweeteval", "--text", str(text)]
    result = runner.invoke(_mounted(), [*args, "--labels", str(labels), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["format"] == "tweeteval"
    assert report["n"] == 60
    assert set(report["scorers"]) == {"hubbub_default", "vader"}
    for block in report["scorers"].values():
        _check_scorer_block(block, 60)
    assert "ml_precision" not in report
    if ml_available():  # the ml tier's figures say which arithmetic its encoder ran
        ml_args = [*args, "--labels", str(labels), "--tier", "ml", "--rounds", "1", "--json"]
        ml_result = runner.invoke(_mounted(), ml_args)
        assert ml_result.exit_code == 0, ml_result.output
        ml_report = json.loads(ml_result.output)
        assert ml_report["ml_precision"] in {"float32", "bfloat16", "int8"}
        _check_scorer_block(ml_report["scorers"]["hubbub_ml"], 60)


def test_eval_vader_json_has_correlation(tmp_path: Path) -> None:
    source = shared_path("sentiment", "vader_icwsm2014", "tweets_GroundTruth.txt")
    sample = tmp_path / "v.txt"
    sample.write_bytes(b"".join(source.read_bytes().splitlines(True)[:80]))
    result = runner.invoke(
        eval_app, ["sentiment", "--format", "vader", "--file", str(sample), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    for block in report["scorers"].values():
        _check_scorer_block(block, 80)
        assert 0.3 < block["pearson_r"] <= 1.0
    table = runner.invoke(eval_app, ["sentiment", "--format", "vader", "--file", str(sample)])
    assert "hubbub_default" in table.output


def test_eval_rejects_mismatched_files(tmp_path: Path) -> None:
    text = tmp_path / "t.txt"
    labels = tmp_path / "l.txt"
    text.write_text("a\nb\n")
    labels.write_text("0\n")
    args = ["sentiment", "--format", "tweeteval", "--text", str(text), "--labels", str(labels)]
    result = runner.invoke(eval_app, args)
    assert result.exit_code == 2
    assert "length_mismatch" in result.output
    labels.write_text("0\nsad\n")
    assert "bad_label" in runner.invoke(eval_app, args).output
    missing = runner.invoke(eval_app, ["sentiment", "--format", "tweeteval", "--text", str(text)])
    assert missing.exit_code == 2
