"""Features given as a pair of array columns, indices and values: kept sparse, trained and scored
like the same rows in a sparse Spark ML Vector column."""

import json
import math
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.ml.linalg import Vectors
from scipy import sparse
from sklearn.metrics import log_loss

from logreg_spark.app import evaluate, predict, train
from logreg_spark.app.config import (
    Conf,
    EvaluateConf,
    EvaluateInputConf,
    EvaluateOutputConf,
    InputConf,
    ModelConf,
    ModelRefConf,
    OutputConf,
    PredictConf,
    PredictInputConf,
    PredictOutputConf,
    SolverConf,
)
from logreg_spark.artifacts.model_dir import read_model
from logreg_spark.spark.blocks import FeatureSpec, Problems, feature_matrix

ROWS, D = 800, 50
PAIRS = dict(indices_col="idx", values_col="val", num_features=D)


def _pairs_table(X: sparse.csr_array, y: np.ndarray, rng: np.random.Generator) -> pa.Table:
    """``X``'s rows as index/value arrays, in shuffled order within each row, and with some
    values split in two halves under the same index (which must add up again)."""
    coo = X.tocoo()
    split = rng.random(coo.nnz) < 0.2
    rows = np.concatenate([coo.row, coo.row[split]])
    cols = np.concatenate([coo.col, coo.col[split]])
    values = np.concatenate([np.where(split, coo.data / 2, coo.data), coo.data[split] / 2])
    order = np.lexsort((rng.random(len(rows)), rows))
    offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=X.shape[0]))]).astype(np.int32)
    return pa.table(
        {
            "id": np.arange(X.shape[0]),
            "idx": pa.ListArray.from_arrays(offsets, cols[order].astype(np.int32)),
            "val": pa.ListArray.from_arrays(offsets, values[order]),
            "label": y.astype(np.int64),
        }
    )


@pytest.fixture(scope="module")
def data(spark, tmp_path_factory):
    """The same rows as index/value pairs (Parquet written by pyarrow) and as sparse Vectors."""
    root = tmp_path_factory.mktemp("pairs")
    rng = np.random.default_rng(11)
    X = np.where(rng.random((ROWS, D)) < 0.1, rng.normal(size=(ROWS, D)) * rng.uniform(0.5, 5.0, D), 0.0)
    y = (rng.random(ROWS) < 1 / (1 + np.exp(-(X @ rng.normal(size=D) * 0.3 - 0.5)))).astype(float)
    pq.write_table(_pairs_table(sparse.csr_array(X), y, rng), root / "pairs.parquet")
    vectors = [Vectors.sparse(D, {int(j): float(X[i, j]) for j in np.flatnonzero(X[i])}) for i in range(ROWS)]
    spark.createDataFrame(list(zip(range(ROWS), vectors, y.tolist())), ["id", "vec", "label"]).write.parquet(
        str(root / "vectors")
    )
    return root, X, y


def _train(spark, path, model, **features) -> np.ndarray:
    train.run(
        spark,
        Conf(
            input=InputConf(path=str(path), **features),
            model=ModelConf(reg_param=0.01),
            solver=SolverConf(tol=1e-9),
            output=OutputConf(model_path=str(model)),
        ),
    )
    return pq.read_table(model / "coefficients").column("coefficient").to_numpy()


@pytest.fixture(scope="module")
def pair_model(spark, data):
    root, *_ = data
    return root / "pair_model", _train(spark, root / "pairs.parquet", root / "pair_model", **PAIRS)


def test_pairs_train_like_a_sparse_vector_column(spark, data, pair_model):
    root, *_ = data
    model, theta = pair_model
    vector_theta = _train(spark, root / "vectors", root / "vector_model", features_col="vec")
    np.testing.assert_allclose(theta, vector_theta, rtol=0, atol=1e-10)
    meta = json.loads((model / "model.json").read_text())
    assert meta["conf"]["input"] | PAIRS == meta["conf"]["input"]
    assert meta["n_features"] == D and "features" not in meta  # the names are implicit: val[0], val[1], …
    names = pq.read_table(model / "coefficients").column("feature").to_pylist()
    assert names == [f"val[{j}]" for j in range(D)] + ["(intercept)"]


def test_models_that_list_every_name_still_read(spark, data, pair_model, tmp_path):
    """Models written before the count replaced the list of implicit names."""
    model = pair_model[0]
    shutil.copytree(model, tmp_path / "old")
    meta = json.loads((model / "model.json").read_text())
    meta["features"] = [f"val[{j}]" for j in range(D)]
    del meta["n_features"]
    (tmp_path / "old" / "model.json").write_text(json.dumps(meta))
    (tmp_path / "old" / ".model.json.crc").unlink()
    old, new = read_model(spark, str(tmp_path / "old")), read_model(spark, str(model))
    assert (old.spec, old.features, old.intercept) == (new.spec, new.features, new.intercept)
    np.testing.assert_array_equal(old.coefficients, new.coefficients)


def test_invalid_pair_rows_are_skipped(spark, data, pair_model, tmp_path):
    root, *_ = data
    good = pq.read_table(root / "pairs.parquet")
    bad = pa.table(
        {
            "id": [-1, -2, -3, -4, -5],
            "idx": pa.array([None, [0, D], [1, 2], [3, 4], [5, -1]], pa.list_(pa.int32())),
            "val": [[1.0], [1.0, 1.0], [1.0], [1.0, math.inf], [1.0, 2.0]],
            "label": [0, 1, 0, 1, 0],
        }
    )
    pq.write_table(pa.concat_tables([good, bad.cast(good.schema)]), tmp_path / "dirty.parquet")
    theta = _train(spark, tmp_path / "dirty.parquet", tmp_path / "model", invalid="skip", **PAIRS)
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert (meta["rows"], meta["rows_skipped"]) == (ROWS, 5)
    np.testing.assert_allclose(theta, pair_model[1], rtol=0, atol=1e-10)


