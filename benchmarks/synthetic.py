"""Synthetic classification data for the sample dataset, the tests and the benchmarks (not part of the package)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import sparse

from logreg_spark.core.binomial import sigmoid


class LogisticModel:
    """A random logistic model to draw rows from.

    Column ``j`` has standard deviation ``condition ** (j / (features − 1))``,
    so ``condition`` sets the ratio of the largest to the smallest feature scale;
    ``noise`` shrinks the true coefficients (larger noise, less separable); ``mixing`` > 0
    correlates the columns: the rows are multiplied by ``I + mixing · N(0, 1)`` (d × d).
    """

    def __init__(self, features: int, *, seed: int, condition: float, noise: float, mixing: float = 0.0) -> None:
        self.rng = np.random.default_rng(seed)
        self.scales = condition ** (np.arange(features) / max(features - 1, 1))
        self.coef = self.rng.standard_normal(features) / self.scales / np.sqrt(features) * 2.0 / noise
        self.intercept = 0.0
        self.mixing = np.eye(features) + mixing * self.rng.standard_normal((features, features)) if mixing else None

    def _features(self, rows: int) -> np.ndarray:
        X = self.rng.standard_normal((rows, self.scales.size)) * self.scales
        return X if self.mixing is None else X @ self.mixing

    def set_positive_rate(self, rate: float, sample_rows: int = 100_000) -> None:
        """Choose the intercept so that about ``rate`` of the labels are 1."""
        X = self._features(sample_rows)
        self.intercept = -float(np.quantile(X @ self.coef, 1.0 - rate))

    def draw(self, rows: int) -> tuple[np.ndarray, np.ndarray]:
        X = self._features(rows)
        y = (self.rng.random(rows) < sigmoid(X @ self.coef + self.intercept)).astype(np.float64)
        return X, y


def make_classification(
    rows: int, features: int, *, seed: int = 0, condition: float = 1.0, positive_rate: float = 0.5, noise: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(X, y, true coefficients with the intercept last)``; see :class:`LogisticModel`."""
    model = LogisticModel(features, seed=seed, condition=condition, noise=noise)
    model.set_positive_rate(positive_rate)
    X, y = model.draw(rows)
    return X, y, np.append(model.coef, model.intercept)


def _table(X: np.ndarray, y: np.ndarray, names: list[str]) -> pa.Table:
    return pa.table({**{n: X[:, j] for j, n in enumerate(names)}, "label": y.astype(np.int64)})


def write_parquet(
    path: str | Path, X: np.ndarray, y: np.ndarray, *, files: int = 1, names: list[str] | None = None
) -> list[str]:
    """Write ``X`` as columns ``x0..`` (or ``names``) and ``label`` as ``files`` Parquet files."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    names = names or [f"x{j}" for j in range(X.shape[1])]
    for part, rows in enumerate(np.array_split(np.arange(X.shape[0]), files)):
        pq.write_table(_table(X[rows], y[rows], names), path / f"part-{part:05d}.parquet")
    return names


def write_classification(
    path: str | Path,
    rows: int,
    features: int,
    *,
    files: int,
    seed: int = 0,
    condition: float = 1.0,
    positive_rate: float = 0.5,
    noise: float = 1.0,
    mixing: float = 0.0,
) -> list[str]:
    """Draw ``rows`` from one :class:`LogisticModel` file by file, never holding them all in memory."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model = LogisticModel(features, seed=seed, condition=condition, noise=noise, mixing=mixing)
    model.set_positive_rate(positive_rate)
    names = [f"x{j}" for j in range(features)]
    for part, count in enumerate(np.diff(np.linspace(0, rows, files + 1).astype(int))):
        X, y = model.draw(int(count))
        pq.write_table(_table(X, y, names), path / f"part-{part:05d}.parquet")
    return names


def _labels(rng: np.random.Generator, margin: np.ndarray, positive_rate: float) -> np.ndarray:
    """Bernoulli labels of ``margin`` shifted so that about ``positive_rate`` of them are 1."""
    shifted = margin - np.quantile(margin, 1.0 - positive_rate)
    return (rng.random(margin.size) < sigmoid(shifted)).astype(np.float64)


def zipf_one_hot(
    rows: int, fields: int, levels: int, *, seed: int = 0, exponent: float = 1.1, positive_rate: float = 0.3
) -> tuple[sparse.csr_array, np.ndarray]:
    """One-hot categories: ``fields`` categorical columns of ``levels`` levels each, drawn with
    Zipf frequencies (level k with probability ∝ k^−exponent, most levels seen once or twice or
    never), as a CSR array of ``fields · levels`` indicator columns; labels from a random effect
    per level. Returns ``(X, y)``."""
    rng = np.random.default_rng(seed)
    weights = np.arange(1, levels + 1, dtype=float) ** -exponent
    drawn = rng.choice(levels, size=(rows, fields), p=weights / weights.sum())
    columns = drawn + levels * np.arange(fields)
    X = sparse.csr_array(
        (np.ones(rows * fields), columns.ravel(), np.arange(0, rows * fields + 1, fields)),
        shape=(rows, fields * levels),
    )
    effects = rng.standard_normal(fields * levels) * 1.5 / np.sqrt(fields)
    return X, _labels(rng, X @ effects, positive_rate)


def lognormal_sparse(
    rows: int,
    features: int,
    nonzeros: int,
    *,
    seed: int = 0,
    low: float = 1e-4,
    high: float = 1e3,
    positive_rate: float = 0.3,
) -> tuple[sparse.csr_array, np.ndarray]:
    """Real-valued sparse features (TF-IDF- or count-like): about ``nonzeros`` per row, feature j on a
    scale drawn log-uniformly from [``low``, ``high``], values lognormal around it; labels from a
    coefficient per feature of the inverse scale. Returns ``(X, y)``."""
    rng = np.random.default_rng(seed)
    scale = np.exp(rng.uniform(np.log(low), np.log(high), features))
    columns = rng.integers(0, features, (rows, nonzeros))
    values = scale[columns] * rng.lognormal(0.0, 1.0, (rows, nonzeros))
    X = sparse.csr_array(
        (values.ravel(), columns.ravel(), np.arange(0, rows * nonzeros + 1, nonzeros)), shape=(rows, features)
    )
    X.sum_duplicates()
    coef = rng.standard_normal(features) / scale * 2.0 / np.sqrt(nonzeros)
    return X, _labels(rng, X @ coef, positive_rate)


def multiclass_labels(X: np.ndarray | sparse.csr_array, classes: int, *, seed: int = 0) -> np.ndarray:
    """Labels 0 … classes − 1 drawn from random softmax coefficients over ``X``'s standardized
    columns (each class's margin of standard deviation about 1.5)."""
    rng = np.random.default_rng(seed)
    mean = np.asarray(X.mean(axis=0)).ravel()
    square = X.multiply(X).mean(axis=0) if sparse.issparse(X) else np.mean(X * X, axis=0)
    std = np.sqrt(np.maximum(np.asarray(square).ravel() - mean * mean, 0.0))
    inv_std = np.divide(1.0, std, out=np.zeros_like(std), where=std > 0)
    coef = rng.standard_normal((X.shape[1], classes)) * inv_std[:, None] * 1.5 / np.sqrt(max(np.count_nonzero(std), 1))
    margins = np.asarray(X @ coef) - mean @ coef
    P = np.exp(margins - margins.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    return (P.cumsum(axis=1) < rng.random((X.shape[0], 1))).sum(axis=1).astype(np.float64)
