"""A real Spark standalone cluster on 127.0.0.1 for tests: one master, two workers.

Started with the ``spark-class`` launcher that PySpark installs; each process
is stopped by its own pid, and nothing else is touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from logreg_spark.app.connect_server import VENV_BIN, free_port, spark_env


def executor_java_options() -> list[str]:
    """spark-submit options giving the executors the JVM options the tests give their drivers
    (``SPARK_SUBMIT_OPTS``, conftest.py: they only make the JVM start faster)."""
    options = os.environ.get("SPARK_SUBMIT_OPTS", "")
    return ["--conf", f"spark.executor.extraJavaOptions={options}"] if options else []


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as response:
            return int(json.load(response).get("aliveworkers", 0))
    except OSError:
        return 0


@dataclass
class Cluster:
    url: str  # spark://127.0.0.1:port
    workers: list[subprocess.Popen]  # the Worker JVMs, each running its executor as a child
    restart_worker: Callable[[int], None]  # start worker i anew (after a test killed it) and wait until it is alive

    def submit_command(self, *args: str) -> list[str]:
        """``spark-submit`` to this cluster, executors running this virtual environment's Python."""
        return [
            str(VENV_BIN / "spark-submit"),
            "--master",
            self.url,
            "--conf",
            "spark.executor.memory=1g",
            "--conf",
            f"spark.pyspark.python={VENV_BIN / 'python'}",
            *executor_java_options(),
            *args,
        ]


@contextmanager
def standalone_cluster(workdir: Path, workers: int = 2, worker_memory: str = "2g") -> Iterator[Cluster]:
    """Yield a running cluster; stop exactly its processes afterwards."""
    env = spark_env()
    port, ui_port = free_port(), free_port()
    processes: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        log = open(workdir / f"{name}.log", "ab")  # noqa: SIM115 - the process writes it until stopped
        process = subprocess.Popen(
            [str(VENV_BIN / "spark-class"), *args], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir
        )
        processes.append(process)
        return process

    def start_worker(i: int) -> subprocess.Popen:
        return start(
            f"worker{i}",
            "org.apache.spark.deploy.worker.Worker",
            f"spark://127.0.0.1:{port}",
            "--host",
            "127.0.0.1",
            "--cores",
            "1",
            "--memory",
            worker_memory,
            "--webui-port",
            str(free_port()),
            "--work-dir",
            str(workdir / f"work{i}"),
        )

    def wait_until_alive(running: list[subprocess.Popen]) -> None:
        deadline = time.monotonic() + 120
        while _alive_workers(ui_port) < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in running):
                raise RuntimeError(f"standalone cluster did not start; see the logs in {workdir}")
            time.sleep(0.5)

    try:
        master = start(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(ui_port),
        )
        running = [start_worker(i) for i in range(workers)]
        wait_until_alive([master, *running])

        def restart_worker(i: int) -> None:
            assert running[i].poll() is not None, f"worker {i} is still running"
            deadline = time.monotonic() + 120
            while _alive_workers(ui_port) >= workers:  # until the master has seen it gone
                assert time.monotonic() < deadline, f"the master still lists worker {i} as alive"
                time.sleep(0.5)
            running[i] = start_worker(i)
            wait_until_alive([master, *running])

        yield Cluster(f"spark://127.0.0.1:{port}", running, restart_worker)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
