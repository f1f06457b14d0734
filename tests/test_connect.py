"""Spark Connect: the jobs and the Python API on a real Connect server (conftest.py) give what they
give on classic Spark; a conf naming both kinds of session is refused before anything starts.

The passes themselves are checked against NumPy on both kinds of session in test_distributed.py,
a killed and restarted job on Connect in test_checkpoint.py.
"""

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import assert_documents_close, small_problem
from pyspark.sql import types as T
from scipy import sparse
from sparse_data import FEATURES, write_csr
from synthetic import make_classification, multiclass_labels

from logreg_spark import LogisticRegression, LogisticRegressionCV, LogisticRegressionModel
from logreg_spark.app import evaluate, predict, train
from logreg_spark.app.config import load_conf
from logreg_spark.errors import ConfigError
from logreg_spark.settings.schema import (
    EvaluateConf,
    EvaluateInputConf,
    EvaluateOutputConf,
    ModelRefConf,
    PredictConf,
    PredictInputConf,
    PredictOutputConf,
)
from logreg_spark.spark import prepare
from logreg_spark.spark.scored_files import SPARK_SCHEMA_KEY

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["x0", "x1", "x2", "x3", "x4"]


def _job(*args: str, remote: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT", "SPARK_REMOTE")}
    if remote:
        env["SPARK_REMOTE"] = remote
    command = [sys.executable, str(ROOT / "jobs" / "train.py"), "--conf", "conf/local.toml", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_a_conf_naming_both_a_master_and_a_connect_server_is_refused_before_spark_starts(tmp_path):
    done = _job("--set", "spark.spark.remote=sc://127.0.0.1:1", "--set", f"output.model_path={tmp_path / 'm'}")
    assert done.returncode == 2
    message = done.stderr.strip().splitlines()[-1]
    assert "spark.remote" in message and "spark.master" in message and "conf/local.toml" in message
    assert not (tmp_path / "m").exists()
    with pytest.raises(ConfigError, match="spark.remote and spark.master"):
        load_conf([ROOT / "conf" / "local.toml"], ["spark.spark.remote=sc://127.0.0.1:1"])


def _entries(directory: Path) -> list[str]:
    """The entries of an output directory but Hadoop's checksum files (classic Spark writes them)."""
    return sorted(p.name for p in directory.iterdir() if not p.name.endswith(".crc"))


def _coefficients(path: Path) -> np.ndarray:
    return pq.read_table(path / "coefficients").column("coefficient").to_numpy()


def test_the_sample_conf_trains_on_connect_with_only_spark_remote_set(spark, connect_url, tmp_path):
    """SPARK_REMOTE wins over the sample conf's spark.master; the model equals a classic run's."""
    done = _job("--set", f"output.model_path={tmp_path / 'connect'}", remote=connect_url)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "spark.master = local[*] is not used" in done.stderr and "newton converged" in done.stderr
    assert done.stdout.strip() == f"model written to {tmp_path / 'connect'}"  # as on classic Spark (test_cli.py)
    train.run(spark, load_conf([ROOT / "conf" / "local.toml"], [f"output.model_path={tmp_path / 'classic'}"]))
    np.testing.assert_allclose(_coefficients(tmp_path / "connect"), _coefficients(tmp_path / "classic"), rtol=1e-12)
    documents = [json.loads((tmp_path / kind / "model.json").read_text()) for kind in ("connect", "classic")]
    assert documents[0]["converged"] and documents[0]["iterations"] == documents[1]["iterations"]
    assert _entries(tmp_path / "connect") == _entries(tmp_path / "classic")


@pytest.fixture(scope="module")
def data_path(tmp_path_factory) -> Path:
    """Every kind of feature input for the same rows: named columns, a sparse Vector's parts as an
    index/value pair, strings to hash; binary and 3-class labels."""
    X, y, _ = make_classification(3000, len(NAMES), seed=11, condition=4.0)
    X[X < -0.5] = 0.0  # zeros for the sparse inputs
    rows = [np.flatnonzero(row) for row in X]
    table = pa.table(
        {
            **{n: X[:, j] for j, n in enumerate(NAMES)},
            "idx": pa.array([r.astype(np.int32) for r in rows], pa.list_(pa.int32())),
            "val": pa.array([X[i, r] for i, r in enumerate(rows)], pa.list_(pa.float64())),
            "city": pa.array([f"c{int(abs(v) * 7) % 13}" for v in X[:, 0]]),
            "shop": pa.array([f"s{int(abs(v) * 5) % 9}" for v in X[:, 1]]),
            "label": y.astype(np.int64),
            "label3": multiclass_labels(X, 3, seed=2).astype(np.int64),
            "w": np.random.default_rng(4).uniform(0.5, 2.0, len(y)),
            "off": np.random.default_rng(5).normal(size=len(y)),
        }
    )
    path = tmp_path_factory.mktemp("connect_data") / "rows"
    path.mkdir()
    for part, chunk in enumerate(np.array_split(np.arange(len(y)), 3)):
        pq.write_table(table.take(chunk), path / f"part-{part}.parquet")
    return path


CASES = {
    "dense newton": dict(featureCols=NAMES, solver="newton", regParam=0.01),
    "dense lbfgs weighted": dict(featureCols=NAMES, solver="lbfgs", regParam=0.01, weightCol="w"),
    "dense offset": dict(featureCols=NAMES, regParam=0.01, weightCol="w", offsetCol="off"),
    "dense gd": dict(featureCols=NAMES, solver="gd", regParam=0.05, standardization=False),
    "dense owlqn": dict(featureCols=NAMES, solver="lbfgs", regParam=0.02, elasticNetParam=0.5),
    "index/value": dict(indicesCol="idx", valuesCol="val", numFeatures=len(NAMES), regParam=0.01),
    "hashed": dict(hashFeatures=["city", "shop"], hashDim=32, regParam=0.1, tol=1e-8),
    "multinomial": dict(featureCols=NAMES, family="multinomial", labelCol="label3", regParam=0.01),
    "multinomial elastic net": dict(
        featureCols=NAMES, labelCol="label3", regParam=0.01, elasticNetParam=0.3, cache="spark"
    ),
}


@contextmanager
def classic_mode(monkeypatch):
    """pyspark.ml back on its classic code paths, for the classic half of a comparison."""
    with monkeypatch.context() as patch:
        patch.delenv("SPARK_CONNECT_MODE_ENABLED")
        yield


def _assert_same_fit(spark, connect, monkeypatch, path: Path, params: dict) -> None:
    """The same iterations and coefficients to 1e-12: both sides read through Spark's reader, so
    that they build the same blocks and add them up in the same order (the classic side would
    otherwise read the files itself, spark/parquet_direct.py, and differ in the last digits)."""
    with classic_mode(monkeypatch):
        monkeypatch.setattr(prepare, "direct_source", lambda *args: None)
        classic = LogisticRegression(**params).fit(spark.read.parquet(str(path)))
    remote = LogisticRegression(**params).fit(connect.read.parquet(str(path)))
    assert remote.summary.converged and remote.summary.totalIterations == classic.summary.totalIterations
    np.testing.assert_allclose(
        remote.coefficientMatrix.toArray(), classic.coefficientMatrix.toArray(), rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(remote.interceptVector.toArray(), classic.interceptVector.toArray(), rtol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_a_fit_on_connect_equals_the_classic_fit(spark, connect, monkeypatch, data_path, case):
    _assert_same_fit(spark, connect, monkeypatch, data_path, {"tol": 1e-9, **CASES[case]})


def test_a_sparse_vector_fit_on_connect_equals_the_classic_fit(spark, connect, monkeypatch, tmp_path):
    X = sparse.random_array((2000, 300), density=0.02, random_state=5, format="csr")
    y = (X @ np.linspace(-3, 3, 300) + np.random.default_rng(6).logistic(size=2000) > 0).astype(np.int64)
    write_csr(tmp_path / "rows", X, y, files=3)
    _assert_same_fit(spark, connect, monkeypatch, tmp_path / "rows", {"featuresCol": FEATURES, "regParam": 0.01})


@pytest.fixture(scope="module")
def model_path(spark, data_path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("connect_model") / "model"
    LogisticRegression(featureCols=NAMES, regParam=0.01, threshold=0.4).fit(spark.read.parquet(str(data_path))).save(
        str(path)
    )
    return path


def test_predict_on_connect_writes_what_classic_writes(spark, connect, monkeypatch, data_path, model_path, tmp_path):
    with classic_mode(monkeypatch):
        _predict(spark, data_path, model_path, tmp_path / "classic")
    _predict(connect, data_path, model_path, tmp_path / "connect")
    order = [(n, "ascending") for n in NAMES]
    tables = [pq.read_table(tmp_path / kind).sort_by(order) for kind in ("classic", "connect")]
    # the same columns and Spark schema (classic: written by the tasks, spark/scored_files.py; Connect: by Spark)
    assert tables[0].schema.equals(tables[1].schema, check_metadata=False) and tables[0].num_rows == 3000
    spark_schemas = [T.StructType.fromJson(json.loads(t.schema.metadata[SPARK_SCHEMA_KEY])) for t in tables]
    assert spark_schemas[0] == spark_schemas[1]
    for column in ("raw_margin", "probability", "prediction"):
        np.testing.assert_allclose(tables[1].column(column).to_numpy(), tables[0].column(column).to_numpy(), rtol=1e-12)


def _predict(session, data_path: Path, model_path: Path, out: Path) -> None:
    predict.run(
        session,
        PredictConf(
            input=PredictInputConf(path=str(data_path)),
            model=ModelRefConf(path=str(model_path)),
            output=PredictOutputConf(path=str(out), keep_cols=NAMES, raw_margin=True),
        ),
    )


def _evaluate(session, data_path: Path, model_path: Path, out: Path) -> dict:
    evaluate.run(
        session,
        EvaluateConf(
            input=EvaluateInputConf(path=str(data_path), weight_col="w"),
            model=ModelRefConf(path=str(model_path)),
            output=EvaluateOutputConf(path=str(out)),
        ),
    )
    document = json.loads((out / "metrics.json").read_text())
    del document["model"]  # the same directory, as file:/… (classic) and /… (Connect)
    return document


def test_evaluate_on_connect_writes_what_classic_writes(spark, connect, monkeypatch, data_path, model_path, tmp_path):
    with classic_mode(monkeypatch):
        classic = _evaluate(spark, data_path, model_path, tmp_path / "classic")
    assert_documents_close(_evaluate(connect, data_path, model_path, tmp_path / "connect"), classic)
    assert _entries(tmp_path / "connect") == _entries(tmp_path / "classic")


def test_transform_save_load_and_mllib_export_on_connect(spark, connect, monkeypatch, data_path, tmp_path):
    df = connect.read.parquet(str(data_path))
    model = LogisticRegression(featureCols=NAMES, regParam=0.01).fit(df)
    model.write().overwrite().save(str(tmp_path / "model"))
    model.write().overwrite().save(str(tmp_path / "model"))  # replaced once the new one is complete
    again = LogisticRegressionModel.load(str(tmp_path / "model"))
    np.testing.assert_array_equal(again.coefficients.toArray(), model.coefficients.toArray())
    p = np.array([row.probability[1] for row in again.transform(df).sort(*NAMES).collect()])
    with classic_mode(monkeypatch):
        classic = LogisticRegressionModel.load(str(tmp_path / "model")).transform(spark.read.parquet(str(data_path)))
        expected = [row.probability[1] for row in classic.sort(*NAMES).collect()]
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    exported = model.to_mllib(str(tmp_path / "mllib"))
    np.testing.assert_allclose(exported.coefficients.toArray(), model.coefficients.toArray(), rtol=1e-15)


def test_a_model_too_large_for_a_connect_plan_is_refused_before_preparation(connect):
    X, y, _ = small_problem(rows=50)
    df = connect.createDataFrame(pa.table({"city": [f"c{i}" for i in range(50)], "label": y.astype(np.int64)}))
    lr = LogisticRegression(hashFeatures=["city"], hashDim=1 << 21)  # 16 MiB of coefficients, and the intercept
    with pytest.raises(ConfigError, match=r"about 2,097,153 \(16.0 MiB\), more than the 2,097,152"):
        lr.fit(df)


def test_tuning_on_connect_selects_as_on_classic(spark, connect, monkeypatch, data_path):
    def tuned(session):
        lr = LogisticRegression(featureCols=NAMES, tol=1e-8)
        grid = dict(regParams=[0.1, 0.01, 0.001], elasticNetParams=[0.0, 0.5], numFolds=3, metric="roc_auc")
        return LogisticRegressionCV(estimator=lr, **grid).fit(session.read.parquet(str(data_path)))

    with classic_mode(monkeypatch):
        classic = tuned(spark)
    remote = tuned(connect)
    np.testing.assert_allclose(remote.avgMetrics, classic.avgMetrics, rtol=1e-10)
    assert (remote.bestRegParam, remote.bestElasticNetParam) == (classic.bestRegParam, classic.bestElasticNetParam)
    assert remote.passes == classic.passes
