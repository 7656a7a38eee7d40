"""Calibration from corrections: helps where the model is biased, refuses where it is not.

The synthetic worlds are honest: labels are drawn from known true posteriors, the "model"
reports those posteriors (unbiased) or the same with one class's log-odds shifted (biased),
and every verdict is judged only on the held-out share.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from hubbub.enrich.sentiment.calibration import (
    MIN_CORRECTIONS,
    Calibration,
    Report,
    calibrate,
    fit,
    held_out,
    sign_test,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def _softmax(z: F64) -> F64:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    out: F64 = e / e.sum(axis=1, keepdims=True)
    return out


def world(seed: int, n: int, negative_shift: float) -> tuple[list[int], F64, I64]:
    """Post ids, the model's probabilities and the analysts' labels (drawn from the truth)."""
    rng = np.random.default_rng(seed)
    truth_p = _softmax(rng.normal(0.0, 2.0, (n, 3)))
    labels = np.array([rng.choice(3, p=p) for p in truth_p], dtype=np.int64)
    logits = np.log(truth_p)
    logits[:, 0] += negative_shift  # < 0: the model under-calls negative
    return list(range(1000, 1000 + n)), _softmax(logits), labels


SEEDS = range(20)


def test_a_biased_model_is_calibrated_and_held_out_agreement_improves() -> None:
    """900 corrections (~300 held out) of a model that under-calls negative: the gate lets
    most such worlds through (measured 38 of 40 seeds), and every one it lets through agrees
    better with the held-out analysts on both figures."""
    reports = [calibrate(*world(seed, 900, negative_shift=-2.0)) for seed in SEEDS]
    applied = [r for r in reports if r.applied]
    assert len(applied) >= 16, [r.reason for r in reports]
    for report in applied:
        assert report.before is not None and report.after is not None
        assert report.after.accuracy > report.before.accuracy
        assert report.after.macro_recall >= report.before.macro_recall
        assert report.fixed > report.broken
        assert report.held_out + report.fitted_on == 900
        assert report.calibration is not None
        # It learned to call negative more often (column 0: predicted negative).
        assert sum(row[0] for row in report.after.confusion) > sum(
            row[0] for row in report.before.confusion
        )
    gains = [r.after.accuracy - r.before.accuracy for r in reports if r.after and r.before]
    assert float(np.mean(gains)) > 0.05


def test_an_unbiased_model_is_not_changed() -> None:
    """The same worlds with a model that reports the true posteriors: nothing to learn, so the
    gate refuses (measured 0 of 40 seeds) and the fit stays near the identity."""
    reports = [calibrate(*world(seed, 900, negative_shift=0.0)) for seed in SEEDS]
    assert sum(r.applied for r in reports) <= 1, [r.to_dict() for r in reports if r.applied]
    for report in reports:
        assert report.calibration is not None
        assert np.abs(np.asarray(report.calibration.weights) - np.eye(3)).max() < 0.3
    refused = [r for r in reports if not r.applied]
    assert all("no clear gain" in r.reason for r in refused)


def test_analysts_who_agree_with_the_model_leave_nothing_to_gain() -> None:
    ids, proba, _ = world(7, 300, negative_shift=-2.0)
    report = calibrate(ids, proba, proba.argmax(axis=1))
    assert report.before is not None and report.before.accuracy == 1.0
    assert not report.applied


def test_few_corrections_say_so_and_fit_nothing() -> None:
    ids, proba, labels = world(1, MIN_CORRECTIONS - 1, negative_shift=-2.0)
    report = calibrate(ids, proba, labels)
    assert not report.applied
    assert report.calibration is None and report.after is None
    assert report.reason.startswith("not enough corrections yet")
    assert f"{MIN_CORRECTIONS - 1} of the {MIN_CORRECTIONS}" in report.reason
    empty = calibrate([], np.zeros((0, 3)), np.zeros(0, dtype=np.int64))
    assert empty.before is None and not empty.applied


def test_a_missing_label_blocks_the_fit() -> None:
    ids, proba, labels = world(1, 300, negative_shift=0.0)
    labels = np.where(labels == 0, 1, labels)  # nobody ever said negative
    report = calibrate(ids, proba, labels)
    assert not report.applied and report.calibration is None
    assert "negative" in report.reason


def test_the_held_out_share_is_stable_and_about_a_third() -> None:
    ids = range(1, 30_001)
    share = sum(held_out(i) for i in ids) / 30_000
    assert 0.32 < share < 0.35
    assert [held_out(i) for i in range(1, 50)] == [held_out(i) for i in range(1, 50)]
    # Consecutive ids are not split by a pattern that snowflake-like ids could align with.
    assert {held_out(i) for i in range(0, 3000, 3)} == {True, False}


def test_identity_changes_nothing_and_reports_round_trip() -> None:
    ids, proba, labels = world(2, 400, negative_shift=-2.0)
    assert np.allclose(Calibration.identity().proba(proba), proba)
    report = calibrate(ids, proba, labels)
    again = Report.from_dict(report.to_dict())
    assert again == report
    assert again.calibration is not None
    assert np.allclose(again.calibration.proba(proba), report.calibration.proba(proba))  # type: ignore[union-attr]


def test_fit_recovers_a_known_shift() -> None:
    _, proba, labels = world(3, 5000, negative_shift=-1.5)
    calibration = fit(proba, labels, l2=1e-4)
    bias = np.asarray(calibration.bias)
    # Softmax is shift-invariant: compare the negative bias with the others'.
    assert bias[0] - bias[1:].mean() == pytest.approx(1.5, abs=0.3)


def test_sign_test() -> None:
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 0) == pytest.approx(1 / 32)
    assert sign_test(3, 3) > 0.5
    assert 0.0 < sign_test(700, 600) < 0.01  # large counts stay exact, no float overflow
