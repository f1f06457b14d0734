"""The Newton system ``H d = −g``, solved where H is singular or badly scaled too."""

from __future__ import annotations

import numpy as np
from scipy import linalg


def newton_direction(hessian: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """Solve ``H d = −g`` by Cholesky; damp ``H`` when it is singular or indefinite.

    The system is first scaled by the Hessian's diagonal ``D`` (Jacobi), so
    that coordinates whose curvatures differ by many orders of magnitude
    (unstandardized penalties on features of scales 1e-6 and 1e6) are treated
    alike. Duplicated or constant columns make ``H`` singular:
    ``H + μ D`` with ``μ`` growing from 1e-10 is tried until it factors; if
    none does, the steepest-descent direction ``−g`` is returned.
    """
    diagonal = np.diag(hessian)
    scale = np.sqrt(np.where(diagonal > 0, diagonal, 1.0))
    scaled = hessian / np.outer(scale, scale)
    for damping in [0.0, *(10.0**k for k in range(-10, 3))]:
        try:
            factor = linalg.cho_factor(scaled + damping * np.eye(len(gradient)), lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            continue
        direction = -linalg.cho_solve(factor, gradient / scale, check_finite=False) / scale
        if np.all(np.isfinite(direction)):
            return direction
    return -gradient
