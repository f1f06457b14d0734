import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The tests' helpers, and the data generators they share with the benchmarks (benchmarks/synthetic.py),
# which run as scripts and so import their siblings by name.
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks")]


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


def pytest_terminal_summary(terminalreporter):
    """The passes each conditioning case took (tests/test_conditioning.py), when it ran."""
    module = sys.modules.get("test_conditioning")
    for line in module.pytest_terminal_summary_lines() if module else []:
        terminalreporter.write_line(line)
