"""The Python API: the Estimator against the training job, Pipelines, CrossValidator, MLlib's
evaluators, save/load across the API and the jobs, and its refusals."""

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.linalg import Vectors, VectorUDT
from pyspark.ml.tuning import CrossValidator, ParamGridBuilder
from pyspark.sql.types import DoubleType
from synthetic import make_classification

from logreg_spark import LogisticRegression, LogisticRegressionModel
from logreg_spark.app import evaluate, predict, train
from logreg_spark.errors import ConfigError, InputError, OutputError
from logreg_spark.settings.schema import (
    Conf,
    EvaluateConf,
    EvaluateInputConf,
    EvaluateOutputConf,
    FitConf,
    InputConf,
    ModelConf,
    ModelRefConf,
    OutputConf,
    PredictConf,
    PredictInputConf,
    PredictOutputConf,
    SolverConf,
)

FEATURES = ["x0", "x1", "x2", "x3"]


@pytest.fixture(scope="module")
def data(spark, tmp_path_factory):
    """A binomial sample and a three-class one, as Parquet and as DataFrames."""
    root = tmp_path_factory.mktemp("api")
    X, y, _ = make_classification(3000, 4, seed=11, condition=3.0, positive_rate=0.4, noise=1.0)
    w = np.random.default_rng(2).uniform(0.5, 2.0, len(y))
    classes = np.digitize(X @ [1.0, -0.5, 0.3, 0.0] + np.random.default_rng(3).logistic(size=len(y)), [-1.0, 1.0])
    table = pa.table(
        {
            **{n: X[:, j] for j, n in enumerate(FEATURES)},
            "label": y.astype(np.int64),
            "classes": classes.astype(np.int64),
            "w": w,
            "fold": np.arange(len(y)) % 2,
        }
    )
    (root / "rows").mkdir()
    pq.write_table(table, root / "rows" / "part-0.parquet")
    return root, X, y, classes, spark.read.parquet(str(root / "rows"))


def _job_coefficients(spark, root: Path, name: str, **input_keys) -> np.ndarray:
    conf = Conf(
        input=InputConf(path=str(root / "rows"), features=FEATURES, **input_keys),
        model=ModelConf(reg_param=0.02),
        solver=SolverConf(tol=1e-10),
        output=OutputConf(model_path=str(root / name)),
    )
    train.run(spark, conf)
    return LogisticRegressionModel.load(str(root / name)).coefficientMatrix.toArray()


@pytest.mark.parametrize("label_col", ["label", "classes"])
def test_the_estimator_fits_the_jobs_model(spark, data, label_col):
    root, *_, df = data
    job = _job_coefficients(spark, root, f"job_{label_col}", label_col=label_col, weight_col="w")
    lr = LogisticRegression(featureCols=FEATURES, labelCol=label_col, weightCol="w", regParam=0.02, tol=1e-10)
    model = lr.fit(df)
    np.testing.assert_allclose(model.coefficientMatrix.toArray(), job, rtol=1e-12, atol=1e-12)
    assert model.numFeatures == 4 and model.numClasses == (3 if label_col == "classes" else 2)
    summary = model.summary
    assert summary.converged and summary.optimality <= 1e-10 and summary.passes >= summary.totalIterations
    assert summary.objectiveHistory == sorted(summary.objectiveHistory, reverse=True)
    assert summary.coefficientStandardErrors is None  # penalized: no standard errors


def test_an_unpenalized_fit_has_standard_errors_and_mllib_accessors(spark, data):
    *_, df = data
    model = LogisticRegression(featureCols=FEATURES).fit(df)
    summary = model.summary
    assert len(summary.coefficientStandardErrors) == len(summary.pValues) == 5  # intercept last
    assert all(se > 0 for se in summary.coefficientStandardErrors)
    assert model.coefficients.toArray().tolist() == model.coefficientMatrix.toArray()[0].tolist()
    assert model.intercept == model.interceptVector[0]
    assert model.features == FEATURES


