import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The tests' helpers, and the data generators they share with the benchmarks (benchmarks/synthetic.py),
# which run as scripts and so import their siblings by name.
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks")]

# The tests start some 40 short-lived JVMs (this session's, each job's, the cluster's) that spend most of
# their life starting up: with the C1 compiler only and the serial collector they start about twice as
# fast on a 2-core machine (measured: tests/test_cli.py 150 s -> 95 s). Nothing computed depends on it:
# the arithmetic is NumPy's, and Java's floating point is the same in every compiler tier.
# spark-submit (this session's driver, the jobs') reads SPARK_SUBMIT_OPTS; the standalone master and
# workers (tests/cluster.py) SPARK_DAEMON_JAVA_OPTS; subprocesses inherit both. A value set outside wins.
FAST_START_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
# They also share the classes a Spark driver loads (class data sharing): tests/jvm_archive.py writes an
# archive of them in the background as the session starts, and each JVM started once it is there maps it
# instead of loading the classes from the jars (about 5 s sooner each: a training job on the sample data
# 17 s -> 11 s). Before it is there, or where it does not match the JVM's class path (the JVM checks),
# a JVM starts as before, silently (-Xlog:cds*=off). Not when SPARK_SUBMIT_OPTS is set outside.
ARCHIVE_DIR = None if "SPARK_SUBMIT_OPTS" in os.environ else Path(tempfile.mkdtemp(prefix="logreg_spark_jvm_"))
SHARED_CLASSES = f" -XX:SharedArchiveFile={ARCHIVE_DIR / 'spark.jsa'} -Xlog:cds*=off" if ARCHIVE_DIR else ""
os.environ.setdefault("SPARK_SUBMIT_OPTS", FAST_START_JVM + SHARED_CLASSES)
os.environ.setdefault("SPARK_DAEMON_JAVA_OPTS", FAST_START_JVM + SHARED_CLASSES)
_archiving: subprocess.Popen | None = None


def pytest_sessionstart(session):
    """Start writing the class data sharing archive (tests/jvm_archive.py), if this session uses one."""
    global _archiving
    if ARCHIVE_DIR is None:
        return
    writing, archive = ARCHIVE_DIR / "writing.jsa", ARCHIVE_DIR / "spark.jsa"
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT", "SPARK_REMOTE")}
    env["SPARK_SUBMIT_OPTS"] = f"{FAST_START_JVM} -XX:ArchiveClassesAtExit={writing} -Xlog:cds*=off"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    _archiving = process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "jvm_archive.py"), str(ARCHIVE_DIR)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: its JVM is stopped with it (pytest_unconfigure)
    )

    def publish() -> None:
        """Name the archive where the JVMs look for it once it is whole (its JVM has exited)."""
        if process.wait() == 0 and writing.exists():
            os.replace(writing, archive)

    threading.Thread(target=publish, daemon=True).start()


def pytest_unconfigure(config):
    """Stop the archive's writer if it still runs, and remove the archive."""
    if _archiving is not None and _archiving.poll() is None:
        os.killpg(_archiving.pid, signal.SIGKILL)
        _archiving.wait()
    if ARCHIVE_DIR is not None:
        shutil.rmtree(ARCHIVE_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def spark():
    from logreg_spark.spark.session import spark_session

    session = spark_session(
        {
            "spark.master": "local[2]",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": "2",
        },
        "logreg_spark tests",
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """One standalone cluster (tests/cluster.py) for the whole run: test_cluster.py and test_faults.py."""
    from cluster import standalone_cluster

    with standalone_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture(scope="session")
def connect_url(tmp_path_factory):
    """The ``sc://`` URL of one Spark Connect server (logreg_spark/app/connect_server.py) for the whole run."""
    from logreg_spark.app.connect_server import connect_server

    with connect_server(tmp_path_factory.mktemp("connect")) as url:
        yield url


@pytest.fixture(scope="session")
def connect_session(connect_url):
    """A Spark Connect session on that server, beside the classic ``spark`` of this process
    (made by the Connect builder: the classic one refuses while a classic session runs)."""
    from pyspark.sql.connect.session import SparkSession

    session = SparkSession.builder.remote(connect_url).getOrCreate()
    yield session
    session.stop()


@pytest.fixture
def connect(connect_session, monkeypatch):
    """The Connect session, with pyspark.ml in Connect mode for the test: pyspark.ml (FeatureHasher,
    MLlib's models) takes its Connect code paths when SPARK_CONNECT_MODE_ENABLED is set, as it is
    in a process whose session was made with ``remote()``; it reads the variable at each call."""
    monkeypatch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")
    return connect_session


def pytest_terminal_summary(terminalreporter):
    """The passes each conditioning case took (tests/test_conditioning.py), when it ran."""
    module = sys.modules.get("test_conditioning")
    for line in module.pytest_terminal_summary_lines() if module else []:
        terminalreporter.write_line(line)
