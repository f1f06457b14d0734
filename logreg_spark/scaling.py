"""Standardization as a change of coordinates, so the data is never rescaled.

Solvers work on ``θ = (β̃, b̃)``, the coefficients of features scaled to unit
standard deviation and, with an intercept, centred. The data is read on its
own scale with ``(β, b)``::

    βⱼ = β̃ⱼ / σⱼ        (0 where σⱼ = 0: constant features get coefficient 0, as in MLlib)
    b  = b̃ − Σⱼ μⱼ βⱼ   (μ = 0 without an intercept)

This map is linear, ``(β, b) = A θ``, so gradients and Hessians move back with
``Aᵀ g`` and ``Aᵀ H A``. Centring only improves the conditioning: the objective
is the same function, and the penalty applies to β̃ exactly as MLlib's does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FeatureScaling:
    inv_std: np.ndarray
    mean: np.ndarray
    fit_intercept: bool

    @classmethod
    def build(cls, mean: np.ndarray, std: np.ndarray, fit_intercept: bool) -> "FeatureScaling":
        inv_std = np.divide(1.0, std, out=np.zeros_like(std), where=std > 0)
        return cls(inv_std=inv_std, mean=mean if fit_intercept else np.zeros_like(mean),
                   fit_intercept=fit_intercept)

    @property
    def n_params(self) -> int:
        return self.inv_std.size + int(self.fit_intercept)

    def to_data(self, theta: np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
        """Solver coordinates → (coefficients, intercept) on the data's scale. ``theta`` is one
        model's coordinates, or one row per class (then the intercepts are an array)."""
        d = self.inv_std.size
        coef = theta[..., :d] * self.inv_std
        if not self.fit_intercept:
            intercept = np.zeros(theta.shape[:-1])
        else:
            intercept = theta[..., d] - coef @ self.mean
        return coef, (float(intercept) if theta.ndim == 1 else intercept)

    def from_data(self, coef: np.ndarray, intercept: float | np.ndarray) -> np.ndarray:
        """(coefficients, intercept) on the data's scale → solver coordinates (the inverse of
        :meth:`to_data`)."""
        scaled = np.divide(coef, self.inv_std, out=np.zeros_like(coef), where=self.inv_std > 0)
        if not self.fit_intercept:
            return scaled
        return np.concatenate([scaled, np.expand_dims(intercept + coef @ self.mean, -1)], axis=-1)

    def gradient_to_solver(self, grad: np.ndarray) -> np.ndarray:
        """``Aᵀ g`` for a data-scale gradient ``g = (g_β, g_b)`` (or one such row per class)."""
        d = self.inv_std.size
        g_coef = (grad[..., :d] - self.mean * grad[..., d:]) * self.inv_std
        return np.concatenate([g_coef, grad[..., d:]], axis=-1) if self.fit_intercept else g_coef

    def hessian_to_solver(self, hess: np.ndarray, classes: int = 1) -> np.ndarray:
        """``Aᵀ H A`` for a data-scale Hessian over ``(β, b)``, or over ``classes`` such blocks."""
        A = self.matrix()
        if classes > 1:
            A = np.kron(np.eye(classes), A)
        return A.T @ hess @ A

    def matrix(self) -> np.ndarray:
        """``A``, (d + 1) × n_params: solver coordinates → (β, b)."""
        d = self.inv_std.size
        A = np.zeros((d + 1, self.n_params))
        A[np.arange(d), np.arange(d)] = self.inv_std
        if self.fit_intercept:
            A[d, :d] = -self.mean * self.inv_std
            A[d, d] = 1.0
        return A
