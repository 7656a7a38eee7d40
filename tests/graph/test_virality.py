"""Early virality scorer: AUC and the logistic fit against their definitions, and on Higgs."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hubbub.cli.app import app
from hubbub.graph.cascades import higgs_cascades, read_higgs
from hubbub.graph.virality import auc, evaluate, fit_logistic, top_threshold
from tests.support.data import shared_path

runner = CliRunner()


def _pairwise_auc(scores: list[float], labels: list[bool]) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auc_matches_pair_counting() -> None:
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 5, 60).astype(np.float64)  # many ties
    labels = rng.random(60) < 0.3
    assert auc(scores, labels) == pytest.approx(_pairwise_auc(list(scores), list(labels)))
    assert np.isnan(auc(scores, np.zeros(60, dtype=bool)))


def test_logistic_learns_a_signal() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 3))
    y = x[:, 0] - 2 * x[:, 2] + rng.normal(scale=0.5, size=400) > 0
    model = fit_logistic(x, y)
    assert model.weights[0] > 0 > model.weights[2]
    assert abs(model.weights[1]) < abs(model.weights[0]) / 3
    assert auc(model.score(x), y) > 0.9


def test_top_threshold() -> None:
    assert top_threshold([2] * 80 + [3] * 11 + [9] * 9, 0.10) == 9
    assert top_threshold([2] * 95 + [5] * 5, 0.10) == 5


@pytest.fixture(scope="module")
def higgs_subset() -> list[tuple[int, str, str, str]]:
    """The first 150,000 events (about 2 days) of the real Higgs week."""
    return read_higgs(shared_path("cascades", "higgs"))[:150_000]


def test_higgs_subset_evaluation(higgs_subset: list[tuple[int, str, str, str]]) -> None:
    cascades = higgs_cascades(higgs_subset)
    adoptions = sum(len(c) - 1 for c in cascades)
    distinct = {(a, b) for _, a, b, k in higgs_subset if k != "MT" and a != b}
    assert len(distinct) <= adoptions <= sum(1 for e in higgs_subset if e[3] != "MT")
    report = evaluate(cascades)
    assert report["test"] > 500
    assert report["positives"]["test"] > 20
    # Measured on this subset: model ≈ 0.95, first-hour size ≈ 0.89.
    assert report["auc"] > 0.85
    assert report["auc"] > report["baseline_auc_first_window_size"]


def test_eval_virality_cli(tmp_path: Path) -> None:
    lines = []
    for cascade in range(40):  # cascade i of root r{i} gets i reshares, each a minute apart
        start = 1_341_100_000 + cascade * 3600
        lines += [f"a{cascade}_{j} r{cascade} {start + 60 * j} RT" for j in range(cascade % 12 + 1)]
    lines.append(f"z y {1_341_100_000 + 80 * 3600} RT")  # moves the data end past the censor
    with gzip.open(tmp_path / "higgs-activity_time.txt.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    result = runner.invoke(app, ["eval", "virality", "--higgs", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["cascades"] == 41
    assert payload["train"] + payload["test"] == payload["evaluated"]
    assert 0.0 <= payload["auc"] <= 1.0
    missing = runner.invoke(app, ["eval", "virality", "--higgs", str(tmp_path / "none"), "--json"])
    assert missing.exit_code == 2
    assert json.loads(missing.output)["error"]["code"] == "missing_file"


def test_eval_virality_reads_the_shared_higgs_folder_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From a folder with no ../shared beside it, the default path is the one reported missing.
    work = tmp_path / "repo"
    work.mkdir()
    monkeypatch.chdir(work)
    result = runner.invoke(app, ["eval", "virality", "--json"])
    assert result.exit_code == 2
    error = json.loads(result.output)["error"]
    assert error["code"] == "missing_file"
    assert "../shared/data/cascades/higgs/higgs-activity_time.txt.gz" in error["detail"]
