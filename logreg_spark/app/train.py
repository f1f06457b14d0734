"""The training job: conf → Spark → cached blocks → solver → model directory."""

from __future__ import annotations

import logging
import platform
import time

import numpy as np
import pyarrow.compute as pc
import pyspark
from pyspark.sql import DataFrame, SparkSession

from .. import __version__
from ..artifacts.checkpoint import Checkpoints, fingerprint
from ..artifacts.model_dir import INTERCEPT, TrainedModel, arrange, read_coefficients, write_model
from ..artifacts.paths import HadoopPath, check_apart, check_writable
from ..core.data import Summary
from ..core.inference import SingularHessian, coefficient_statistics
from ..core.multinomial import identifiable
from ..core.objective import Objective
from ..errors import InputError
from ..solvers import (
    SEPARABLE,
    STALLED,
    OnIteration,
    Progress,
    SolverResult,
    gradient_descent,
    lbfgs,
    newton,
    resolve_solver,
)
from ..spark.blocks import MAX_CLASSES
from ..spark.prepare import TrainingData
from ..spark.reading import apply_invalid_policy, read_input
from .cli import job_main
from .config import Conf, SolverConf

log = logging.getLogger("logreg_spark")


def _on_iteration(checkpoints: Checkpoints | None) -> OnIteration:
    """Log each iteration; write a checkpoint when one is due."""

    def report(progress: Progress) -> None:
        rec = progress.last
        log.info(
            "iteration %d: loss %.12g grad_norm %.3e step %.3g seconds %.3f passes %d",
            rec.iteration,
            rec.loss,
            rec.grad_norm,
            rec.step_size,
            rec.seconds,
            rec.passes,
        )
        if checkpoints:
            checkpoints.save(progress)

    return report


def _classes(data: TrainingData, conf: Conf) -> int:
    """Apply the ``input.invalid`` policy; refuse data that cannot be trained on; return the
    number of classes of a multinomial model (``model.family``; ``auto``: more than two labels),
    or 0 for the binomial model."""
    apply_invalid_policy(data.problems, conf.input.invalid)
    summary, label_col = data.summary, conf.input.label_col
    if summary.rows == 0:
        raise InputError("no valid rows to train on")
    if summary.weight <= 0:
        raise InputError(f"input.weight_col {conf.input.weight_col!r}: all weights are zero")
    present = np.flatnonzero(summary.class_weight > 0)
    if present.size == 1:
        raise InputError(
            f"input.label_col {label_col!r}: every row has label {present[0]}; "
            "logistic regression needs two classes or more"
        )
    multinomial = conf.model.family == "multinomial" or (conf.model.family == "auto" and summary.classes > 2)
    classes = max(summary.classes, 2) if multinomial else 2
    absent = sorted(set(range(classes)) - set(present.tolist()))
    if absent:
        raise InputError(
            f"input.label_col {label_col!r}: no rows (of positive weight) have label {absent[0]}; "
            f"labels must be 0 … {classes - 1} with every class present"
        )
    return classes if multinomial else 0


def _solve(
    name: str, objective: Objective, theta0: np.ndarray, conf: SolverConf, checkpoints: Checkpoints | None
) -> SolverResult:
    resume = checkpoints.load(conf.resume) if checkpoints else None
    common = {"max_iter": conf.max_iter, "tol": conf.tol, "on_iteration": _on_iteration(checkpoints), "resume": resume}
    if name == "gd":
        return gradient_descent(
            objective, theta0, learning_rate=conf.learning_rate, line_search=conf.line_search, **common
        )
    if name == "lbfgs":
        return lbfgs(objective, theta0, memory=conf.memory, **common)
    return newton(objective, theta0, **common)


