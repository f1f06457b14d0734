"""``model.summary`` and ``model.evaluate(df)``: MLlib's summary classes, with MLlib's numbers.

MLlib's LogisticRegression and ours fit the same small data with the same params (the models
agree to about 1e-7), and every metric of their summaries is compared, the threshold curves point
by point where they are not down-sampled (fewer than 2,000 scores). Down-sampled, MLlib restarts its
bins at each partition of its sorted scores, and ours are counted over all of them: the curves
differ by a point per partition, their areas by little.
"""

import inspect

import numpy as np
import pyspark.ml.classification as mllib
import pytest
from pyspark.ml.linalg import Vectors
from pyspark.sql import DataFrame

from logreg_spark import LogisticRegression, LogisticRegressionCV, LogisticRegressionModel
from logreg_spark.errors import InputError, ModelError
from logreg_spark.ml import (
    BinaryLogisticRegressionSummary,
    BinaryLogisticRegressionTrainingSummary,
    LogisticRegressionSummary,
    LogisticRegressionTrainingSummary,
)
from logreg_spark.spark import ranking

PARAMS = dict(regParam=0.01, elasticNetParam=0.0, maxIter=500, tol=1e-10)
BY_LABEL = ["labels", "truePositiveRateByLabel", "falsePositiveRateByLabel", "precisionByLabel", "recallByLabel"]
SCALARS = ["accuracy", "weightedTruePositiveRate", "weightedFalsePositiveRate", "weightedRecall", "weightedPrecision"]
CURVES = ["roc", "pr", "fMeasureByThreshold", "precisionByThreshold", "recallByThreshold"]


