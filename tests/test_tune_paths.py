"""Tuning without Spark: every model of a shared-pass search equals its own separate fit, and the
selected (λ, α) equals a brute-force loop over separate fits with the same folds."""

import dataclasses
import functools

import numpy as np
import pytest
from helpers import family, small_problem
from scipy import sparse

from logreg_spark.core.data import Block, Summary
from logreg_spark.core.engine import InMemoryEngine
from logreg_spark.core.folds import FoldRule
from logreg_spark.core.objective import Objective
from logreg_spark.core.sums import Layout, Request
from logreg_spark.errors import InputError
from logreg_spark.settings.schema import SolverConf
from logreg_spark.settings.tuning import TuneSection
from logreg_spark.solvers import FitShape, resolve_solver
from logreg_spark.training.solving import run_solver
from logreg_spark.tuning import search as search_module
from logreg_spark.tuning.batching import Batcher
from logreg_spark.tuning.chains import ModelSettings
from logreg_spark.tuning.search import log_losses, search, select

SOLVER = SolverConf(tol=1e-8, max_iter=500)


def _problem(classes: int, dense: bool, rows: int = 2400):
    X, y, w = small_problem(rows=rows, features=6, seed=4)
    rng = np.random.default_rng(9)
    truth = rng.normal(size=(max(classes, 1), 6)) * np.array([0.8, 0.08, 6.0, 0.2, 1.0, 0.5])
    margins = (X - X.mean(axis=0)) @ truth.T + rng.logistic(size=(rows, max(classes, 1)))
    y = (np.argmax(margins, axis=1) if classes else margins[:, 0] > 0.3).astype(float)
    if not dense:
        X = sparse.csr_array(np.where(np.abs(X - X.mean(axis=0)) > 0.6 * X.std(axis=0), X, 0.0))
    return X, y, w


def _rows(X, mask):
    return X[mask] if isinstance(X, np.ndarray) else X[np.flatnonzero(mask)]


def _summaries(X, y, w, fold):
    return {int(f): Summary.of_block(Block(_rows(X, fold == f), y[fold == f], w[fold == f])) for f in np.unique(fold)}


def _separate_fit(X, y, w, settings, reg_param, alpha):
    """A fit of (λ, α) on these rows alone, from the intercept-only model: (coef, intercept, objective)."""
    summary = Summary.of_block(Block(X, y, w))
    objective = Objective.build(
        InMemoryEngine(X, y, w),
        summary,
        reg_param=reg_param,
        elastic_net_param=alpha,
        standardization=settings.standardization,
        fit_intercept=settings.fit_intercept,
        family=settings.family,
    )
    coef, intercept = settings.family.prior(summary.class_weight, summary.n_features)
    solver = resolve_solver(SOLVER.name, FitShape(len(y), X.shape[1], settings.family.n_margins))
    result = run_solver(solver, objective, objective.from_data(coef, intercept), SOLVER)
    assert result.converged, result.reason
    return (*objective.to_data(result.theta), result.final.total)


def _search(X, y, w, classes, tune, standardization=True, budget=search_module.PARTIAL_BUDGET, solver=SOLVER):
    fold = FoldRule(folds=tune.folds, seed=tune.seed).assign(X, y, w)
    settings = ModelSettings(family(classes), standardization, True, solver)
    by_fold = _summaries(X, y, w, fold)
    result = search(InMemoryEngine(X, y, w, fold), by_fold, sorted(by_fold), settings, tune, budget)
    return fold, settings, result, select(result.grid, result.fits, log_losses(result.fits), tune.metric)


@pytest.mark.parametrize(
    "classes, dense, standardization",
    [(0, True, True), (0, False, False), (3, True, True)],
    ids=["dense", "sparse", "multinomial"],
)
def test_every_model_on_the_path_equals_a_separate_fit(classes, dense, standardization):
    X, y, w = _problem(classes, dense)
    tune = TuneSection(path_length=4, path_min_ratio=1e-3, elastic_net_params=[0.0, 0.6], folds=3, seed=2)
    fold, settings, result, _ = _search(X, y, w, classes, tune, standardization)
    assert len(result.fits) == 2 * 4 * 3  # α × λ × folds
    assert all(fit.converged for fit in result.fits)
    for fit in result.fits:
        train = fold != fit.held_out
        *_, objective = _separate_fit(
            _rows(X, train), y[train], w[train], settings, fit.reg_param, fit.elastic_net_param
        )
        assert fit.objective == pytest.approx(objective, rel=1e-8), (fit.reg_param, fit.elastic_net_param, fit.held_out)
    # λ_max of α > 0: the model on all rows there has every coefficient zero, and just below it not
    top, below = result.grid.reg_params[1][:2]
    assert not np.any(_separate_fit(X, y, w, settings, top, 0.6)[0])
    assert np.any(_separate_fit(X, y, w, settings, below, 0.6)[0])
    # every model ran at once: one pass for λ_max, then as many as the slowest model needed
    assert result.passes == 1 + max(fit.passes for fit in result.fits)


def test_a_path_too_wide_for_the_partial_budget_is_walked_in_runs_with_warm_starts():
    X, y, w = _problem(0, True)
    tune = TuneSection(path_length=5, path_min_ratio=1e-3, folds=3, seed=2)
    lbfgs = dataclasses.replace(SOLVER, name="lbfgs")  # its partials: 4 + 7 sums, 3 held out
    fold, settings, result, _ = _search(X, y, w, 0, tune, budget=3 * 2 * 8 * (4 + 7 + 3), solver=lbfgs)  # 2 per fold
    assert 1 + max(fit.passes for fit in result.fits) < result.passes < sum(fit.passes for fit in result.fits) / 4
    for fit in result.fits:  # warm-started or not, each is the separate fit
        train = fold != fit.held_out
        *_, objective = _separate_fit(X[train], y[train], w[train], settings, fit.reg_param, 0.0)
        assert fit.objective == pytest.approx(objective, rel=1e-8)


