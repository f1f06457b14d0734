"""From class probabilities to a predicted class: MLlib's ``threshold`` and ``thresholds``.

A binomial model predicts 1 when ``P(1) > t``. Class thresholds ``(t₀, t₁)``
mean the same rule at ``t = t₁ / (t₀ + t₁) = 1 / (1 + t₀/t₁)``: predicting the
class of the largest ``pₖ / tₖ`` gives 1 exactly when ``p₁ t₀ > (1 − p₁) t₁``,
i.e. ``p₁ > t₁ / (t₀ + t₁)`` (ties go to class 0 either way). A multinomial
model predicts the first class of the largest ``pₖ / tₖ``, or of the largest
``pₖ`` without thresholds. As in MLlib, a zero ``tₖ`` makes class k's ratio +∞
(always predicted), unless ``pₖ = 0`` too: then 0/0 is never the largest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .family import Family


def thresholds_problem(values: Sequence[float]) -> str | None:
    """Why ``values`` cannot be class thresholds (MLlib's rule), or None."""
    if any(v < 0 for v in values) or sum(v == 0 for v in values) > 1:
        return "must be >= 0 with at most one 0"
    return None


def binary_threshold(thresholds: Sequence[float]) -> float:
    """The threshold on P(1) that two class thresholds ``(t₀, t₁)`` stand for: ``1 / (1 + t₀/t₁)``."""
    t0, t1 = thresholds
    return 0.0 if t1 == 0 else 1.0 / (1.0 + t0 / t1)


def inconsistency(threshold: float, thresholds: Sequence[float]) -> str | None:
    """Why ``threshold`` and class ``thresholds``, both set, disagree (MLlib's check), or None."""
    if len(thresholds) != 2:
        return f"threshold applies to two classes; thresholds has {len(thresholds)} values"
    equivalent = binary_threshold(thresholds)
    if abs(equivalent - threshold) >= 1e-5:
        return (  # MLlib's wording, which Spark's tests match
            f"Logistic Regression getThreshold found inconsistent values for threshold ({threshold:g}) "
            f"and thresholds (equivalent to {equivalent:g}); set one of them"
        )
    return None


@dataclass(frozen=True)
class Decision:
    """How a model of ``family`` predicts: binomial at ``threshold`` on P(1), multinomial by
    ``class_thresholds`` (empty: the most probable class)."""

    family: Family
    threshold: float = 0.5
    class_thresholds: tuple[float, ...] = ()

    def classes(self, p: np.ndarray) -> np.ndarray:
        """The predicted classes (float64) of P(1) per row, or of the (n × K) class probabilities."""
        if not self.family.is_multinomial:
            return (p > self.threshold).astype(np.float64)
        if self.class_thresholds:
            with np.errstate(divide="ignore", invalid="ignore"):
                p = np.nan_to_num(p / np.asarray(self.class_thresholds), nan=-np.inf, posinf=np.inf, neginf=-np.inf)
        return p.argmax(axis=1).astype(np.float64)


def decision_of(family: Family, threshold: float, thresholds: Sequence[float], where: str) -> Decision:
    """The decision of a model of ``family`` at ``threshold``, or at class ``thresholds`` when
    they are given (one per class, else a :class:`ConfigError` naming ``where``)."""
    if not thresholds:
        return Decision(family, threshold)
    if len(thresholds) != family.classes:
        raise ConfigError(f"{where}: has {len(thresholds)} values; the model has {family.classes} classes")
    if family.is_multinomial:
        return Decision(family, threshold, tuple(float(t) for t in thresholds))
    return Decision(family, binary_threshold(thresholds))
