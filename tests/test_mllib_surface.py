"""MLlib's LogisticRegression surface: the class hierarchy pyspark's meta-estimators test
(OneVsRest's weights), the model's uid, predict*/coefficients as MLlib's, thresholds on every
scoring path, maxBlockSizeInMB, and the refusals."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import cached_items
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.base import Predictor
from pyspark.ml.classification import LogisticRegression as MLlibLR
from pyspark.ml.classification import (
    OneVsRest,
    OneVsRestModel,
    ProbabilisticClassificationModel,
    ProbabilisticClassifier,
)
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import FeatureHasher
from pyspark.ml.linalg import DenseMatrix, DenseVector, SparseMatrix, Vectors
from pyspark.ml.param.shared import HasMaxBlockSizeInMB, HasThresholds, HasWeightCol
from pyspark.ml.tuning import ParamGridBuilder, TrainValidationSplit

from logreg_spark import LogisticRegression, LogisticRegressionCV, LogisticRegressionModel
from logreg_spark.app import evaluate, predict
from logreg_spark.core.decision import Decision
from logreg_spark.core.family import Family
from logreg_spark.errors import ConfigError, InputError
from logreg_spark.ml.linalg import compressed
from logreg_spark.settings.schema import (
    EvaluateConf,
    EvaluateInputConf,
    EvaluateOutputConf,
    ModelConf,
    ModelRefConf,
    PredictConf,
    PredictInputConf,
    PredictOutputConf,
)
from logreg_spark.training.fitting import prepare

NAMES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def rows(spark, tmp_path_factory):
    """300 rows of three features: three classes, a binary label, weights; as a Vector DataFrame
    and as Parquet of named columns."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3))
    classes = np.digitize(X[:, 0] - 0.5 * X[:, 1] + 0.7 * rng.logistic(size=300), [-0.6, 0.6]).astype(float)
    binary = (X @ [1.0, -1.0, 0.5] + rng.logistic(size=300) > 0).astype(float)
    w = rng.uniform(0.2, 3.0, 300)
    vectors = spark.createDataFrame(
        [(float(k), float(b), float(v), Vectors.dense(x)) for k, b, v, x in zip(classes, binary, w, X)],
        ["label", "binary", "w", "features"],
    )
    root = tmp_path_factory.mktemp("surface")
    table = pa.table({**{n: X[:, j] for j, n in enumerate(NAMES)}, "label": classes, "binary": binary, "w": w})
    (root / "rows").mkdir()
    pq.write_table(table, root / "rows" / "part-0.parquet")
    return X, classes, binary, w, vectors, root


@pytest.fixture(scope="module")
def models(rows):
    """A multinomial model of the Vector column and a binomial one of named columns."""
    *_, vectors, root = rows
    multinomial = LogisticRegression(regParam=0.01).fit(vectors)
    named = vectors.sparkSession.read.parquet(str(root / "rows"))
    binomial = LogisticRegression(featureCols=NAMES, labelCol="binary", regParam=0.01).fit(named)
    return multinomial, binomial, named


def test_the_classes_are_mllib_probabilistic_classifiers_with_its_param_mixins(spark):
    lr, mllib = LogisticRegression(), MLlibLR()
    for cls in (ProbabilisticClassifier, Predictor, HasWeightCol, HasThresholds, HasMaxBlockSizeInMB):
        assert isinstance(lr, cls)
    assert issubclass(LogisticRegressionModel, ProbabilisticClassificationModel)
    assert issubclass(LogisticRegressionModel, HasWeightCol)
    missing = sorted(param.name for param in mllib.params if not lr.hasParam(param.name) and "Bounds" not in param.name)
    assert missing == []
    for name in ("maxIter", "regParam", "tol", "threshold", "family", "maxBlockSizeInMB", "elasticNetParam"):
        assert lr.getOrDefault(name) == mllib.getOrDefault(name), name
    assert not lr.isDefined("weightCol") and not lr.isDefined("thresholds")
    unset = LogisticRegression(weightCol=None, thresholds=None)  # MLlib's signature's defaults: unset
    assert not unset.isSet("weightCol") and unset.fit_conf().input.weight_col == ""
    # one Param object per name: this project's, not the mixins' (one doc, one converter)
    assert lr.getParam("weightCol").doc.startswith("row weight column") and lr.weightCol is lr.getParam("weightCol")
    assert lr.getAggregationDepth() == 0  # the documented exception: chosen per pass
    with pytest.raises(TypeError):
        lr.setParams(0.1)  # keyword arguments only, as MLlib's


