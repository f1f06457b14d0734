import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
ROOT = Path(__file__).resolve().parents[1]


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