def test_transform_adds_mllibs_columns_and_types(spark, data):
    *_, X, y, classes, df = data
    binomial = LogisticRegression(featureCols=FEATURES, threshold=0.3).fit(df)
    out = binomial.transform(df)
    assert out.columns == df.columns + ["rawPrediction", "probability", "prediction"]
    assert [type(out.schema[c].dataType) for c in ["rawPrediction", "probability", "prediction"]] == [
        VectorUDT,
        VectorUDT,
        DoubleType,
    ]
    rows = out.select("x0", "x1", "x2", "x3", "rawPrediction", "probability", "prediction").toPandas()
    margin = rows[FEATURES].to_numpy() @ binomial.coefficients.toArray() + binomial.intercept
    p = 1 / (1 + np.exp(-margin))
    np.testing.assert_allclose(np.stack(rows["rawPrediction"].map(lambda v: v.toArray())), np.c_[-margin, margin])
    np.testing.assert_allclose(
        np.stack(rows["probability"].map(lambda v: v.toArray())), np.c_[1 / (1 + np.exp(margin)), p], rtol=1e-12
    )
    np.testing.assert_array_equal(rows["prediction"], (p > 0.3).astype(float))

    multinomial = LogisticRegression(featureCols=FEATURES, labelCol="classes").fit(df)
    scored = multinomial.setProbabilityCol("").transform(df)
    assert "probability" not in scored.columns
    top = scored.select("x0", "x1", "x2", "x3", "rawPrediction", "prediction").toPandas()
    margins = top[FEATURES].to_numpy() @ multinomial.coefficientMatrix.toArray().T + multinomial.interceptVector
    # summed in another order than NumPy's: equal to rounding, which a margin near 0 cannot show relatively
    np.testing.assert_allclose(
        np.stack(top["rawPrediction"].map(lambda v: v.toArray())), margins, rtol=1e-12, atol=1e-13
    )
    np.testing.assert_array_equal(top["prediction"], margins.argmax(axis=1))


def test_mllibs_evaluator_agrees_with_the_evaluate_job(spark, data, tmp_path):
    root, *_, df = data
    model = LogisticRegression(featureCols=FEATURES, weightCol="w", regParam=0.01).fit(df)
    model.save(str(tmp_path / "model"))
    # numBins = 0: MLlib's exact curve (its default bins the scores into 1,000 groups, 1e-5 off
    # here), as evaluate.py's; what differs is the order of the sums.
    evaluator = BinaryClassificationEvaluator(weightCol="w", numBins=0)
    mllib_auc = evaluator.evaluate(model.transform(df))
    evaluate.run(
        spark,
        EvaluateConf(
            input=EvaluateInputConf(path=str(root / "rows"), weight_col="w"),
            model=ModelRefConf(path=str(tmp_path / "model")),
            output=EvaluateOutputConf(path=str(tmp_path / "evaluation")),
        ),
    )
    ours = json.loads((tmp_path / "evaluation" / "metrics.json").read_text())["roc_auc"]
    assert abs(mllib_auc - ours) <= 1e-6


def test_a_pipeline_fits_saves_loads_and_transforms_identically(spark, data, tmp_path):
    *_, df = data
    pipeline = Pipeline(
        stages=[
            VectorAssembler(inputCols=FEATURES, outputCol="vec"),
            LogisticRegression(featuresCol="vec", regParam=0.05, solver="lbfgs"),
        ]
    )
    fitted = pipeline.fit(df)
    before = fitted.transform(df).select("probability", "prediction").collect()
    fitted.save(str(tmp_path / "pipeline"))
    loaded = PipelineModel.load(str(tmp_path / "pipeline"))
    assert isinstance(loaded.stages[-1], LogisticRegressionModel)
    assert loaded.stages[-1].getRegParam() == 0.05 and loaded.stages[-1].getSolver() == "lbfgs"
    assert loaded.transform(df).select("probability", "prediction").collect() == before
    pipeline.save(str(tmp_path / "unfitted"))
    assert Pipeline.load(str(tmp_path / "unfitted")).getStages()[-1].getRegParam() == 0.05


