"""Scoring and evaluation jobs in this process: answers against NumPy and scikit-learn, refusals."""

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.ml.linalg import Vectors
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)
from synthetic import make_classification

from logreg_spark.app import evaluate, predict, train
from logreg_spark.app.config import (
    Conf,
    ConfigError,
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
from logreg_spark.artifacts.model_dir import ModelError
from logreg_spark.errors import InputError
from logreg_spark.spark import ranking
from logreg_spark.spark.reading import HASHED, with_hashed_features

FEATURES = ["x0", "x1", "x2", "x3"]


def _write(path: Path, X, y, w, files: int) -> None:
    path.mkdir(parents=True)
    rng = np.random.default_rng(5)
    for part, rows in enumerate(np.array_split(np.arange(len(y)), files)):
        pq.write_table(
            pa.table(
                {
                    "id": rows.astype(np.int64),
                    **{n: X[rows, j] for j, n in enumerate(FEATURES)},
                    "label": y[rows].astype(np.int64),
                    "w": w[rows],
                    "segment": rng.choice(["a", "b"], len(rows)),
                }
            ),
            path / f"part-{part:05d}.parquet",
        )


@pytest.fixture(scope="module")
def trained(spark, tmp_path_factory):
    """A model trained on one sample, and a second labelled sample to score."""
    root = tmp_path_factory.mktemp("jobs")
    X, y, _ = make_classification(6000, 4, seed=3, condition=5.0, positive_rate=0.35, noise=1.5)
    w = np.random.default_rng(1).uniform(0.2, 2.0, len(y))
    _write(root / "train", X[:3000], y[:3000], w[:3000], files=2)
    _write(root / "test", X[3000:], y[3000:], w[3000:], files=3)
    conf = Conf(
        input=InputConf(path=str(root / "train"), features=FEATURES),
        model=ModelConf(reg_param=0.01, threshold=0.4),
        solver=SolverConf(tol=1e-10),
        output=OutputConf(model_path=str(root / "model")),
    )
    train.run(spark, conf)
    coefficients = pq.read_table(root / "model" / "coefficients").column("coefficient").to_numpy()
    return root, X[3000:], y[3000:], w[3000:], coefficients


def _predict_conf(root: Path, out: Path, **output) -> PredictConf:
    return PredictConf(
        input=PredictInputConf(path=str(root / "test")),
        model=ModelRefConf(path=str(root / "model")),
        output=PredictOutputConf(path=str(out), **output),
    )


def test_predict_scores_every_row_with_the_models_threshold(spark, trained, tmp_path):
    root, X, y, w, theta = trained
    predict.run(spark, _predict_conf(root, tmp_path / "scores", raw_margin=True))
    table = pq.read_table(tmp_path / "scores").sort_by("id")
    assert table.column_names == ["id", *FEATURES, "label", "w", "segment", "probability", "prediction", "raw_margin"]
    assert table.schema.field("id").type == pa.int64() and table.schema.field("segment").type == pa.string()
    margin = X @ theta[:-1] + theta[-1]
    np.testing.assert_allclose(table.column("raw_margin").to_numpy(), margin, rtol=1e-12, atol=1e-12)
    p = table.column("probability").to_numpy()
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-margin)), rtol=1e-12)
    np.testing.assert_array_equal(table.column("prediction").to_numpy(), (p > 0.4).astype(float))


def test_predict_keeps_chosen_columns_and_takes_a_threshold(spark, trained, tmp_path):
    root, *_ = trained
    conf = _predict_conf(root, tmp_path / "scores", keep_cols=["id"])
    conf = PredictConf(input=conf.input, model=ModelRefConf(path=conf.model.path, threshold=0.9), output=conf.output)
    predict.run(spark, conf)
    table = pq.read_table(tmp_path / "scores")
    assert table.column_names == ["id", "probability", "prediction"] and table.num_rows == 3000
    p = table.column("probability").to_numpy()
    np.testing.assert_array_equal(table.column("prediction").to_numpy(), (p > 0.9).astype(float))


