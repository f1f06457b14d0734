"""The tuning job on Spark: its outputs, ``best/`` against a separate training run, folds that do
not depend on the partitioning, the user's fold column, and bad confs refused before Spark."""

import json
import os
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT
from sklearn.metrics import average_precision_score, roc_auc_score
from synthetic import make_classification

from logreg_spark.app import train, tune
from logreg_spark.app.config import (
    Conf,
    ConfigError,
    InputConf,
    ModelConf,
    OutputConf,
    SolverConf,
    TuneConf,
    TuneOutputConf,
    TuneSection,
    load_job_conf,
)
from logreg_spark.artifacts.model_dir import read_trained
from logreg_spark.core.folds import FoldRule
from logreg_spark.core.sums import HeldOut
from logreg_spark.spark import ranking
from logreg_spark.spark.prepare import TrainingData
from logreg_spark.spark.ranking import rankings
from logreg_spark.tuning.chains import PathFit
from logreg_spark.tuning.held_out import held_out_scores
from logreg_spark.tuning.run import PHASES

FEATURES = ["x0", "x1", "x2", "x3", "x4"]
SOLVER = SolverConf(tol=1e-7)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """4,000 labelled rows in 3 files, with a user fold column ``batch`` (ids 3, 7 and 11)."""
    root = tmp_path_factory.mktemp("tune")
    X, y, _ = make_classification(4000, 5, seed=8, condition=4.0, positive_rate=0.4, noise=2.0)
    batch = np.array([3, 7, 11])[np.random.default_rng(2).integers(0, 3, 4000)]
    table = pa.table({**{n: X[:, j] for j, n in enumerate(FEATURES)}, "label": y.astype(np.int64), "batch": batch})
    (root / "rows").mkdir()
    for part, rows in enumerate(np.array_split(np.arange(4000), 3)):
        pq.write_table(table.take(rows), root / "rows" / f"part-{part}.parquet")
    return root, X, y, batch


def _conf(root, **tune) -> TuneConf:
    return TuneConf(
        input=InputConf(path=str(root / "rows"), features=FEATURES),
        model=ModelConf(family="binomial"),
        solver=SOLVER,
        tune=TuneSection(**tune),
        output=TuneOutputConf(path=str(root / "out"), mode="overwrite"),
    )


