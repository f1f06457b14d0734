"""The export in Spark MLlib's format: loaded by MLlib's own reader, scored by MLlib's own
``transform`` as this project scores, refused or replaced by ``output.mode``; written by the train job."""

import numpy as np
import pytest
from conftest import ROOT
from helpers import family
from pyspark.ml.classification import LogisticRegressionModel
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.linalg import Vectors

from logreg_spark.app.config import load_conf
from logreg_spark.app.train import run
from logreg_spark.artifacts.mllib_export import write_mllib_model
from logreg_spark.artifacts.model_dir import read_model
from logreg_spark.artifacts.paths import HadoopPath
from logreg_spark.errors import OutputError

D = 5


def _random_model(classes: int, seed: int) -> tuple[np.ndarray, float | np.ndarray]:
    """Coefficients (d,) and an intercept, or (K, d) and (K,), of moderate margins."""
    rng = np.random.default_rng(seed)
    if classes:
        return rng.normal(size=(classes, D)), rng.normal(size=classes)
    return rng.normal(size=D), float(rng.normal())


def _vector_rows(spark, rows: int = 40):
    """A DataFrame of ``v`` Vectors, every other row sparse, and the same rows as an array."""
    rng = np.random.default_rng(3)
    X = np.where(rng.random((rows, D)) < 0.6, rng.normal(size=(rows, D)), 0.0)
    vectors = [
        Vectors.dense(x) if i % 2 else Vectors.sparse(D, {int(j): float(x[j]) for j in np.flatnonzero(x)})
        for i, x in enumerate(X)
    ]
    return spark.createDataFrame(list(zip(range(rows), vectors)), ["id", "v"]), X


@pytest.mark.parametrize("classes", [0, 3], ids=["binomial", "multinomial"])
def test_mllib_loads_the_export_and_scores_as_we_do(spark, tmp_path, classes):
    fam = family(classes)
    coef, intercept = _random_model(classes, seed=classes + 1)
    target = HadoopPath(spark, str(tmp_path / "mllib"))
    written = write_mllib_model(spark, target, coef, intercept, fam, threshold=0.3, features_col="v", mode="error")
    assert written == target.uri and sorted(p.name for p in (tmp_path / "mllib").iterdir()) == [
        "data",
        "metadata",
    ]

    model = LogisticRegressionModel.load(written)
    assert (model.numClasses, model.numFeatures, model.getFeaturesCol()) == (fam.classes, D, "v")
    np.testing.assert_array_equal(model.coefficientMatrix.toArray(), np.atleast_2d(coef))
    np.testing.assert_array_equal(model.interceptVector.toArray(), np.atleast_1d(intercept))
    assert model.getFamily() == fam.name
    if not classes:
        assert model.getThreshold() == 0.3
        assert (model.coefficients.toArray() == coef).all() and model.intercept == intercept

    df, X = _vector_rows(spark)
    scored = model.transform(df).orderBy("id").collect()
    theirs = np.array([row.probability.toArray() for row in scored])
    predicted = np.array([row.prediction for row in scored])
    ours = fam.probabilities(X @ coef.T + intercept)
    if classes:
        np.testing.assert_allclose(theirs, ours, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(predicted, ours.argmax(1))
    else:
        np.testing.assert_allclose(theirs[:, 1], ours, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(theirs[:, 0], 1 - ours, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(predicted, (ours > 0.3).astype(float))
        assert 0 < predicted.sum() < len(predicted)  # the threshold decides some rows


def test_mode_error_refuses_an_existing_export_and_overwrite_replaces_it(spark, tmp_path):
    fam = family(0)
    target = HadoopPath(spark, str(tmp_path / "mllib"))
    first, second = _random_model(0, seed=7), _random_model(0, seed=8)
    write_mllib_model(spark, target, *first, fam, threshold=0.5, features_col="features", mode="error")
    before = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "mllib").rglob("*") if p.is_file()}

    with pytest.raises(OutputError, match=r"^output.mllib_path \S+/mllib already exists; set output.mode") as err:
        write_mllib_model(spark, target, *second, fam, threshold=0.5, features_col="features", mode="error")
    assert "\n" not in str(err.value)
    after = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "mllib").rglob("*") if p.is_file()}
    assert after == before and [p.name for p in tmp_path.iterdir()] == ["mllib"]  # no staging left behind

    write_mllib_model(spark, target, *second, fam, threshold=0.5, features_col="features", mode="overwrite")
    assert (LogisticRegressionModel.load(target.uri).coefficients.toArray() == second[0]).all()
    assert [p.name for p in tmp_path.iterdir()] == ["mllib"]


def _sample_conf(tmp_path, *overrides: str):
    return load_conf(
        [ROOT / "conf" / "local.toml"],
        [f"input.path={ROOT / 'data' / 'sample'}", f"output.model_path={tmp_path / 'model'}", *overrides],
    )


def test_the_train_job_writes_an_export_mllib_loads_and_scores_alike(spark, tmp_path):
    conf = _sample_conf(tmp_path, f"output.mllib_path={tmp_path / 'mllib'}", "output.mode=error")
    run(spark, conf)
    ours = read_model(spark, str(tmp_path / "model"))
    model = LogisticRegressionModel.load(str(tmp_path / "mllib"))
    assert model.getFeaturesCol() == "features" and model.getThreshold() == conf.model.threshold
    np.testing.assert_array_equal(model.coefficients.toArray(), ours.coefficients)
    assert model.intercept == ours.intercept

    # a model of named columns reads them assembled in model.features order
    data = spark.read.parquet(str(ROOT / "data" / "sample")).limit(50)
    assembled = VectorAssembler(inputCols=ours.features, outputCol="features").transform(data)
    rows = model.transform(assembled).select("features", "probability").collect()
    X = np.array([row.features.toArray() for row in rows])
    np.testing.assert_allclose(
        [row.probability[1] for row in rows], ours.family.probabilities(ours.margins(X)), rtol=1e-12
    )


@pytest.mark.parametrize(
    "where, message",
    [
        ("model/mllib", "output.mllib_path .* overlaps output.model_path"),
        ("data", "output.mllib_path .* overlaps input.path"),
        ("taken", "output.mllib_path .* already exists"),
    ],
)
def test_the_train_job_refuses_an_export_path_before_any_work(spark, tmp_path, where, message):
    (tmp_path / "taken").mkdir()  # the input, tmp_path/data, need not exist: it is never read
    conf = _sample_conf(
        tmp_path, f"input.path={tmp_path / 'data'}", f"output.mllib_path={tmp_path / where}", "output.mode=error"
    )
    with pytest.raises(OutputError, match=message):
        run(spark, conf)
    assert not (tmp_path / "model").exists()