def _initial_point(
    spark: SparkSession, conf: Conf, features: list[str], objective: Objective, summary: Summary
) -> np.ndarray:
    """Zero coefficients with the intercepts of the class frequencies (log-odds; for K classes
    centred log weights, as MLlib), or the coefficients of ``model.init_model``."""
    classes, fit_intercept = objective.classes, conf.model.fit_intercept
    if not conf.model.init_model:
        log_weight = np.log(summary.class_weight[: max(classes, 2)])
        if classes:
            coef, intercept = np.zeros((classes, len(features))), log_weight - log_weight.mean()
        else:
            coef, intercept = np.zeros(len(features)), float(log_weight[1] - log_weight[0])
        return objective.from_data(coef, intercept * fit_intercept)
    previous = read_coefficients(spark, conf.model.init_model)
    names = set(pc.unique(previous.column("feature")).to_pylist()) - {INTERCEPT}
    missing, unexpected = set(features) - names, names - set(features)
    if missing or unexpected:
        raise InputError(
            f"model.init_model {conf.model.init_model}: features do not match the input "
            f"(missing from the model: {sorted(missing)[:5]}, not in the input: {sorted(unexpected)[:5]})"
        )
    try:
        coef, intercept = arrange(previous, features, classes)
    except KeyError:
        raise InputError(
            f"model.init_model {conf.model.init_model}: not a model of the same family and classes "
            f"({f'multinomial, {classes} classes' if classes else 'binomial'})"
        ) from None
    return objective.from_data(coef, intercept * fit_intercept)


def _report(solver: str, result: SolverResult, conf: SolverConf) -> None:
    """The run's last word: how it ended and how close to the optimum, a warning unless converged."""
    optimality = result.history[-1].grad_norm
    log.info(
        "%s %s after %d iterations: %s; optimality %.2e (solver.tol %g)",
        solver,
        "converged" if result.converged else "did not converge",
        len(result.history) - 1,
        result.reason,
        optimality,
        conf.tol,
    )
    if result.reason == SEPARABLE:
        log.warning("%s: every row is classified correctly; set model.reg_param > 0 for a finite model", SEPARABLE)
    elif result.reason == "max_iter reached":
        log.warning(
            "%s stopped at solver.max_iter = %d with optimality %.2e > solver.tol = %g: the model is "
            "not at the optimum; raise solver.max_iter",
            solver,
            conf.max_iter,
            optimality,
            conf.tol,
        )
    elif result.reason == STALLED:
        log.warning(
            "%s stalled with optimality %.2e > solver.tol = %g: the objective no longer decreases, so "
            'the model is not at the optimum; try solver.name = "newton" (up to a few thousand '
            'parameters) or "lbfgs", or accept this model with a solver.tol of %.0e',
            solver,
            optimality,
            conf.tol,
            10 ** np.ceil(np.log10(optimality)),
        )
    elif not result.converged:
        log.warning("%s stopped without converging: %s", solver, result.reason)


#: Newton is refused beyond this many parameters: its Hessian (8 p² bytes, 200 MB here) is
#: summed in every partition and sent to the driver on every pass.
NEWTON_LIMIT = 5000

#: Standard errors need the (d + 1)² Hessian: not computed for wider models.
STATISTICS_MAX_FEATURES = 2000


def _statistics(objective: Objective, result: SolverResult, conf: Conf) -> dict[str, np.ndarray]:
    """Standard errors etc. for a converged, unpenalized binomial fit with an intercept; else none."""
    if conf.model.reg_param > 0 or not conf.model.fit_intercept or not result.converged or objective.classes:
        return {}
    if objective.scaling.n_params > STATISTICS_MAX_FEATURES + 1:
        log.info(
            "no standard errors for more than %d features (the Hessian has (d + 1)² entries)", STATISTICS_MAX_FEATURES
        )
        return {}
    final = result.final
    if final.hessian is None:  # one extra pass, only for solvers that do not compute it
        final = objective.evaluate(final.theta, hessian=True)
    coef, intercept = objective.scaling.to_data(final.theta)
    try:
        return coefficient_statistics(final.hessian, objective.total_weight, objective.scaling, coef, intercept)
    except SingularHessian as err:
        log.warning("%s (collinear or duplicated features?): standard errors are not written", err)
        return {}