def test_the_selected_reg_param_matches_a_brute_force_loop_over_separate_fits():
    X, y, w = _problem(0, True, rows=1500)
    tune = TuneSection(
        reg_params=[1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.0], elastic_net_params=[0.0, 1.0], folds=4, seed=1
    )
    fold, settings, _, selection = _search(X, y, w, 0, tune)
    brute = {}
    for alpha in tune.elastic_net_params:
        for lam in tune.reg_params:
            losses = []
            for k in range(4):
                train, held = fold != k, fold == k
                coef, intercept, _ = _separate_fit(X[train], y[train], w[train], settings, lam, alpha)
                sums = InMemoryEngine(X[held], y[held], w[held]).run(coef, intercept, Layout(6, settings.family))
                losses.append(sums.loss / sums.weight)
            brute[lam, alpha] = float(np.mean(losses))
    chosen = min(brute, key=lambda key: (brute[key], -key[0]))
    assert (selection.best.reg_param, selection.best.elastic_net_param) == chosen
    for score in selection.scores:
        assert score.mean == pytest.approx(brute[score.reg_param, score.elastic_net_param], rel=1e-7)
    assert 0 < selection.best.reg_param < 1.0  # an inner point: the comparison is not decided by an edge


class _CountingEngine(InMemoryEngine):
    passes = 0

    def run_shared(self, requests):
        type(self).passes += 1
        return super().run_shared(requests)


def test_a_fold_whose_training_rows_lack_a_class_is_refused_before_any_pass():
    X, y, w = small_problem(rows=300, features=4)
    y = np.where(np.arange(300) < 20, 2.0, y)  # class 2 only in the first 20 rows ...
    fold = np.where(np.arange(300) < 20, 0, np.arange(300) % 3)  # ... all of them in fold 0
    by_fold = _summaries(X, y, w, fold)
    settings = ModelSettings(family(3), True, True, SOLVER)
    with pytest.raises(InputError, match="without fold 0 no rows have label 2"):
        search(_CountingEngine(X, y, w, fold), by_fold, [0, 1, 2], settings, TuneSection())
    assert _CountingEngine.passes == 0


def test_a_path_without_scale_is_refused():
    X, y, w = small_problem(rows=300, features=4)
    X[:] = 0.0  # no feature varies: nothing for the penalty to act on
    fold = FoldRule(folds=3).assign(X, y, w)
    by_fold = _summaries(X, y, w, fold)
    with pytest.raises(InputError, match="λ_max = 0"):
        search(
            InMemoryEngine(X, y, w, fold),
            by_fold,
            [0, 1, 2],
            ModelSettings(family(0), True, True, SOLVER),
            TuneSection(),
        )


def test_summaries_of_the_folds_merge_to_all_rows():
    X, y, w = small_problem(rows=900, features=4)
    fold = FoldRule(folds=3).assign(X, y, w)
    merged = functools.reduce(Summary.merge, _summaries(X, y, w, fold).values())
    whole = Summary.of_block(Block(X, y, w))
    assert merged.rows == whole.rows and np.allclose(merged.std, whole.std, rtol=1e-12)


def test_a_failing_model_stops_the_others_and_its_error_is_raised():
    X, y, w = small_problem(rows=200, features=4)
    batcher = Batcher(InMemoryEngine(X, y, w))
    layout = Layout(4, family(0))

    def steady():
        for _ in range(1000):
            batcher.submit(Request(np.zeros(4), 0.0, layout))

    def failing():
        batcher.submit(Request(np.zeros(4), 0.0, layout))
        raise ValueError("a model failed")

    with pytest.raises(ValueError, match="a model failed"):
        batcher.run([steady, failing, steady])
    assert batcher.passes < 5


def test_a_failing_pass_ends_every_model_with_its_error():
    X, y, w = small_problem(rows=200, features=4)

    class Failing(InMemoryEngine):
        def run_shared(self, requests):
            if batcher.passes == 2:
                raise OSError("executor lost")
            return super().run_shared(requests)

    batcher = Batcher(Failing(X, y, w))
    layout = Layout(4, family(0))

    def steady():
        for _ in range(1000):
            batcher.submit(Request(np.zeros(4), 0.0, layout))

    with pytest.raises(OSError, match="executor lost"):
        batcher.run([steady, steady, steady])
    assert batcher.passes == 2


def test_auto_goes_on_with_newton_after_the_lbfgs_iterations_a_newton_fit_costs(monkeypatch):
    """Tuning's ``auto``: L-BFGS, then, for a fit not converged after ``newton_after`` iterations,
    Newton from where it stopped; each fit still equals the separate fit, and the iterations
    and passes of both parts are counted."""
    monkeypatch.setattr(FitShape, "newton_after", lambda self: 3)
    X, y, w = _problem(0, True)
    tune = TuneSection(path_length=3, path_min_ratio=1e-3, elastic_net_params=[0.0, 0.6], folds=3, seed=2)
    fold, settings, result, _ = _search(X, y, w, 0, tune)
    switched = [fit for fit in result.fits if fit.solver == "lbfgs, then newton"]
    assert switched and all(fit.iterations > 3 for fit in switched) and all(fit.converged for fit in result.fits)
    for fit in result.fits:
        train = fold != fit.held_out
        *_, objective = _separate_fit(X[train], y[train], w[train], settings, fit.reg_param, fit.elastic_net_param)
        assert fit.objective == pytest.approx(objective, rel=1e-8)
