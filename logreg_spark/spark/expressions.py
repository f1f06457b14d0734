"""Scoring in the JVM: a model's margins, probabilities and log loss, and the checks of a row, as
Spark SQL expressions over the input's columns, with the coefficients as literals.

For a model of named numeric columns nothing a score needs is Python's, so its rows need not
leave the JVM: no Arrow batches to a Python worker and back. The expressions are the stable
forms :mod:`logreg_spark.core.binomial` and :mod:`~logreg_spark.core.multinomial` compute in
NumPy:

- margin ``m = Σⱼ xⱼ βⱼ + b`` (+ the row's offset; summed left to right; BLAS sums in another order, so the two
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

from ..core.decision import Decision
from ..core.family import Family
from ..errors import INVALID_ROWS, named
from .blocks import BAD_WEIGHT, LABEL, NOT_FINITE, WEIGHT, FeatureSpec, Problems, label_problem
from .session import is_connect

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
    """One problem a row can have: the input column it is reported under, its text, a test that
    is true on the rows without it (null counts as not true) and an example value (see
    :class:`~logreg_spark.spark.blocks.Problems`)."""

    column: str
    problem: str
    ok: Column
    value: Column

    @property
    def bad(self) -> Column:
        return ~F.coalesce(self.ok, F.lit(False))


def _number(name: str) -> Column:
    return F.col(f"`{name}`").cast("double")


def _finite(x: Column) -> Column:
    """|x| < ∞: false for ±∞ and NaN (larger than any number in Spark), null for null."""
    return F.abs(x) < F.lit(math.inf)


def _finite_check(name: str) -> Check:
    """The column ``name`` null, NaN or infinite (as ``feature_matrix`` and ``offsets`` report it)."""
    return Check(name, NOT_FINITE, _finite(_number(name)), F.coalesce(_number(name), F.lit(math.nan)))


def offset_checks(offset_col: str) -> tuple[Check, ...]:
    """The offset column's check (:func:`_finite_check`), or none without ``offset_col``."""
    return (_finite_check(offset_col),) if offset_col else ()


def label_checks(label_col: str, weight_col: str, classes: int) -> tuple[Check, ...]:
    """``LABEL`` not one of the ``classes`` integers 0, 1, …, and ``WEIGHT`` not a finite
    non-negative number (as ``labels_and_weights`` reports them)."""
    y, w = F.col(LABEL), F.col(WEIGHT)
    return (
        Check(
            label_col,
            label_problem(classes),
            (y >= 0) & (y < classes) & (y == F.floor(y)),
            F.coalesce(y, F.lit(math.nan)),
        ),
        Check(
            weight_col or WEIGHT,
            BAD_WEIGHT,
            _finite(w) & (w >= 0),
            F.coalesce(w, F.lit(math.nan)),
        ),
    )


@dataclass(frozen=True)
class RowChecks:
    """What a valid row is: its named feature columns hold finite numbers, and it has none of the
    problems of ``others`` (the label's and weight's)."""

    features: tuple[str, ...]
    others: tuple[Check, ...] = ()

    def valid(self) -> Column:
        """True on the valid rows, else false (never null). The features are tested by one sum,
        ``Σⱼ 0·xⱼ = 0`` (``0·x`` is NaN for ±∞ and NaN, null for null): a test per column made
        scoring 2,000,000 × 50 take 15 s against 8 s, probably because the stage's generated
        method grew past what the JVM compiles."""
        zero = F.lit(0.0)
        for name in self.features:
            zero = zero + _number(name) * F.lit(0.0)
        ok = zero == F.lit(0.0)
        for check in self.others:
            ok = ok & check.ok
        return F.coalesce(ok, F.lit(False))

    def valid_or_fail(self) -> Column:
        """True on the valid rows; any other row fails its task with its problems
        (``input.invalid = "error"`` where nothing counts the rows first)."""
        described = [F.when(check.bad, F.lit(f"column {check.column!r}: {check.problem}")) for check in self.checks]
        problems = F.concat_ws("; ", *described)
        message = F.concat(
            F.lit(INVALID_ROWS), problems, F.lit(f'); set {named("input.invalid")} = "skip" to drop them')
        )
        return F.when(self.valid(), F.lit(True)).otherwise(F.raise_error(message))

    @property
    def checks(self) -> list[Check]:
        """Every problem a row can have, each feature column's first."""
        return [*map(_finite_check, self.features), *self.others]


