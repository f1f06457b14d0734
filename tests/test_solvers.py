"""Every solver reaches the same optimum, without Spark (NumPy objective)."""

import contextlib
import sys
from dataclasses import replace

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from logreg_spark.core.data import Block, Summary
from logreg_spark.core.engine import InMemoryEngine
from logreg_spark.core.objective import Objective
from logreg_spark.solvers import FitShape, gradient_descent, lbfgs, newton, newton_direction, resolve_solver
from logreg_spark.solvers.loop import Progress
from logreg_spark.training.solving import one_blas_thread


def badly_conditioned(rows=2000, seed=0):
    """Scales from 1e-3 to 1e4, two pairs correlated at 0.96, a non-centred column."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(rows, 5))
    Z[:, 1] = Z[:, 0] + 0.3 * Z[:, 1]
    Z[:, 3] = Z[:, 2] - 0.3 * Z[:, 3]
    X = Z * np.array([1e-3, 1e-3, 1e4, 1e4, 1.0]) + np.array([0, 0, 0, 0, 100.0])
    margin = Z @ np.array([1.0, -0.5, 0.8, 0.3, -1.2]) + 0.2
    y = (rng.random(rows) < 1 / (1 + np.exp(-margin))).astype(float)
    return X, y, np.ones(rows)


def _objective(X, y, w, reg_param, alpha, standardization=True):
    return Objective.build(
        InMemoryEngine(X, y, w),
        Summary.of_block(Block(X, y, w)),
        reg_param=reg_param,
        elastic_net_param=alpha,
        standardization=standardization,
    )


#: tol bounds the gradient norm in unit-curvature coordinates; below about 1e-8 the objective no
#: longer changes in float64, so gradient descent (whose steps need it to) stalls there.
SOLVERS = {
    "gd": lambda obj, t0: gradient_descent(obj, t0, learning_rate=4.0, max_iter=20000, tol=1e-7, line_search=True),
    "lbfgs": lambda obj, t0: lbfgs(obj, t0, memory=10, max_iter=500, tol=1e-8),
    "newton": lambda obj, t0: newton(obj, t0, max_iter=100, tol=1e-10),
}


@pytest.mark.parametrize("reg_param, alpha", [(0.0, 0.0), (0.01, 0.0), (0.01, 0.5), (0.02, 1.0)])
def test_all_solvers_reach_the_same_optimum(reg_param, alpha):
    X, y, w = badly_conditioned()
    results = {}
    for name, solve in SOLVERS.items():
        objective = _objective(X, y, w, reg_param, alpha)
        result = solve(objective, np.zeros(6))
        assert result.converged, (name, result.reason)
        assert result.history[-1].passes == objective.passes
        results[name] = (result.final.total, objective.scaling.to_data(result.theta), objective.passes)
    best = min(r[0] for r in results.values())
    ref_coef, ref_intercept = results["newton"][1]
    for name, (total, (coef, intercept), _) in results.items():
        assert total == pytest.approx(best, rel=1e-10), name
        # along the correlated pairs the objective is nearly flat: first-order methods pin
        # the coefficients less tightly than the objective
        np.testing.assert_allclose(coef, ref_coef, rtol=1e-4, atol=1e-12, err_msg=name)
        assert intercept == pytest.approx(ref_intercept, rel=1e-4)
    assert results["newton"][2] < results["lbfgs"][2] < results["gd"][2]


def test_unpenalized_optimum_matches_scikit_learn_on_raw_scales():
    X, y, w = badly_conditioned()
    objective = _objective(X, y, w, 0.0, 0.0)
    result = newton(objective, np.zeros(6), max_iter=100, tol=1e-10)
    coef, intercept = objective.scaling.to_data(result.theta)
    Xs = (X - X.mean(0)) / X.std(0)  # sklearn needs scaled features to converge; map back
    sk = LogisticRegression(C=np.inf, tol=1e-14, max_iter=100_000).fit(Xs, y)
    np.testing.assert_allclose(coef, sk.coef_[0] / X.std(0), rtol=1e-6)


def test_l1_zeroes_coefficients_exactly():
    X, y, w = badly_conditioned()
    objective = _objective(X, y, w, 0.05, 1.0)
    result = lbfgs(objective, np.zeros(6), memory=10, max_iter=500, tol=1e-8)
    assert result.converged
    assert np.sum(result.theta[:-1] == 0.0) >= 1
    assert np.linalg.norm(objective.penalty.pseudo_gradient(result.theta, result.final.gradient)) < 1e-5


def test_newton_direction_survives_singular_and_indefinite_hessians():
    g = np.array([1.0, 1.0, -2.0])
    singular = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 2.0]])  # duplicated column
    d = newton_direction(singular, g)
    assert np.all(np.isfinite(d)) and d @ g < 0
    indefinite = np.diag([1.0, -1.0, 2.0])
    d = newton_direction(indefinite, g)
    assert np.all(np.isfinite(d)) and d @ g < 0


def test_gd_line_search_rescues_a_bad_learning_rate():
    X, y, w = badly_conditioned()
    fixed = gradient_descent(_objective(X, y, w, 0.01, 0.0), np.zeros(6), learning_rate=1e3, max_iter=50, tol=1e-10)
    searched = gradient_descent(
        _objective(X, y, w, 0.01, 0.0), np.zeros(6), learning_rate=1e3, max_iter=2000, tol=1e-7, line_search=True
    )
    assert searched.converged
    assert searched.final.total < fixed.final.total


def test_auto_chooses_the_solver_estimated_to_take_less_time():
    """Newton where its Hessian is cheap beside L-BFGS's passes (few parameters, or few rows for
    its fixed cost per pass to dominate), L-BFGS where it is not, and always within bounds."""
    assert resolve_solver("auto", FitShape(2_000_000, 50, 1, parallelism=2)) == "newton"  # the dense benchmark
    assert resolve_solver("auto", FitShape(1797, 64, 10)) == "newton"  # digits: 650 parameters
    assert resolve_solver("auto", FitShape(300_000, 30, 1, 2, models=36)) == "newton"  # a tuning grid
    assert resolve_solver("auto", FitShape(10_000_000, 300, 1, parallelism=8)) == "lbfgs"  # d² per row
    assert resolve_solver("auto", FitShape(1_000_000, 30, 50, parallelism=8)) == "lbfgs"  # K² d² per row
    assert resolve_solver("auto", FitShape(1000, 5000, 1)) == "lbfgs"  # beyond NEWTON_MAX_PARAMS
    assert resolve_solver("auto", FitShape(1000, 5, 1), bounded=True) == "lbfgs"
    assert resolve_solver("gd", FitShape(1000, 5, 1)) == "gd"


@pytest.mark.parametrize("name, alpha", [("gd", 0.0), ("lbfgs", 0.0), ("lbfgs", 0.5), ("newton", 0.0)])
def test_a_resumed_solver_takes_exactly_the_uninterrupted_steps(name, alpha):
    X, y, w = badly_conditioned()
    options = {"gd": {"learning_rate": 4.0, "line_search": True}, "lbfgs": {"memory": 3}, "newton": {}}[name]
    solver = {"gd": gradient_descent, "lbfgs": lbfgs, "newton": newton}[name]
    seen = []

    def keep(progress: Progress) -> None:  # as a checkpoint does: the state as it is at that iteration
        seen.append(replace(progress, state_of=lambda state=progress.state: state))

    whole = solver(_objective(X, y, w, 0.01, alpha), np.zeros(6), max_iter=12, tol=0.0, on_iteration=keep, **options)
    stop = seen[5]  # as a checkpoint would hold it after iteration 5
    assert stop.last.iteration == 5 and (name != "lbfgs" or len(stop.state["s"]) == 3)
    resumed = solver(_objective(X, y, w, 0.01, alpha), np.zeros(6), max_iter=12, tol=0.0, resume=stop, **options)
    assert resumed.theta.tobytes() == whole.theta.tobytes()
    assert [r.loss for r in resumed.history] == [r.loss for r in whole.history]
    assert resumed.reason == whole.reason


def test_without_threadpoolctl_the_solvers_keep_blas_as_it_is(monkeypatch):
    """An environment packed without threadpoolctl still trains: only the BLAS limit is skipped."""
    assert not isinstance(one_blas_thread(), contextlib.nullcontext)
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    assert isinstance(one_blas_thread(), contextlib.nullcontext)


@pytest.mark.parametrize("start_at_zero", [False, True])
@pytest.mark.parametrize("correlation", [0.0, 0.9, 0.99999])
def test_the_l1_quadratic_minimum_is_exact_on_correlated_and_singular_models(correlation, start_at_zero):
    """Proximal Newton's inner problem, min gᵀ(u − θ) + ½(u − θ)ᵀH(u − θ) + Σ l1|u|, against SciPy's
    L-BFGS-B on the split u = u⁺ − u⁻ (a smooth problem with bounds); with unpenalized
    coordinates, H singular along one direction (duplicated columns), and a start off the
    optimum's signs, or (as the training job's first step: intercepts at the labels' log odds)
    with the penalized coordinates 0 and the unpenalized ones where their gradient is 0 to
    rounding (twelve problems: the search once stopped there on a quarter of such)."""
    for seed in range(12) if start_at_zero else [7]:
        H, g, l1, theta = _l1_quadratic_problem(correlation, seed)
        if start_at_zero:
            theta[l1 > 0] = 0.0
            g[l1 == 0] = np.random.default_rng(seed).standard_normal(int(np.count_nonzero(l1 == 0))) * 1e-16
        _check_l1_quadratic_minimum(H, g, l1, theta)


def _l1_quadratic_problem(correlation: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(H, g, l1, θ) of 12 coordinates, H singular along one direction."""
    rng = np.random.default_rng(seed)
    p = 12
    columns = rng.standard_normal((200, p))
    columns[:, 1::2] = correlation * columns[:, ::2] + np.sqrt(1 - correlation**2) * columns[:, 1::2]
    columns[:, -1] = columns[:, -2]  # singular along (…, 1, −1)
    H = columns.T @ columns / 200
    g, theta = H @ rng.standard_normal(p), rng.standard_normal(p)  # a loss's gradient: no part along H's null space
    l1 = np.where(np.arange(p) % 5 == 4, 0.0, 0.3)  # some unpenalized
    return H, g, l1, theta


