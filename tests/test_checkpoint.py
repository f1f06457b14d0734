"""Checkpoints: a stopped fit resumes to the same coefficients; foreign checkpoints are refused."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import ROOT

from logreg_spark.app import train
from logreg_spark.app.config import Conf, InputConf, ModelConf, OutputConf, SolverConf
from logreg_spark.artifacts.checkpoint import CheckpointError, Checkpoints, fingerprint
from logreg_spark.spark.reading import read_input


def _conf(tmp_path: Path, **solver) -> Conf:
    return Conf(
        input=InputConf(
            path=str(ROOT / "data" / "sample"),
            features=["age_years", "income_k", "visits", "tenure_months", "balance", "clicks"],
        ),
        model=ModelConf(reg_param=0.01),
        solver=SolverConf(
            **{
                "name": "lbfgs",
                "memory": 4,
                "tol": 1e-9,
                "checkpoint_path": str(tmp_path / "ckpt"),
                "checkpoint_every": 3,
                **solver,
            }
        ),
        output=OutputConf(model_path=str(tmp_path / "model"), mode="overwrite"),
    )


def _checkpoints(spark, conf: Conf) -> Checkpoints:
    df = read_input(spark, conf.input)
    return Checkpoints(spark, conf.solver.checkpoint_path, fingerprint(conf, df, spark), conf.solver.checkpoint_every)


def _files(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "ckpt").glob("checkpoint-*.json"))


def test_a_stopped_fit_resumes_to_the_same_coefficients(spark, tmp_path):
    conf = _conf(tmp_path)
    whole = train.fit(read_input(spark, conf.input), conf)
    stopped = replace(conf, solver=replace(conf.solver, max_iter=7))
    train.fit(read_input(spark, conf.input), stopped, _checkpoints(spark, stopped))
    assert _files(tmp_path) == ["checkpoint-000006.json"]  # older ones deleted
    resumed = train.fit(read_input(spark, conf.input), conf, _checkpoints(spark, conf))
    assert resumed.coefficients.tobytes() == whole.coefficients.tobytes()
    assert resumed.intercept == whole.intercept
    assert [r.loss for r in resumed.history] == [r.loss for r in whole.history]


def test_checkpoints_from_another_conf_are_refused_unless_resume_is_never(spark, tmp_path):
    stopped = _conf(tmp_path, max_iter=4)
    train.fit(read_input(spark, stopped.input), stopped, _checkpoints(spark, stopped))
    other = replace(stopped, model=ModelConf(reg_param=0.02))
    with pytest.raises(CheckpointError, match="made from another input, conf or version"):
        train.fit(read_input(spark, other.input), other, _checkpoints(spark, other))
    fresh = replace(other, solver=replace(other.solver, resume="never", max_iter=100))
    model = train.fit(read_input(spark, fresh.input), fresh, _checkpoints(spark, fresh))
    assert model.metadata["converged"] and len(model.history) > 5


def test_a_finished_run_deletes_its_checkpoints(spark, tmp_path):
    train.run(spark, _conf(tmp_path))
    assert (tmp_path / "model" / "model.json").exists() and _files(tmp_path) == []


def test_rerun_gives_byte_identical_coefficients_and_overwrite_touches_nothing_else(spark, tmp_path):
    conf = _conf(tmp_path, checkpoint_path="")
    (tmp_path / "neighbour").mkdir()
    (tmp_path / "neighbour" / "keep.txt").write_text("mine")
    runs = []
    for _ in range(2):
        train.run(spark, conf)
        runs.append(pq.read_table(tmp_path / "model" / "coefficients").column("coefficient").to_numpy().tobytes())
    assert runs[0] == runs[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "neighbour"]
    assert (tmp_path / "neighbour" / "keep.txt").read_text() == "mine"


def _job(tmp_path: Path, *extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT")}
    args = [
        "--conf",
        "conf/local.toml",
        "--set",
        "spark.spark.master=local[2]",
        "--set",
        "solver.name=gd",
        "--set",
        "solver.learning_rate=0.5",
        "--set",
        "solver.line_search=false",
        "--set",
        "solver.tol=0",
        "--set",
        "solver.max_iter=120",
        *extra,
    ]
    return subprocess.Popen(
        [sys.executable, str(ROOT / "jobs" / "train.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _coefficients(path: Path) -> bytes:
    return pq.read_table(path / "coefficients").column("coefficient").to_numpy().tobytes()


def test_a_killed_job_restarted_ends_with_the_uninterrupted_coefficients(tmp_path):
    checkpointing = ["--set", f"solver.checkpoint_path={tmp_path / 'ckpt'}", "--set", "solver.checkpoint_every=5"]
    job = _job(tmp_path, "--set", f"output.model_path={tmp_path / 'killed'}", *checkpointing)
    deadline = time.monotonic() + 240
    try:
        while not any(int(name[11:17]) >= 20 for name in _files(tmp_path)):
            assert job.poll() is None, job.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "no checkpoint written"
            time.sleep(0.05)
    finally:
        os.killpg(job.pid, signal.SIGKILL)  # the driver and the JVM it started: the group this test made
        job.communicate()
    assert not (tmp_path / "killed").exists()
    restarted = _job(tmp_path, "--set", f"output.model_path={tmp_path / 'killed'}", *checkpointing)
    uninterrupted = _job(tmp_path, "--set", f"output.model_path={tmp_path / 'whole'}")
    for job in (restarted, uninterrupted):
        _, stderr = job.communicate(timeout=300)
        assert job.returncode == 0, stderr[-2000:]
        if job is restarted:
            assert "resuming from" in stderr
    assert _coefficients(tmp_path / "killed") == _coefficients(tmp_path / "whole")
    history = pq.read_table(tmp_path / "killed" / "history").column("iteration").to_pylist()
    assert history == list(range(121))
    assert json.loads((tmp_path / "killed" / "model.json").read_text())["iterations"] == 120
    assert _files(tmp_path) == []
