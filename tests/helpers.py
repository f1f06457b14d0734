"""Shared test helpers: single-process references and small data sets."""

from __future__ import annotations

import numpy as np
import pytest

from logreg_spark.core.family import BINOMIAL, Family


def reference_loss(X, y, w, coef, intercept) -> float:
    """The mean log loss written the textbook way (fine for moderate margins)."""
    h = 1.0 / (1.0 + np.exp(-(X @ coef + intercept)))
    return float(np.sum(w * -(y * np.log(h) + (1 - y) * np.log(1 - h))) / w.sum())


def small_problem(rows: int = 200, features: int = 4, seed: int = 1, weighted: bool = True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features)) * np.array([1.0, 10.0, 0.1, 3.0][:features] + [1.0] * (features - 4))
    X[:, 0] += 5.0  # a non-centred column
    y = (rng.random(rows) < 0.4).astype(float)
    w = rng.uniform(0.2, 3.0, rows) if weighted else np.ones(rows)
    return X, y, w


def family(classes: int) -> Family:
    """The tests' shorthand: 0 classes for the binomial model, K for the multinomial one."""
    return Family.multinomial(classes) if classes else BINOMIAL


def cached_items(data) -> list:
    """The prepared (handle, Problems) items of a ``TrainingData``, gathered on the driver by the
    reduction every pass uses."""

    def gather(acc, item, _):
        return [*(acc or []), item]

    return data.blocks.aggregate(gather, lambda a, b: (a or []) + (b or []), 1 << 10) or []


def assert_documents_close(got, expected, where: str = "metrics.json") -> None:
    """Equal JSON documents, numbers to 1e-12 (relative)."""
    if isinstance(expected, dict):
        assert sorted(got) == sorted(expected), where
        for key in expected:
            assert_documents_close(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), where
        for i, (a, b) in enumerate(zip(got, expected, strict=True)):
            assert_documents_close(a, b, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-12), where
    else:
        assert got == expected, where
