"""The Python API's errors: they name the params a user set, and a user error a Spark job found
(an invalid row, a file Spark's reader cannot read) is raised as itself, on classic Spark and
Spark Connect alike. ``transform`` is lazy: its rows fail the action run on its result, with
PySpark's error whose text carries the same line (docs/reference/errors.md)."""

import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.ml.linalg import Vectors

from logreg_spark import LogisticRegression
from logreg_spark.errors import ConfigError, InputError
from logreg_spark.settings.schema import InputConf
from logreg_spark.spark.failures import user_error
from logreg_spark.spark.reading import read_input

INVALID = (
    'invalid rows (column {!r}: 1 row is NaN, infinite or null (e.g. nan)); set handleInvalid = "skip" to drop them'
)


@pytest.fixture(params=["classic", "connect"])
def session(request):
    return request.getfixturevalue("spark" if request.param == "classic" else "connect")


def _frames(session, vector: bool):
    """Good rows, and the same with one NaN feature first, as a Vector column or two named columns."""
    rows = [(float(i % 3), 1.0 + i % 2, float(i % 2)) for i in range(20)]
    bad = [(float("nan"), 1.0, 1.0), *rows]
    if vector:
        return tuple(
            session.createDataFrame([(Vectors.dense([a, b]), y) for a, b, y in data], ["features", "label"])
            for data in (rows, bad)
        )
    return tuple(session.createDataFrame(data, ["a", "b", "label"]) for data in (rows, bad))


@pytest.mark.parametrize("vector", [True, False], ids=["vector", "columns"])
def test_an_invalid_row_is_an_input_error_naming_handle_invalid(session, vector):
    good, bad = _frames(session, vector)
    estimator = LogisticRegression() if vector else LogisticRegression(featureCols=["a", "b"])
    with pytest.raises(InputError, match=f"^{re.escape(INVALID.format('features' if vector else 'a'))}$"):
        estimator.fit(bad)
    model = estimator.fit(good)
    with pytest.raises(InputError, match=re.escape('set handleInvalid = "skip" to drop them')):
        model.evaluate(bad).accuracy  # noqa: B018 - the first metric runs the job
    # transform is lazy: the action on its result fails with PySpark's error, which says the same
    with pytest.raises(Exception) as acted:
        model.transform(bad).collect()
    found = user_error(acted.value)
    assert isinstance(found, InputError) and 'set handleInvalid = "skip" to drop them' in str(found)
    assert 'set handleInvalid = "skip" to drop them' in str(acted.value).split("JVM stacktrace:")[0]


def test_column_errors_name_the_param(session):
    good, _ = _frames(session, vector=True)
    with pytest.raises(InputError, match=r"^labelCol: column 'y' is not in the input \(columns: features, label\)$"):
        LogisticRegression(labelCol="y").fit(good)
    with pytest.raises(InputError, match=r"^offsetCol: column 'o' is not in the input \(columns: features, label\)$"):
        LogisticRegression(offsetCol="o").fit(good)
    with pytest.raises(
        ConfigError, match=r"^featuresCol: featuresCol names 'label', which is also labelCol \(the label\)"
    ):
        LogisticRegression(featuresCol="label").fit(good)


def test_a_file_spark_cannot_read_is_an_input_error_naming_it(spark, tmp_path):
    """A DataFrame that is more than a plain read is read by Spark: its failure on a file whose
    column has another type is raised as an InputError naming the file and the column."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=20)
    pq.write_table(pa.table({"a": x, "label": (x > 0).astype(float)}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"a": [str(v) for v in x], "label": (x > 0).astype(float)}), tmp_path / "b.parquet")
    df = spark.read.parquet(str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")).where("label >= 0")
    with pytest.raises(InputError) as raised:
        LogisticRegression(featureCols=["a"]).fit(df)
    said = str(raised.value)
    assert said.startswith("an input file could not be read: ") and "\n" not in said
    assert f"{tmp_path / 'b.parquet'}" in said and "[a]" in said, said


def test_the_jobs_read_numbers_of_different_types_as_doubles_and_refuse_other_drift(session, tmp_path):
    """What every job reads (``read_input``), on either kind of session: 64-bit integers in one
    file and doubles in another become doubles (Spark's reader alone fails on them); strings
    beside doubles are refused naming both files."""
    pq.write_table(pa.table({"x": pa.array([1.5, 2.5]), "label": [0, 1]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"x": pa.array([3, 4]), "label": [1, 0]}), tmp_path / "b.parquet")
    pq.write_table(pa.table({"x": pa.array(["5", "6"]), "label": [1, 0]}), tmp_path / "c.parquet")
    numbers = read_input(session, InputConf(path=[str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]))
    assert dict(numbers.dtypes)["x"] == "double"
    assert sorted(row.x for row in numbers.collect()) == [1.5, 2.5, 3.0, 4.0]
    with pytest.raises(InputError, match=re.escape(f"column 'x' is double in {tmp_path / 'a.parquet'} but string in")):
        read_input(session, InputConf(path=[str(tmp_path / "a.parquet"), str(tmp_path / "c.parquet")]))
