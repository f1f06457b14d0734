"""MLflow tracking ([tracking]): what the train and evaluate jobs log into a local SQLite store."""

import json
import logging
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import ROOT
from mlflow.tracking import MlflowClient
from synthetic import make_classification, write_parquet

from logreg_spark.app import evaluate, train
from logreg_spark.app.config import (
    Conf,
    ConfigError,
    EvaluateConf,
    EvaluateInputConf,
    EvaluateOutputConf,
    EvaluateTrackingConf,
    InputConf,
    ModelConf,
    ModelRefConf,
    OutputConf,
    PredictConf,
    TrackingConf,
    TrainTrackingConf,
    load_conf,
    load_job_conf,
)
from logreg_spark.artifacts.model_dir import read_model

EXPERIMENT = "tests"


def _train_conf(root, **tracking) -> Conf:
    return Conf(
        input=InputConf(path=str(root / "train"), features=["x0", "x1", "x2"]),
        model=ModelConf(reg_param=0.01),
        output=OutputConf(model_path=str(root / "model")),
        tracking=TrainTrackingConf(**tracking),
    )


def _evaluate_conf(root, name: str, **tracking) -> EvaluateConf:
    return EvaluateConf(
        input=EvaluateInputConf(path=str(root / "train")),
        model=ModelRefConf(path=str(root / "model")),
        output=EvaluateOutputConf(path=str(root / name)),
        tracking=EvaluateTrackingConf(**tracking),
    )


@pytest.fixture(scope="module")
def tracked(spark, tmp_path_factory):
    """A model trained with tracking on into a fresh SQLite store: (root, store URI, client, run)."""
    root = tmp_path_factory.mktemp("tracking")
    X, y, _ = make_classification(600, 3, seed=2)
    write_parquet(root / "train", X, y, files=2)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    conf = _train_conf(
        root, enabled=True, uri=uri, experiment=EXPERIMENT, run_name="daily", registered_model_name="logreg"
    )
    train.run(spark, conf)
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name(EXPERIMENT).experiment_id])
    return root, uri, client, run


def test_training_run_has_the_conf_the_iterations_and_the_finals(tracked):
    root, _, client, run = tracked
    assert run.info.status == "FINISHED" and run.info.run_name == "daily"
    params = run.data.params
    assert params["model.reg_param"] == "0.01" and params["input.features"] == '["x0", "x1", "x2"]'
    assert params["tracking.experiment"] == EXPERIMENT and params["output.model_path"] == str(root / "model")
    assert params["rows"] == "600" and params["features"] == "3" and params["classes"] == "2"
    assert params["solver"] == "newton" and run.data.tags["model_uri"] == f"file:{root / 'model'}"
    history = pq.read_table(root / "model" / "history").sort_by("iteration").to_pydict()
    for name in ("loss", "grad_norm"):
        logged = sorted(client.get_metric_history(run.info.run_id, name), key=lambda m: m.step)
        assert [m.step for m in logged] == history["iteration"] == list(range(len(history["iteration"])))
        np.testing.assert_allclose([m.value for m in logged], history[name])
    meta = json.loads((root / "model" / "model.json").read_text())
    metrics = run.data.metrics
    assert metrics["final_loss"] == pytest.approx(meta["final_loss"]) and metrics["converged"] == 1.0
    assert metrics["iterations"] == meta["iterations"] == len(history["iteration"]) - 1
    assert {"optimality", "passes", "train_seconds"} <= set(metrics)


def test_the_logged_model_directory_reads_back_and_is_registered(tracked, spark, tmp_path):
    root, _, client, run = tracked
    run_id = run.info.run_id
    assert {a.path for a in client.list_artifacts(run_id)} == {"model", "loss.png"}
    assert {"model/model.json", "model/coefficients", "model/loss.png"} <= {
        a.path for a in client.list_artifacts(run_id, "model")
    }
    assert (root / "mlruns" / run_id / "artifacts" / "model" / "model.json").exists()  # beside the database
    local = client.download_artifacts(run_id, "model", str(tmp_path))
    assert not list(tmp_path.rglob("*.crc"))
    logged, written = read_model(spark, local), read_model(spark, str(root / "model"))
    np.testing.assert_array_equal(logged.coefficients, written.coefficients)
    assert logged.intercept == written.intercept
    version = client.get_model_version("logreg", "1")
    assert version.run_id == run_id and version.source == f"runs:/{run_id}/model"


