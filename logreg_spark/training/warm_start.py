"""``model.init_model``: a previous model's coefficients as the training job's starting point.

The model is read at the job's edge, before the input is prepared, so that the
fit itself only matches the coefficients it is handed to the features and
classes it trains (which are known once the input is prepared).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import SparkSession

from ..artifacts.model_dir import INTERCEPT, arrange, read_coefficients
from ..core.family import Family
from ..errors import InputError


@dataclass(frozen=True)
class WarmStart:
    """The coefficients of the model at ``path`` as Arrow columns ``class``, ``feature`` and
    ``coefficient`` (see :func:`~logreg_spark.artifacts.model_dir.read_coefficients`)."""

    path: str
    coefficients: pa.Table

    def arranged(self, features: list[str], family: Family) -> tuple[np.ndarray, float | np.ndarray]:
        """(coefficients, intercept) in the order of ``features`` for a model of ``family``; a
        model of other features, family or classes is an :class:`InputError`."""
        names = set(pc.unique(self.coefficients.column("feature")).to_pylist()) - {INTERCEPT}
        missing, unexpected = set(features) - names, names - set(features)
        if missing or unexpected:
            raise InputError(
                f"model.init_model {self.path}: features do not match the input "
                f"(missing from the model: {sorted(missing)[:5]}, not in the input: {sorted(unexpected)[:5]})"
            )
        try:
            return arrange(self.coefficients, features, family)
        except KeyError:
            raise InputError(
                f"model.init_model {self.path}: not a model of the same family and classes ({family.described()})"
            ) from None


def read_warm_start(spark: SparkSession, path: str) -> WarmStart | None:
    """The model at ``path`` (``model.init_model``), or None when it is not set."""
    return WarmStart(path, read_coefficients(spark, path)) if path else None


@dataclass(frozen=True)
class KnownStart:
    """Coefficients already in the input's feature order and the model's family (from a tuning
    run's models), as a starting point."""

    coef: np.ndarray
    intercept: float | np.ndarray

    def arranged(self, features: list[str], family: Family) -> tuple[np.ndarray, float | np.ndarray]:
        return self.coef, self.intercept


#: Where a fit may start besides the intercept-only model.
StartingPoint = WarmStart | KnownStart
