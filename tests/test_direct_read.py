"""Input read by the tasks with pyarrow (spark/parquet_direct.py) gives what Spark's reader gives:
the same prepared rows and problems, the same predictions in the same schema."""

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.ml.linalg import Vectors, VectorUDT
from pyspark.sql import types as T

from logreg_spark.app import predict, train
from logreg_spark.errors import InputError
from logreg_spark.settings.schema import (
    Conf,
    FitConf,
    InputConf,
    ModelConf,
    ModelRefConf,
    OutputConf,
    PredictConf,
    PredictInputConf,
    PredictOutputConf,
)
from logreg_spark.spark import parquet_direct
from logreg_spark.spark.input_files import local_path
from logreg_spark.spark.parquet_direct import Piece, direct_source
from logreg_spark.spark.prepare import TrainingData
from logreg_spark.spark.reading import locate_features, read_input
from logreg_spark.training.fitting import fit


def _table(rows: int, seed: int, bad: bool = True) -> pa.Table:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 3))
    y = (X @ [1.0, -2.0, 0.5] + rng.logistic(size=rows) > 0).astype(np.int64)
    w = rng.uniform(0.5, 2.0, rows)
    if bad:
        X[3, 1], y[5], w[7] = math.nan, 2, -1.0
    return pa.table(
        {
            "id": np.arange(rows) + 1000 * seed,
            "x0": X[:, 0],
            "x1": X[:, 1].astype(np.float32),
            "x2": (X[:, 2] > 0),
            "name": [f"r{i}" for i in range(rows)],
            "label": y,
            "w": w,
        }
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("direct") / "in put"  # a space: file URIs escape it
    root.mkdir()
    for seed in range(3):
        pq.write_table(_table(500 + 100 * seed, seed), root / f"part-{seed}.parquet", row_group_size=128)
    return root


def _conf(path, reader: str, **kw) -> InputConf:
    return InputConf(path=str(path), features=["x0", "x1", "x2"], weight_col="w", invalid="skip", reader=reader, **kw)


def test_pieces_cover_every_row_group_once():
    for total in (1, 2, 7, 10):
        for parts in (1, 2, 3, 12):
            groups = [g for part in range(parts) for g in Piece("f", part, parts).row_groups(total)]
            assert groups == list(range(total))


def test_partitions_pack_files_up_to_the_split(monkeypatch):
    monkeypatch.setattr(parquet_direct, "OPEN_COST_BYTES", 0)
    monkeypatch.setattr(parquet_direct, "MAX_SPLIT_BYTES", 100)
    partitions = parquet_direct._partitions(["a", "b", "c"], [250, 30, 40], parallelism=1)
    third = Piece("a", 2, 3)
    assert partitions == ((Piece("a", 0, 3),), (Piece("a", 1, 3),), (third,), (Piece("b"), Piece("c")))
    # spread over the cores: 4 cores, 320 bytes → splits of 80, "a" in 4 pieces
    assert len(parquet_direct._partitions(["a", "b", "c"], [250, 30, 40], parallelism=4)) == 5


def test_a_missing_column_reads_as_nulls(tmp_path):
    pq.write_table(pa.table({"a": [1.0, 2.0]}), tmp_path / "f.parquet")
    table = pa.concat_tables(Piece(str(tmp_path / "f.parquet")).tables(("a", "b")))
    assert table.column("b").null_count == 2 and table.column("a").to_pylist() == [1.0, 2.0]


def test_columns_are_found_in_any_case_as_spark_finds_them(tmp_path):
    pq.write_table(pa.table({"A": [1.0, 2.0]}), tmp_path / "f.parquet")
    piece = Piece(str(tmp_path / "f.parquet"))
    assert pa.concat_tables(piece.tables(("a",))).column("a").to_pylist() == [1.0, 2.0]
    assert pa.concat_tables(piece.tables(("a",), case_sensitive=True)).column("a").null_count == 2
    pq.write_table(pa.table({"A": [1.0], "a": [2.0]}), tmp_path / "g.parquet")
    assert pa.concat_tables(Piece(str(tmp_path / "g.parquet")).tables(("a",), case_sensitive=True))["a"][0].as_py() == 2
    with pytest.raises(InputError, match=r"g.parquet: columns A, a all match 'a' \(names are not case-sensitive\)"):
        next(Piece(str(tmp_path / "g.parquet")).tables(("a",)))


def test_a_column_in_another_case_in_another_file_is_read_as_by_spark(spark, tmp_path):
    pq.write_table(_table(200, 0, bad=False), tmp_path / "a.parquet")
    pq.write_table(_table(300, 1, bad=False).rename_columns({"x0": "X0"}), tmp_path / "b.parquet")
    summaries = []
    for reader in ("auto", "spark"):
        conf = InputConf(
            path=[str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")], features=["x0"], reader=reader
        )
        data = TrainingData.prepare(read_input(spark, conf), conf, 2)
        summaries.append(data.summary)
        data.release()
    assert summaries[0].rows == summaries[1].rows == 500
    np.testing.assert_allclose(summaries[0].mean, summaries[1].mean, rtol=1e-12)


@pytest.mark.parametrize("reader", ["auto", "spark"])
def test_an_array_or_vector_length_is_its_first_value_s(spark, tmp_path, reader):
    """Read by pyarrow on the driver (no Spark job) or by Spark: the same length, past null rows."""
    rows = [(i, None if i < 3 else Vectors.sparse(5, [i % 5], [1.0]), [1.0] * 4 if i > 1 else None) for i in range(20)]
    schema = T.StructType(
        [
            T.StructField("id", T.LongType()),
            T.StructField("v", VectorUDT()),
            T.StructField("a", T.ArrayType(T.DoubleType())),
        ]
    )
    spark.createDataFrame(rows, schema).coalesce(1).write.parquet(str(tmp_path / "in"))
    df = spark.read.parquet(str(tmp_path / "in"))
    group = f"first-length-{reader}"
    spark.sparkContext.setJobGroup(group, group)
    try:
        vector = locate_features(df, (), "v", "input.features_col", reader)
        array = locate_features(df, (), "a", "input.features_col", reader)
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    assert (vector.d, array.d) == (5, 4)
    assert bool(spark.sparkContext.statusTracker().getJobIdsForGroup(group)) == (reader == "spark")
    empty = df.where("id < 3")  # not a plain read: Spark finds there are no values
    with pytest.raises(InputError, match="column 'v' has no non-null rows"):
        locate_features(empty, (), "v", "input.features_col", reader)


def test_local_paths():
    assert local_path("file:///tmp/a%20b") == "/tmp/a b"
    assert local_path("file:/tmp/a%20b", quoted=False) == "/tmp/a%20b"
    assert local_path("hdfs://nn/x") is None and local_path("file://host/x") is None


def test_only_a_plain_read_of_local_files_is_read_directly(spark, files, tmp_path):
    df = spark.read.parquet(str(files))
    assert direct_source(df, ["x0", "label"]) is not None
    assert direct_source(df, ["x0", "label"], reader="spark") is None
    assert direct_source(df.where("label = 1"), ["x0", "label"]) is None
    assert direct_source(df.select("x0", "label"), ["x0", "label"]) is None
    spark.range(6).selectExpr("id", "id % 2 AS k", "CAST(id AS DECIMAL(10, 2)) AS d").write.partitionBy("k").parquet(
        str(tmp_path / "parted")
    )
    parted = spark.read.parquet(str(tmp_path / "parted"))
    assert direct_source(parted, ["id"]) is None  # partition columns: Spark reads them
    flat = spark.read.parquet(str(tmp_path / "parted" / "k=0"))
    assert direct_source(flat, ["id"]) is not None
    assert direct_source(flat, ["id", "d"]) is None  # decimals convert differently


def test_prepared_rows_and_problems_are_the_same(spark, files):
    assert direct_source(read_input(spark, _conf(files, "auto")), ["x0", "x1", "x2", "label", "w"]) is not None
    prepared = {}
    for reader in ("auto", "spark"):
        conf = _conf(files, reader)
        data = TrainingData.prepare(read_input(spark, conf), conf, 2)
        prepared[reader] = data
        data.release()
    direct, by_spark = prepared["auto"].summary, prepared["spark"].summary
    assert direct.rows == by_spark.rows == 1800 - 9
    np.testing.assert_allclose(direct.weight, by_spark.weight, rtol=1e-12)
    np.testing.assert_allclose(direct.mean, by_spark.mean, rtol=1e-12)
    np.testing.assert_allclose(direct.std, by_spark.std, rtol=1e-12)
    assert prepared["auto"].problems.describe() == prepared["spark"].problems.describe()
    assert prepared["auto"].problems.rows_dropped == 9


def test_fits_are_the_same(spark, files):
    coefficients = []
    for reader in ("auto", "spark"):
        conf = FitConf(input=_conf(files, reader), model=ModelConf(reg_param=0.01))
        trained = fit(read_input(spark, conf.input), conf)
        coefficients.append(np.append(trained.coefficients, trained.intercept))
    np.testing.assert_allclose(coefficients[0], coefficients[1], rtol=1e-9, atol=1e-12)


def _predict(spark, path, model_path, out, reader, invalid="skip"):
    conf = PredictConf(
        input=PredictInputConf(path=str(path), reader=reader, invalid=invalid),
        model=ModelRefConf(path=str(model_path)),
        output=PredictOutputConf(path=str(out), mode="overwrite", raw_margin=True),
    )
    return predict.run(spark, conf)


@pytest.fixture(scope="module")
def model(spark, files, tmp_path_factory):
    """A multinomial model: with `model.family = "auto"` the label 2 makes a third class."""
    path = tmp_path_factory.mktemp("model") / "m"
    train.run(
        spark,
        Conf(input=_conf(files, "auto"), model=ModelConf(reg_param=0.01), output=OutputConf(model_path=str(path))),
    )
    return path


def _sorted_rows(spark, path):
    return spark.read.parquet(str(path)).orderBy("id").collect()


def test_predictions_are_the_same_in_the_same_schema(spark, files, model, tmp_path):
    _predict(spark, files, model, tmp_path / "direct", "auto")
    _predict(spark, files, model, tmp_path / "spark", "spark")
    direct, by_spark = spark.read.parquet(str(tmp_path / "direct")), spark.read.parquet(str(tmp_path / "spark"))
    assert direct.schema == by_spark.schema
    assert (tmp_path / "direct" / "_SUCCESS").exists()
    a, b = _sorted_rows(spark, tmp_path / "direct"), _sorted_rows(spark, tmp_path / "spark")
    assert len(a) == len(b) == 1800 - 3  # the NaN features; labels and weights are not read
    for left, right in zip(a, b, strict=True):
        assert left["name"] == right["name"] and left["x2"] == right["x2"] and left["prediction"] == right["prediction"]
        assert left["probability"] == pytest.approx(right["probability"], rel=1e-12, abs=1e-15)
        assert left["raw_margin"] == pytest.approx(right["raw_margin"], rel=1e-12, abs=1e-12)


def test_invalid_rows_with_error_write_nothing(spark, files, model, tmp_path):
    with pytest.raises(InputError, match=r"column 'x1': 3 rows are NaN, infinite or null"):
        _predict(spark, files, model, tmp_path / "out", "auto", invalid="error")
    assert not (tmp_path / "out").exists() and not list(tmp_path.iterdir())


def test_vector_columns_pass_through_as_vectors(spark, tmp_path):
    """Sparse Vector input: the passed-through Vector column reads back as a Vector."""
    rows = [(i, Vectors.sparse(4, [i % 4], [1.0 + i % 3]), i % 2) for i in range(60)]
    spark.createDataFrame(rows, ["id", "features", "label"]).coalesce(2).write.parquet(str(tmp_path / "vec"))
    conf = InputConf(path=str(tmp_path / "vec"), features_col="features", reader="auto")
    train.run(
        spark, Conf(input=conf, model=ModelConf(reg_param=0.1), output=OutputConf(model_path=str(tmp_path / "m")))
    )
    _predict(spark, tmp_path / "vec", tmp_path / "m", tmp_path / "direct", "auto")
    _predict(spark, tmp_path / "vec", tmp_path / "m", tmp_path / "spark", "spark")
    direct, by_spark = spark.read.parquet(str(tmp_path / "direct")), spark.read.parquet(str(tmp_path / "spark"))
    assert direct.schema == by_spark.schema
    a, b = _sorted_rows(spark, tmp_path / "direct"), _sorted_rows(spark, tmp_path / "spark")
    assert [r["features"] for r in a] == [r["features"] for r in b]
    np.testing.assert_allclose([r["probability"] for r in a], [r["probability"] for r in b], rtol=1e-12)


def test_pieces_are_read_a_bounded_table_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(parquet_direct, "BATCH_ROWS", 100)
    path = str(tmp_path / "f.parquet")
    pq.write_table(pa.table({"a": np.arange(1000.0)}), path, row_group_size=300)
    tables = [table for part in range(3) for table in Piece(path, part, 3).tables(("a",))]
    assert max(table.num_rows for table in tables) <= 100
    assert np.concatenate([table.column("a").to_numpy() for table in tables]).tolist() == list(range(1000))


def test_an_input_without_rows_is_scored_into_an_empty_readable_output(spark, model, tmp_path):
    (tmp_path / "empty").mkdir()
    pq.write_table(_table(10, 7, bad=False).slice(0, 0), tmp_path / "empty" / "part-0.parquet")
    _predict(spark, tmp_path / "empty", model, tmp_path / "out", "auto")
    out = spark.read.parquet(str(tmp_path / "out"))
    assert out.count() == 0
    assert out.columns[-3:] == ["probability", "prediction", "raw_margin"]
