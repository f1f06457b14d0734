"""Checkpoints: a stopped fit resumes to the same coefficients; foreign checkpoints are refused."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import ROOT

from logreg_spark.app import train
from logreg_spark.app.config import Conf, InputConf, ModelConf, OutputConf, SolverConf
from logreg_spark.artifacts.checkpoint import CheckpointError, Checkpoints, fingerprint
from logreg_spark.solvers import IterationRecord, Progress
from logreg_spark.spark.reading import read_input
from logreg_spark.training import fitting


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
    whole = fitting.fit(read_input(spark, conf.input), conf)
    stopped = replace(conf, solver=replace(conf.solver, max_iter=7))
    fitting.fit(read_input(spark, conf.input), stopped, _checkpoints(spark, stopped))
    assert _files(tmp_path) == ["checkpoint-000006.json"]  # older ones deleted
    resumed = fitting.fit(read_input(spark, conf.input), conf, _checkpoints(spark, conf))
    assert resumed.coefficients.tobytes() == whole.coefficients.tobytes()
    assert resumed.intercept == whole.intercept
    assert [r.loss for r in resumed.history] == [r.loss for r in whole.history]


def test_checkpoints_from_another_conf_are_refused_unless_resume_is_never(spark, tmp_path):
    stopped = _conf(tmp_path, max_iter=4)
    fitting.fit(read_input(spark, stopped.input), stopped, _checkpoints(spark, stopped))
    other = replace(stopped, model=ModelConf(reg_param=0.02))
    with pytest.raises(CheckpointError, match="made from another input, conf or version"):
        fitting.fit(read_input(spark, other.input), other, _checkpoints(spark, other))
    fresh = replace(other, solver=replace(other.solver, resume="never", max_iter=100))
    model = fitting.fit(read_input(spark, fresh.input), fresh, _checkpoints(spark, fresh))
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


def _progress(theta: np.ndarray, iterations: int, state: dict) -> Progress:
    """A solver's progress after ``iterations`` iterations, with awkward floats in its history."""
    losses = np.random.default_rng(iterations).standard_normal(iterations + 1)
    history = [IterationRecord(i, float(loss), 1 / 3, 0.1 * i, 1e-7, 2 * i) for i, loss in enumerate(losses)]
    return Progress(theta, history, lambda: state)


def test_a_million_feature_lbfgs_checkpoint_reads_back_bit_for_bit_in_seconds(spark, tmp_path):
    n = 10**6 + 1
    rng = np.random.default_rng(13)
    theta = rng.standard_normal(n)
    theta[:4] = [-0.0, 5e-324, np.nextafter(1.0, 2.0), np.inf]
    state = {"s": rng.standard_normal((10, n)), "y": rng.standard_normal((10, n)), "diagonal": rng.random(n)}
    progress = _progress(theta, 50, state)
    checkpoints = Checkpoints(spark, str(tmp_path / "ckpt"), "f" * 64, every=10)
    started = time.perf_counter()
    checkpoints.save(progress)
    loaded = checkpoints.load("auto")
    seconds = time.perf_counter() - started
    print(f"a 10^6-feature L-BFGS checkpoint written and read back in {seconds:.1f} s")
    assert loaded.theta.dtype == theta.dtype and loaded.theta.tobytes() == theta.tobytes()
    assert sorted(loaded.state) == sorted(state)
    for name, array in state.items():
        assert loaded.state[name].shape == array.shape and loaded.state[name].tobytes() == array.tobytes(), name
    assert loaded.history == progress.history
    assert seconds < 60


def _half_written(directory: Path, iteration: int) -> None:
    """What a save killed before its JSON was renamed into place leaves: arrays and a hidden JSON."""
    stem = f"checkpoint-{iteration:06d}.0123456789ab"
    np.save(directory / f"{stem}.theta.npy", np.ones(3))
    (directory / f"{stem}.state-s.npy").write_bytes(b"\x93NUMPY")  # cut short
    (directory / f".{stem}.json").write_text('{"fingerprint": ')


def test_a_half_written_checkpoint_is_ignored_and_deleted_by_the_next_save(spark, tmp_path):
    directory = tmp_path / "ckpt"
    directory.mkdir()
    checkpoints = Checkpoints(spark, str(directory), "f" * 64, every=3)
    _half_written(directory, 6)
    assert checkpoints.load("auto") is None
    checkpoints.save(_progress(np.arange(3.0), 3, {"step": 0.1}))
    _half_written(directory, 6)
    resumed = checkpoints.load("auto")
    assert resumed.last.iteration == 3 and resumed.theta.tobytes() == np.arange(3.0).tobytes()
    assert resumed.state == {"step": 0.1}
    checkpoints.save(_progress(np.arange(3.0), 6, {"step": 0.2}))
    document = json.loads((directory / "checkpoint-000006.json").read_text())
    left = {p.name for p in directory.iterdir() if not p.name.endswith(".crc")}
    assert left == {"checkpoint-000006.json", document["theta"]["file"]}


@pytest.mark.parametrize(
    ("stored", "message"),
    [("0" * 64, "made from another input, conf or version"), ("f" * 64, "not a readable")],
    ids=["another fingerprint", "the same fingerprint"],
)
def test_an_all_json_checkpoint_of_the_previous_format_is_refused_unless_resume_is_never(
    spark, tmp_path, stored, message
):
    directory = tmp_path / "ckpt"
    directory.mkdir()
    old = {"fingerprint": stored, "theta": [0.5, -1.0], "history": [], "memory": {"step": 0.1}}
    (directory / "checkpoint-000003.json").write_text(json.dumps(old))
    checkpoints = Checkpoints(spark, str(directory), "f" * 64, every=3)
    with pytest.raises(CheckpointError, match=message):
        checkpoints.load("auto")
    assert checkpoints.load("never") is None and not any(directory.iterdir())


