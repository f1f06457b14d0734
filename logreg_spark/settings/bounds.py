"""The conf's checks of MLlib's bounds on coefficients and intercepts (``model.*_bounds_on_*``).

What can be checked without the data: every row of a coefficient matrix as
long as the others, no NaN, a non-empty box (lower ≤ upper wherever both are
given, lower < ∞, upper > −∞), intercept bounds only with an intercept, L2
only (``model.elastic_net_param = 0``, MLlib's rule), and a solver that
takes bounds. The shapes against the model's (classes × features) are
checked once the data is read (:mod:`logreg_spark.training.bounds`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError
from .sections import Where

if TYPE_CHECKING:
    from .schema import ModelConf

#: The bound keys of ``[model]``: two coefficient matrices (K rows of d) and two intercept vectors (K).
COEFFICIENT_KEYS = ("lower_bounds_on_coefficients", "upper_bounds_on_coefficients")
INTERCEPT_KEYS = ("lower_bounds_on_intercepts", "upper_bounds_on_intercepts")


def bound_keys_set(model: ModelConf) -> list[str]:
    """The bound keys ``model`` sets, as ``model.<key>``."""
    return [f"model.{key}" for key in COEFFICIENT_KEYS + INTERCEPT_KEYS if getattr(model, key) is not None]


def check_bounds(model: ModelConf, where: Where) -> None:
    """The checks of the module docstring that need only the ``[model]`` section."""
    keys = bound_keys_set(model)
    if not keys:
        return
    if model.elastic_net_param != 0:
        raise ConfigError(
            f"{where('model.elastic_net_param')}: bounds ({keys[0]}) support L2 only, as in MLlib: "
            f"model.elastic_net_param must be 0 (got {model.elastic_net_param})"
        )
    if not model.fit_intercept and any(getattr(model, key) is not None for key in INTERCEPT_KEYS):
        key = next(key for key in INTERCEPT_KEYS if getattr(model, key) is not None)
        raise ConfigError(f"{where(f'model.{key}')}: model.{key} needs model.fit_intercept = true")
    arrays = {}
    for key in COEFFICIENT_KEYS + INTERCEPT_KEYS:
        value = getattr(model, key)
        if value is None:
            continue
        if key in COEFFICIENT_KEYS and len({len(row) for row in value}) > 1:
            raise ConfigError(f"{where(f'model.{key}')}: model.{key} has rows of different lengths")
        array = np.array(value, dtype=float)
        if array.size == 0 or np.isnan(array).any():
            raise ConfigError(f"{where(f'model.{key}')}: model.{key} must be non-empty numbers, not NaN")
        arrays[key] = array
    for lower, upper in (COEFFICIENT_KEYS, INTERCEPT_KEYS):
        _check_order(arrays.get(lower), arrays.get(upper), lower, upper, where)


def _check_order(
    lower: np.ndarray | None, upper: np.ndarray | None, lower_key: str, upper_key: str, where: Where
) -> None:
    """A non-empty box: lower < ∞, upper > −∞, and lower ≤ upper (same shapes) when both are set."""
    if lower is not None and (lower == np.inf).any():
        raise ConfigError(f"{where(f'model.{lower_key}')}: model.{lower_key} must be < inf")
    if upper is not None and (upper == -np.inf).any():
        raise ConfigError(f"{where(f'model.{upper_key}')}: model.{upper_key} must be > -inf")
    if lower is None or upper is None:
        return
    if lower.shape != upper.shape:
        raise ConfigError(
            f"{where(f'model.{upper_key}')}: model.{lower_key} is {_shape(lower)} but model.{upper_key} "
            f"is {_shape(upper)}; they must have the same shape"
        )
    if (lower > upper).any():
        index = tuple(int(i) for i in np.argwhere(lower > upper)[0])
        raise ConfigError(
            f"{where(f'model.{upper_key}')}: model.{lower_key} must be <= model.{upper_key} everywhere, "
            f"as in MLlib (at {index}: {lower[index]} > {upper[index]})"
        )


def _shape(array: np.ndarray) -> str:
    return " x ".join(map(str, array.shape))


def check_bounded_solver(model: ModelConf, solver: str, where: Where) -> None:
    """Bounds need a solver that takes them: ``lbfgs`` (or ``auto``, which picks it)."""
    keys = bound_keys_set(model)
    if keys and solver in ("newton", "gd"):
        raise ConfigError(
            f'{where("solver.name")}: solver.name = "{solver}" does not take bounds ({keys[0]}); '
            'use "lbfgs" (or "auto")'
        )
