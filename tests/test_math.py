"""The math of one pass and of the objective, checked without Spark."""

import itertools
import warnings

import numpy as np
import pytest
from helpers import family, reference_loss, small_problem
from scipy import sparse

from logreg_spark.core.binomial import sigmoid
from logreg_spark.core.data import Block, Summary
from logreg_spark.core.engine import InMemoryEngine
from logreg_spark.core.family import BINOMIAL
from logreg_spark.core.objective import Objective
from logreg_spark.core.penalty import ElasticNet
from logreg_spark.core.sums import Layout


def _sums(X, y, w, coef, intercept, hessian=False):
    return InMemoryEngine(X, y, w).run(coef, intercept, Layout(coef.size, BINOMIAL, hessian))


def _objective(X, y, w, *, fit_intercept, reg_param, alpha=0.0, standardization=True):
    return Objective.build(
        InMemoryEngine(X, y, w),
        Summary.of_block(Block(X, y, w)),
        reg_param=reg_param,
        elastic_net_param=alpha,
        standardization=standardization,
        fit_intercept=fit_intercept,
    )


def test_loss_matches_the_textbook_formula():
    X, y, w = small_problem()
    coef, b = np.array([0.1, -0.02, 0.5, 0.05]), -0.3
    sums = _sums(X, y, w, coef, b)
    assert sums.loss / sums.weight == pytest.approx(reference_loss(X, y, w, coef, b), rel=1e-13)
    assert sums.rows == len(y) and sums.weight == pytest.approx(w.sum())


def test_gradient_sign_is_plus_h_minus_y():
    """+(1/W) Σ w (h − y) x: the derivation's final minus sign is a slip."""
    X, y, w = small_problem()
    coef, b = np.zeros(4), 0.0
    h = sigmoid(X @ coef + b)
    sums = _sums(X, y, w, coef, b)
    np.testing.assert_allclose(sums.gradient[:-1], (w * (h - y)) @ X, rtol=1e-13)
    np.testing.assert_allclose(sums.gradient[-1], np.sum(w * (h - y)), rtol=1e-13)
    # A small step against the gradient lowers the loss.
    step = 1e-3 * sums.gradient / sums.weight
    assert _sums(X, y, w, coef - step[:-1], b - step[-1]).loss < sums.loss