def test_predict_names_a_missing_or_mistyped_feature_and_writes_nothing(spark, trained, tmp_path):
    root, *_ = trained
    broken = tmp_path / "broken"
    pq.write_table(pq.read_table(root / "test").drop(["x2"]), tmp_path / "missing.parquet")
    table = pq.read_table(root / "test")
    pq.write_table(
        table.set_column(1, "x0", pa.array(table.column("x0").to_numpy().astype(str))), tmp_path / "string.parquet"
    )
    for data, message in [
        ("missing.parquet", "column 'x2' is not in the input"),
        ("string.parquet", "column 'x0' is string, not numeric"),
    ]:
        conf = _predict_conf(root, broken)
        conf = PredictConf(input=PredictInputConf(path=str(tmp_path / data)), model=conf.model, output=conf.output)
        with pytest.raises(InputError, match=message):
            predict.run(spark, conf)
        assert not broken.exists()


def test_invalid_feature_values_fail_or_are_skipped(spark, trained, tmp_path):
    root, *_ = trained
    table = pq.read_table(root / "test")
    x1 = table.column("x1").to_numpy().copy()
    x1[[3, 10]] = np.nan
    path = tmp_path / "nan.parquet"
    pq.write_table(table.set_column(2, "x1", pa.array(x1)), path)
    conf = _predict_conf(root, tmp_path / "scores")
    with pytest.raises(InputError, match=r"column 'x1': 2 rows are NaN, infinite or null"):
        predict.run(spark, PredictConf(input=PredictInputConf(path=str(path)), model=conf.model, output=conf.output))
    assert not (tmp_path / "scores").exists()
    predict.run(
        spark, PredictConf(input=PredictInputConf(path=str(path), invalid="skip"), model=conf.model, output=conf.output)
    )
    assert pq.read_table(tmp_path / "scores").num_rows == 2998


def test_evaluate_agrees_with_sklearn(spark, trained, tmp_path, monkeypatch):
    root, X, y, w, theta = trained
    monkeypatch.setattr(ranking, "ROWS_PER_PARTITION", 700)  # 5 sorted partitions: offsets between them matter
    evaluate.run(
        spark,
        EvaluateConf(
            input=EvaluateInputConf(path=str(root / "test"), weight_col="w"),
            model=ModelRefConf(path=str(root / "model")),
            output=EvaluateOutputConf(path=str(tmp_path / "eval")),
        ),
    )
    p = 1 / (1 + np.exp(-(X @ theta[:-1] + theta[-1])))
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["rows"] == 3000 and metrics["threshold"] == 0.4
    assert metrics["log_loss"] == pytest.approx(log_loss(y, p, sample_weight=w), abs=1e-9)
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, p, sample_weight=w), abs=1e-9)
    assert metrics["pr_auc"] == pytest.approx(average_precision_score(y, p, sample_weight=w), abs=1e-9)
    predicted = p > 0.4
    assert metrics["confusion_matrix"]["tp"] == pytest.approx(w[predicted & (y == 1)].sum())
    assert metrics["accuracy"] == pytest.approx(w[predicted == (y == 1)].sum() / w.sum())
    bins = np.minimum((p * 10).astype(int), 9)
    observed = [row["observed_rate"] for row in metrics["calibration"]]
    expected = [(w * y)[bins == b].sum() / w[bins == b].sum() if (bins == b).any() else None for b in range(10)]
    assert observed == pytest.approx(expected)
    table = pq.read_table(tmp_path / "eval" / "metrics")
    assert (
        dict(zip(table.column("metric").to_pylist(), table.column("value").to_pylist()))["roc_auc"]
        == metrics["roc_auc"]
    )
    for picture in ("roc.png", "calibration.png"):
        assert (tmp_path / "eval" / picture).read_bytes()[:4] == b"\x89PNG"
    assert (root / "model" / "loss.png").read_bytes()[:4] == b"\x89PNG"


