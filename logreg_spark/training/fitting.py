"""Fitting: a DataFrame and a :class:`~logreg_spark.settings.schema.FitConf` → a :class:`TrainedModel`.

The one training code path: the Python API's ``LogisticRegression.fit`` and the
training job both come here. Steps: prepare (cache the rows as NumPy blocks,
with their statistics) → family and class weights → the objective over the
cached blocks → the starting point → the solver → coefficients on the data's
scale, standard errors where they exist, and what ``model.json`` says of the fit.
"""

from __future__ import annotations

import logging
import platform
import time
from typing import Any

import numpy as np
import pyspark
from pyspark.sql import DataFrame

from .. import __version__
from ..artifacts.checkpoint import Checkpoints
from ..artifacts.model_dir import TrainedModel
from ..core.data import Summary
from ..core.decision import decision_of
from ..core.engine import PassEngine
from ..core.family import BINOMIAL, Family
from ..core.folds import FoldRule
from ..core.inference import SingularHessian, coefficient_statistics
from ..core.objective import Objective
from ..errors import InputError, named
from ..settings.schema import FitConf, ModelConf
from ..solvers import SolverResult
from ..spark.blocks import MAX_CLASSES, FeatureSpec
from ..spark.prepare import BLOCK_BYTES, TrainingData
from ..spark.reading import apply_invalid_policy
from .bounds import bounds_of, check_constant_features
from .solving import choose_solver, solve
from .warm_start import StartingPoint, read_warm_start

log = logging.getLogger("logreg_spark")


def family_of(data: TrainingData, conf: FitConf) -> Family:
    """Apply the ``input.invalid`` policy; refuse data that cannot be trained on; return the
    model's family (``model.family``; ``auto``: multinomial when a label above 1 occurs)."""
    apply_invalid_policy(data.problems, conf.input.invalid)
    summary, label_col = data.summary, conf.input.label_col
    if summary.rows == 0:
        raise InputError("no valid rows to train on")
    if summary.weight <= 0:
        raise InputError(f"{named('input.weight_col')} {conf.input.weight_col!r}: all weights are zero")
    present = np.flatnonzero(summary.class_weight > 0)
    if present.size == 1:
        raise InputError(
            f"{named('input.label_col')} {label_col!r}: every row has label {present[0]}; "
            "logistic regression needs two classes or more"
        )
    multinomial = conf.model.family == "multinomial" or (conf.model.family == "auto" and summary.labels_seen > 2)
    classes = max(summary.labels_seen, 2) if multinomial else 2
    if multinomial and conf.input.offset_col:
        raise InputError(
            f"{named('input.offset_col')} {conf.input.offset_col!r}: offsets need a binomial model, but "
            f"{named('input.label_col')} {label_col!r} has {classes} classes (an offset added to every class "
            "margin cancels in the softmax)"
        )
    absent = sorted(set(range(classes)) - set(present.tolist()))
    if absent:
        raise InputError(
            f"{named('input.label_col')} {label_col!r}: no rows (of positive weight) have label {absent[0]}; "
            f"labels must be 0 … {classes - 1} with every class present"
        )
    return Family.multinomial(classes) if multinomial else BINOMIAL


def _class_weighted(data: TrainingData, conf: FitConf, family: Family) -> TrainingData:
    """``data`` with its rows weighted per class (``model.class_weight``), or as it is."""
    if conf.model.class_weight != "balanced":
        return data
    return data.with_class_weights(data.summary.balanced_class_weights(family.classes))


def _objective(data: TrainingData, conf: FitConf, family: Family, engine: PassEngine | None) -> Objective:
    """The penalized loss over the cached blocks (passes run by ``engine``, by default the data's
    own), as ``model`` asks, within its bounds if it sets any."""
    model_conf = conf.model
    bounds = bounds_of(model_conf, family, data.summary.n_features)
    objective = Objective.build(
        engine or data.passes(),
        data.summary,
        reg_param=model_conf.reg_param,
        elastic_net_param=model_conf.elastic_net_param,
        standardization=model_conf.standardization,
        fit_intercept=model_conf.fit_intercept,
        family=family,
        bounds=bounds,
    )
    if bounds:
        check_constant_features(bounds, objective.scaling, data.spec.names)
    return objective


def _initial_point(
    objective: Objective, summary: Summary, spec: FeatureSpec, conf: ModelConf, warm: StartingPoint | None
) -> np.ndarray:
    """Zero coefficients with the intercepts of the class frequencies (log-odds; for K classes
    centred log weights, as MLlib), or the coefficients of ``model.init_model`` (matched by
    name: the names of a wide Vector's features are only made then); a solver within bounds
    projects it into them."""
    family = objective.family
    if warm:
        coef, intercept = warm.arranged(spec.names, family)
    else:
        coef, intercept = family.prior(summary.class_weight, summary.n_features)
    return objective.from_data(coef, intercept * conf.fit_intercept)


#: Standard errors need the (d + 1)² Hessian: not computed for wider models.
STATISTICS_MAX_FEATURES = 2000


