"""The training rows as NumPy arrays, and their weighted statistics: no Spark, no Arrow.

A :class:`Block` is what every pass reads; a :class:`Summary` is what
preparation learns of all blocks once (counts, class weights, means and
second moments), from which the objective chooses its coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .columns import OwnColumns
from .sums import Features


class Block(NamedTuple):
    """Rows of training data: features ``X`` (n × d), labels ``y`` (0/1), weights ``w``, for
    cross-validation each row's ``fold`` id (:mod:`.folds`), else None, and each row's ``offset``
    (a fixed term of its margin, ``input.offset_col``), else None; ``own``, when the rows of a
    wide CSR ``X`` use few of its columns, those columns (:class:`~.columns.OwnColumns`).

    A dense ``X`` is column-major: both products of a pass (X·θ and rᵀX) run
    about three times faster with BLAS on it than on a row-major X of these
    shapes. Sparse features are a CSR array, never densified.
    """

    X: Features
    y: np.ndarray
    w: np.ndarray
    fold: np.ndarray | None = None
    offset: np.ndarray | None = None
    own: OwnColumns | None = None  # a wide CSR X's own columns, for the passes (:mod:`.columns`)

    def load(self) -> Block:
        """A block is its own handle (see :mod:`logreg_spark.block_store`)."""
        return self


ClassWeights = tuple[float, ...]  # a factor per label 0, 1, …


def effective_weights(block: Block, class_weights: ClassWeights | None) -> np.ndarray:
    """Row weights times their class's factor (``class_weight = "balanced"``)."""
    if class_weights is None:
        return block.w
    return block.w * np.asarray(class_weights)[block.y.astype(np.intp)]


def _padded_sum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a + b`` for per-class arrays that may stop at different labels."""
    total = np.zeros(max(a.size, b.size), dtype=np.result_type(a, b))
    total[: a.size] += a
    total[: b.size] += b
    return total


@dataclass
class Summary:
    """Weighted statistics of all rows (merged across blocks with Chan's formulas).

    ``std`` uses the unbiased weighted variance, as MLlib's summarizer does:
    ``Σ w (x − μ)² / (W − Σw²/W)``.
    """

    rows: int
    weight: float
    weight_sq: float
    class_weight: np.ndarray  # Σ w per label 0 … (largest label seen)
    class_rows: np.ndarray  # rows per label
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def of_block(cls, block: Block, class_weights: ClassWeights | None = None) -> Summary:
        X, y = block.X, block.y
        w = effective_weights(block, class_weights)
        total = float(w.sum())
        if isinstance(X, np.ndarray):
            mean = (w @ X) / total if total > 0 else np.zeros(X.shape[1])
            m2 = w @ np.square(X - mean) if X.shape[0] else np.zeros(X.shape[1])
        else:  # sparse: Σ w x² − W μ², without densifying
            mean = (X.T @ w) / total if total > 0 else np.zeros(X.shape[1])
            m2 = np.maximum(X.multiply(X).T @ w - total * mean * mean, 0.0)
        labels = y.astype(np.intp)
        return cls(X.shape[0], total, float(w @ w), np.bincount(labels, weights=w), np.bincount(labels), mean, m2)

    def merge(self, other: Summary) -> Summary:
        total = self.weight + other.weight
        if self.mean.shape != other.mean.shape:
            raise ValueError(f"blocks disagree on the number of features: {self.mean.size} and {other.mean.size}")
        if total > 0:
            delta = other.mean - self.mean
            mean = self.mean + delta * (other.weight / total)
            m2 = self.m2 + other.m2 + delta * delta * (self.weight * other.weight / total)
        else:
            mean, m2 = self.mean, self.m2 + other.m2
        return Summary(
            self.rows + other.rows,
            total,
            self.weight_sq + other.weight_sq,
            _padded_sum(self.class_weight, other.class_weight),
            _padded_sum(self.class_rows, other.class_rows),
            mean,
            m2,
        )

    @property
    def n_features(self) -> int:
        return self.mean.size

    @property
    def labels_seen(self) -> int:
        """1 + the largest label seen (labels are 0, 1, …)."""
        return self.class_rows.size

    def balanced_class_weights(self, classes: int) -> ClassWeights:
        """sklearn's "balanced": ``n / (K · n_class)`` for each of ``classes`` classes, from row counts."""
        return tuple(self.rows / (classes * float(n)) for n in self.class_rows[:classes])

    @property
    def std(self) -> np.ndarray:
        denominator = self.weight - self.weight_sq / self.weight if self.weight > 0 else 0.0
        if denominator <= 0:
            return np.zeros_like(self.m2)
        return np.sqrt(np.maximum(self.m2, 0.0) / denominator)
