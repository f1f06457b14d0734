"""The example DAGs really run: ``airflow dags test`` for one date, in Spark local mode.

Airflow and its Spark provider live in their own virtual environment (they
pin many packages of their own), made once and kept in
``$LOGREG_SPARK_AIRFLOW_ENV`` (default ``~/.cache/logreg_spark/airflow-<version>``).
The tasks run the ``spark-submit`` that PySpark installs in this project's
environment, found on PATH as an activated environment has it. The shape of the
DAGs and the training's reading of ``tune.json`` are checked without Spark, by
importing the DAG file with that environment's Python.
"""

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import ROOT

AIRFLOW = "apache-airflow==3.3.2"
PROVIDER = "apache-airflow-providers-apache-spark==6.3.4"
DAY = "2026-11-23"
TUNE_ON = {"LOGREG_SPARK_TUNE": "1"}
CONF_REG_PARAM = tomllib.loads((ROOT / "conf" / "local.toml").read_text())["model"]["reg_param"]


@pytest.fixture(scope="module")
def airflow_bin() -> Path:
    default = Path.home() / ".cache" / "logreg_spark" / f"airflow-{AIRFLOW.split('==')[1]}"
    env = Path(os.environ.get("LOGREG_SPARK_AIRFLOW_ENV", default))
    if not (env / "bin" / "airflow").exists():
        shutil.rmtree(env, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
        subprocess.run([str(env / "bin" / "pip"), "install", "--quiet", AIRFLOW, PROVIDER], check=True, timeout=1200)
    return env / "bin"


def _airflow_env(home: Path, data: Path, settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT")}
    env.pop("LOGREG_SPARK_TUNE", None)
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "jobs"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": "local[2]"}),
            "LOGREG_SPARK_DATA": str(data),
            **settings,
        }
    )
    return env