def fit_prepared(
    data: TrainingData, conf: Conf, spark: SparkSession, checkpoints: Checkpoints | None = None
) -> TrainedModel:
    """Train on already prepared (cached) data; the data stays cached.

    With ``checkpoints`` the solver resumes from the latest one and writes new ones.
    """
    started = time.perf_counter()
    classes = _classes(data, conf)
    if conf.model.class_weight == "balanced":
        data = data.with_class_weights(data.summary.balanced_class_weights(max(classes, 2)))
    summary, model_conf = data.summary, conf.model
    objective = Objective.build(
        data.passes(),
        summary,
        reg_param=model_conf.reg_param,
        elastic_net_param=model_conf.elastic_net_param,
        standardization=model_conf.standardization,
        fit_intercept=model_conf.fit_intercept,
        classes=classes,
    )
    features = data.spec.names
    theta0 = _initial_point(spark, conf, features, objective, summary)
    solver = resolve_solver(conf.solver.name, objective.penalty.has_l1, objective.n_params)
    if solver == "newton" and objective.n_params > NEWTON_LIMIT:
        raise InputError(
            f'solver.name = "newton": the Hessian of {objective.n_params} parameters would take '
            f'{8 * objective.n_params**2 / 1e9:.1f} GB in every partition; use "lbfgs" (or '
            f'"auto") beyond {NEWTON_LIMIT} parameters'
        )
    log.info(
        "solver %s on %d rows x %d features%s",
        solver,
        summary.rows,
        summary.n_features,
        f", {classes} classes" if classes else "",
    )
    result = _solve(solver, objective, theta0, conf.solver, checkpoints)
    _report(solver, result, conf.solver)
    statistics = _statistics(objective, result, conf)
    coef, intercept = objective.to_data(result.theta)
    if classes:
        coef, intercept = identifiable(coef, intercept, penalized=model_conf.reg_param > 0)
    metadata = {
        **data.spec.described(),
        "label_col": conf.input.label_col,
        "conf": conf.to_dict(),
        "solver": solver,
        "threshold": model_conf.threshold,
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
    return TrainedModel(features, coef, intercept, result.history, metadata, statistics, classes)


def fit(df: DataFrame, conf: Conf, checkpoints: Checkpoints | None = None) -> TrainedModel:
    """Prepare ``df`` (read from ``conf.input``), train, and release the cache."""
    labels = 2 if conf.model.family == "binomial" else MAX_CLASSES
    data = TrainingData.prepare(df, conf.input, conf.solver.aggregation_depth, conf.solver.dtype, labels)
    try:
        return fit_prepared(data, conf, df.sparkSession, checkpoints)
    finally:
        data.release()


def run(spark: SparkSession, conf: Conf) -> str:
    """Train and write the model; return where it went. Checkpoints, when configured,
    are resumed from and deleted once the model is written."""
    target = HadoopPath(spark, conf.output.model_path)
    check_apart(spark, target, conf.input.path, "output.model_path")
    check_writable(target, conf.output.mode, "output.model_path")
    df = read_input(spark, conf.input)
    checkpoints = None
    if conf.solver.checkpoint_path:
        checkpoints = Checkpoints(
            spark, conf.solver.checkpoint_path, fingerprint(conf, df, spark), conf.solver.checkpoint_every
        )
    model = fit(df, conf, checkpoints)
    path = write_model(spark, model, conf.output.model_path, conf.output.mode)
    if checkpoints:
        checkpoints.clear()
    return path


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``jobs/train.py``."""
    return job_main(
        argv,
        prog="train",
        description="Train a logistic regression on Spark.",
        schema=Conf,
        work=lambda spark, conf: f"model written to {run(spark, conf)}",
    )
