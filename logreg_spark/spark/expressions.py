"""Scoring in the JVM: a model's margins, probabilities and log loss, and the checks of a row, as
Spark SQL expressions over the input's columns, with the coefficients as literals.

For a model of named numeric columns nothing a score needs is Python's, so its rows need not
leave the JVM: no Arrow batches to a Python worker and back. The expressions are the stable
forms :mod:`logreg_spark.core.binomial` and :mod:`~logreg_spark.core.multinomial` compute in
NumPy:

- margin ``m = Σⱼ xⱼ βⱼ + b`` (summed left to right; BLAS sums in another order, so the two
  agree to rounding: about 1e-16 of ``Σⱼ |xⱼ βⱼ|``);
- ``σ(m) = (m ≥ 0 ? 1 : e) / (1 + e)`` with ``e = exp(−|m|)``, exact for any margin;
- ``log(1 + e^m) = max(m, 0) + log1p(exp(−|m|))``, the log loss of a row being that of ``s·m``
  with ``s = 1 − 2y``;
- the class probabilities ``exp(mₖ − M − log Σₗ exp(mₗ − M))`` with ``M = maxₗ mₗ``.

A row's checks are what :func:`~logreg_spark.spark.blocks.feature_matrix` and
:func:`~logreg_spark.spark.blocks.labels_and_weights` check, each with the same column and
problem text, so that their counts (:func:`observed`, :func:`problems_of`) make the same
messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from ..core.family import Family
from .blocks import LABEL, WEIGHT, FeatureSpec, Problems

#: The most coefficients (features × margins) a model scored by expressions has; a wider one is
#: scored in Python. Spark compiles one method per projection, and a sum of thousands of terms
#: falls back to interpreting it.
MAX_TERMS = 1024


def expressible(spec: FeatureSpec, hashed: bool, family: Family) -> bool:
    """Whether a model is scored by expressions: its features are named numeric columns (not
    hashed, not an array, Vector or index/value input) and it has at most :data:`MAX_TERMS`
    coefficients."""
    return bool(spec.columns) and not hashed and len(spec.columns) * family.n_margins <= MAX_TERMS


@dataclass(frozen=True)
class Check:
    """One problem a row can have: the input column it is reported under, its text, the rows that
    have it and an example value (see :class:`~logreg_spark.spark.blocks.Problems`)."""

    column: str
    problem: str
    bad: Column
    value: Column


def _number(name: str) -> Column:
    return F.col(f"`{name}`").cast("double")


def _not_finite(x: Column) -> Column:
    """Null, NaN or ±∞ (Spark's NaN equals NaN, so ``isnan`` tests it)."""
    return x.isNull() | F.isnan(x) | (F.abs(x) == F.lit(math.inf))


def feature_checks(spec: FeatureSpec) -> list[Check]:
    """Each named feature column: null, NaN or infinite (as ``feature_matrix`` reports it)."""
    return [
        Check(name, "NaN, infinite or null", _not_finite(_number(name)), F.coalesce(_number(name), F.lit(math.nan)))
        for name in spec.columns
    ]


def label_checks(label_col: str, weight_col: str, classes: int) -> list[Check]:
    """``LABEL`` not one of the ``classes`` integers 0, 1, …, and ``WEIGHT`` not a finite
    non-negative number (as ``labels_and_weights`` reports them)."""
    y, w = F.col(LABEL), F.col(WEIGHT)
    allowed = "0 or 1" if classes == 2 else f"a class 0 … {classes - 1}"
    label_ok = F.coalesce((y >= 0) & (y < classes) & (y == F.floor(y)), F.lit(False))
    return [
        Check(label_col, f"not {allowed} (or null/NaN)", ~label_ok, F.coalesce(y, F.lit(math.nan))),
        Check(
            weight_col or WEIGHT,
            "negative, NaN, infinite or null",
            _not_finite(w) | F.coalesce(w < 0, F.lit(False)),
            F.coalesce(w, F.lit(math.nan)),
        ),
    ]


def valid(checks: list[Check]) -> Column:
    """True on the rows without any of the problems."""
    bad = F.lit(False)
    for check in checks:
        bad = bad | check.bad
    return ~bad


def valid_or_fail(checks: list[Check]) -> Column:
    """True on the rows without any of the problems; any other row fails its task with its
    problems (``input.invalid = "error"`` where nothing counts the rows first)."""
    described = [F.when(check.bad, F.lit(f"column {check.column!r}: {check.problem}")) for check in checks]
    problems = F.concat_ws("; ", *described)
    message = F.concat(F.lit("invalid rows ("), problems, F.lit('); set input.invalid = "skip" to drop them'))
    return F.when(valid(checks), F.lit(True)).otherwise(F.raise_error(message))


def observed(df: DataFrame, checks: list[Check]) -> tuple[DataFrame, Observation]:
    """``df`` observed while it is computed: each check's count of rows and first example value
    (read with :func:`problems_of` once an action over the result ran)."""
    observation = Observation("invalid rows")
    metrics = []
    for i, check in enumerate(checks):
        metrics.append(F.sum(F.when(check.bad, 1).otherwise(0)).alias(f"n{i}"))
        metrics.append(F.first(F.when(check.bad, check.value), ignorenulls=True).alias(f"e{i}"))
    return df.observe(observation, *metrics), observation


def problems_of(observation: Observation, checks: list[Check]) -> Problems:
    """The problems :func:`observed` counted."""
    found, problems = observation.get, Problems()
    for i, check in enumerate(checks):
        n = int(found.get(f"n{i}") or 0)
        if n:
            key = (check.column, check.problem)
            problems.counts[key] = problems.counts.get(key, 0) + n
            problems.examples.setdefault(key, float(found[f"e{i}"]))
    return problems


def margins(spec: FeatureSpec, coefficients: np.ndarray, intercept: float | np.ndarray) -> list[Column]:
    """Each margin ``Σⱼ xⱼ βₖⱼ + bₖ`` (one for a binomial model, K for K classes); features whose
    coefficient is 0 are left out (they add exactly 0 to a valid row's margin)."""
    xs = [_number(name) for name in spec.columns]
    rows = np.atleast_2d(coefficients)
    sums = []
    for row, b in zip(rows, np.atleast_1d(intercept)):
        terms = [x * F.lit(float(beta)) for x, beta in zip(xs, row) if beta != 0.0]
        total = terms[0] if terms else F.lit(0.0)
        for term in terms[1:]:
            total = total + term
        sums.append(total + F.lit(float(b)))
    return sums


def _softplus_and_sigmoid(m: Column) -> tuple[Column, Column]:
    e = F.exp(-F.abs(m))
    return F.greatest(m, F.lit(0.0)) + F.log1p(e), F.when(m >= 0, F.lit(1.0)).otherwise(e) / (1.0 + e)


def _log_softmax(margin: list[Column]) -> list[Column]:
    top = F.greatest(*margin)
    shifted = [m - top for m in margin]
    total = F.exp(shifted[0])
    for s in shifted[1:]:
        total = total + F.exp(s)
    log_total = F.log(total)
    return [s - log_total for s in shifted]


def probabilities(family: Family, margin: list[Column]) -> list[Column]:
    """P(label 1) of a binomial margin, or the K class probabilities."""
    if family.is_multinomial:
        return [F.exp(log_p) for log_p in _log_softmax(margin)]
    return [_softplus_and_sigmoid(margin[0])[1]]


def row_log_loss(family: Family, margin: list[Column], y: Column) -> Column:
    """``−log P(y)`` of a row, exact for any margin."""
    if family.is_multinomial:
        return -F.element_at(F.array(*_log_softmax(margin)), y.cast("int") + 1)
    return _softplus_and_sigmoid((1.0 - 2.0 * y) * margin[0])[0]


def prediction(family: Family, p: list[Column], threshold: float) -> Column:
    """The predicted class as a double: 1.0 when P(label 1) exceeds ``threshold``, or the first
    class of the highest probability (as ``argmax``)."""
    if family.is_multinomial:
        classes = F.array(*p)
        return (F.array_position(classes, F.array_max(classes)) - 1).cast("double")
    return (p[0] > threshold).cast("double")