def _dags_test(
    airflow_bin: Path, home: Path, data: Path, *test: str, settings: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``airflow dags test logreg_spark_daily DAY``, or ``airflow <test...> DAY``."""
    env = _airflow_env(home, data, settings or {})
    subprocess.run(
        [str(airflow_bin / "airflow"), "db", "migrate"], env=env, cwd=home, check=True, capture_output=True, timeout=300
    )
    return subprocess.run(
        [str(airflow_bin / "airflow"), *(test or ("dags", "test", "logreg_spark_daily")), DAY],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=900,
    )


# Imports the DAG file as ``dags`` (as Airflow's parser does, by path), then runs the test's code.
_IMPORT_DAGS = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("logreg_daily_dag", sys.argv[1])
dags = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dags)
"""

# Every DAG of the file: schedule, and each task's operator, spark-submit application and arguments.
_DESCRIBE = """
from airflow.sdk import DAG
print(json.dumps({
    d.dag_id: {
        "schedule": d.schedule,
        "tasks": {
            t.task_id: {
                "operator": type(t).__name__,
                "application": t.application,
                "args": t.application_args,
                "tune_json": getattr(t, "tune_json", None),
                "upstream": sorted(t.upstream_task_ids),
            }
            for t in d.tasks
        },
    }
    for d in vars(dags).values() if isinstance(d, DAG)
}))
"""

# Runs the daily train task's execute once per content of tune.json (None: no file), with
# spark-submit replaced by recording its arguments; an error is reported as its type and message.
_TRAIN_ARGS = """
from pathlib import Path
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
submitted = []
SparkSubmitOperator.execute = lambda self, context: submitted.append(list(self.application_args))
train, results = dags.dag.get_task("train"), []
tune_json, conf_args = Path(train.tune_json), list(train.application_args)
for content in json.loads(sys.argv[2]):
    tune_json.unlink(missing_ok=True)
    if content is not None:
        tune_json.parent.mkdir(parents=True, exist_ok=True)
        tune_json.write_text(content)
    train.application_args = list(conf_args)
    try:
        train.execute({})
        results.append(submitted.pop())
    except Exception as error:
        results.append(f"{type(error).__name__}: {error}")
print(json.dumps(results))
"""


def _in_airflow(
    airflow_bin: Path, tmp_path: Path, code: str, *args: str, settings: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``code`` in Airflow's environment after importing the DAG file as ``dags``."""
    home = tmp_path / "airflow"
    home.mkdir(exist_ok=True)
    return subprocess.run(
        [str(airflow_bin / "python"), "-c", _IMPORT_DAGS + code, str(ROOT / "jobs" / "logreg_daily_dag.py"), *args],
        env=_airflow_env(home, tmp_path / "data", settings or {}),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _last_json(result: subprocess.CompletedProcess):
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_weekly_tune_dag_exists_only_when_switched_on(airflow_bin, tmp_path):
    data = tmp_path / "data"
    off = _last_json(_in_airflow(airflow_bin, tmp_path, _DESCRIBE))
    assert list(off) == ["logreg_spark_daily"]
    assert off["logreg_spark_daily"]["tasks"]["train"]["operator"] == "SparkSubmitOperator"

    on = _last_json(_in_airflow(airflow_bin, tmp_path, _DESCRIBE, settings=TUNE_ON))
    assert sorted(on) == ["logreg_spark_daily", "logreg_spark_weekly_tune"]
    assert on["logreg_spark_weekly_tune"]["schedule"] == "@weekly"
    assert on["logreg_spark_weekly_tune"]["tasks"] == {
        "tune": {
            "operator": "SparkSubmitOperator",
            "application": str(ROOT / "jobs" / "tune.py"),
            "args": [
                "--conf",
                str(ROOT / "conf" / "tune.toml"),
                "--set",
                f"input.path={data}/events/dt={{{{ ds }}}}",
                "--set",
                f"output.path={data}/tune",
                "--set",
                "output.mode=overwrite",
            ],
            "tune_json": None,
            "upstream": [],
        }
    }
    # The daily DAG is the same but for the training's operator, which reads the tune's choice.
    daily, train = on["logreg_spark_daily"], on["logreg_spark_daily"]["tasks"]["train"]
    assert train["operator"] == "TunedSparkSubmitOperator" and train["tune_json"] == f"{data}/tune/tune.json"
    off["logreg_spark_daily"]["tasks"]["train"].update(operator=train["operator"], tune_json=train["tune_json"])
    assert daily == off["logreg_spark_daily"]

    typo = _in_airflow(airflow_bin, tmp_path, _DESCRIBE, settings={"LOGREG_SPARK_TUNE": "weekly"})
    assert typo.returncode != 0
    assert typo.stderr.splitlines()[-1] == (
        "ValueError: LOGREG_SPARK_TUNE='weekly': expected 1, true, yes or on, or 0, false, no, off or nothing"
    )


def test_daily_training_takes_the_last_tunes_choice_or_the_confs(airflow_bin, tmp_path):
    best = {"reg_param": 0.0012345678901234567, "elastic_net_param": 0.5, "mean": 0.31, "std": 0.02}
    cases = [
        None,
        json.dumps({"metric": "log_loss", "best": best}),
        '{"best": {"reg_param": 0, "elastic_net_param": 1}}',
    ]
    result = _in_airflow(airflow_bin, tmp_path, _TRAIN_ARGS, json.dumps(cases), settings=TUNE_ON)
    conf_only, tuned, integers = _last_json(result)
    assert conf_only[:2] == ["--conf", str(ROOT / "conf" / "local.toml")]
    assert not any(arg.startswith("model.") for arg in conf_only)  # no tune.json: the conf's penalty
    assert tuned == [
        *conf_only,
        "--set",
        f"model.reg_param={best['reg_param']!r}",
        "--set",
        "model.elastic_net_param=0.5",
    ]
    assert integers == [*conf_only, "--set", "model.reg_param=0.0", "--set", "model.elastic_net_param=1.0"]
    tune_json = tmp_path / "data" / "tune" / "tune.json"
    log = result.stdout + result.stderr
    assert f"no {tune_json} (no tune yet): model.reg_param and model.elastic_net_param as in the conf" in log
    assert f"the last tune's choice, from {tune_json}: model.reg_param={best['reg_param']!r}" in log


def test_malformed_tune_json_fails_the_training_in_one_line(airflow_bin, tmp_path):
    tune_json = tmp_path / "data" / "tune" / "tune.json"
    cases = [
        ("<html>", "not JSON (Expecting value: line 1 column 1 (char 0))"),
        ("[1, 2]", "no best.reg_param: not a tune.json written by jobs/tune.py"),
        ('{"best": {"reg_param": 0.1}}', "no best.elastic_net_param: not a tune.json written by jobs/tune.py"),
        ('{"best": {"reg_param": "0.1", "elastic_net_param": 0}}', "best.reg_param must be a number >= 0, not '0.1'"),
        ('{"best": {"reg_param": -1.0, "elastic_net_param": 0}}', "best.reg_param must be a number >= 0, not -1.0"),
        ('{"best": {"reg_param": NaN, "elastic_net_param": 0}}', "best.reg_param must be a number >= 0, not nan"),
        (
            '{"best": {"reg_param": 0.1, "elastic_net_param": 1.5}}',
            "best.elastic_net_param must be a number in [0, 1], not 1.5",
        ),
        (
            '{"best": {"reg_param": 0.1, "elastic_net_param": true}}',
            "best.elastic_net_param must be a number in [0, 1], not True",
        ),
    ]
    errors = _last_json(
        _in_airflow(airflow_bin, tmp_path, _TRAIN_ARGS, json.dumps([c for c, _ in cases]), settings=TUNE_ON)
    )
    assert errors == [f"ValueError: {tune_json}: {message}" for _, message in cases]


def test_weekly_tune_feeds_the_daily_dag_which_trains_evaluates_and_predicts(airflow_bin, tmp_path):
    """The weekly DAG writes tune.json where the daily training reads it, its choice is the model's penalty,
    and the daily DAG's evaluation and prediction run on that model. One run; that a rerun of a date gives
    identical coefficients is tested in test_checkpoint.py, the daily DAG without tuning in the tests above."""
    data, home = tmp_path / "data", tmp_path / "airflow"
    home.mkdir()
    for source in ("events", "holdout", "to_score"):
        shutil.copytree(ROOT / "data" / "sample", data / source / f"dt={DAY}")
    tune = _dags_test(airflow_bin, home, data, "dags", "test", "logreg_spark_weekly_tune", settings=TUNE_ON)
    assert tune.returncode == 0, (tune.stdout + tune.stderr)[-3000:]
    assert "state=success" in tune.stdout + tune.stderr
    best = json.loads((data / "tune" / "tune.json").read_text())["best"]
    assert (data / "tune" / "best" / "model.json").exists() and best["reg_param"] != CONF_REG_PARAM

    daily = _dags_test(airflow_bin, home, data, settings=TUNE_ON)
    assert daily.returncode == 0, (daily.stdout + daily.stderr)[-3000:]
    assert "state=success" in daily.stdout + daily.stderr
    assert "the last tune's choice" in daily.stdout + daily.stderr
    model = json.loads((data / "models" / f"dt={DAY}" / "model.json").read_text())
    assert model["rows"] == 5000 and model["converged"]
    assert model["conf"]["model"]["reg_param"] == best["reg_param"]
    assert model["conf"]["model"]["elastic_net_param"] == best["elastic_net_param"]
    metrics = json.loads((data / "evaluations" / f"dt={DAY}" / "metrics.json").read_text())
    assert metrics["rows"] == 5000 and 0.8 < metrics["roc_auc"] < 1
    predictions = pq.read_table(data / "predictions" / f"dt={DAY}")
    assert predictions.num_rows == 5000 and "probability" in predictions.column_names
    assert list((data / "checkpoints" / f"dt={DAY}").glob("checkpoint-*")) == []