def _statistics(objective: Objective, result: SolverResult, conf: FitConf) -> dict[str, np.ndarray]:
    """Standard errors etc. for a converged, unpenalized binomial fit with an intercept and no
    coefficient at a bound (the estimate's distribution is then not the normal one); else none."""
    if (
        conf.model.reg_param > 0
        or not conf.model.fit_intercept
        or not result.converged
        or objective.family.is_multinomial
    ):
        return {}
    if objective.box and objective.box.at_bound(result.theta).any():
        log.info("no standard errors: a coefficient or intercept is at one of its bounds")
        return {}
    if objective.scaling.n_params > STATISTICS_MAX_FEATURES + 1:
        log.info(
            "no standard errors for more than %d features (the Hessian has (d + 1)² entries)", STATISTICS_MAX_FEATURES
        )
        return {}
    final = result.final
    if final.hessian is None:  # one extra pass, only for solvers that do not compute it
        final = objective.evaluate(final.theta, hessian=True)
    assert final.hessian is not None, "an evaluation with hessian=True has the Hessian"
    coef, intercept = objective.scaling.to_data(final.theta)
    try:
        return coefficient_statistics(final.hessian, objective.total_weight, objective.scaling, coef, intercept)
    except SingularHessian as err:
        log.warning("%s (collinear or duplicated features?): standard errors are not written", err)
        return {}


def _coefficients(objective: Objective, result: SolverResult, conf: ModelConf) -> tuple[np.ndarray, float | np.ndarray]:
    """The solution on the data's scale, in the family's identifiable form within the bounds
    (:meth:`Family.identifiable`; MLlib leaves a bounded model wherever its solver stopped)."""
    coef, intercept = objective.to_data(result.theta)
    bounds = bounds_of(conf, objective.family, objective.scaling.n_features)
    return objective.family.identifiable(coef, intercept, penalized=conf.reg_param > 0, bounds=bounds)


def _metadata(
    data: TrainingData, conf: FitConf, solver: str, objective: Objective, result: SolverResult, started: float
) -> dict[str, Any]:
    """What ``model.json`` says of the fit besides the family: input, conf, run, versions."""
    summary = data.summary
    return {
        **data.spec.described(),
        "label_col": conf.input.label_col,
        "offset_col": conf.input.offset_col,
        "conf": conf.to_dict(),
        "solver": solver,
        "threshold": conf.model.threshold,
        "thresholds": conf.model.thresholds,
        "iterations": len(result.history) - 1,
        "passes": objective.passes,
        "converged": result.converged,
        "stop_reason": result.reason,
        "final_loss": result.final.total,
        "optimality": result.history[-1].grad_norm,
        "rows": summary.rows,
        "rows_skipped": data.problems.rows_dropped,
        "weight_sum": summary.weight,
        "class_weights": list(data.class_weights) if data.class_weights else None,
        "prepare_seconds": data.prepare_seconds,
        "cache_bytes": data.cached_bytes(),
        "train_seconds": time.perf_counter() - started,
        "versions": {
            "logreg_spark": __version__,
            "spark": pyspark.__version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
    }


def fit_prepared(
    data: TrainingData,
    conf: FitConf,
    checkpoints: Checkpoints | None = None,
    warm: StartingPoint | None = None,
    engine: PassEngine | None = None,
) -> TrainedModel:
    """Train on already prepared (cached) data; the data stays cached.

    With ``checkpoints`` the solver resumes from the latest one and writes new ones; ``warm``
    (``model.init_model``, read beforehand) is the starting point. ``engine`` runs the passes
    over ``data`` (default: ``data.passes()``; for many fits sharing passes, a
    :class:`~logreg_spark.tuning.batching.ModelEngine`); it must not weight rows by class.
    """
    started = time.perf_counter()
    family = family_of(data, conf)
    decision_of(family, conf.model.threshold, conf.model.thresholds, "model.thresholds")  # one per class
    assert engine is None or not conf.model.class_weight, "a given engine does not weight rows by class"
    data = _class_weighted(data, conf, family)
    objective = _objective(data, conf, family, engine)
    theta0 = _initial_point(objective, data.summary, data.spec, conf.model, warm)
    solver = choose_solver(conf.solver, objective, data.summary, data.parallelism)
    result = solve(solver, objective, theta0, conf.solver, checkpoints)
    statistics = _statistics(objective, result, conf)
    coef, intercept = _coefficients(objective, result, conf.model)
    metadata = _metadata(data, conf, solver, objective, result, started)
    return TrainedModel(data.spec.names, coef, intercept, result.history, metadata, statistics, family)


def prepare(df: DataFrame, conf: FitConf, folds: FoldRule | None = None) -> TrainingData:
    """``df`` cached as ``conf`` reads it: ``input`` (in blocks of ``input.max_block_size_mb``, 0:
    :data:`~logreg_spark.spark.prepare.BLOCK_BYTES`), ``solver.dtype`` and
    ``solver.aggregation_depth``, labels 0 and 1 only for ``model.family = "binomial"``; with
    ``folds``, each row's fold id too."""
    label_limit = 2 if conf.model.family == "binomial" else MAX_CLASSES
    mb = conf.input.max_block_size_mb
    block_bytes = max(1, int(mb * 2**20)) if mb else BLOCK_BYTES
    return TrainingData.prepare(
        df, conf.input, conf.solver.aggregation_depth, conf.solver.dtype, label_limit, block_bytes, folds=folds
    )


def fit(df: DataFrame, conf: FitConf, checkpoints: Checkpoints | None = None) -> TrainedModel:
    """Read ``model.init_model``, prepare ``df`` (read from ``conf.input``), train, and release the cache."""
    warm = read_warm_start(df.sparkSession, conf.model.init_model)
    data = prepare(df, conf)
    try:
        return fit_prepared(data, conf, checkpoints, warm)
    finally:
        data.release()
