"""The true optimum of the training objective, computed without this project's solvers or coordinates.

The objective is written out in the original coordinates (β, b), the textbook
way: weighted mean log loss (binomial or softmax) plus MLlib's elastic net on
β. A fitted model is certified by the Newton decrement of that objective: with
``g`` the minimum-norm subgradient and ``H`` the exact Hessian of the smooth
part on the free coordinates (intercepts, non-zero coefficients, and zero
coefficients whose subgradient does not contain 0), the gap to the optimum is
``½ gᵀ H⁻¹ g`` to second order, whatever the coordinates the model came from.
(The multinomial model's directions that only the penalty sees are checked
apart: see :meth:`Problem.gap`.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import log_softmax, softmax


@dataclass(frozen=True)
class Problem:
    """Rows ``X`` (dense or CSR), labels ``y``, weights ``w``, the model's settings, and (binomial)
    each row's ``offset``, a fixed term of its margin."""

    X: np.ndarray | sparse.csr_array
    y: np.ndarray
    w: np.ndarray
    reg_param: float
    elastic_net_param: float
    standardization: bool
    classes: int = 0  # 0: binomial
    offset: np.ndarray | None = None

    @property
    def margins(self) -> int:
        return max(self.classes, 1)

    def std(self) -> np.ndarray:
        """MLlib's unbiased weighted standard deviation of each column."""
        W = self.w.sum()
        mean = np.asarray(self.X.T @ self.w).ravel() / W
        sq = np.asarray((self.X.multiply(self.X) if sparse.issparse(self.X) else self.X * self.X).T @ self.w).ravel()
        var = np.maximum(sq - W * mean * mean, 0.0) / (W - (self.w @ self.w) / W)
        return np.sqrt(var)

    def strengths(self) -> tuple[np.ndarray, np.ndarray]:
        """(l2, l1) per coefficient (margins × d), 0 for constant columns (whose coefficient is 0)."""
        std = self.std()
        unit = (std > 0).astype(float)
        l2 = self.reg_param * (1 - self.elastic_net_param) * (std * std if self.standardization else unit)
        l1 = self.reg_param * self.elastic_net_param * (std if self.standardization else unit)
        return np.tile(l2, (self.margins, 1)), np.tile(l1, (self.margins, 1))

    def smooth(self, coef: np.ndarray, intercept: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(value, gradient, residual weights) of the loss + L2 part; gradient is margins × (d + 1)."""
        coef, intercept = np.atleast_2d(coef), np.atleast_1d(intercept)
        W = self.w.sum()
        Z = np.asarray(self.X @ coef.T) + intercept
        if self.offset is not None:
            Z = Z + self.offset[:, None]
        l2, _ = self.strengths()
        if self.classes:
            logp = log_softmax(Z, axis=1)
            loss = -logp[np.arange(len(self.y)), self.y.astype(int)]
            R = softmax(Z, axis=1)
            R[np.arange(len(self.y)), self.y.astype(int)] -= 1.0
        else:
            z = Z[:, 0]
            loss = np.logaddexp(0.0, z) - self.y * z
            R = (1.0 / (1.0 + np.exp(-z)) - self.y)[:, None]
        R = R * self.w[:, None] / W
        grad = np.concatenate([np.asarray(self.X.T @ R).T + l2 * coef, R.sum(axis=0)[:, None]], axis=1)
        value = float(self.w @ loss) / W + 0.5 * float(np.sum(l2 * coef * coef))
        return value, grad, Z

    def objective(self, coef: np.ndarray, intercept: np.ndarray) -> float:
        _, l1 = self.strengths()
        return self.smooth(coef, intercept)[0] + float(np.sum(l1 * np.abs(np.atleast_2d(coef))))

    def hessian(self, Z: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """The smooth part's Hessian over every margin's (β_columns, b), margin-major."""
        W = self.w.sum()
        Xc = self.X[:, columns]
        Xc = (
            sparse.hstack([Xc, np.ones((Xc.shape[0], 1))]).tocsr()
            if sparse.issparse(Xc)
            else np.column_stack([Xc, np.ones(Xc.shape[0])])
        )
        l2, _ = self.strengths()
        m = columns.size + 1
        H = np.zeros((self.margins * m, self.margins * m))
        P = softmax(Z, axis=1) if self.classes else 1.0 / (1.0 + np.exp(-Z))
        for k in range(self.margins):
            for j in range(k, self.margins):
                if self.classes:
                    v = P[:, k] * ((k == j) - P[:, j])
                else:
                    v = P[:, 0] * (1.0 - P[:, 0])
                block = Xc.T @ (
                    Xc.multiply((self.w * v / W)[:, None]) if sparse.issparse(Xc) else Xc * (self.w * v / W)[:, None]
                )
                block = block.toarray() if sparse.issparse(block) else block
                H[k * m : (k + 1) * m, j * m : (j + 1) * m] = block
                H[j * m : (j + 1) * m, k * m : (k + 1) * m] = block.T
            H[k * m + np.arange(m - 1), k * m + np.arange(m - 1)] += l2[k, columns]
        return H

    def gap(self, coef: np.ndarray, intercept: np.ndarray) -> float:
        """An estimate of F(model) − F*: the Newton decrement (see the module docstring) at the
        model with the coefficients that move no margin by 1e-9 standard deviations set to 0 (a
        second-order model does not see that the kink of |β| at 0 is that close), plus what
        that snapping saved."""
        coef, intercept = np.atleast_2d(coef), np.atleast_1d(intercept)
        snapped = np.where(np.abs(coef) * self.std() < 1e-9, 0.0, coef)
        saved = self.objective(coef, intercept) - self.objective(snapped, intercept)
        return max(saved, 0.0) + self._decrement(snapped, intercept)

    def _decrement(self, coef: np.ndarray, intercept: np.ndarray) -> float:
        _, grad, Z = self.smooth(coef, intercept)
        _, l1 = self.strengths()
        g = grad[:, :-1]
        pg = np.where(coef != 0, g + l1 * np.sign(coef), np.sign(g) * np.maximum(np.abs(g) - l1, 0.0))
        pg[:, self.std() == 0] = 0.0
        free = np.any((coef != 0) | (pg != 0), axis=0)
        columns = np.flatnonzero(free)
        vector = np.concatenate([np.append(pg[k, columns], grad[k, -1]) for k in range(self.margins)])
        H = self.hessian(Z, columns)
        if not self.classes:
            return _newton_decrement(H, vector)
        # The softmax loss does not change when one vector is added to every class's coefficients:
        # along those directions only the penalty acts. The decrement is taken on the others
        # (Q: a basis of them), and the shift along them checked on its own, as the 1-D problem
        # in each column's shift t.
        K, m = self.margins, columns.size + 1
        Q = np.kron(np.vstack([np.eye(K - 1), -np.ones((1, K - 1))]), np.eye(m))
        gap = _newton_decrement(Q.T @ H @ Q, Q.T @ vector)
        l2, l1 = self.strengths()
        a, c = l2[0], l1[0]

        def along(t: np.ndarray) -> np.ndarray:  # the penalty of each column shifted by t (n × columns)
            return np.sum(0.5 * a * (coef[:, None, :] + t) ** 2 + c * np.abs(coef[:, None, :] + t), axis=0)

        # the minimum is at a kink (t = −βₖ) or at the stationary point of a piece
        pieces = np.arange(K + 1)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            stationary = np.where(a > 0, -(a * coef.sum(axis=0) + c * (2 * pieces - K)) / (K * a), 0.0)
        candidates = np.vstack([-coef, stationary, np.zeros((1, coef.shape[1]))])
        shift_gap = np.maximum(along(np.zeros((1, coef.shape[1])))[0] - along(candidates).min(axis=0), 0.0)
        return gap + float(np.sum(shift_gap))


def _newton_decrement(H: np.ndarray, g: np.ndarray) -> float:
    """½ gᵀ H⁻¹ g, solved after scaling H by its diagonal (its entries span many decades)."""
    scale = np.sqrt(np.where(np.diag(H) > 0, np.diag(H), 1.0))
    scaled = g / scale
    return 0.5 * float(scaled @ np.linalg.lstsq(H / np.outer(scale, scale), scaled, rcond=1e-12)[0])


def bounded_optimum(
    problem: Problem, lower: np.ndarray, upper: np.ndarray, fit_intercept: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The minimiser of ``problem``'s smooth objective (no L1) over the box ``lower ≤ (β, b) ≤ upper``
    (margins × (d + 1), intercept last, ±inf where unbounded): SciPy's L-BFGS-B in standardized
    coordinates, then Newton steps on the coordinates it leaves off their bounds (to rounding),
    each kept only if it lowers the objective."""
    from scipy.optimize import minimize

    m, d = problem.margins, problem.X.shape[1]
    scale = np.append(np.where(problem.std() > 0, problem.std(), 1.0), 1.0)  # (β σ, b): MLlib's coordinates
    fixed = np.zeros((m, d + 1), dtype=bool)
    fixed[:, d] = not fit_intercept
    fixed[:, :d] |= problem.std() == 0

    def value_and_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        point = x.reshape(m, d + 1) / scale
        value, grad, _ = problem.smooth(point[:, :d], point[:, d])
        return value, np.where(fixed, 0.0, grad / scale).ravel()

    box_lower, box_upper = np.where(fixed, 0.0, lower * scale), np.where(fixed, 0.0, upper * scale)
    start = np.clip(np.zeros(m * (d + 1)), box_lower.ravel(), box_upper.ravel())
    found = minimize(
        value_and_gradient,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=list(zip(box_lower.ravel(), box_upper.ravel())),
        options={"maxiter": 20000, "ftol": 1e-16, "gtol": 1e-13, "maxcor": 30},
    )
    point = found.x.reshape(m, d + 1) / scale
    at_bound = np.isclose(point, lower, rtol=1e-12, atol=1e-14) | np.isclose(point, upper, rtol=1e-12, atol=1e-14)
    free = (~(at_bound | fixed)).ravel()
    for _ in range(4):  # kept only while they lower the objective (they do near the optimum)
        value, grad, Z = problem.smooth(point[:, :d], point[:, d])
        H = problem.hessian(Z, np.arange(d))
        step = np.zeros(m * (d + 1))
        step[free] = -np.linalg.lstsq(H[np.ix_(free, free)], grad.ravel()[free], rcond=1e-14)[0]
        polished = np.clip(point + step.reshape(m, d + 1), lower, upper)
        if not problem.smooth(polished[:, :d], polished[:, d])[0] <= value:
            break
        point = polished
    return point[:, :d], point[:, d]
