"""The distributed pass equals a single-process NumPy pass, however the rows are split, on classic
Spark and on Spark Connect."""

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from helpers import cached_items, small_problem
from pyspark.ml.linalg import Vectors

from logreg_spark.app.config import InputConf
from logreg_spark.core.engine import InMemoryEngine
from logreg_spark.core.family import BINOMIAL
from logreg_spark.core.sums import Layout
from logreg_spark.spark.blocks import Problems
from logreg_spark.spark.prepare import TrainingData
from logreg_spark.spark.session import is_connect

FEATURES = ["x0", "x1", "x2", "x3"]


def _frame(session, X, y, w):
    table = pa.table({**{n: X[:, j] for j, n in enumerate(FEATURES)}, "label": y.astype(np.int64), "wt": w})
    return session.createDataFrame(table)


def _assert_same_pass(data: TrainingData, X, y, w):
    """A pass at the aggregation depth ``data`` was prepared with equals the NumPy pass."""
    rng = np.random.default_rng(3)
    coef, intercept = rng.normal(size=X.shape[1]) * 0.2, 0.3
    expected = InMemoryEngine(X, y, w).run(coef, intercept, Layout(coef.size, BINOMIAL, True, True))
    got = data.passes().run(coef, intercept, Layout(coef.size, BINOMIAL, True, True))
    assert got.rows == expected.rows
    assert got.weight == pytest.approx(expected.weight, rel=1e-12)
    assert got.loss == pytest.approx(expected.loss, rel=1e-12)
    np.testing.assert_allclose(got.gradient, expected.gradient, rtol=1e-12)
    np.testing.assert_allclose(got.hessian, expected.hessian, rtol=1e-12)
    np.testing.assert_allclose(got.diagonal, expected.diagonal, rtol=1e-12)


CACHES = ["spark", "local"]


@pytest.fixture(params=["classic", "connect"])
def session(request):
    """Each test on a classic session and on a Spark Connect session (conftest.py)."""
    return request.getfixturevalue("spark" if request.param == "classic" else request.param)


@pytest.mark.parametrize("partitions", [1, 3, 8])
@pytest.mark.parametrize("depth", [2, 3])
@pytest.mark.parametrize("cache", CACHES)
def test_pass_equals_numpy_for_any_partitioning(session, partitions, depth, cache):
    X, y, w = small_problem(rows=1000)
    df = _frame(session, X, y, w).repartition(partitions)
    conf = InputConf(path="-", features=FEATURES, weight_col="wt", cache=cache)
    data = TrainingData.prepare(df, conf, depth, tasks=partitions)  # a task per partition: a tree of partials
    try:
        assert len(cached_items(data)) == partitions  # one block each
        _assert_same_pass(data, X, y, w)
        np.testing.assert_allclose(data.summary.mean, np.average(X, axis=0, weights=w), rtol=1e-12)
    finally:
        data.release()


@pytest.mark.parametrize("cache", CACHES)
def test_many_blocks_per_partition(session, cache):
    X, y, w = small_problem(rows=1000)
    data = TrainingData.prepare(
        _frame(session, X, y, w).repartition(2),
        InputConf(path="-", features=FEATURES, weight_col="wt", cache=cache),
        2,
        block_bytes=8 * 4 * 50,  # 50 rows a block
    )
    try:
        cached = cached_items(data)
        assert len(cached) >= 20
        assert all(len(item) == 2 and isinstance(item[1], Problems) for item in cached)  # no per-block Summary
        _assert_same_pass(data, X, y, w)
    finally:
        data.release()


@pytest.mark.parametrize("cache", CACHES)
def test_array_and_vector_feature_columns_give_the_same_pass(session, cache):
    X, y, w = small_problem(rows=300)
    X[::3, 1] = 0.0  # some sparse-looking rows
    rows = [
        (
            X[i].tolist(),
            Vectors.sparse(4, {j: float(v) for j, v in enumerate(X[i]) if v != 0})
            if i % 3 == 0
            else Vectors.dense(X[i]),
            int(y[i]),
            float(w[i]),
        )
        for i in range(len(y))
    ]
    df = session.createDataFrame(rows, ["arr", "vec", "label", "wt"]).repartition(3)
    for column in ("arr", "vec"):
        data = TrainingData.prepare(df, InputConf(path="-", features_col=column, weight_col="wt", cache=cache), 2)
        try:
            assert data.spec.names == [f"{column}[{j}]" for j in range(4)]
            _assert_same_pass(data, X, y, w)
        finally:
            data.release()


def test_local_cache_rebuilds_blocks_whose_files_are_gone(session, caplog):
    """As when an executor (and its local disk) is lost: the pass rebuilds the blocks from the input."""
    X, y, w = small_problem(rows=600)
    conf = InputConf(path="-", features=FEATURES, weight_col="wt", cache="local")
    data = TrainingData.prepare(_frame(session, X, y, w).repartition(3), conf, 2)
    try:
        directories = [item[0].directory for item in cached_items(data)]
        assert len(directories) == 3 and all(Path(d, "X.npy").exists() for d in directories)
        for directory in directories:
            shutil.rmtree(directory)
        _assert_same_pass(data, X, y, w)
        assert "rebuilding them from the input" in caplog.text
        _assert_same_pass(data, X, y, w)
    finally:
        data.release()
    assert not any(Path(d).exists() for d in directories)


@pytest.mark.parametrize("cache", CACHES)
def test_float32_storage_sums_in_float64(session, cache):
    X, y, w = small_problem(rows=1000)
    data = TrainingData.prepare(
        _frame(session, X, y, w).repartition(2),
        InputConf(path="-", features=FEATURES, weight_col="wt", cache=cache),
        2,
        dtype="float32",
    )
    try:
        # the statistics and the passes come from the stored float32 rounding, summed in float64
        rounded = X.astype(np.float32).astype(np.float64)
        np.testing.assert_allclose(data.summary.mean, np.average(rounded, axis=0, weights=w), rtol=1e-12)
        assert not np.allclose(data.summary.mean, np.average(X, axis=0, weights=w), rtol=1e-12, atol=0)
        _assert_same_pass(data, rounded, y, w)
        cached = data.cached_bytes()  # not reported by Spark Connect
        assert cached is None if is_connect(session) else X.nbytes / 2 < cached < X.nbytes / 2 + 2 * y.nbytes + 65536
    finally:
        data.release()