def test_the_tuning_job_writes_its_path_scores_picture_and_the_best_model(spark, data):
    root, *_ = data
    conf = _conf(root, path_length=5, elastic_net_params=[0.0, 0.5], folds=3, seed=4)
    started = time.perf_counter()
    assert tune.run(spark, conf) == f"file:{root / 'out'}"
    whole = time.perf_counter() - started
    out = root / "out"
    document = json.loads((out / "tune.json").read_text())
    phases = document["phase_seconds"]
    assert list(phases) == list(PHASES) and min(phases.values()) > 0 and sum(phases.values()) < whole
    assert phases["search"] >= document["seconds"]  # the shared passes, timed inside the search
    path = pq.read_table(out / "path").to_pandas()
    assert len(path) == 2 * 5 * 3  # α × λ × folds
    assert path["converged"].all() and document["not_converged"] == 0
    assert sorted(path["fold"].unique()) == [0, 1, 2]
    scored = path.groupby(["reg_param", "elastic_net_param"])["validation_log_loss"]
    best = document["best"]
    assert best["mean"] == pytest.approx(scored.mean().min(), rel=1e-12)
    assert scored.mean()[best["reg_param"], best["elastic_net_param"]] == pytest.approx(best["mean"], rel=1e-12)
    assert len(document["scores"]) == 10 and document["passes"] < path["passes"].sum() / 5
    assert (out / "cv.png").read_bytes()[:4] == b"\x89PNG"
    # best/ is the model a separate training run at the chosen (λ, α) writes
    separate = Conf(
        input=conf.input,
        model=ModelConf(family="binomial", reg_param=best["reg_param"], elastic_net_param=best["elastic_net_param"]),
        solver=SOLVER,
        output=OutputConf(model_path=str(root / "separate"), mode="overwrite"),
    )
    train.run(spark, separate)
    tuned, alone = read_trained(spark, str(out / "best")), read_trained(spark, str(root / "separate"))
    assert tuned.metadata["converged"] and tuned.metadata["conf"]["model"] == alone.metadata["conf"]["model"]
    assert tuned.metadata["final_loss"] == pytest.approx(alone.metadata["final_loss"], rel=1e-10)
    assert np.allclose(tuned.coefficients, alone.coefficients, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("column", [False, True], ids=["hashed", "fold_col"])
def test_folds_are_the_same_on_any_partitioning_and_the_users_are_kept_exactly(spark, data, column):
    root, X, y, batch = data
    rule = FoldRule(column="batch") if column else FoldRule(folds=3, seed=6)
    expected = batch if column else rule.assign(X, y, np.ones(len(y)))
    df = spark.read.parquet(str(root / "rows"))
    counts = []
    for partitions in (1, 3, 8, 8):  # the last one again: a rerun
        prepared = TrainingData.prepare(df.repartition(partitions), InputConf(features=FEATURES), 0, folds=rule)
        try:
            summaries = prepared.fold_summaries()
        finally:
            prepared.release()
        counts.append({fold: (s.rows, round(float(s.mean[0]), 9)) for fold, s in summaries.items()})
    ids = np.unique(expected)
    assert counts[0] == {int(f): (int(np.sum(expected == f)), round(float(X[expected == f, 0].mean()), 9)) for f in ids}
    assert all(c == counts[0] for c in counts[1:])
    assert rule.held_out(sorted(counts[0])) == ids.tolist()


def _tune_job(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT")}
    return subprocess.run(
        [sys.executable, str(ROOT / "jobs" / "tune.py"), "--conf", "conf/tune.toml", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "override, message",
    [
        ("tune.elastic_net_params=[]", "tune.elastic_net_params must hold at least one value"),
        ("tune.reg_params=[0.1, -1.0]", "tune.reg_params must hold numbers in [0.0, inf), not -1.0"),
        ("tune.reg_params=[0.1, 0.1]", "tune.reg_params must not repeat a value"),
        ("tune.elastic_net_params=[0.5, 1.5]", "tune.elastic_net_params must hold numbers in [0.0, 1.0], not 1.5"),
        ("tune.folds=1", "tune.folds must be >= 2 (got 1)"),
        ("tune.path_length=1", "tune.path_length must be >= 2 (got 1)"),
        ("tune.metric=accuracy", "tune.metric must be one of 'log_loss', 'roc_auc', 'pr_auc'"),
        ("model.reg_param=0.1", "model.reg_param is not used by tune: the grid chooses it"),
    ],
)
def test_a_bad_grid_is_one_line_before_spark_starts(override, message, tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_job_conf([ROOT / "conf" / "tune.toml"], [override, f"output.path={tmp_path / 'out'}"], TuneConf)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_tuning_job_refuses_a_bad_conf_in_one_line_without_spark(tmp_path):
    started = time.perf_counter()
    out = f"output.path={tmp_path / 'o'}"
    result = _tune_job("--set", "tune.fold_col=batch", "--set", "tune.validation_fraction=0.2", "--set", out)
    assert result.returncode == 2
    assert result.stderr.startswith("logreg_spark: error: --set: tune.validation_fraction and tune.fold_col")
    assert result.stderr.count("\n") == 1 and time.perf_counter() - started < 10
    assert not (tmp_path / "o").exists()


def test_the_held_out_ranking_metrics_are_exact(spark, data, monkeypatch):
    root, X, y, batch = data
    monkeypatch.setattr(ranking, "ROWS_PER_PARTITION", 300)  # several sorted partitions
    rule = FoldRule(column="batch")
    rng = np.random.default_rng(4)
    fits = [
        PathFit(0.1, 0.0, fold, "lbfgs", 1, 1, 0.5, 0.0, True, "", HeldOut(0, 0, 0), rng.normal(size=5), rng.normal())
        for fold in (3, 7, 11, 7)
    ]
    fits[3] = replace(fits[3], coef=np.round(fits[3].coef, 1))  # coarse coefficients: many tied scores
    df = spark.read.parquet(str(root / "rows"))
    ranked = rankings(held_out_scores(df, InputConf(features=FEATURES), rule, "float64", fits), rows=len(y))
    assert sorted(ranked) == [0, 1, 2, 3]
    for i in ranked:
        held = batch == fits[i].held_out
        p = 1 / (1 + np.exp(-(X[held] @ fits[i].coef + fits[i].intercept)))
        assert ranked[i].roc_auc == pytest.approx(roc_auc_score(y[held], p), rel=1e-12)
        assert ranked[i].pr_auc == pytest.approx(average_precision_score(y[held], p), rel=1e-12)


def test_tuning_by_roc_auc_picks_the_highest_mean(spark, data):
    root, *_ = data
    conf = replace(
        _conf(root, reg_params=[1.0, 0.1, 0.01], folds=3, metric="roc_auc"),
        output=TuneOutputConf(path=str(root / "auc"), mode="overwrite"),
    )
    tune.run(spark, conf)
    document = json.loads((root / "auc" / "tune.json").read_text())
    means = {s["reg_param"]: s["mean"] for s in document["scores"]}
    assert document["best"]["reg_param"] == max(means, key=lambda lam: (means[lam], lam))
    assert all(0.6 < m < 1 for m in means.values())
    path = pq.read_table(root / "auc" / "path").to_pandas()
    assert path["validation_roc_auc"].notna().sum() == 9