def _edit_model_json(model: Path, old: str, new: str, keep_checksum: bool = False) -> None:
    """Edit model.json; a filesystem without Hadoop's .crc side files (HDFS, S3) has no stale checksum."""
    (model / "model.json").write_text((model / "model.json").read_text().replace(old, new))
    if not keep_checksum:
        (model / ".model.json.crc").unlink()


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda m: (m / "model.json").unlink(), "no model.json"),
        (lambda m: _edit_model_json(m, '"format_version": 1', '"format_version": 0'), "model format 0"),
        (lambda m: _edit_model_json(m, "{", "{not json"), "not valid JSON"),
        (lambda m: _edit_model_json(m, '"x3"', '"x9"'), "does not match the features"),
        (lambda m: _edit_model_json(m, '"x3"', '"x9"', keep_checksum=True), "model.json cannot be read.*Checksum"),
        (lambda m: shutil.rmtree(m / "coefficients"), "cannot be read"),
    ],
)
def test_a_damaged_model_directory_is_refused(spark, trained, tmp_path, damage, message):
    root, *_ = trained
    copy = tmp_path / "model"
    shutil.copytree(root / "model", copy)
    damage(copy)
    conf = _predict_conf(root, tmp_path / "scores")
    with pytest.raises(ModelError, match=message):
        predict.run(spark, PredictConf(input=conf.input, model=ModelRefConf(path=str(copy)), output=conf.output))
    assert not (tmp_path / "scores").exists()


def test_sparse_vectors_are_trained_and_scored_without_densifying(spark, tmp_path):
    rng = np.random.default_rng(4)
    rows, d = 600, 40
    X = np.where(rng.random((rows, d)) < 0.1, rng.normal(size=(rows, d)), 0.0)
    y = (rng.random(rows) < 1 / (1 + np.exp(-X @ rng.normal(size=d)))).astype(float)
    vectors = [Vectors.sparse(d, {int(j): float(X[i, j]) for j in np.flatnonzero(X[i])}) for i in range(rows)]
    df = spark.createDataFrame(list(zip(range(rows), vectors, y.tolist())), ["id", "features", "label"])
    df.repartition(2).write.parquet(str(tmp_path / "data"))
    train.run(
        spark,
        Conf(
            input=InputConf(path=str(tmp_path / "data"), features_col="features"),
            model=ModelConf(reg_param=0.01),
            output=OutputConf(model_path=str(tmp_path / "model")),
        ),
    )
    theta = pq.read_table(tmp_path / "model" / "coefficients").column("coefficient").to_numpy()
    predict.run(
        spark,
        PredictConf(
            input=PredictInputConf(path=str(tmp_path / "data")),
            model=ModelRefConf(path=str(tmp_path / "model")),
            output=PredictOutputConf(path=str(tmp_path / "scores"), keep_cols=["id"]),
        ),
    )
    scores = pq.read_table(tmp_path / "scores").sort_by("id")
    expected = 1 / (1 + np.exp(-(X @ theta[:-1] + theta[-1])))
    np.testing.assert_allclose(scores.column("probability").to_numpy(), expected, rtol=1e-12)