# Enough for the job to be killed after its first checkpoint (every 5) with most of its iterations still ahead;
# that a resumed fit is bit-for-bit the uninterrupted one does not depend on how many follow (it was 120).
KILLED_JOB_ITERATIONS = 30


def _job(tmp_path: Path, remote: str | None, *extra: str) -> subprocess.Popen:
    """The training job, on Spark Connect at ``remote`` (which wins over the conf's spark.master) or classic Spark."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT")}
    if remote:
        env["SPARK_REMOTE"] = remote
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
        f"solver.max_iter={KILLED_JOB_ITERATIONS}",
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


@pytest.fixture(params=["classic", "connect"])
def remote(request) -> str | None:
    """No Spark Connect endpoint (the job starts Spark itself), or the test run's Connect server."""
    return request.getfixturevalue("connect_url") if request.param == "connect" else None


def _wait_for_a_checkpoint(job: subprocess.Popen, tmp_path: Path) -> None:
    deadline = time.monotonic() + 240
    while not _files(tmp_path):
        assert job.poll() is None, job.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "no checkpoint written"
        time.sleep(0.05)


def _resumed_equals_uninterrupted(tmp_path: Path, remote: str | None, checkpointing: list[str]) -> None:
    """The killed job rerun (it resumes from its checkpoints) and an uninterrupted one, side by
    side on ``remote``: the same coefficients, bit for bit."""
    restarted = _job(tmp_path, remote, "--set", f"output.model_path={tmp_path / 'killed'}", *checkpointing)
    uninterrupted = _job(tmp_path, remote, "--set", f"output.model_path={tmp_path / 'whole'}")
    for job in (restarted, uninterrupted):
        _, stderr = job.communicate(timeout=300)
        assert job.returncode == 0, stderr[-2000:]
        if job is restarted:
            assert "resuming from" in stderr
    assert _coefficients(tmp_path / "killed") == _coefficients(tmp_path / "whole")


def test_a_killed_job_restarted_ends_with_the_uninterrupted_coefficients(tmp_path, remote):
    checkpointing = ["--set", f"solver.checkpoint_path={tmp_path / 'ckpt'}", "--set", "solver.checkpoint_every=5"]
    job = _job(tmp_path, remote, "--set", f"output.model_path={tmp_path / 'killed'}", *checkpointing)
    try:
        _wait_for_a_checkpoint(job, tmp_path)  # killed as soon as its first checkpoint is in place
    finally:
        os.killpg(job.pid, signal.SIGKILL)  # the driver and any JVM it started: the group this test made
        job.communicate()
    assert not (tmp_path / "killed").exists()
    _resumed_equals_uninterrupted(tmp_path, remote, checkpointing)
    history = pq.read_table(tmp_path / "killed" / "history").column("iteration").to_pylist()
    assert history == list(range(KILLED_JOB_ITERATIONS + 1))
    assert json.loads((tmp_path / "killed" / "model.json").read_text())["iterations"] == KILLED_JOB_ITERATIONS
    assert _files(tmp_path) == []


def test_a_server_killed_mid_fit_ends_the_job_in_bounded_time_and_a_rerun_resumes(tmp_path, connect_url, monkeypatch):
    """A Spark Connect server SIGKILLed after the first checkpoint: the job gives up within its
    bound (LOGREG_SPARK_CONNECT_TIMEOUT) with one line naming the server, writes nothing, and its
    rerun on another server resumes to the undisturbed coefficients."""
    from logreg_spark.app.connect_server import free_port, start_server, stop_server

    monkeypatch.setenv("LOGREG_SPARK_CONNECT_TIMEOUT", "5")
    port = free_port()
    server = start_server(port, tmp_path / "server.log", cwd=tmp_path)
    checkpointing = ["--set", f"solver.checkpoint_path={tmp_path / 'ckpt'}", "--set", "solver.checkpoint_every=5"]
    remote = f"sc://127.0.0.1:{port}"
    job = _job(tmp_path, remote, "--set", f"output.model_path={tmp_path / 'killed'}", *checkpointing)
    try:
        _wait_for_a_checkpoint(job, tmp_path)
        server.kill()  # the server's JVM (spark-submit execs it), by its own pid
        server.wait()
        killed = time.monotonic()
        _, stderr = job.communicate(timeout=120)
        waited = time.monotonic() - killed
    finally:
        stop_server(server)
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert job.returncode == 1, stderr[-2000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"logreg_spark: error: Spark Connect server {remote}: unreachable ("), last
    assert waited < 60, waited  # 5 s of retries, each attempt's own time, and the process's exit
    assert not (tmp_path / "killed").exists()
    _resumed_equals_uninterrupted(tmp_path, connect_url, checkpointing)


def test_a_job_pointed_at_no_server_fails_in_bounded_time_with_one_line(tmp_path, monkeypatch):
    from logreg_spark.app.connect_server import free_port

    monkeypatch.setenv("LOGREG_SPARK_CONNECT_TIMEOUT", "3")
    remote = f"sc://127.0.0.1:{free_port()}"
    started = time.monotonic()
    job = _job(tmp_path, remote, "--set", f"output.model_path={tmp_path / 'm'}")
    _, stderr = job.communicate(timeout=120)
    assert job.returncode == 1
    assert (
        stderr.strip().splitlines()[-1].startswith(f"logreg_spark: error: Spark Connect server {remote}: unreachable")
    )
    assert "Traceback" not in stderr and "RETRIES_EXCEEDED" not in stderr
    assert time.monotonic() - started < 60 and not (tmp_path / "m").exists()
