"""The search: every (λ, α) fitted on every fold's training rows, scored on its held-out rows.

Every (λ, α) is fitted on each held-out fold's training rows; the chosen one is
then refit on all rows, starting from the mean of its folds' models (a model on
all rows for every (λ, α) would add a quarter to every pass of a 3-fold search
for one model that is used). The models run at once,
their passes batched (:class:`~.batching.Batcher`): each pass reads every cached
block once for all the models still running, so a search takes as many passes
as its slowest model, not the sum of all. Each model starts as a separate fit
does, from the intercept-only model: measured, that beats warm starts along
the path, whose fits must run one after another (100,000 × 50 dense, 10 λ × 2 α
× 3 folds: 9 passes against 68; 10,000 × 2,000 sparse: 31 against 209).

Solver: ``solver.name = "auto"`` means L-BFGS here. In a shared pass the
arithmetic of every model adds up, and Newton's Hessian costs each model about
d/2 times its gradient: 500,000 × 50 dense, 10 λ × 2 α × 3 folds, 8 passes
either way, the search took 15.9 s with Newton for the L2 models and 7.2 s
with L-BFGS for all.

Memory: each task's partial is the concatenation of every running model's sums,
8 × (d + 5) bytes per binomial model with L-BFGS (the gradient, four scalars and
three held-out sums), 8 × (d + 1)² more with Newton (its Hessian), K times more
for K classes. When all models' sums would pass the budget
(:data:`PARTIAL_BUDGET`; on Spark Connect 8 MiB, since each pass carries every
point in its plan), each (α, fold)'s λ path is cut into as few runs as fit, each
walked down its λ values with warm starts: at most ``max(budget, one model per
(α, fold))`` per task. A (λ, α) scores the mean over folds of the metric on the held-out rows
(:func:`select`); among equal scores the best is the one of largest λ.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from dataclasses import dataclass

import numpy as np

from ..core.data import Summary
from ..core.engine import SharedPassEngine
from ..core.sums import HELD_OUT_SIZE, Layout
from ..errors import InputError
from ..settings.tuning import TuneSection
from ..solvers import FitShape
from ..training.solving import check_newton_size
from .batching import Batcher
from .chains import Chain, ModelSettings, PathFit, walk
from .grid import Grid
from .progress import SearchProgress

log = logging.getLogger("logreg_spark")


@dataclass(frozen=True)
class Score:
    """The metric of one (λ, α) over the folds: mean and standard deviation (ddof 0)."""

    reg_param: float
    elastic_net_param: float
    mean: float
    std: float


@dataclass(frozen=True)
class SearchResult:
    grid: Grid
    fits: list[PathFit]  # every chain's fits
    passes: int
    seconds: float


@dataclass(frozen=True)
class Selection:
    """Every (λ, α)'s score over the folds, in the grid's order, and the best of them."""

    scores: list[Score]
    best: Score

    def refit_start(self, fits: list[PathFit]) -> tuple[np.ndarray, float | np.ndarray]:
        """Where the final model starts: the mean of the best (λ, α)'s fold models (coefficients,
        intercept), close to its fit on all rows."""
        best = (self.best.reg_param, self.best.elastic_net_param)
        chosen = [f for f in fits if (f.reg_param, f.elastic_net_param) == best]
        coef = np.mean([f.coef for f in chosen], axis=0)
        intercept = np.mean([np.asarray(f.intercept) for f in chosen], axis=0)
        return coef, float(intercept) if intercept.ndim == 0 else intercept


def training_summaries(by_fold: dict[int, Summary], held_out: list[int]) -> dict[int | None, Summary]:
    """The statistics of each chain's training rows: the merge of every other fold's, by the
    fold it holds out; under None, all rows' (the grid's scale comes from them)."""
    merged: dict[int | None, Summary] = {None: functools.reduce(Summary.merge, by_fold.values())}
    for fold in held_out:
        others = [summary for other, summary in by_fold.items() if other != fold]
        if not others:
            raise InputError(f"tune: fold {fold} holds every row; nothing is left to train on")
        merged[fold] = functools.reduce(Summary.merge, others)
    return merged


def check_folds(
    by_fold: dict[int, Summary], training: dict[int | None, Summary], held_out: list[int], classes: int, ranked: bool
) -> None:
    """Refuse folds a fit or a score cannot be made of, before any pass: every fold's training
    rows (``training``: :func:`training_summaries`) need every class; a ``ranked`` metric (ROC
    or PR AUC) both classes in each held-out fold."""
    for fold in held_out:
        if fold not in by_fold or by_fold[fold].weight <= 0:
            raise InputError(f"tune: fold {fold} has no rows of positive weight to score the models on")
        if ranked and np.count_nonzero(by_fold[fold].class_weight > 0) < 2:
            raise InputError(
                f"tune: fold {fold} holds out rows of one class only, so its ROC and PR AUC are "
                'undefined; use more rows per fold, another tune.seed or tune.metric = "log_loss"'
            )
        weights = np.zeros(classes)
        kept = training[fold].class_weight[:classes]
        weights[: kept.size] = kept
        if np.count_nonzero(weights > 0) < classes:
            missing = int(np.flatnonzero(weights <= 0)[0])
            raise InputError(
                f"tune: without fold {fold} no rows have label {missing}; every fold's training rows "
                "need every class (use fewer folds, or another tune.seed or tune.fold_col)"
            )


#: Newton steps at most to the intercept-only model's intercept (with offsets; see :func:`_path_gradient`).
INTERCEPT_STEPS = 20


def _path_gradient(engine: SharedPassEngine, everything: Summary, settings: ModelSettings) -> tuple[np.ndarray, int]:
    """The data's mean gradient of the coefficients (margins × d) at the intercept-only model: zero
    coefficients, each intercept at its optimum; and the passes it took. That optimum is the
    class prior (log-odds), where the first pass finds the intercept's slope 0 (to rounding), so
    one pass does, unless the rows have offsets (binomial only): then it solves
    ``Σ w (σ(b + o) − y) = 0``, by Newton's method in ``b`` from the prior, a pass per step with
    the slope ``Σ w (h − y)`` and curvature ``Σ w h (1 − h)`` of the pass."""
    family, d = settings.family, everything.n_features
    coef, intercept = family.prior(everything.class_weight, d)
    intercept = intercept * settings.fit_intercept
    newton = settings.fit_intercept and not family.is_multinomial
    layout = Layout(d, family)
    for passes in range(1, INTERCEPT_STEPS + 2):
        sums = engine.run(coef, intercept, layout)
        gradient = np.reshape(sums.gradient, (family.n_margins, -1)) / sums.weight
        if not newton or abs(gradient[0, d]) <= 1e-12 or passes > INTERCEPT_STEPS:
            break
        if sums.diagonal is not None:  # a step from the second pass on, which sums the curvature too
            intercept -= gradient[0, d] * sums.weight / sums.diagonal[0, -1]
        layout = Layout(d, family, diagonal=True)
    return gradient[:, :d], passes


def _grid(
    engine: SharedPassEngine, everything: Summary, settings: ModelSettings, tune: TuneSection
) -> tuple[Grid, int]:
    """The grid, and the passes it took: a path needs the data's gradient at the intercept-only
    model (:func:`_path_gradient`)."""
    gradient, passes = (np.zeros(0), 0) if tune.reg_params else _path_gradient(engine, everything, settings)
    std = everything.std
    unit = std if settings.standardization else (std > 0).astype(float)
    grid = Grid.of(tune.elastic_net_params, tune.reg_params, tune.path_length, tune.path_min_ratio, gradient, unit)
    return grid, passes


#: The most partial sums a task holds in a pass, in bytes, unless one model per (α, fold) needs more.
PARTIAL_BUDGET = 64 << 20


def _model_bytes(d: int, settings: ModelSettings) -> int:
    """The largest partial of one model: its sums (Newton's with its Hessian) and held-out sums."""
    newton = settings.solver.name == "newton" or settings.newton_after is not None
    return 8 * (Layout(d, settings.family, hessian=newton).size + HELD_OUT_SIZE)


def _chains(
    grid: Grid, held_out: list[int], training: dict[int | None, Summary], model_bytes: int, budget: int
) -> list[Chain]:
    """Each (α, fold)'s λ values cut into as many runs as ``budget`` bytes of partial sums let run
    at once (every λ its own run when all fit)."""
    paths = [(alpha, lams, fold) for alpha, lams in zip(grid.elastic_net_params, grid.reg_params) for fold in held_out]
    runs = max(1, budget // model_bytes // len(paths))
    return [
        Chain(alpha, fold, training[fold], tuple(part))
        for alpha, lams, fold in paths
        for part in np.array_split(np.array(lams), min(runs, len(lams)))
    ]


#: The metrics whose larger values are better.
LARGER_IS_BETTER = frozenset({"roc_auc", "pr_auc"})


def log_losses(fits: list[PathFit]) -> list[float]:
    """Each fit's held-out weighted log loss."""
    return [f.validation_log_loss for f in fits]


def select(grid: Grid, fits: list[PathFit], values: list[float], metric: str) -> Selection:
    """Each (λ, α)'s mean and spread of ``values`` (each fit's metric) over the folds, and the best:
    the lowest mean (the highest for ROC and PR AUC), among equal means the largest λ."""
    scores = []
    for lam, alpha in grid.points():
        folds = [v for f, v in zip(fits, values) if (f.reg_param, f.elastic_net_param) == (lam, alpha)]
        scores.append(Score(lam, alpha, float(np.mean(folds)), float(np.std(folds))))
    sign = -1.0 if metric in LARGER_IS_BETTER else 1.0
    return Selection(scores, min(scores, key=lambda s: (sign * s.mean, -s.reg_param)))


def search(
    engine: SharedPassEngine,
    by_fold: dict[int, Summary],
    held_out: list[int],
    settings: ModelSettings,
    tune: TuneSection,
    budget: int = PARTIAL_BUDGET,
    parallelism: int = 1,
) -> SearchResult:
    """Fit every (λ, α) of ``tune`` on each of the ``held_out`` folds' training rows. ``by_fold``
    holds each fold's statistics; ``budget`` bounds the partial sums of a pass (and with them
    the points it carries), in bytes; ``parallelism`` tasks run a pass at once. With ``auto``
    each fit runs L-BFGS, and Newton after as many iterations as a Newton fit is estimated to
    cost with all the fits sharing passes (:meth:`~logreg_spark.solvers.FitShape.newton_after`):
    how many L-BFGS needs depends on the data's conditioning, unknown beforehand."""
    started = time.perf_counter()
    d = next(iter(by_fold.values())).n_features
    check_newton_size(settings.solver.name, settings.family.n_margins * (d + 1))  # before any pass
    ranked = tune.metric in LARGER_IS_BETTER
    if ranked and settings.family.is_multinomial:
        raise InputError(f'tune.metric = "{tune.metric}" is defined for a binomial model only; use "log_loss"')
    training = training_summaries(by_fold, held_out)
    check_folds(by_fold, training, held_out, settings.family.classes, ranked)
    grid, passes = _grid(engine, training[None], settings, tune)
    rows = max(training[fold].rows for fold in held_out)
    shape = FitShape(rows, d, settings.family.n_margins, parallelism, len(grid.points()) * len(held_out))
    if settings.solver.name == "auto":
        lbfgs = dataclasses.replace(settings.solver, name="lbfgs")
        settings = dataclasses.replace(settings, solver=lbfgs, newton_after=shape.newton_after())
    model_bytes = _model_bytes(d, settings)
    chains = _chains(grid, held_out, training, model_bytes, budget)
    progress = SearchProgress(len(held_out), len(grid.points()) * len(held_out))
    batcher = Batcher(engine, on_pass=progress.passed)
    log.info(
        "tune: %d (λ, α) × %d folds in %d runs at once: at most %.3g MB of partial sums per task",
        len(grid.points()),
        len(held_out),
        len(chains),
        len(chains) * model_bytes / 1e6,
    )
    walks = batcher.run([functools.partial(walk, batcher, chain, settings, progress.finished) for chain in chains])
    fits = [fit for chain_fits in walks for fit in chain_fits]
    return SearchResult(grid, fits, passes + batcher.passes, time.perf_counter() - started)