def test_cross_validation_picks_the_model_a_loop_over_the_grid_picks(spark, data):
    *_, df = data
    lr = LogisticRegression(featureCols=FEATURES, tol=1e-9)
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.001, 0.3]).addGrid(lr.elasticNetParam, [0.0, 1.0]).build()
    evaluator = BinaryClassificationEvaluator()
    cv = CrossValidator(estimator=lr, estimatorParamMaps=grid, evaluator=evaluator, numFolds=2, foldCol="fold")
    chosen = cv.fit(df)
    by_hand = [
        np.mean(
            [
                evaluator.evaluate(lr.fit(df.where(df.fold != k), params).transform(df.where(df.fold == k)))
                for k in (0, 1)
            ]
        )
        for params in grid
    ]
    np.testing.assert_allclose(chosen.avgMetrics, by_hand, rtol=1e-12)
    best = grid[int(np.argmax(chosen.avgMetrics))]
    assert best == grid[int(np.argmax(by_hand))]
    expected = lr.fit(df, best).coefficientMatrix.toArray()
    np.testing.assert_allclose(chosen.bestModel.coefficientMatrix.toArray(), expected, rtol=1e-12, atol=1e-12)


def test_models_move_between_the_jobs_and_python(spark, data, tmp_path):
    root, X, *_ = data
    job_coef = _job_coefficients(spark, root, "job_model")
    loaded = LogisticRegressionModel.load(str(root / "job_model"))
    assert loaded.getRegParam() == 0.02 and loaded.getFeatureCols() == FEATURES
    np.testing.assert_array_equal(loaded.coefficientMatrix.toArray(), job_coef)
    # a model saved from Python is a model for predict.py; its scores are transform's
    loaded.write().save(str(tmp_path / "resaved"))
    predict.run(
        spark,
        PredictConf(
            input=PredictInputConf(path=str(root / "rows")),
            model=ModelRefConf(path=str(tmp_path / "resaved")),
            output=PredictOutputConf(path=str(tmp_path / "scores")),
        ),
    )
    scores = pq.read_table(tmp_path / "scores").column("probability").to_numpy()
    api = loaded.transform(spark.read.parquet(str(root / "rows"))).select("probability").toPandas()
    np.testing.assert_allclose(np.stack(api["probability"].map(lambda v: v[1])), scores, rtol=1e-15)
    with pytest.raises(OutputError, match=r"already exists; use write\(\)\.overwrite\(\)\.save\(path\)"):
        loaded.save(str(tmp_path / "resaved"))
    loaded.write().overwrite().save(str(tmp_path / "resaved"))


def test_a_vector_model_reads_the_features_col_it_is_given(spark, tmp_path):
    rows = [(Vectors.dense([float(i % 7), float(i % 3)]), float(i % 2)) for i in range(200)]
    df = spark.createDataFrame(rows, ["v", "label"])
    model = LogisticRegression(featuresCol="v", regParam=0.1).fit(df)
    renamed = df.withColumnRenamed("v", "w")
    moved = model.copy().setFeaturesCol("w").transform(renamed).select("probability").collect()
    assert moved == model.transform(df).select("probability").collect()
    assert model.features == ["v[0]", "v[1]"]