def test_one_vs_rest_trains_weighted_as_over_mllib_and_saves_in_a_pipeline(rows, tmp_path):
    *_, vectors, _ = rows
    ovr = OneVsRest(classifier=LogisticRegression(regParam=0.01, tol=1e-10), weightCol="w", labelCol="binary")
    ours = Pipeline(stages=[ovr]).fit(vectors)
    # class 1 against the rest is MLlib's weighted fit of the binary label; class 0's, its negation
    reference = MLlibLR(regParam=0.01, tol=1e-10, weightCol="w", labelCol="binary").fit(vectors)
    for mine, sign in zip(ours.stages[0].models, (-1.0, 1.0)):
        np.testing.assert_allclose(mine.coefficients.toArray(), sign * reference.coefficients.toArray(), rtol=1e-6)
        np.testing.assert_allclose(mine.intercept, sign * reference.intercept, rtol=1e-6)
    ours.write().save(str(tmp_path / "pipeline"))
    again = PipelineModel.load(str(tmp_path / "pipeline"))
    assert isinstance(again.stages[0], OneVsRestModel) and isinstance(
        again.stages[0].models[0], LogisticRegressionModel
    )
    for loaded, saved in zip(again.stages[0].models, ours.stages[0].models):
        assert loaded.uid == saved.uid and loaded.coefficients == saved.coefficients


def test_train_validation_split_keeps_the_uid(rows):
    *_, vectors, _ = rows
    lr = LogisticRegression()
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.1, 0.01]).build()
    evaluator = MulticlassClassificationEvaluator(metricName="accuracy")
    tuned = TrainValidationSplit(estimator=lr, estimatorParamMaps=grid, evaluator=evaluator, seed=1).fit(vectors)
    assert tuned.bestModel.uid == lr.uid  # MLlib's models keep their estimator's uid (shared fitMultiple too)
    assert evaluator.evaluate(tuned.transform(vectors)) > 0.5


def test_the_model_has_its_estimators_uid_and_mllibs_repr(rows, models):
    *_, vectors, root = rows
    lr = LogisticRegression(regParam=0.01)
    model = lr.fit(vectors)
    assert model.uid == lr.uid
    assert repr(model) == f"LogisticRegressionModel: uid={lr.uid}, numClasses=3, numFeatures=3" == str(model)
    cv = LogisticRegressionCV(estimator=LogisticRegression(), regParams=[0.1], numFolds=2)
    assert cv.fit(vectors).bestModel.uid == cv.getOrDefault("estimator").uid


def test_predict_of_one_vector_is_transforms(rows, models):
    X, *_ = rows
    multinomial, binomial, named = models
    for model, frame in ((multinomial, rows[4]), (binomial, named)):
        scored = model.transform(frame).limit(5).collect()
        for i, row in enumerate(scored):
            x = Vectors.dense(X[i])
            assert model.predict(x) == row.prediction
            np.testing.assert_allclose(model.predictRaw(x).toArray(), row.rawPrediction.toArray(), rtol=1e-12)
            np.testing.assert_allclose(model.predictProbability(x).toArray(), row.probability.toArray(), rtol=1e-12)
            assert isinstance(model.predictProbability(x), DenseVector)
    sparse = Vectors.sparse(3, [1], [2.0])
    np.testing.assert_allclose(
        multinomial.predictRaw(sparse).toArray(), multinomial.predictRaw(Vectors.dense(sparse.toArray())).toArray()
    )
    with pytest.raises(InputError, match="^predict: the vector has 2 values; the model has 3 features$"):
        binomial.predict(Vectors.dense([1.0, 2.0]))


def test_a_hashed_model_predicts_the_hashed_vector(models):
    *_, named = models
    model = LogisticRegression(hashFeatures=NAMES, hashDim=16, labelCol="binary", regParam=0.01).fit(named)
    hashed = FeatureHasher(inputCols=NAMES, outputCol="v", numFeatures=16).transform(named)
    for row in model.transform(hashed).limit(3).collect():
        assert model.predict(row.v) == row.prediction
        np.testing.assert_allclose(model.predictProbability(row.v).toArray(), row.probability.toArray(), rtol=1e-12)


