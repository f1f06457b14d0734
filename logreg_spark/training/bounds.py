"""MLlib's bounds of a fit, read from the conf once the data says the model's shape.

``model.*_bounds_on_coefficients`` must be K × d and ``model.*_bounds_on_intercepts``
of length K, with K = 1 for a binomial model and the number of classes for a
multinomial one (``model.family = "auto"`` decides by the labels, as MLlib), and d
the number of features read. Bounds are on the coefficients of the data's scale,
whatever ``model.standardization`` (MLlib's meaning).
"""

from __future__ import annotations

import numpy as np

from ..core.bounds import Bounds, excluded_zero
from ..core.family import Family
from ..core.scaling import FeatureScaling
from ..errors import ConfigError, InputError
from ..settings.bounds import COEFFICIENT_KEYS, INTERCEPT_KEYS
from ..settings.schema import ModelConf
from ..settings.sections import WHERE


def bounds_of(conf: ModelConf, family: Family, n_features: int) -> Bounds | None:
    """The data-scale bounds ``conf`` sets for a model of ``family`` on ``n_features`` features
    (None when it sets none); a shape that does not fit is a :class:`ConfigError` naming the key."""
    if all(getattr(conf, key) is None for key in COEFFICIENT_KEYS + INTERCEPT_KEYS):
        return None
    margins = family.n_margins
    expected = {key: (margins, n_features) for key in COEFFICIENT_KEYS} | {key: (margins,) for key in INTERCEPT_KEYS}
    arrays = []
    for key, fill in zip(COEFFICIENT_KEYS + INTERCEPT_KEYS, (-np.inf, np.inf, -np.inf, np.inf)):
        value = getattr(conf, key)
        if value is None:
            arrays.append(np.full(expected[key], fill))
            continue
        array = np.array(value, dtype=float)
        if array.shape != expected[key]:
            raise ConfigError(
                f"{WHERE.get()(f'model.{key}')}: model.{key} is {_shape(array.shape)} but the model "
                f"({family.described()}, {n_features} features) needs {_shape(expected[key])}"
            )
        arrays.append(array)
    return Bounds(*arrays)


def _shape(shape: tuple[int, ...]) -> str:
    return " x ".join(map(str, shape))


def check_constant_features(bounds: Bounds, scaling: FeatureScaling, names: list[str]) -> None:
    """Refuse bounds that exclude 0 for a feature constant in the data: its coefficient is 0 (as
    MLlib's and glmnet's), which such bounds forbid (MLlib reports 0 anyway)."""
    excluded = excluded_zero(bounds, scaling)
    if excluded.size:
        raise InputError(
            f"feature {names[excluded[0]]!r} is constant in the data, so its coefficient is 0, "
            "but model.lower_bounds_on_coefficients / model.upper_bounds_on_coefficients exclude 0 for it"
        )