def _check_l1_quadratic_minimum(H: np.ndarray, g: np.ndarray, l1: np.ndarray, theta: np.ndarray) -> None:
    from scipy.optimize import minimize

    from logreg_spark.solvers.l1_quadratic import l1_quadratic_minimum

    p = len(g)

    def q(u: np.ndarray) -> float:
        return g @ (u - theta) + 0.5 * (u - theta) @ H @ (u - theta) + l1 @ np.abs(u)

    def split(v: np.ndarray) -> tuple[float, np.ndarray]:
        u = v[:p] - v[p:]
        r = g + H @ (u - theta)
        return g @ (u - theta) + 0.5 * (u - theta) @ H @ (u - theta) + l1 @ (v[:p] + v[p:]), np.concatenate(
            [r + l1, l1 - r]
        )

    start = np.concatenate([np.maximum(theta, 0), np.maximum(-theta, 0)])
    options = {"ftol": 1e-16, "gtol": 1e-12, "maxiter": 50_000}
    found = minimize(split, start, jac=True, method="L-BFGS-B", bounds=[(0, None)] * (2 * p), options=options)
    reference = q(found.x[:p] - found.x[p:])
    u = l1_quadratic_minimum(H, g, l1, theta)
    assert q(u) <= reference + 1e-10 * abs(reference)
    r = g + H @ (u - theta)
    subgradient_gap = np.where(u != 0, np.abs(r + l1 * np.sign(u)), np.maximum(np.abs(r) - l1, 0.0))
    assert subgradient_gap.max() <= 1e-9 * max(1.0, np.abs(u).max())  # r's rounding grows with u