def _frame(spark, rows: int, classes: int, seed: int, partitions: int = 1) -> DataFrame:
    """Rows of 3 features (a Vector column), labels 0..classes-1 drawn from a softmax, weights."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 3))
    margins = X @ rng.normal(size=(3, classes)) * 1.5
    p = np.exp(margins - margins.max(axis=1, keepdims=True))
    y = np.array([rng.choice(classes, p=row / row.sum()) for row in p], dtype=float)
    w = rng.uniform(0.5, 2.0, rows)
    data = [(Vectors.dense(x.tolist()), float(label), float(weight)) for x, label, weight in zip(X, y, w)]
    return spark.createDataFrame(data, ["features", "label", "w"]).coalesce(partitions).cache()


@pytest.fixture(scope="module")
def binary(spark):
    return _frame(spark, 700, 2, seed=3)


@pytest.fixture(scope="module")
def fits(spark, binary):
    """(ours, MLlib's) models per case: binomial, binomial weighted, multinomial of 3 classes."""
    three = _frame(spark, 300, 3, seed=5)
    cases = {"binomial": (binary, {}), "weighted": (binary, {"weightCol": "w"}), "multinomial": (three, {})}
    return {
        name: (
            LogisticRegression(**PARAMS, **extra).fit(df),
            mllib.LogisticRegression(**PARAMS, **extra).fit(df),
        )
        for name, (df, extra) in cases.items()
    }


def _rows(frame: DataFrame) -> np.ndarray:
    return np.array([tuple(row) for row in frame.collect()], dtype=float)


def _assert_same_metrics(ours, theirs, binary: bool) -> None:
    for name in BY_LABEL:
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-6, atol=1e-9, err_msg=name)
    for name in SCALARS:
        assert getattr(ours, name) == pytest.approx(getattr(theirs, name), rel=1e-6, abs=1e-9), name
    for beta in (1.0, 0.5):
        np.testing.assert_allclose(ours.fMeasureByLabel(beta), theirs.fMeasureByLabel(beta), rtol=1e-6, atol=1e-9)
        assert ours.weightedFMeasure(beta) == pytest.approx(theirs.weightedFMeasure(beta), rel=1e-6)
    if binary:
        assert ours.areaUnderROC == pytest.approx(theirs.areaUnderROC, rel=1e-6)
        for name in CURVES:
            mine, mllibs = getattr(ours, name), getattr(theirs, name)
            assert mine.schema == mllibs.schema, name
            np.testing.assert_allclose(_rows(mine), _rows(mllibs), rtol=1e-6, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("case", ["binomial", "weighted", "multinomial"])
def test_the_training_summary_is_mllibs(fits, case):
    ours, theirs = (model.summary for model in fits[case])
    binary = case != "multinomial"
    expected = BinaryLogisticRegressionTrainingSummary if binary else LogisticRegressionTrainingSummary
    assert type(ours) is expected and fits[case][0].hasSummary and fits[case][0].summary is ours  # made once
    _assert_same_metrics(ours, theirs, binary)
    for name in ("predictionCol", "labelCol", "featuresCol", "weightCol", "probabilityCol"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.predictions.columns == theirs.predictions.columns
    assert ours.predictions.count() == theirs.predictions.count()
    assert ours.totalIterations == len(ours.objectiveHistory) - 1 and ours.converged and ours.passes >= 1
    if binary:
        assert ours.scoreCol == theirs.scoreCol == "probability"
        assert ours.roc.count() == 702  # (0, 0), a point per score, (1, 1)


def test_evaluate_on_held_out_rows_is_mllibs_evaluate(spark, fits):
    held_out = _frame(spark, 250, 2, seed=9)
    for case, rows in [("binomial", held_out), ("weighted", held_out), ("weighted", held_out.drop("w"))]:
        ours, theirs = (model.evaluate(rows) for model in fits[case])  # no weight column: unweighted
        assert type(ours) is BinaryLogisticRegressionSummary and not hasattr(ours, "objectiveHistory")
        _assert_same_metrics(ours, theirs, binary=True)
        assert ours.weightCol == theirs.weightCol
    three = _frame(spark, 120, 3, seed=10)
    ours, theirs = (model.evaluate(three) for model in fits["multinomial"])
    assert type(ours) is LogisticRegressionSummary
    _assert_same_metrics(ours, theirs, binary=False)
    with pytest.raises(TypeError, match="DataFrame"):
        fits["binomial"][0].evaluate([1, 2])


def test_properties_and_methods_are_mllibs():
    for ours, theirs in [
        (BinaryLogisticRegressionTrainingSummary, mllib.BinaryLogisticRegressionTrainingSummary),
        (LogisticRegressionSummary, mllib.LogisticRegressionSummary),
    ]:
        names = [name for name in dir(theirs) if not name.startswith("_")]
        assert len(names) > 15
        for name in names:
            kind = isinstance(inspect.getattr_static(theirs, name), property)
            assert isinstance(inspect.getattr_static(ours, name), property) == kind, name
    model = mllib.LogisticRegressionModel
    for name in ("summary", "hasSummary"):
        assert isinstance(inspect.getattr_static(LogisticRegressionModel, name), property)
        assert isinstance(inspect.getattr_static(model, name), property)
    assert callable(LogisticRegressionModel.evaluate)


def test_down_sampled_curves_are_mllibs_up_to_its_partitions(spark):
    df = _frame(spark, 2600, 2, seed=13)
    ours = LogisticRegression(**PARAMS).fit(df).summary
    theirs = mllib.LogisticRegression(**PARAMS).fit(df).summary
    assert ours.roc.count() == 2 + 2600 // 2  # in bins of 2600 // 1000 = 2 scores
    assert abs(theirs.roc.count() - ours.roc.count()) <= 2  # MLlib: a bin may end at each partition's end
    assert ours.areaUnderROC == pytest.approx(theirs.areaUnderROC, abs=1e-5)
    assert ours.accuracy == pytest.approx(theirs.accuracy, rel=1e-9)


@pytest.mark.parametrize("rows_per_partition", [10**6, 37])
def test_binned_scores_are_runs_of_the_sorted_distinct_scores(spark, monkeypatch, rows_per_partition):
    """Sorted into several partitions (with a run split between two), the bins are those of the
    scores sorted in one list: runs of ``distinct // bins`` distinct scores, each at its lowest."""
    rng = np.random.default_rng(7)
    p = np.round(rng.random(500), 2)  # ties: 101 distinct scores at most
    y, w = (rng.random(500) < p).astype(float), rng.uniform(0.5, 2.0, 500)
    monkeypatch.setattr(ranking, "ROWS_PER_PARTITION", rows_per_partition)
    scored = spark.createDataFrame(list(zip(p.tolist(), y.tolist(), w.tolist())), "p double, y double, w double")
    lowest, pos, neg = ranking.binned_scores(scored.repartition(3), 500, bins=20)
    distinct = np.unique(p)[::-1]
    run = np.arange(distinct.size) // (distinct.size // 20)
    expected_pos = [np.sum((w * y)[np.isin(p, distinct[run == k])]) for k in np.unique(run)]
    expected_neg = [np.sum((w * (1 - y))[np.isin(p, distinct[run == k])]) for k in np.unique(run)]
    np.testing.assert_array_equal(lowest, [distinct[run == k][-1] for k in np.unique(run)])
    np.testing.assert_allclose(pos, expected_pos, rtol=1e-12)
    np.testing.assert_allclose(neg, expected_neg, rtol=1e-12)


def test_a_loaded_model_has_no_summary_but_its_fit_report(fits, binary, tmp_path):
    fitted = fits["binomial"][0]
    fitted.write().save(str(tmp_path / "m"))
    loaded = LogisticRegressionModel.load(str(tmp_path / "m"))
    assert not loaded.hasSummary
    with pytest.raises(ModelError, match="No training summary"):
        loaded.summary  # noqa: B018
    assert loaded.fitReport == fitted.fitReport
    assert loaded.fitReport.objectiveHistory == fitted.summary.objectiveHistory
    assert loaded.evaluate(binary).areaUnderROC == pytest.approx(fitted.summary.areaUnderROC, rel=1e-12)


def test_models_of_a_shared_fit_and_of_tuning_keep_their_summaries(fits, binary):
    lr = LogisticRegression(**PARAMS)
    models = dict(lr.fitMultiple(binary, [{lr.regParam: 0.01}, {lr.regParam: 0.1}]))
    assert all(model.hasSummary for model in models.values())
    assert models[0].summary.accuracy == pytest.approx(fits["binomial"][0].summary.accuracy, rel=1e-9)
    tuned = LogisticRegression(maxIter=500, tol=1e-10)  # the grid sets regParam
    best = LogisticRegressionCV(estimator=tuned, regParams=[0.01], numFolds=2).fit(binary).bestModel
    assert best.summary.areaUnderROC == pytest.approx(fits["binomial"][0].summary.areaUnderROC, rel=1e-6)


def test_left_out_output_columns_are_made_for_the_summary(fits, binary):
    model = fits["binomial"][0].copy()
    model.setProbabilityCol("").setPredictionCol("")
    summary = model.evaluate(binary)
    assert summary.probabilityCol.startswith("probability_") and summary.predictionCol.startswith("prediction_")
    assert summary.areaUnderROC == pytest.approx(fits["binomial"][0].summary.areaUnderROC, rel=1e-12)


def test_rows_that_cannot_be_summarized_fail_or_are_left_out(spark, fits, binary):
    model = fits["weighted"][0]
    bad = binary.limit(40).union(spark.createDataFrame([(Vectors.dense([0.0, 1.0, 2.0]), 1.0, -1.0)], binary.schema))
    with pytest.raises(InputError, match="labelCol/weightCol: rows with a null label 'label' or a null, NaN or neg"):
        model.evaluate(bad).accuracy  # noqa: B018
    skipping = model.copy({model.getParam("handleInvalid"): "skip"})
    assert skipping.evaluate(bad).accuracy == pytest.approx(model.evaluate(binary.limit(40)).accuracy, rel=1e-12)


def test_evaluate_on_connect_equals_classic(spark, connect, fits, binary, monkeypatch, tmp_path):
    binary.write.parquet(str(tmp_path / "rows"))
    model = fits["weighted"][0]
    with monkeypatch.context() as patch:
        patch.delenv("SPARK_CONNECT_MODE_ENABLED")
        classic = model.evaluate(spark.read.parquet(str(tmp_path / "rows")))
        expected = [classic.areaUnderROC, classic.accuracy, classic.weightedFMeasure(), _rows(classic.roc)]
    remote = model.evaluate(connect.read.parquet(str(tmp_path / "rows")))
    got = [remote.areaUnderROC, remote.accuracy, remote.weightedFMeasure(), _rows(remote.roc)]
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize(
    "rows, expected",
    [
        ([(1.0, [1.0]), (0.0, [])], dict(areaUnderROC=1.0, accuracy=1.0, weightedFalsePositiveRate=0.0)),
        (
            [(1.0, [1.0]), (0.0, []), (2.0, [2.0]), (2.0, [1.9])],
            dict(accuracy=0.75, weightedFalsePositiveRate=0.25, weightedPrecision=0.583, weightedRecall=0.75),
        ),
    ],
)
def test_the_cases_of_pysparks_own_summary_tests(spark, rows, expected):
    """pyspark's test_training_summary.py cases: a weighted fit without intercept, 5 iterations."""
    data = [(label, 2.0, Vectors.dense(x) if x else Vectors.sparse(1, [], [])) for label, x in rows]
    df = spark.createDataFrame(data, ["label", "weight", "features"])
    model = LogisticRegression(maxIter=5, regParam=0.01, weightCol="weight", fitIntercept=False).fit(df)
    summary = model.summary
    assert summary.totalIterations > 0 and isinstance(summary.objectiveHistory[0], float)
    assert all(isinstance(getattr(summary, name), list) for name in BY_LABEL)
    for name, value in expected.items():
        assert getattr(summary, name) == pytest.approx(value, abs=1e-2), name
    assert model.evaluate(df).accuracy == pytest.approx(summary.accuracy)
    assert isinstance(model.evaluate(df), BinaryLogisticRegressionSummary) == (len(rows) == 2)
