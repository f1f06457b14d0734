"""Evaluation math against scikit-learn, without Spark; the pictures' fallback."""

import builtins

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from logreg_spark.artifacts import plots
from logreg_spark.core.metrics import calibration_bin, ranking_sums, threshold_metrics


def _scored(rows=3000, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.3).astype(float)
    score = np.round(1 / (1 + np.exp(-(2 * y - 1 + rng.normal(size=rows)))), 2)  # many ties
    w = rng.uniform(0.1, 2.0, rows)
    return score, y, w


@pytest.mark.parametrize("runs", [1, 2, 7])
def test_exact_ranking_metrics_match_sklearn_however_the_scores_are_split(runs):
    score, y, w = _scored()
    distinct, inverse = np.unique(score, return_inverse=True)
    pos = np.bincount(inverse, weights=w * y)[::-1]  # decreasing scores
    neg = np.bincount(inverse, weights=w * (1 - y))[::-1]
    area = ap = tp = fp = 0.0
    for chunk in np.array_split(np.arange(len(distinct)), runs):
        a, p, points = ranking_sums(pos[chunk], neg[chunk], tp, fp)
        area, ap = area + a, ap + p
        tp, fp = tp + pos[chunk].sum(), fp + neg[chunk].sum()
        assert tuple(points[-1]) == pytest.approx((fp, tp))
    P, N = tp, fp
    assert area / (P * N) == pytest.approx(roc_auc_score(y, score, sample_weight=w), abs=1e-12)
    assert ap / P == pytest.approx(average_precision_score(y, score, sample_weight=w), abs=1e-12)


def test_threshold_metrics_match_sklearn():
    score, y, w = _scored()
    predicted = (score > 0.5).astype(float)
    cells = {
        "tp": w[(predicted == 1) & (y == 1)].sum(),
        "fp": w[(predicted == 1) & (y == 0)].sum(),
        "tn": w[(predicted == 0) & (y == 0)].sum(),
        "fn": w[(predicted == 0) & (y == 1)].sum(),
    }
    ours = threshold_metrics(**cells)
    expected = {"accuracy": accuracy_score, "precision": precision_score, "recall": recall_score, "f1": f1_score}
    for name, metric in expected.items():
        assert ours[name] == pytest.approx(metric(y, predicted, sample_weight=w), abs=1e-12), name
    assert np.isnan(threshold_metrics(tp=0, fp=0, tn=5, fn=2)["precision"])


def test_calibration_bins_are_tenths_with_one_in_the_last():
    assert calibration_bin(np.array([0.0, 0.0999, 0.1, 0.55, 0.9, 1.0])).tolist() == [0, 0, 1, 5, 9, 9]


def test_pictures_are_png_and_skipped_without_matplotlib(monkeypatch, caplog):
    png = plots.roc_curve(np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.8, 1.0]), 0.9)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    assert plots.loss_curve([0, 1, 2], [0.7, 0.5, 0.45]) is None
    assert "matplotlib cannot be imported" in caplog.text
