"""Optional MLflow tracking of the training and evaluation jobs (``[tracking]``).

MLflow is imported here only, and only when ``tracking.enabled``. A training run gets the conf
as params (``section.key``) with the solver chosen and the data's shape; the objective per
iteration as the metrics ``loss`` and ``grad_norm`` at ``step`` = iteration; the final metrics;
the model directory (copied from any Hadoop filesystem) as the artifact ``model/``, its
``loss.png`` at the top and its URI as the tag ``model_uri``; and, with
``tracking.registered_model_name``, a version of that registered model. An evaluation logs the
numbers of its ``metrics/`` table as ``eval.<metric>`` and its output directory as
``evaluation/``, into the run ``tracking.run_id`` or a new one.

Tracking starts once the job's output is written, and a failure of it (a server down, a run id
that does not exist) is a warning: the job keeps its output and still succeeds.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyspark.sql import SparkSession

from ..artifacts.model_dir import TrainedModel
from ..artifacts.paths import storage_path
from ..settings.schema import Conf, EvaluateConf, TrackingConf

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)

_PARAM_LENGTH = 6000  # MLflow's limit on a param's value
_PARAMS_PER_BATCH, _METRICS_PER_BATCH = 100, 1000  # MLflow's limits per log_batch
#: What runs after the artifacts are logged: (client, run id, local copies of the directories).
Then = Callable[["MlflowClient", str, Path], None]


def log_training(spark: SparkSession, conf: Conf, model: TrainedModel, path: str) -> str | None:
    """Log the training of ``model``, written to ``path``, as a new MLflow run; return its id
    (None when tracking is off or failed)."""
    if not conf.tracking.enabled:
        return None
    meta = model.metadata
    params = {
        **_flattened(conf.to_dict()),
        "solver": meta["solver"],
        "rows": meta["rows"],
        "features": len(model.features),
        "classes": model.family.classes,
    }
    history = [(name, getattr(rec, name), rec.iteration) for rec in model.history for name in ("loss", "grad_norm")]
    final = [(name, float(meta[name]), 0) for name in ("final_loss", "optimality", "iterations", "passes")]
    final += [("converged", float(meta["converged"]), 0), ("train_seconds", float(meta["train_seconds"]), 0)]
    registered = conf.tracking.registered_model_name

    def then(client: MlflowClient, run_id: str, local: Path) -> None:
        if (local / "model" / "loss.png").exists():
            client.log_artifact(run_id, str(local / "model" / "loss.png"))
        if registered:
            _register(client, registered, run_id)

    return _warning_on_failure(
        lambda: _log(spark, conf.tracking, "", params, {"model_uri": path}, history + final, {"model": path}, then)
    )


def log_evaluation(spark: SparkSession, conf: EvaluateConf, metrics: pa.Table, model: str, path: str) -> str | None:
    """Log an evaluation (its ``metrics/`` table; the output written to ``path``) of the model at
    ``model`` into the run ``tracking.run_id``, or a new run; return the run's id (None when
    tracking is off or failed)."""
    if not conf.tracking.enabled:
        return None
    names, values = metrics.column("metric").to_pylist(), metrics.column("value").to_pylist()
    numbers = [(f"eval.{name}", float(value), 0) for name, value in zip(names, values)]
    tags = {"eval.model_uri": model, "eval.input": _text(conf.input.path), "eval.output": path}
    return _warning_on_failure(
        lambda: _log(spark, conf.tracking, conf.tracking.run_id, {}, tags, numbers, {"evaluation": path})
    )


def _text(value: Any) -> str:
    """A param's or tag's value: a string as it is, anything else as JSON (lists, true, 1e-06)."""
    return value if isinstance(value, str) else json.dumps(value)


def _flattened(conf: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``section.key`` → value, over every section (``[spark]`` as ``spark.<spark key>``)."""
    return {f"{section}.{key}": value for section, values in conf.items() for key, value in values.items()}


def _warning_on_failure(work: Callable[[], str]) -> str | None:
    """``work()``, or None with a warning when it fails: the output is written, tracking must not fail the job."""
    try:
        return work()
    except Exception as err:  # noqa: BLE001 - any failure of MLflow or its store
        first_line = (str(err).strip().splitlines() or [""])[0]
        log.warning("MLflow tracking failed (the output is kept): %s: %s", type(err).__name__, first_line)
        return None


def _log(
    spark: SparkSession,
    tracking: TrackingConf,
    run_id: str,
    params: Mapping[str, Any],
    tags: Mapping[str, str],
    metrics: Sequence[tuple[str, float, int]],
    directories: Mapping[str, str],
    then: Then | None = None,
) -> str:
    """Log into the run ``run_id`` (or a new run, then ended): ``params``, ``tags``, ``metrics`` as
    (name, value, step), ``directories`` (artifact path → URI), then ``then``; its id."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    uri = tracking.store_uri()
    client = MlflowClient(tracking_uri=uri)
    new = not run_id
    if new:
        experiment = _experiment_id(client, tracking.experiment, uri)
        run_id = client.create_run(experiment, run_name=tracking.run_name or None).info.run_id
    try:
        now = int(time.time() * 1000)
        entries = [Param(key, _text(value)[:_PARAM_LENGTH]) for key, value in params.items()]
        for start in range(0, len(entries), _PARAMS_PER_BATCH):
            client.log_batch(run_id, params=entries[start : start + _PARAMS_PER_BATCH])
        if tags:
            client.log_batch(run_id, tags=[RunTag(key, value) for key, value in tags.items()])
        values = [Metric(name, value, now, step) for name, value, step in metrics]
        for start in range(0, len(values), _METRICS_PER_BATCH):
            client.log_batch(run_id, metrics=values[start : start + _METRICS_PER_BATCH])
        with tempfile.TemporaryDirectory(prefix="logreg_spark-mlflow-") as temporary:
            local = Path(temporary)
            for name, directory in directories.items():
                storage_path(spark, directory).copy_to_local(local / name)
                client.log_artifacts(run_id, str(local / name), name)
            if then:
                then(client, run_id, local)
    except BaseException:
        if new:
            client.set_terminated(run_id, "FAILED")
        raise
    if new:
        client.set_terminated(run_id)
    log.info("logged to MLflow run %s (experiment %r at %s)", run_id, tracking.experiment, uri)
    return run_id


def _experiment_id(client: MlflowClient, name: str, uri: str) -> str:
    """The experiment ``name``, made if new; in a local SQLite store, with its artifacts in
    ``mlruns/`` beside the database file (as MLflow's default store in the working directory)."""
    found = client.get_experiment_by_name(name)
    if found:
        return str(found.experiment_id)
    database = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else ""
    location = (Path(database).resolve().parent / "mlruns").as_uri() if database else None
    return client.create_experiment(name, artifact_location=location)


def _register(client: MlflowClient, name: str, run_id: str) -> None:
    """A new version of the registered model ``name`` (made if new): the run's ``model/``."""
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as err:
        if err.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    log.info("registered as version %s of the MLflow model %r", version.version, name)
