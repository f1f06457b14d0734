"""Synthetic binary classification data, for the sample dataset, tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .binomial import sigmoid


class LogisticModel:
    """A random logistic model to draw rows from.

    Column ``j`` has standard deviation ``condition ** (j / (features − 1))``,
    so ``condition`` sets the ratio of the largest to the smallest feature scale;
    ``noise`` shrinks the true coefficients (larger noise, less separable).
    """

    def __init__(self, features: int, *, seed: int, condition: float, noise: float) -> None:
        self.rng = np.random.default_rng(seed)
        self.scales = condition ** (np.arange(features) / max(features - 1, 1))
        self.coef = self.rng.standard_normal(features) / self.scales / np.sqrt(features) * 2.0 / noise
        self.intercept = 0.0

    def set_positive_rate(self, rate: float, sample_rows: int = 100_000) -> None:
        """Choose the intercept so that about ``rate`` of the labels are 1."""
        X = self.rng.standard_normal((sample_rows, self.scales.size)) * self.scales
        self.intercept = -float(np.quantile(X @ self.coef, 1.0 - rate))

    def draw(self, rows: int) -> tuple[np.ndarray, np.ndarray]:
        X = self.rng.standard_normal((rows, self.scales.size)) * self.scales
        y = (self.rng.random(rows) < sigmoid(X @ self.coef + self.intercept)).astype(np.float64)
        return X, y


def make_classification(rows: int, features: int, *, seed: int = 0, condition: float = 1.0,
                        positive_rate: float = 0.5, noise: float = 1.0
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(X, y, true coefficients with the intercept last)``; see :class:`LogisticModel`."""
    model = LogisticModel(features, seed=seed, condition=condition, noise=noise)
    model.set_positive_rate(positive_rate)
    X, y = model.draw(rows)
    return X, y, np.append(model.coef, model.intercept)


def _table(X: np.ndarray, y: np.ndarray, names: list[str]) -> pa.Table:
    return pa.table({**{n: X[:, j] for j, n in enumerate(names)}, "label": y.astype(np.int64)})


def write_parquet(path: str | Path, X: np.ndarray, y: np.ndarray, *, files: int = 1,
                  names: list[str] | None = None) -> list[str]:
    """Write ``X`` as columns ``x0..`` (or ``names``) and ``label`` as ``files`` Parquet files."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    names = names or [f"x{j}" for j in range(X.shape[1])]
    for part, rows in enumerate(np.array_split(np.arange(X.shape[0]), files)):
        pq.write_table(_table(X[rows], y[rows], names), path / f"part-{part:05d}.parquet")
    return names


def write_classification(path: str | Path, rows: int, features: int, *, files: int, seed: int = 0,
                         condition: float = 1.0, positive_rate: float = 0.5, noise: float = 1.0) -> list[str]:
    """Draw ``rows`` from one :class:`LogisticModel` file by file, never holding them all in memory."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model = LogisticModel(features, seed=seed, condition=condition, noise=noise)
    model.set_positive_rate(positive_rate)
    names = [f"x{j}" for j in range(features)]
    for part, count in enumerate(np.diff(np.linspace(0, rows, files + 1).astype(int))):
        X, y = model.draw(int(count))
        pq.write_table(_table(X, y, names), path / f"part-{part:05d}.parquet")
    return names