def test_hashed_features_are_stable_and_scoring_hashes_alike(spark, tmp_path):
    # MurmurHash3 with Spark's fixed seed: these buckets hold on every run and machine
    one = spark.createDataFrame([("red", True, 2.0)], ["color", "flag", "amount"])
    hashed = with_hashed_features(one, ["color", "flag", "amount"], 1 << 18).first()[HASHED]
    assert (hashed.indices.tolist(), hashed.values.tolist()) == ([4214, 150259, 238466], [2.0, 1.0, 1.0])

    rng = np.random.default_rng(8)
    rows = 3000
    colors, cities = rng.choice(["red", "green", "blue"], rows), rng.choice([f"c{i}" for i in range(20)], rows)
    amount = rng.normal(size=rows)
    effect = {"red": 1.0, "green": -0.5, "blue": 0.0} | {f"c{i}": rng.normal() for i in range(20)}
    margin = np.array([effect[c] + effect[t] for c, t in zip(colors, cities)]) + 0.8 * amount
    y = (rng.random(rows) < 1 / (1 + np.exp(-margin))).astype(np.int64)
    pq.write_table(
        pa.table({"id": np.arange(rows), "color": colors, "city": cities, "amount": amount, "label": y}),
        tmp_path / "data.parquet",
    )
    data = str(tmp_path / "data.parquet")
    train.run(
        spark,
        Conf(
            input=InputConf(path=data, hash_features=["color", "city", "amount"], hash_dim=1024),
            model=ModelConf(reg_param=0.001),
            output=OutputConf(model_path=str(tmp_path / "model")),
        ),
    )
    theta = pq.read_table(tmp_path / "model" / "coefficients").column("coefficient").to_numpy()
    assert len(theta) == 1025
    predict.run(
        spark,
        PredictConf(
            input=PredictInputConf(path=data),
            model=ModelRefConf(path=str(tmp_path / "model")),
            output=PredictOutputConf(path=str(tmp_path / "scores")),
        ),
    )
    scores = pq.read_table(tmp_path / "scores").sort_by("id")
    assert HASHED not in scores.column_names
    vectors = (
        with_hashed_features(spark.read.parquet(data), ["color", "city", "amount"], 1024)
        .orderBy("id")
        .select(HASHED)
        .collect()
    )
    X = np.array([row[0].toArray() for row in vectors])
    np.testing.assert_allclose(
        scores.column("probability").to_numpy(), 1 / (1 + np.exp(-(X @ theta[:-1] + theta[-1]))), rtol=1e-12
    )
    assert roc_auc_score(y, scores.column("probability").to_numpy()) > 0.7