def test_coefficients_are_compressed_as_mllibs(rows):
    *_, vectors, _ = rows
    for reg, en, label in ((0.0, 0.0, "binary"), (0.3, 1.0, "binary"), (0.3, 1.0, "label")):
        ours = LogisticRegression(regParam=reg, elasticNetParam=en, labelCol=label).fit(vectors)
        theirs = MLlibLR(regParam=reg, elasticNetParam=en, labelCol=label).fit(vectors)
        mine, reference = ours.coefficientMatrix, theirs.coefficientMatrix
        assert type(mine) is type(reference) and mine.isTransposed == reference.isTransposed, (reg, label)
        np.testing.assert_allclose(mine.toArray(), reference.toArray(), atol=1e-3)
        assert type(ours.interceptVector) is type(theirs.interceptVector)
        if label == "binary":
            assert type(ours.coefficients) is type(theirs.coefficients)
    assert isinstance(compressed(np.eye(1, 20)), SparseMatrix)
    by_columns = compressed(np.vstack([np.zeros((9, 2)), [[1.0, 0.0]]]))
    assert isinstance(by_columns, SparseMatrix) and not by_columns.isTransposed
    assert isinstance(compressed(np.ones((2, 3))), DenseMatrix)


def test_multinomial_accessors_refuse_as_mllib(models):
    multinomial, *_ = models
    with pytest.raises(ValueError, match="use interceptVector"):
        _ = multinomial.intercept
    with pytest.raises(ValueError, match="use coefficientMatrix"):
        _ = multinomial.coefficients


def test_threshold_and_thresholds_keep_mllibs_rules():
    lr = LogisticRegression(threshold=0.3)
    assert lr.getThresholds() == pytest.approx([0.7, 0.3])
    lr.setThresholds([0.6, 0.2])
    assert not lr.isSet("threshold") and lr.getThreshold() == pytest.approx(0.25)
    lr.setThreshold(0.4)
    assert not lr.isDefined("thresholds")
    with pytest.raises(
        ConfigError,
        match=r"^threshold, thresholds: Logistic Regression getThreshold found inconsistent values for threshold",
    ):
        LogisticRegression(threshold=0.3, thresholds=[0.5, 0.5])
    LogisticRegression(threshold=0.25, thresholds=[0.6, 0.2])  # consistent: accepted
    with pytest.raises(ConfigError, match="^thresholds: model.thresholds must be >= 0 with at most one 0"):
        LogisticRegression(thresholds=[0.0, 0.0, 1.0])
    with pytest.raises(ConfigError, match="^threshold: applies to two classes; thresholds has 3 values$"):
        LogisticRegression(thresholds=[1.0, 2.0, 3.0]).getThreshold()
    with pytest.raises(ConfigError, match="^thresholds: not set"):
        LogisticRegression().getThresholds()
    with pytest.raises(
        ConfigError,
        match=r"^conf: model.threshold, model.thresholds: Logistic Regression getThreshold found inconsistent",
    ):
        ModelConf(threshold=0.3, thresholds=[0.5, 0.5])


def test_class_thresholds_decide_as_mllib():
    p = np.array([[0.2, 0.5, 0.3], [0.0, 0.9, 0.1], [0.4, 0.2, 0.4]])
    family = Family.multinomial(3)
    assert Decision(family).classes(p).tolist() == [1.0, 1.0, 0.0]
    assert Decision(family, class_thresholds=(1.0, 1.0, 0.5)).classes(p).tolist() == [2.0, 1.0, 2.0]
    # a zero threshold always wins, unless its class has probability 0 (0/0 is never the largest)
    assert Decision(family, class_thresholds=(0.0, 1.0, 1.0)).classes(p).tolist() == [0.0, 1.0, 0.0]