def test_params_mean_what_the_conf_means():
    conf = FitConf(
        input=InputConf(indices_col="i", values_col="v", num_features=10, weight_col="w", cache="spark"),
        model=ModelConf(family="multinomial", reg_param=0.5, elastic_net_param=1.0, class_weight="balanced"),
        solver=SolverConf(name="gd", max_iter=7, tol=1e-3, dtype="float32", checkpoint_path="/c", checkpoint_every=3),
    )
    estimator = LogisticRegression.of_conf(conf)
    assert estimator.fit_conf() == conf
    assert estimator.getRegParam() == 0.5 and estimator.getNumFeatures() == 10 and estimator.getSolver() == "gd"
    copied = estimator.copy({estimator.regParam: 0.25})
    assert copied.getRegParam() == 0.25 and estimator.getRegParam() == 0.5
    assert LogisticRegression().fit_conf() == FitConf(input=InputConf(features_col="features"))
    defaults = LogisticRegression()
    assert (defaults.getMaxIter(), defaults.getTol(), defaults.getRegParam(), defaults.getThreshold()) == (
        100,
        1e-6,
        0.0,
        0.5,
    )
    assert not defaults.isDefined(defaults.weightCol)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: LogisticRegression(regParam=-1.0), r"^regParam: model.reg_param must be >= 0.0 \(got -1.0\)$"),
        (lambda: LogisticRegression(solver="sgd"), "^solver: solver.name must be one of 'auto'"),
        (
            lambda: LogisticRegression(regparam=0.1),
            r"^LogisticRegression: unknown param 'regparam' \(did you mean 'regParam'\?\)$",
        ),
        (lambda: LogisticRegression().setElasticNetParam(2.0), "^elasticNetParam: model.elastic_net_param"),
        (
            lambda: LogisticRegression(featureCols=["a"], featuresCol="v").fit_conf(),
            "^featureCols: set exactly one of input.features",
        ),
        (lambda: LogisticRegression(indicesCol="i").fit_conf(), "^indicesCol: input.indices_col needs"),
        (
            lambda: LogisticRegression(featureCols=["x0", "label"]).fit_conf(),
            r"^featureCols: featureCols names 'label', which is also labelCol \(the label\)",
        ),
        (
            lambda: LogisticRegression(featuresCol="w", weightCol="w").fit_conf(),
            r"^featuresCol: featuresCol names 'w', which is also weightCol",
        ),
    ],
)
def test_bad_params_fail_with_one_line(make, message):
    with pytest.raises(ConfigError, match=message) as caught:
        make()
    assert "\n" not in str(caught.value)


def test_transform_refuses_clashing_columns_and_invalid_rows(spark, data):
    *_, df = data
    model = LogisticRegression(featureCols=FEATURES).fit(df)
    with pytest.raises(InputError, match=r"already has the output column\(s\) \['probability'\]"):
        model.transform(df.withColumn("probability", df.x0))
    broken = spark.createDataFrame([(1.0, None, 1.0, 1.0)], "x0 double, x1 double, x2 double, x3 double")
    with pytest.raises(Exception, match="invalid rows"):
        model.transform(broken).collect()
    assert model.copy().setHandleInvalid("skip").transform(broken).count() == 0


@pytest.mark.parametrize("label_col", ["label", "classes"])
def test_to_mllib_scores_as_the_model_does(spark, data, tmp_path, label_col):
    *_, df = data
    assembled = VectorAssembler(inputCols=FEATURES, outputCol="features").transform(df)
    model = LogisticRegression(labelCol=label_col, regParam=0.01, threshold=0.45).fit(assembled)
    exported = model.to_mllib()
    assert exported.numClasses == model.numClasses and exported.getFeaturesCol() == "features"
    np.testing.assert_array_equal(exported.coefficientMatrix.toArray(), model.coefficientMatrix.toArray())
    ours = model.transform(assembled).select("probability", "prediction").toPandas()
    theirs = exported.transform(assembled).select("probability", "prediction").toPandas()
    np.testing.assert_allclose(
        np.stack(theirs["probability"].map(lambda v: v.toArray())),
        np.stack(ours["probability"].map(lambda v: v.toArray())),
        rtol=1e-12,
        atol=1e-15,
    )
    np.testing.assert_array_equal(theirs["prediction"], ours["prediction"])
    kept = model.to_mllib(str(tmp_path / "mllib"))
    assert kept.coefficientMatrix == exported.coefficientMatrix and (tmp_path / "mllib" / "data").is_dir()
    with pytest.raises(OutputError, match="already exists; delete it first"):
        model.to_mllib(str(tmp_path / "mllib"))


def test_fewer_hashed_folds_than_asked_is_a_warning_that_says_so(spark, caplog):
    from logreg_spark import LogisticRegressionCV

    rows = [(float(i % 3), float(i % 2), float(i % 5)) for i in range(12)]
    df = spark.createDataFrame(rows, ["a", "label", "b"])
    cv = LogisticRegressionCV(estimator=LogisticRegression(featureCols=["a", "b"]), numFolds=20, regParams=[0.1])
    cv.fit(df)
    found = re.search(
        r"tune.folds = 20 \(numFolds in the API\): only (\d+) of those folds hold any of the 12 rows; "
        r"the search holds out those (\d+)",
        caplog.text,
    )
    assert found and found.group(1) == found.group(2) and int(found.group(1)) < 20, caplog.text[-2000:]
