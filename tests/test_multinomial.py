"""The multinomial model's math, checked without Spark."""

import itertools
import warnings

import numpy as np
import pytest
from helpers import small_problem
from scipy import sparse

from logreg_spark.core import multinomial
from logreg_spark.core.bounds import Bounds
from logreg_spark.core.data import Block, Summary
from logreg_spark.core.engine import InMemoryEngine
from logreg_spark.core.family import BINOMIAL, Family
from logreg_spark.core.multinomial import identifiable
from logreg_spark.core.objective import Objective
from logreg_spark.core.sums import Layout


def three_classes(rows: int = 240, seed: int = 3, weighted: bool = True):
    X, _, w = small_problem(rows=rows, seed=seed, weighted=weighted)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, rows).astype(float)
    return X, y, w


def reference_loss(X, y, w, coef, intercept) -> float:
    """Σ w (−log softmax(z)_y), written the textbook way (moderate margins only)."""
    Z = X @ coef.T + intercept
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    return float(-(w * np.log(P[np.arange(len(y)), y.astype(int)])).sum())


def _objective(X, y, w, **settings):
    return Objective.build(
        InMemoryEngine(X, y, w), Summary.of_block(Block(X, y, w)), family=Family.multinomial(3), **settings
    )


@pytest.mark.parametrize("as_csr", [False, True])
def test_loss_gradient_and_hessian_match_the_formula_and_finite_differences(as_csr):
    X, y, w = three_classes()
    data = sparse.csr_array(X) if as_csr else np.asfortranarray(X)
    rng = np.random.default_rng(0)
    coef, intercept = rng.normal(size=(3, 4)) * 0.1, np.array([0.2, -0.1, 0.0])
    engine = InMemoryEngine(data, y, w)

    def run(coef, intercept, hessian):
        return engine.run(coef, intercept, Layout(coef.shape[1], Family.multinomial(coef.shape[0]), hessian))

    sums = run(coef, intercept, True)
    assert sums.loss == pytest.approx(reference_loss(X, y, w, coef, intercept), rel=1e-13)
    theta = np.hstack([coef, intercept[:, None]]).ravel()

    def unpack(t):
        t = t.reshape(3, 5)
        return t[:, :4], t[:, 4]

    eps = 1e-6
    basis = np.eye(theta.size) * eps
    fd_grad = [(run(*unpack(theta + e), False).loss - run(*unpack(theta - e), False).loss) / (2 * eps) for e in basis]
    # +Σ w (p − onehot(y)) x: the sign is plus, as in the binomial model
    np.testing.assert_allclose(sums.gradient.ravel(), fd_grad, rtol=1e-6, atol=1e-6)
    fd_hess = [
        (run(*unpack(theta + e), False).gradient - run(*unpack(theta - e), False).gradient).ravel() / (2 * eps)
        for e in basis
    ]
    np.testing.assert_allclose(sums.hessian, fd_hess, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "fit_intercept, reg_param, alpha, standardization",
    list(itertools.product([True, False], [0.0, 0.2], [0.0], [True, False])),
)
def test_objective_gradient_and_hessian_match_finite_differences(fit_intercept, reg_param, alpha, standardization):
    X, y, w = three_classes()
    objective = _objective(
        X,
        y,
        w,
        fit_intercept=fit_intercept,
        reg_param=reg_param,
        elastic_net_param=alpha,
        standardization=standardization,
    )
    theta = np.random.default_rng(5).normal(size=objective.n_params) * 0.3
    ev = objective.evaluate(theta, hessian=True)
    eps = 1e-6
    basis = np.eye(theta.size) * eps
    fd = [(objective.evaluate(theta + e).value - objective.evaluate(theta - e).value) / (2 * eps) for e in basis]
    np.testing.assert_allclose(ev.gradient, fd, rtol=1e-6, atol=1e-9)
    fd_hess = [
        (objective.evaluate(theta + e).gradient - objective.evaluate(theta - e).gradient) / (2 * eps) for e in basis
    ]
    np.testing.assert_allclose(ev.hessian, fd_hess, rtol=1e-5, atol=1e-8)