def test_predict_and_evaluate_read_the_pairs(spark, data, pair_model, tmp_path):
    root, X, y = data
    model, theta = pair_model
    predict.run(
        spark,
        PredictConf(
            input=PredictInputConf(path=str(root / "pairs.parquet")),
            model=ModelRefConf(path=str(model)),
            output=PredictOutputConf(path=str(tmp_path / "scores"), keep_cols=["id"]),
        ),
    )
    p = 1 / (1 + np.exp(-(X @ theta[:-1] + theta[-1])))
    scores = pq.read_table(tmp_path / "scores").sort_by("id")
    np.testing.assert_allclose(scores.column("probability").to_numpy(), p, rtol=1e-12)
    evaluate.run(
        spark,
        EvaluateConf(
            input=EvaluateInputConf(path=str(root / "pairs.parquet")),
            model=ModelRefConf(path=str(model)),
            output=EvaluateOutputConf(path=str(tmp_path / "eval")),
        ),
    )
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["rows"] == ROWS and metrics["log_loss"] == pytest.approx(log_loss(y, p), abs=1e-9)


def test_each_bad_pair_row_is_counted_under_its_column():
    table = pa.table(
        {
            "idx": pa.array(
                [[0, 2], None, [1], [3, 0], [2, 2, 0], [1, None], [0], [], [1, 2], [-1]], pa.list_(pa.int64())
            ),
            "val": pa.array(
                [[1.0, 2.0], [1.0], None, [1.0, 2.0], [1.0, 2.0, 5.0], [1.0, 1.0], [math.nan], [], [1.0], [1.0]]
            ),
        }
    )
    problems = Problems()
    X, bad = feature_matrix(table, FeatureSpec(indices_col="idx", values_col="val", d=3), problems)
    assert bad.tolist() == [False, True, True, True, False, True, True, False, True, True]
    assert problems.describe() == [
        "column 'idx': 3 rows are holding an index outside [0, 3) or null (e.g. 3.0)",
        "column 'idx': 1 row is null",
        "column 'val': 1 row is NaN, infinite or null (e.g. nan)",
        "column 'val': 1 row is null",
        "column 'val': 1 row is of another length than 'idx'",
    ]
    assert sparse.issparse(X) and X.has_canonical_format
    np.testing.assert_array_equal(X.toarray()[~bad], [[1.0, 0.0, 2.0], [5.0, 0.0, 3.0], [0.0, 0.0, 0.0]])


def _vectors(rows: list[tuple | None]) -> pa.StructArray:
    """Spark ML Vectors in their Parquet struct: (type, size, indices, values), 0 sparse, 1 dense."""
    fields = [
        ("type", pa.int8()),
        ("size", pa.int32()),
        ("indices", pa.list_(pa.int32())),
        ("values", pa.list_(pa.float64())),
    ]
    return pa.array([None if r is None else dict(zip([n for n, _ in fields], r)) for r in rows], pa.struct(fields))


VECTOR_ROWS = [
    (0, 3, [0, 2], [1.0, 2.0]),
    None,
    (0, 4, [0], [1.0]),  # another size
    (1, None, None, [1.0, 2.0, 3.0]),
    (0, 3, [2, 0], [3.0, 4.0]),  # unsorted
    (0, 3, [1, 1], [1.0, 2.0]),  # repeated: adds up
    (0, 3, [3], [1.0]),  # outside
    (0, 3, [-1, 0], [1.0, 1.0]),  # outside
    (0, 3, [0], [math.nan]),
    (0, 3, [], []),
]
VECTOR_KEPT = [[1.0, 0.0, 2.0], [1.0, 2.0, 3.0], [4.0, 0.0, 3.0], [0.0, 3.0, 0.0], [0.0, 0.0, 0.0]]


@pytest.mark.parametrize("dense_rows", [0, 20], ids=["mostly sparse: CSR", "mostly dense: a matrix"])
def test_each_bad_vector_row_is_counted_and_the_rest_kept_as_written(dense_rows):
    rows = VECTOR_ROWS + [(1, None, None, [1.0, 1.0, 1.0])] * dense_rows
    problems = Problems()
    X, bad = feature_matrix(pa.table({"v": _vectors(rows)}), FeatureSpec(vector_col="v", d=3), problems)
    assert bad.tolist() == [False, True, True, False, False, False, True, True, True, False] + [False] * dense_rows
    assert sparse.issparse(X) == (dense_rows == 0)
    if sparse.issparse(X):
        assert X.has_canonical_format
        X = X.toarray()
    np.testing.assert_array_equal(X[~bad][:5], VECTOR_KEPT)
    outside = ["column 'v': 2 rows are holding an index outside [0, 3)"] if dense_rows == 0 else []
    expected = [
        "column 'v': 1 row is NaN, infinite or null (e.g. nan)",
        *outside,  # in a matrix: counted as not of length 3
        f"column 'v': {2 if dense_rows == 0 else 4} rows are null or not of length 3",
    ]
    assert problems.describe() == expected