def _expected(model, X, thresholds):
    margins = X @ model.coefficientMatrix.toArray().T + model.interceptVector.toArray()
    p = np.exp(margins - margins.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return (p / np.asarray(thresholds)).argmax(1).astype(float)


def test_transform_and_predict_honour_thresholds_on_both_paths(rows, models):
    X, *_ = rows
    multinomial, binomial, named = models
    thresholds = [0.2, 1.0, 0.5]
    expected = _expected(multinomial, X, thresholds)
    model = multinomial.copy({multinomial.thresholds: thresholds})
    python = [row.prediction for row in model.transform(rows[4]).select("prediction").collect()]
    np.testing.assert_array_equal(python, expected)
    assert model.predict(Vectors.dense(X[0])) == expected[0]
    assert model.to_mllib().getThresholds() == thresholds
    assert np.mean(expected != multinomial.transform(rows[4]).toPandas()["prediction"]) > 0.05  # they matter
    named3 = LogisticRegression(featureCols=NAMES, regParam=0.01, thresholds=thresholds).fit(named)
    sql = [row.prediction for row in named3.transform(named).select("prediction").collect()]
    np.testing.assert_array_equal(sql, _expected(named3, X, thresholds))
    # binomial thresholds are the threshold 1 / (1 + t0/t1) = 0.8
    p = np.array([row.probability[1] for row in binomial.transform(named).select("probability").collect()])
    bin_thresholds = binomial.copy({binomial.thresholds: [0.25, 1.0]})
    got = [row.prediction for row in bin_thresholds.transform(named).select("prediction").collect()]
    np.testing.assert_array_equal(got, (p > 0.8).astype(float))
    with pytest.raises(ConfigError, match="^thresholds: has 2 values; the model has 3 classes$"):
        multinomial.copy({multinomial.thresholds: [0.5, 0.5]}).transform(rows[4])
    with pytest.raises(ConfigError, match="^model.thresholds: has 2 values; the model has 3 classes$"):
        LogisticRegression(thresholds=[0.5, 0.5]).fit(rows[4])


@pytest.mark.parametrize("reader", ["auto", "spark"])
def test_the_jobs_honour_model_thresholds(spark, rows, tmp_path, reader):
    X, classes, *_, root = rows
    named = spark.read.parquet(str(root / "rows"))
    trained = LogisticRegression(featureCols=NAMES, regParam=0.01, thresholds=[0.2, 1.0, 0.5]).fit(named)
    trained.write().save(str(tmp_path / "model"))
    expected = _expected(trained, X, [0.2, 1.0, 0.5])
    predict.run(
        spark,
        PredictConf(
            input=PredictInputConf(path=str(root / "rows"), reader=reader),
            model=ModelRefConf(path=str(tmp_path / "model")),
            output=PredictOutputConf(path=str(tmp_path / "trained")),
        ),
    )
    np.testing.assert_array_equal(pq.read_table(tmp_path / "trained").column("prediction").to_numpy(), expected)
    other = [1.0, 0.3, 1.0]
    predict.run(
        spark,
        PredictConf(
            input=PredictInputConf(path=str(root / "rows"), reader=reader),
            model=ModelRefConf(path=str(tmp_path / "model"), thresholds=other),
            output=PredictOutputConf(path=str(tmp_path / "set")),
        ),
    )
    got = pq.read_table(tmp_path / "set").column("prediction").to_numpy()
    np.testing.assert_array_equal(got, _expected(trained, X, other))
    if reader == "auto":
        trained.copy({trained.thresholds: other}).write().save(str(tmp_path / "changed"))  # set after the fit
        predict.run(
            spark,
            PredictConf(
                input=PredictInputConf(path=str(root / "rows")),
                model=ModelRefConf(path=str(tmp_path / "changed")),
                output=PredictOutputConf(path=str(tmp_path / "changed_scores")),
            ),
        )
        np.testing.assert_array_equal(pq.read_table(tmp_path / "changed_scores").column("prediction").to_numpy(), got)
        evaluate.run(
            spark,
            EvaluateConf(
                input=EvaluateInputConf(path=str(root / "rows")),
                model=ModelRefConf(path=str(tmp_path / "model"), thresholds=other),
                output=EvaluateOutputConf(path=str(tmp_path / "eval")),
            ),
        )
        metrics = dict(zip(*pq.read_table(tmp_path / "eval" / "metrics").to_pydict().values()))
        assert metrics["accuracy"] == pytest.approx(np.mean(got == classes))


def test_max_block_size_in_mb_sizes_the_cached_blocks(spark, rows):
    *_, vectors, _ = rows
    conf = LogisticRegression(maxBlockSizeInMB=0.001).fit_conf()
    assert conf.input.max_block_size_mb == 0.001
    small = prepare(vectors, conf)
    default = prepare(vectors, LogisticRegression().fit_conf())
    try:
        assert len(cached_items(small)) >= 5 * len(cached_items(default))
    finally:
        small.release()
        default.release()
    with pytest.raises(ConfigError, match=r"^maxBlockSizeInMB: input.max_block_size_mb must be >= 0.0"):
        LogisticRegression(maxBlockSizeInMB=-1.0)


def test_a_misspelled_param_suggests_the_closest():
    with pytest.raises(ConfigError, match=r"^LogisticRegression: unknown param 'elasticnet' \(did you mean"):
        LogisticRegression().setParams(elasticnet=0.5)
    with pytest.raises(
        ConfigError, match=r"^LogisticRegressionCV: unknown param 'numfolds' \(did you mean 'numFolds'\?\)"
    ):
        LogisticRegressionCV(numfolds=3)
    with pytest.raises(ConfigError, match=r"^LogisticRegression: unknown param 'zzz'$"):
        LogisticRegression(zzz=1)