def test_multinomial_model_is_written_scored_and_evaluated(spark, tmp_path):
    """Four classes, sparse Vector features: coefficients/ with a class column, per-class
    probabilities and the arg-max from predict, multiclass metrics as scikit-learn's."""
    rng = np.random.default_rng(12)
    rows, d = 2000, 6
    X = np.where(rng.random((rows, d)) < 0.5, rng.normal(size=(rows, d)), 0.0)
    Z = X @ rng.normal(size=(d, 4)) + np.array([0.5, 0.0, -0.3, 0.2])
    y = (rng.random(rows)[:, None] > np.cumsum(np.exp(Z) / np.exp(Z).sum(1, keepdims=True), axis=1)).sum(1)
    w = rng.uniform(0.5, 2.0, rows)
    vectors = [Vectors.sparse(d, {int(j): float(X[i, j]) for j in np.flatnonzero(X[i])}) for i in range(rows)]
    df = spark.createDataFrame(
        list(zip(range(rows), vectors, y.tolist(), w.tolist())), ["id", "features", "label", "w"]
    )
    df.repartition(3).write.parquet(str(tmp_path / "data"))
    data, model = str(tmp_path / "data"), str(tmp_path / "model")
    train.run(
        spark,
        Conf(
            input=InputConf(path=data, features_col="features", weight_col="w"),
            model=ModelConf(reg_param=0.001),
            solver=SolverConf(tol=1e-10),
            output=OutputConf(model_path=model),
        ),
    )
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert (meta["family"], meta["classes"], meta["solver"]) == ("multinomial", 4, "newton")  # auto: 28 parameters
    coefficients = pq.read_table(tmp_path / "model" / "coefficients").sort_by([("class", "ascending")])
    assert coefficients.column_names == ["class", "feature", "coefficient"]
    theta = coefficients.column("coefficient").to_numpy().reshape(4, d + 1)
    assert coefficients.column("feature").to_pylist()[: d + 1] == [f"features[{j}]" for j in range(d)] + ["(intercept)"]
    np.testing.assert_allclose(theta[:, -1].sum(), 0.0, atol=1e-12)  # MLlib's convention: intercepts sum to 0

    predict.run(
        spark,
        PredictConf(
            input=PredictInputConf(path=data),
            model=ModelRefConf(path=model),
            output=PredictOutputConf(path=str(tmp_path / "scores"), keep_cols=["id"], raw_margin=True),
        ),
    )
    scores = pq.read_table(tmp_path / "scores").sort_by("id")
    margins = X @ theta[:, :-1].T + theta[:, -1]
    P = np.exp(margins) / np.exp(margins).sum(1, keepdims=True)
    np.testing.assert_allclose(np.array(scores.column("raw_margin").to_pylist()), margins, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.array(scores.column("probability").to_pylist()), P, rtol=1e-12)
    np.testing.assert_array_equal(scores.column("prediction").to_numpy(), P.argmax(1))
    with pytest.raises(ConfigError, match="model.threshold: .* is multinomial"):
        predict.run(
            spark,
            PredictConf(
                input=PredictInputConf(path=data),
                model=ModelRefConf(path=model, threshold=0.3),
                output=PredictOutputConf(path=str(tmp_path / "other")),
            ),
        )
    with pytest.raises(ConfigError, match="model.threshold: .* is multinomial"):
        evaluate.run(
            spark,
            EvaluateConf(
                input=EvaluateInputConf(path=data),
                model=ModelRefConf(path=model, threshold=0.3),
                output=EvaluateOutputConf(path=str(tmp_path / "other")),
            ),
        )
    assert [p.name for p in tmp_path.iterdir() if "other" in p.name] == []  # refused before anything is written

    evaluate.run(
        spark,
        EvaluateConf(
            input=EvaluateInputConf(path=data, weight_col="w"),
            model=ModelRefConf(path=model),
            output=EvaluateOutputConf(path=str(tmp_path / "eval")),
        ),
    )
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["rows"] == rows and metrics["classes"] == 4
    assert metrics["log_loss"] == pytest.approx(log_loss(y, P, sample_weight=w), abs=1e-9)
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y, P.argmax(1), sample_weight=w), abs=1e-12)
    precision, recall, f1, support = precision_recall_fscore_support(y, P.argmax(1), sample_weight=w)
    per_class = metrics["per_class"]
    np.testing.assert_allclose([row["precision"] for row in per_class], precision, rtol=1e-12)
    np.testing.assert_allclose([row["recall"] for row in per_class], recall, rtol=1e-12)
    np.testing.assert_allclose([row["f1"] for row in per_class], f1, rtol=1e-12)
    np.testing.assert_allclose([row["weight"] for row in per_class], support, rtol=1e-12)
    np.testing.assert_allclose(
        metrics["confusion_matrix"], confusion_matrix(y, P.argmax(1), sample_weight=w), rtol=1e-12
    )
    confusion = pq.read_table(tmp_path / "eval" / "confusion")
    assert confusion.num_rows == 16 and sorted(
        pq.read_table(tmp_path / "eval" / "classes").column("class").to_pylist()
    ) == [0, 1, 2, 3]
    # labels outside the model's classes are invalid rows when evaluating
    bad = pa.table({"features": pa.array([[1.0] * d] * 4), "label": [0, 1, 4, 2]})
    pq.write_table(bad, tmp_path / "bad.parquet")
    with pytest.raises(InputError, match=r"column 'label': 1 row is not a class 0 … 3"):
        evaluate.run(
            spark,
            EvaluateConf(
                input=EvaluateInputConf(path=str(tmp_path / "bad.parquet")),
                model=ModelRefConf(path=model),
                output=EvaluateOutputConf(path=str(tmp_path / "eval2")),
            ),
        )
    # a label the model reads as a feature
    with pytest.raises(ConfigError, match=r"^input.label_col: 'Features' is a feature of the model .*'features'"):
        evaluate.run(
            spark,
            EvaluateConf(
                input=EvaluateInputConf(path=str(tmp_path / "bad.parquet"), label_col="Features"),
                model=ModelRefConf(path=model),
                output=EvaluateOutputConf(path=str(tmp_path / "eval3")),
            ),
        )
