"""Progress lines: preparation's partitions and rows as they finish, tuning's passes and best score."""

from __future__ import annotations

import logging
import re
import time

import numpy as np
from helpers import small_problem
from test_tune_paths import _search

from logreg_spark.settings.tuning import TuneSection
from logreg_spark.spark import progress
from logreg_spark.spark.progress import reading_progress
from logreg_spark.tuning.chains import PathFit
from logreg_spark.tuning.progress import SearchProgress


def test_a_long_job_logs_its_partitions_and_rows_as_they_finish(spark, monkeypatch, caplog):
    monkeypatch.setattr(progress, "EVERY_SECONDS", 0.3)
    caplog.set_level(logging.INFO, logger="logreg_spark")
    with reading_progress(spark, "reading") as rows:
        assert rows is not None

        def read(part):
            time.sleep(0.4)
            n = sum(1 for _ in part)
            rows.add(n)
            yield n

        assert sum(spark.sparkContext.parallelize(range(1000), 6).mapPartitions(read).collect()) == 1000
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("reading:")]
    assert lines, "a job longer than the interval logs its progress"
    counts = [
        tuple(map(int, re.match(r"reading: (\d+) of (\d+) partitions done, ([\d,]+)", line).groups()[:2]))
        for line in lines
    ]
    assert all(total == 6 and 0 <= done <= 6 for done, total in counts)
    rows_read = [int(re.search(r"([\d,]+) rows read so far", line).group(1).replace(",", "")) for line in lines]
    assert rows_read == sorted(rows_read) and set(rows_read) <= {0, *range(166, 1001)}


def test_a_short_job_logs_nothing_and_connect_has_no_accumulator(spark, connect_session, caplog):
    caplog.set_level(logging.INFO, logger="logreg_spark")
    with reading_progress(spark, "reading"):
        spark.sparkContext.parallelize(range(10), 2).count()
    assert "reading:" not in caplog.text
    with reading_progress(connect_session, "reading") as rows:
        assert rows is None


def _fit(lam: float, alpha: float, fold: int, loss: float) -> PathFit:
    held = type("Held", (), {"loss": loss, "weight": 1.0})()
    return PathFit(lam, alpha, fold, "lbfgs", 3, 4, 0.5, 1e-9, True, "converged", held, np.zeros(2), 0.0)


def test_the_best_score_counts_only_points_whose_folds_have_all_finished(caplog):
    board = SearchProgress(folds=2, fits=6)
    assert board.best() == "none complete yet"
    board.finished(_fit(1.0, 0.0, 0, 0.2))  # the lowest loss, but its other fold is still running
    board.finished(_fit(0.1, 0.0, 0, 0.5))
    board.finished(_fit(0.1, 0.0, 1, 0.3))
    board.finished(_fit(0.1, 0.5, 0, 0.4))
    board.finished(_fit(0.1, 0.5, 1, 0.4))  # the same mean: the larger λ wins, then the first found
    assert board.best() == "0.400000 (reg_param 0.1, elastic_net_param 0)"
    caplog.set_level(logging.INFO, logger="logreg_spark")
    board.passed(7, 1)
    assert (
        "tune pass 7: 1 runs still going, 5 of 6 fits done; best mean held-out log loss so far 0.400000" in caplog.text
    )


def test_a_search_logs_a_line_per_shared_pass(caplog):
    caplog.set_level(logging.INFO, logger="logreg_spark")
    X, y, w = small_problem(rows=300, features=4)
    tune = TuneSection(path_length=3, path_min_ratio=1e-2, elastic_net_params=[0.0], folds=3, seed=1)
    *_, result, _ = _search(X, y, w, 0, tune)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("tune pass ")]
    assert len(lines) == result.passes - 1  # every pass but λ_max's, which runs before the models start
    assert re.search(r"9 of 9 fits done|runs still going", lines[-1])
    assert "best mean held-out log loss so far 0." in lines[-1]