def test_hessian_is_the_same_stacked_and_one_block_at_a_time_and_sparse(monkeypatch):
    """Narrow dense rows take the Hessian's blocks from one stacked product, wide or sparse ones
    block by block: the same matrix, also with a class predicted at p = 1 − 1e-13, whose
    diagonal block is summed from w p(1 − p) in every path."""
    rng = np.random.default_rng(7)
    X, w = rng.normal(size=(300, 4)), rng.uniform(0.5, 2.0, 300)
    Z = rng.normal(size=(300, 5))
    Z[:, 0] += 30.0 + np.log(4.0)  # class 0: 1 − p₀ ≈ e^-30 ≈ 1e-13 on every row
    P = np.exp(multinomial.log_softmax(Z))

    def hessian(X):
        return multinomial.curvature(X, w, P, hessian=True, diagonal=False)[0]

    stacked = hessian(X)
    monkeypatch.setattr(multinomial, "STACKED_MAX_WIDTH", 0)
    np.testing.assert_allclose(hessian(X), stacked, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(hessian(sparse.csr_array(X)), stacked, rtol=1e-12, atol=1e-300)
    assert stacked[0, 0] == pytest.approx(np.sum(w * P[:, 0] * (1.0 - P[:, 0]) * X[:, 0] ** 2), rel=1e-12, abs=0.0)


def test_two_classes_is_the_binomial_model():
    """softmax over margins (0, z) is sigmoid(z): the loss and the gradient's difference agree."""
    X, y, w = small_problem()
    coef, b = np.array([0.1, -0.02, 0.5, 0.05]), -0.3
    binomial = InMemoryEngine(X, y, w).run(coef, b, Layout(coef.size, BINOMIAL, False))
    rows = np.vstack([np.zeros(4), coef])
    softmax = InMemoryEngine(X, y, w).run(rows, np.array([0.0, b]), Layout(rows.shape[1], Family.multinomial(2)))
    assert softmax.loss == pytest.approx(binomial.loss, rel=1e-13)
    np.testing.assert_allclose(softmax.gradient[1], binomial.gradient, rtol=1e-12)
    np.testing.assert_allclose(softmax.gradient.sum(axis=0), 0.0, atol=1e-12)
    assert softmax.misclassified == pytest.approx(binomial.misclassified)


@pytest.mark.parametrize("margin", [1000.0, -1000.0, 745.0])
def test_extreme_margins_are_finite_and_exact(margin):
    X, y = np.array([[1.0], [1.0]]), np.array([2.0, 0.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        coef = np.array([[0.0], [0.0], [margin]])
        sums = InMemoryEngine(X, y, np.ones(2)).run(coef, np.zeros(3), Layout(1, Family.multinomial(3), True))
    # row 0 (y=2): log(2 + e^m) − m; row 1 (y=0): log(2 + e^m)
    expected = np.logaddexp(np.log(2.0), margin) * 2 - margin
    assert sums.loss == pytest.approx(expected, rel=1e-15)
    assert np.isfinite(sums.gradient).all() and np.isfinite(sums.hessian).all()


def test_identifiable_centres_intercepts_and_unpenalized_coefficients():
    coef, intercept = np.array([[1.0, 2.0], [3.0, -2.0], [2.0, 0.0]]), np.array([1.0, 2.0, 6.0])
    centred, shifted = identifiable(coef, intercept, penalized=False)
    np.testing.assert_allclose(shifted, [-2.0, -1.0, 3.0])
    np.testing.assert_allclose(centred.sum(axis=0), 0.0)
    X = np.random.default_rng(1).normal(size=(5, 2))
    before, after = X @ coef.T + intercept, X @ centred.T + shifted
    np.testing.assert_allclose(after - after.mean(axis=1, keepdims=True), before - before.mean(axis=1, keepdims=True))
    assert identifiable(coef, intercept, penalized=True)[0] is coef


def test_identifiable_within_bounds_centres_as_far_as_they_allow():
    coef, intercept = np.array([[1.0, 2.0], [3.0, -2.0], [2.0, 0.0]]), np.array([-1.9, -2.1, -1.0])
    inf = np.full((3, 2), np.inf)
    unbounded = Bounds(-inf, inf, -inf[:, 0], inf[:, 0])
    for got, want in zip(identifiable(coef, intercept, False, unbounded), identifiable(coef, intercept, False)):
        np.testing.assert_allclose(got, want)
    # intercepts at most 0: centring (+1.67) would leave the box; the nearest shift puts the largest at 0
    capped = Bounds(-inf, inf, -inf[:, 0], np.zeros(3))
    _, shifted = identifiable(coef, intercept, True, capped)
    np.testing.assert_allclose(shifted, [-0.9, -1.1, 0.0])
    np.testing.assert_allclose(identifiable(coef, shifted, True, capped)[1], shifted)
    # unpenalized: each feature's column moves as far towards mean 0 as its bounds allow
    floors = Bounds(np.array([[0.5, -np.inf]] * 3), inf, -inf[:, 0], inf[:, 0])
    centred, _ = identifiable(coef, intercept, False, floors)
    np.testing.assert_allclose(centred, [[0.5, 2.0], [2.5, -2.0], [1.5, 0.0]])
