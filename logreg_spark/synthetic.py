"""Synthetic binary classification data, for the sample dataset, tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .binomial import sigmoid


def make_classification(
    rows: int,
    features: int,
    *,
    seed: int = 0,
    condition: float = 1.0,
    positive_rate: float = 0.5,
    noise: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(X, y, true_coef)`` drawn from a logistic model.

    Column ``j`` of ``X`` has standard deviation ``condition ** (j / (features − 1))``,
    so ``condition`` sets the ratio of the largest to the smallest feature scale.
    The intercept is chosen so that about ``positive_rate`` of the labels are 1;
    ``noise`` scales the margin down (larger noise, less separable).
    """
    rng = np.random.default_rng(seed)
    scales = condition ** (np.arange(features) / max(features - 1, 1))
    X = rng.standard_normal((rows, features)) * scales
    coef = rng.standard_normal(features) / scales / np.sqrt(features) * 2.0 / noise
    margin = X @ coef
    intercept = np.quantile(margin, 1.0 - positive_rate) * -1.0
    y = (rng.random(rows) < sigmoid(margin + intercept)).astype(np.float64)
    return X, y, np.append(coef, intercept)


def write_parquet(path: str | Path, X: np.ndarray, y: np.ndarray, *, files: int = 1,
                  names: list[str] | None = None) -> list[str]:
    """Write ``X`` as columns ``x0..`` (or ``names``) and ``label`` as ``files`` Parquet files."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    names = names or [f"x{j}" for j in range(X.shape[1])]
    for part, rows in enumerate(np.array_split(np.arange(X.shape[0]), files)):
        table = pa.table({**{n: X[rows, j] for j, n in enumerate(names)}, "label": y[rows].astype(np.int64)})
        pq.write_table(table, path / f"part-{part:05d}.parquet")
    return names
