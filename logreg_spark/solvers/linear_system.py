"""The Newton system ``H d = −g``, solved where H is singular or badly scaled too."""

from __future__ import annotations

import numpy as np
from scipy import linalg

#: The damping μ of the Jacobi-scaled system ``H + μ D`` tried in turn until one factors.
DAMPINGS = (0.0, *(10.0**k for k in range(-10, 3)))


def newton_direction(hessian: np.ndarray, gradient: np.ndarray, least_damping: float = 0.0) -> np.ndarray:
    """Solve ``H d = −g`` by Cholesky; damp ``H`` when it is singular or indefinite.

    The system is first scaled by the Hessian's diagonal ``D`` (Jacobi), so
    that coordinates whose curvatures differ by many orders of magnitude
    (unstandardized penalties on features of scales 1e-6 and 1e6) are treated
    alike. Duplicated or constant columns make ``H`` singular:
    ``H + μ D`` with ``μ`` of :data:`DAMPINGS` from ``least_damping`` on is tried until it
    factors; if none does, the steepest-descent direction ``−g`` is returned.
    """
    scale, scaled = _jacobi(hessian)
    for damping in (d for d in DAMPINGS if d >= least_damping):
        factor = _cholesky(scaled, damping)
        if factor is None:
            continue
        direction = -linalg.cho_solve(factor, gradient / scale, check_finite=False) / scale
        if np.all(np.isfinite(direction)):
            return direction
    return -gradient


def factoring_damping(hessian: np.ndarray) -> float:
    """The least μ of :data:`DAMPINGS` at which ``H + μ D`` factors (the largest if none does). Every
    principal submatrix ``H_FF + μ D_FF`` of a positive definite one is positive definite, so
    systems on subsets of one Hessian's coordinates start their damping there."""
    scaled = _jacobi(hessian)[1]
    return next((d for d in DAMPINGS if _cholesky(scaled, d) is not None), DAMPINGS[-1])


def _jacobi(hessian: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(√D with zeros as 1, D^(-1/2) H D^(-1/2))."""
    diagonal = np.diag(hessian)
    scale = np.sqrt(np.where(diagonal > 0, diagonal, 1.0))
    return scale, hessian / np.outer(scale, scale)


def _cholesky(scaled: np.ndarray, damping: float) -> tuple[np.ndarray, bool] | None:
    """The Cholesky factor of ``scaled + damping I``, or None where it is not positive definite."""
    try:
        return linalg.cho_factor(scaled + damping * np.eye(len(scaled)), lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None