def test_evaluate_logs_its_metrics_into_the_training_run(tracked, spark):
    root, uri, client, run = tracked
    run_id = run.info.run_id
    evaluate.run(spark, _evaluate_conf(root, "evaluation", enabled=True, uri=uri, run_id=run_id))
    table = pq.read_table(root / "evaluation" / "metrics").to_pydict()
    written = dict(zip(table["metric"], table["value"]))
    metrics = client.get_run(run_id).data.metrics
    assert {f"eval.{name}": metrics[f"eval.{name}"] for name in written} == pytest.approx(
        {f"eval.{name}": value for name, value in written.items()}
    )
    assert "evaluation/metrics.json" in {a.path for a in client.list_artifacts(run_id, "evaluation")}
    assert len(client.search_runs([run.info.experiment_id])) == 1


def test_a_tracking_failure_is_a_warning_and_keeps_the_output(tracked, spark, caplog):
    root, uri, _, _ = tracked
    conf = _evaluate_conf(root, "evaluation_kept", enabled=True, uri=uri, run_id="0123456789abcdef")
    with caplog.at_level(logging.WARNING, logger="logreg_spark"):
        evaluate.run(spark, conf)
    assert (root / "evaluation_kept" / "metrics.json").exists()
    assert "MLflow tracking failed (the output is kept)" in caplog.text


def test_tracking_off_makes_no_store(spark, tmp_path, monkeypatch):
    X, y, _ = make_classification(300, 3, seed=4)
    write_parquet(tmp_path / "train", X, y)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'env.db'}")
    train.run(spark, _train_conf(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "train"]


def test_tracking_off_imports_no_mlflow():
    code = (
        "import sys\n"
        "from logreg_spark.app import evaluate, tracking, train\n"
        "from logreg_spark.app.config import load_conf\n"
        "assert tracking.log_training(None, load_conf(['conf/local.toml']), None, '') is None\n"
        "assert 'mlflow' not in sys.modules, 'mlflow imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_store_is_the_conf_s_else_the_environment_s_else_a_local_sqlite_file(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert TrackingConf().store_uri() == "sqlite:///mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking:5000")
    assert TrackingConf().store_uri() == "http://tracking:5000"
    assert TrackingConf(uri="sqlite:////data/runs.db").store_uri() == "sqlite:////data/runs.db"


@pytest.mark.parametrize(
    "schema, conf_file, override, message",
    [
        (Conf, "local.toml", 'tracking.experiment=""', "--set: tracking.experiment is empty"),
        (Conf, "local.toml", "tracking.enabled=yes", "--set: tracking.enabled must be true or false"),
        (Conf, "local.toml", "tracking.run_id=abc", "--set: unknown key tracking.run_id"),
        (
            EvaluateConf,
            "evaluate.toml",
            "tracking.registered_model_name=m",
            "unknown key tracking.registered_model_name",
        ),
        (EvaluateConf, "evaluate.toml", 'tracking.run_id="no such id"', "tracking.run_id must be an MLflow run id"),
        (PredictConf, "predict.toml", "tracking.enabled=true", "--set: unknown section [tracking]"),
    ],
)
def test_bad_tracking_conf_is_one_line(schema, conf_file, override, message):
    with pytest.raises(ConfigError) as err:
        load_job_conf([ROOT / "conf" / conf_file], [override], schema)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_tracking_without_mlflow_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what find_spec reports for a package not installed
    with pytest.raises(ConfigError) as err:
        load_conf([ROOT / "conf" / "local.toml"], ["tracking.enabled=true", "tracking.uri=http://tracking:5000"])
    assert str(err.value) == "--set: tracking.enabled = true needs mlflow: pip install 'logreg_spark[mlflow]'"
