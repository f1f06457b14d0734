"""Classification metrics from weighted sums: the math, without Spark.

Ranking metrics are exact: they walk the distinct scores in decreasing order,
holding at each the weight of positives ``pos`` and negatives ``neg`` that have
that score. With ``TP``/``FP`` the cumulative weights down to a score,
``P``/``N`` the totals::

    ROC AUC = Σ ΔFP · (TP + TP_prev) / 2 / (P N)     (trapezoids; ties give diagonals)
    PR AUC  = Σ ΔTP · TP / (TP + FP) / P             (average precision, as scikit-learn)

The walk may be split into consecutive runs (partitions of a sorted table):
:func:`ranking_sums` takes the cumulative weights before its run.

MLlib's training summaries (:class:`LabelMetrics`, :class:`ThresholdCurves`) follow
MLlib's conventions instead: 0 rather than undefined where nothing is predicted, and
threshold curves down-sampled to about :data:`SUMMARY_BINS` points (:func:`bin_size`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


#: MLlib's number of bins of the summaries' threshold curves (``BinaryClassificationMetrics(…, 1000)``).
SUMMARY_BINS = 1000


def bin_size(distinct: int, bins: int = SUMMARY_BINS) -> int:
    """How many consecutive distinct scores (decreasing) MLlib merges into one curve point:
    ``distinct // bins``, or 1 (no down-sampling) when that is below 2."""
    size = distinct // bins
    return size if size >= 2 else 1


def _divided(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    """a / b elementwise with IEEE results (NaN, ±inf) where b is 0, as the JVM divides."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(a, b)


def f_measure(precision: np.ndarray, recall: np.ndarray, beta: float) -> np.ndarray:
    """F_β = (1 + β²) p r / (β² p + r), and 0 where p + r = 0 (MLlib's convention)."""
    b2 = beta * beta
    return np.where(precision + recall == 0, 0.0, _divided((1 + b2) * precision * recall, b2 * precision + recall))


@dataclass(frozen=True)
class LabelMetrics:
    """MLlib's ``MulticlassMetrics`` from the weighted (label, prediction) cells. For each label
    ``l`` seen in the label column (ascending): ``tp`` the weight of its rows predicted ``l``,
    ``fp`` the weight of other labels' rows predicted ``l``, ``weight`` its rows' weight; with
    ``n = Σ weight``::

        recall = tp / weight            precision = tp / (tp + fp), 0 if nothing is predicted l
        FPR    = fp / (n - weight)      accuracy  = Σ tp / n
        weighted X = Σ_l X_l weight_l / n
    """

    labels: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    weight: np.ndarray

    @classmethod
    def of_cells(cls, label: np.ndarray, prediction: np.ndarray, weight: np.ndarray) -> LabelMetrics:
        """From the cells: each (label, prediction) pair once, with the weight of its rows."""
        labels = np.unique(label)
        right = label == prediction
        return cls(
            labels=labels,
            tp=np.array([weight[right & (label == k)].sum() for k in labels]),
            fp=np.array([weight[~right & (prediction == k)].sum() for k in labels]),
            weight=np.array([weight[label == k].sum() for k in labels]),
        )

    @property
    def total(self) -> float:
        return float(self.weight.sum())

    @property
    def recall(self) -> np.ndarray:
        return _divided(self.tp, self.weight)

    @property
    def precision(self) -> np.ndarray:
        predicted = self.tp + self.fp
        return np.where(predicted == 0, 0.0, _divided(self.tp, predicted))

    @property
    def false_positive_rate(self) -> np.ndarray:
        return _divided(self.fp, self.total - self.weight)

    def f_measure(self, beta: float) -> np.ndarray:
        return f_measure(self.precision, self.recall, beta)

    @property
    def accuracy(self) -> float:
        return float(_divided(self.tp.sum(), self.total))

    def weighted(self, values: np.ndarray) -> float:
        """The label-weighted mean of per-label ``values``."""
        return float(_divided(np.sum(values * self.weight), self.total))


@dataclass(frozen=True)
class ThresholdCurves:
    """MLlib's ``BinaryClassificationMetrics`` curves from the binned scores: per curve point
    (decreasing ``thresholds``, each the lowest score of its bin) the cumulative weight ``tp``
    of positives and ``fp`` of negatives scored at least that. With ``P``, ``N`` the totals::

        recall = TPR = tp / P (0 if P = 0)     FPR = fp / N (0 if N = 0)
        precision = tp / (tp + fp)             (1 where nothing is predicted positive)

    ROC: (FPR, TPR) from (0, 0) to (1, 1); PR: (recall, precision) from (0, the first point's
    precision); the area under ROC is the trapezoids' between its points."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray

    @classmethod
    def of_bins(cls, thresholds: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> ThresholdCurves:
        """From each bin's weight of positives and negatives, bins in decreasing score order."""
        return cls(thresholds, np.cumsum(pos), np.cumsum(neg))

    @property
    def recall(self) -> np.ndarray:
        positives = self.tp[-1] if self.tp.size else 0.0
        return self.tp / positives if positives > 0 else np.zeros_like(self.tp)

    @property
    def false_positive_rate(self) -> np.ndarray:
        negatives = self.fp[-1] if self.fp.size else 0.0
        return self.fp / negatives if negatives > 0 else np.zeros_like(self.fp)

    @property
    def precision(self) -> np.ndarray:
        predicted = self.tp + self.fp
        return np.where(predicted == 0, 1.0, _divided(self.tp, predicted))

    def f_measure(self, beta: float) -> np.ndarray:
        return f_measure(self.precision, self.recall, beta)

    @property
    def roc(self) -> np.ndarray:
        """(FPR, TPR) rows, (0, 0) first and (1, 1) last."""
        return np.vstack([[0.0, 0.0], np.column_stack([self.false_positive_rate, self.recall]), [1.0, 1.0]])

    @property
    def pr(self) -> np.ndarray:
        """(recall, precision) rows, (0, the first point's precision) first."""
        precision = self.precision
        return np.vstack([[0.0, precision[0] if precision.size else 1.0], np.column_stack([self.recall, precision])])

    @property
    def area_under_roc(self) -> float:
        x, y = self.roc.T
        return float(np.sum(np.diff(x) * (y[1:] + y[:-1])) / 2.0)