@pytest.mark.parametrize("weighted", [False, True])
def test_data_gradient_and_hessian_match_finite_differences(weighted):
    X, y, w = small_problem(weighted=weighted)
    theta = np.array([0.2, -0.05, 1.0, 0.1, -0.4])

    def loss(t):
        return _sums(X, y, w, t[:-1], t[-1]).loss

    sums = _sums(X, y, w, theta[:-1], theta[-1], hessian=True)
    eps = 1e-6
    basis = np.eye(theta.size) * eps
    fd_grad = np.array([(loss(theta + e) - loss(theta - e)) / (2 * eps) for e in basis])
    np.testing.assert_allclose(sums.gradient, fd_grad, rtol=1e-6)
    fd_hess = np.array(
        [
            (
                _sums(X, y, w, (theta + e)[:-1], (theta + e)[-1]).gradient
                - _sums(X, y, w, (theta - e)[:-1], (theta - e)[-1]).gradient
            )
            / (2 * eps)
            for e in basis
        ]
    )
    np.testing.assert_allclose(sums.hessian, fd_hess, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize(
    "fit_intercept, weighted, reg_param, standardization",
    list(itertools.product([True, False], [False, True], [0.0, 0.3], [True, False])),
)
def test_objective_gradient_matches_finite_differences(fit_intercept, weighted, reg_param, standardization):
    X, y, w = small_problem(weighted=weighted)
    objective = _objective(X, y, w, fit_intercept=fit_intercept, reg_param=reg_param, standardization=standardization)
    rng = np.random.default_rng(7)
    theta = rng.normal(size=objective.scaling.n_params) * 0.3
    ev = objective.evaluate(theta, hessian=True)
    eps = 1e-6
    basis = np.eye(theta.size) * eps
    fd = np.array(
        [(objective.evaluate(theta + e).value - objective.evaluate(theta - e).value) / (2 * eps) for e in basis]
    )
    np.testing.assert_allclose(ev.gradient, fd, rtol=1e-6, atol=1e-9)
    fd_hess = np.array(
        [(objective.evaluate(theta + e).gradient - objective.evaluate(theta - e).gradient) / (2 * eps) for e in basis]
    )
    np.testing.assert_allclose(ev.hessian, fd_hess, rtol=1e-5, atol=1e-8)


def test_scaling_round_trip_and_objective_value_on_data_scale():
    X, y, w = small_problem()
    objective = _objective(X, y, w, fit_intercept=True, reg_param=0.2, standardization=False)
    coef, b = np.array([0.3, -0.01, 2.0, 0.2]), 0.7
    theta = objective.scaling.from_data(coef, b)
    back_coef, back_b = objective.scaling.to_data(theta)
    np.testing.assert_allclose(back_coef, coef, rtol=1e-14)
    assert back_b == pytest.approx(b, rel=1e-13)
    # standardization = false: the L2 penalty is on the original-scale coefficients
    expected = reference_loss(X, y, w, coef, b) + 0.5 * 0.2 * np.sum(coef**2)
    assert objective.evaluate(theta).value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("margin", [1000.0, -1000.0, 40.0, -40.0, 745.0, -745.0])
def test_extreme_margins_are_finite_and_exact(margin):
    X = np.array([[1.0], [1.0]])
    y = np.array([1.0, 0.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        sums = _sums(X, y, np.ones(2), np.array([margin]), 0.0, hessian=True)
    # row 1 (y=1): log(1 + e^-m); row 0 (y=0): log(1 + e^m); gradient: (h-1) + h = 2h - 1
    expected_loss = np.logaddexp(0.0, -margin) + np.logaddexp(0.0, margin)
    assert sums.loss == pytest.approx(expected_loss, rel=1e-15)
    assert np.isfinite(sums.gradient).all() and np.isfinite(sums.hessian).all()
    assert sums.gradient[0] == pytest.approx(2 * sigmoid(np.array(margin)) - 1, rel=1e-15)
    # a confidently right row has a tiny but exact loss, not 0 from cancellation
    right = _sums(np.array([[1.0]]), np.array([1.0]), np.ones(1), np.array([abs(margin)]), 0.0)
    assert right.loss == pytest.approx(np.log1p(np.exp(-abs(margin))), rel=1e-15)


def test_summary_merge_equals_whole_data_statistics():
    X, y, w = small_problem(rows=301)
    whole = Summary.of_block(Block(X, y, w))
    parts = [Summary.of_block(Block(X[i], y[i], w[i])) for i in np.array_split(np.arange(301), 5)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    np.testing.assert_allclose(merged.mean, np.average(X, axis=0, weights=w), rtol=1e-13)
    np.testing.assert_allclose(merged.std, whole.std, rtol=1e-12)
    # unbiased weighted std, as MLlib: Σw(x−μ)² / (W − Σw²/W)
    var = w @ (X - merged.mean) ** 2 / (w.sum() - (w @ w) / w.sum())
    np.testing.assert_allclose(merged.std, np.sqrt(var), rtol=1e-12)


def test_elastic_net_prox_and_pseudo_gradient():
    std = np.array([1.0, 2.0])
    on_coefficients = ElasticNet.on_coefficients(0.5, 1.0, std, standardization=False)
    # in MLlib's coordinates θⱼ = σⱼβⱼ, with an intercept slot
    penalty = on_coefficients.in_coordinates(np.array([1.0, 0.5, 0.0]))
    np.testing.assert_allclose(penalty.l1, [0.5, 0.25, 0.0])
    np.testing.assert_allclose(penalty.prox(np.array([1.0, -0.1, 3.0]), 1.0), [0.5, 0.0, 3.0])
    # at zero with |g| below the L1 strength, zero is optimal
    pg = penalty.pseudo_gradient(np.array([0.0, 0.0, 1.0]), np.array([0.3, -0.4, 0.0]))
    np.testing.assert_allclose(pg, [0.0, -0.15, 0.0])


@pytest.mark.parametrize(
    "classes, fit_intercept, as_csr", list(itertools.product([0, 3], [True, False], [False, True]))
)
def test_a_pass_gives_the_hessian_diagonal_in_the_solver_coordinates(classes, fit_intercept, as_csr):
    X, y, w = small_problem()
    if classes:
        y = np.random.default_rng(2).integers(0, classes, len(y)).astype(float)
    X = sparse.csr_array(np.where(np.random.default_rng(3).random(X.shape) < 0.5, X, 0.0)) if as_csr else X
    objective = Objective.build(
        InMemoryEngine(X, y, w),
        Summary.of_block(Block(X, y, w)),
        reg_param=0.1,
        standardization=False,
        fit_intercept=fit_intercept,
        family=family(classes),
    )
    theta = np.random.default_rng(5).normal(size=objective.n_params) * 0.3
    ev = objective.evaluate(theta, hessian=True, diagonal=True)
    np.testing.assert_allclose(ev.diagonal, np.diag(ev.hessian), rtol=1e-10, atol=1e-14)
    assert objective.evaluate(theta).diagonal is None
