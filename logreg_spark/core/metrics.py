"""Binary classification metrics from weighted sums: the math, without Spark.

Ranking metrics are exact: they walk the distinct scores in decreasing order,
holding at each the weight of positives ``pos`` and negatives ``neg`` that have
that score. With ``TP``/``FP`` the cumulative weights down to a score,
``P``/``N`` the totals::

    ROC AUC = Σ ΔFP · (TP + TP_prev) / 2 / (P N)     (trapezoids; ties give diagonals)
    PR AUC  = Σ ΔTP · TP / (TP + FP) / P             (average precision, as scikit-learn)

The walk may be split into consecutive runs (partitions of a sorted table):
:func:`ranking_sums` takes the cumulative weights before its run.
"""

from __future__ import annotations

import math

import numpy as np

#: Bins of the calibration table: [0, 0.1), [0.1, 0.2), …, [0.9, 1].
CALIBRATION_BINS = 10


def ranking_sums(
    pos: np.ndarray, neg: np.ndarray, tp_before: float, fp_before: float, max_points: int = 500
) -> tuple[float, float, np.ndarray]:
    """For one run of distinct scores (decreasing): the unnormalised ROC area and average
    precision sums, and up to ``max_points`` (FP, TP) points of the curve, the run's last included."""
    tp = tp_before + np.cumsum(pos)
    fp = fp_before + np.cumsum(neg)
    tp_previous = np.concatenate(([tp_before], tp[:-1]))
    area = float(np.sum(neg * (tp + tp_previous)) / 2.0)
    predicted = tp + fp
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    average_precision = float(np.sum(pos * precision))
    every = max(1, math.ceil(len(tp) / max_points))
    points = np.column_stack([fp, tp])[::-1][::every][::-1]  # keeps the last point
    return area, average_precision, points


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def precision_recall_f1(tp: float, fp: float, fn: float) -> dict[str, float]:
    """Precision, recall and F1 of one class from weighted counts (NaN when undefined)."""
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * precision * recall, precision + recall) if not math.isnan(precision + recall) else math.nan
    return {"precision": precision, "recall": recall, "f1": f1}


def threshold_metrics(tp: float, fp: float, tn: float, fn: float) -> dict[str, float]:
    """Accuracy, precision, recall and F1 from the weighted confusion matrix (NaN when undefined)."""
    return {"accuracy": _ratio(tp + tn, tp + fp + tn + fn), **precision_recall_f1(tp, fp, fn)}


def calibration_bin(p: np.ndarray) -> np.ndarray:
    """The calibration bin of each probability: ⌊10 p⌋, with p = 1 in the last bin."""
    return np.minimum((p * CALIBRATION_BINS).astype(np.int64), CALIBRATION_BINS - 1)