def observation(df: DataFrame, name: str) -> Observation:
    """An Observation of ``df``'s kind of session (pyspark picks by the environment, not by the
    session, and a process may hold both kinds)."""
    if is_connect(df.sparkSession):
        from pyspark.sql.connect.observation import Observation as ConnectObservation

        return ConnectObservation(name)  # type: ignore[return-value]  # its Connect twin
    return Observation(name)


def observed(df: DataFrame, rows: RowChecks) -> tuple[DataFrame, Observation]:
    """``df`` observed while it is computed: its number of invalid rows (one sum per row; the
    count of each problem is left to :func:`problems_of`, which looks only when there are any)."""
    watch = observation(df, "invalid rows")
    return df.observe(watch, F.sum(F.when(rows.valid(), 0).otherwise(1)).alias("invalid")), watch


def problems_of(df: DataFrame, observation: Observation, rows: RowChecks) -> Problems:
    """The problems of the rows of ``df`` (the frame :func:`observed` observed, after an action
    over it ran): none without reading ``df`` again when it had no invalid row, else each
    problem's count and first example, from one more pass over ``df``."""
    problems = Problems()
    if not observation.get.get("invalid"):
        return problems
    checks = rows.checks
    metrics = []
    for i, check in enumerate(checks):
        metrics.append(F.sum(F.when(check.bad, 1).otherwise(0)).alias(f"n{i}"))
        metrics.append(F.first(F.when(check.bad, check.value), ignorenulls=True).alias(f"e{i}"))
    found = df.agg(*metrics).first()
    assert found is not None, "an aggregation without grouping has exactly one row"
    for i, check in enumerate(checks):
        if found[f"n{i}"]:
            key = (check.column, check.problem)
            problems.counts[key] = problems.counts.get(key, 0) + int(found[f"n{i}"])
            problems.examples.setdefault(key, float(found[f"e{i}"]))
    return problems


def margins(
    spec: FeatureSpec, coefficients: np.ndarray, intercept: float | np.ndarray, offset_col: str = ""
) -> list[Column]:
    """Each margin ``Σⱼ xⱼ βₖⱼ + bₖ`` (one for a binomial model, K for K classes), plus the
    column ``offset_col`` when given; features whose coefficient is 0 are left out (they add
    exactly 0 to a valid row's margin)."""
    xs = [_number(name) for name in spec.columns]
    rows = np.atleast_2d(coefficients)
    sums = []
    for row, b in zip(rows, np.atleast_1d(intercept)):
        terms = [x * F.lit(float(beta)) for x, beta in zip(xs, row) if beta != 0.0]
        total = terms[0] if terms else F.lit(0.0)
        for term in terms[1:]:
            total = total + term
        total = total + F.lit(float(b))
        sums.append(total + _number(offset_col) if offset_col else total)
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


def prediction(decision: Decision, p: list[Column]) -> Column:
    """The predicted class as a double, as :meth:`~logreg_spark.core.decision.Decision.classes`:
    1.0 when P(label 1) exceeds the threshold, or the first class of the highest ``pₖ / tₖ``."""
    if not decision.family.is_multinomial:
        return (p[0] > decision.threshold).cast("double")
    if decision.class_thresholds:
        inf = float("inf")
        p = [F.when(pk > 0, inf).otherwise(-inf) if t == 0 else pk / t for pk, t in zip(p, decision.class_thresholds)]
    classes = F.array(*p)
    return (F.array_position(classes, F.array_max(classes)) - 1).cast("double")
