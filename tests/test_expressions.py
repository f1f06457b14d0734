"""Scoring by Spark SQL expressions gives what scoring in Python gives (see spark/expressions.py)."""

import json
import math
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import assert_documents_close
from synthetic import make_classification, multiclass_labels

from logreg_spark import LogisticRegression
from logreg_spark.app import evaluate
from logreg_spark.core.family import BINOMIAL, Family
from logreg_spark.errors import InputError
from logreg_spark.settings.schema import EvaluateConf, EvaluateInputConf, EvaluateOutputConf, ModelRefConf
from logreg_spark.spark import expressions, scoring
from logreg_spark.spark.blocks import FeatureSpec, Problems
from logreg_spark.spark.loaded_model import LoadedModel
from logreg_spark.spark.outputs import Output
from logreg_spark.spark.scoring import expressible, row_check, row_checks, scored, validate_rows

NAMES = ["a", "b b", "c"]
OUTPUTS = {
    "margin": Output("margin"),
    "probability": Output("probability"),
    "prediction": Output("prediction"),
    "rawPrediction": Output("margin", both_sides=True),
    "pair": Output("probability", both_sides=True),
}


def _model(family: Family, rng: np.random.Generator, scale: float) -> LoadedModel:
    shape = (family.n_margins, len(NAMES)) if family.is_multinomial else (len(NAMES),)
    coefficients = rng.normal(size=shape) * scale
    coefficients[..., 2] = 0.0  # a zero coefficient is left out of the sum
    intercept = rng.normal(size=family.n_margins) if family.is_multinomial else 0.3
    return LoadedModel("test", coefficients, intercept, 0.4, FeatureSpec(columns=tuple(NAMES)), "label", None, family)


def _frame(spark, rng: np.random.Generator, rows: int = 400):
    X = rng.normal(size=(rows, len(NAMES) + 1))
    data = [(i, float(a), float(b), int(c > 0), float(o)) for i, (a, b, c, o) in enumerate(X)]
    return spark.createDataFrame(data, "id long, a double, `b b` double, c int, o double")


def _rows(frame, names):
    collected = frame.orderBy("id").collect()
    return {name: np.array([np.ravel(row[name]) for row in collected], dtype=float) for name in names}


@pytest.mark.parametrize("classes, scale", [(2, 1.0), (2, 400.0), (4, 1.0), (4, 400.0)])
def test_expressions_score_as_python_does(spark, monkeypatch, classes, scale):
    """Margins, probabilities (also where they saturate: margins of hundreds) and predictions
    agree to 1e-12 with the mapInArrow scoring, binomial (with an offset column) and multinomial."""
    rng = np.random.default_rng(classes)
    model = _model(BINOMIAL if classes == 2 else Family.multinomial(classes), rng, scale)
    if classes == 2:
        model = replace(model, offset_col="o")
    df = _frame(spark, rng)
    assert expressible(model)
    by_sql = _rows(scored(df, model, ["id"], OUTPUTS, "skip"), OUTPUTS)
    monkeypatch.setattr(expressions, "MAX_TERMS", 0)
    assert not expressible(model)
    by_python = _rows(scored(df, model, ["id"], OUTPUTS, "skip"), OUTPUTS)
    for name in OUTPUTS:
        np.testing.assert_allclose(by_sql[name], by_python[name], rtol=1e-12, atol=1e-12, err_msg=name)


def test_observed_checks_count_what_the_python_check_counts(spark, monkeypatch):
    df = spark.createDataFrame(
        [
            (1.0, None, 1, 0.0),
            (math.nan, 2.0, 0, math.inf),
            (math.inf, -math.inf, 1, 1.0),
            (0.5, 0.5, None, None),
            (0.1, 0.2, 3, 0.5),
            (0.1, 0.2, 3, math.nan),
        ],
        "a double, `b b` double, c int, off double",
    )
    model = replace(_model(BINOMIAL, np.random.default_rng(0), 1.0), offset_col="off")
    rows = row_checks(model)
    observed, observation = expressions.observed(df, rows)
    assert observed.where(rows.valid()).count() == 1
    found = expressions.problems_of(df, observation, rows)
    counted = Problems()
    monkeypatch.setattr(scoring, "apply_invalid_policy", lambda problems, _: counted.merge(problems))
    validate_rows(df, row_check(model), "skip")
    assert found.describe() == counted.describe()
    problem = "NaN, infinite or null"
    assert found.counts == {("a", problem): 2, ("b b", problem): 2, ("c", problem): 1, ("off", problem): 3}


def test_a_lazy_error_names_the_problem(spark):
    model = _model(BINOMIAL, np.random.default_rng(0), 1.0)
    df = spark.createDataFrame([(0, 1.0, None, 1)], "id long, a double, `b b` double, c int")
    with pytest.raises(Exception, match=r"invalid rows \(column 'b b': NaN, infinite or null\)"):
        scored(df, model, ["id"], OUTPUTS, "error").collect()


@pytest.mark.parametrize("classes", [2, 3])
def test_evaluate_by_expressions_writes_what_python_scoring_writes(spark, monkeypatch, tmp_path, classes):
    """The evaluation job's metrics.json (log loss, the exact AUCs, confusion, calibration; or the
    multiclass metrics) equal to 1e-12 either way, weighted rows and one invalid row included."""
    X, y, _ = make_classification(3000, 4, seed=classes, condition=3.0)
    labels = y if classes == 2 else multiclass_labels(X, classes, seed=1)
    columns = {f"x{j}": X[:, j] for j in range(4)}
    w = np.random.default_rng(2).uniform(0.5, 2.0, len(labels))
    w[7] = -1.0  # invalid, skipped
    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(pa.table({**columns, "label": labels.astype(np.int64), "w": w}), data / "part-0.parquet")
    df = spark.read.parquet(str(data))
    LogisticRegression(featureCols=list(columns), weightCol="w", regParam=0.01).fit(df.where("w >= 0")).save(
        str(tmp_path / "model")
    )

    def evaluated(out: str) -> dict:
        conf = EvaluateConf(
            input=EvaluateInputConf(path=str(data), weight_col="w", invalid="skip"),
            model=ModelRefConf(path=str(tmp_path / "model")),
            output=EvaluateOutputConf(path=str(tmp_path / out)),
        )
        evaluate.run(spark, conf)
        return json.loads((tmp_path / out / "metrics.json").read_text())

    by_sql = evaluated("sql")
    monkeypatch.setattr(expressions, "MAX_TERMS", 0)
    by_python = evaluated("python")
    assert by_sql["rows"] == 2999
    assert_documents_close(by_sql, by_python)


@pytest.mark.parametrize("expressed", [True, False])
def test_scored_once_checks_rows_while_it_scores(spark, monkeypatch, expressed):
    """By expressions or in Python, the rows scored once are the valid ones with the same
    values as :func:`scored`; the policy applied afterwards names the problems as a separate
    count does: a warning with "skip", an InputError with "error"."""
    model = replace(_model(BINOMIAL, np.random.default_rng(5), 1.0), offset_col="o")
    rng = np.random.default_rng(6)
    invalid = [(100, math.nan, 1.0, 1, 0.0), (101, 0.5, None, 0, 0.0), (102, 0.5, 1.0, 0, math.nan)]
    df = _frame(spark, rng, rows=50).union(
        spark.createDataFrame(invalid, "id long, a double, `b b` double, c int, o double")
    )
    if not expressed:
        monkeypatch.setattr(expressions, "MAX_TERMS", 0)
    assert expressible(model) == expressed
    frame, settle = scoring.scored_once(df, model, ["id"], OUTPUTS, "skip")
    once = _rows(frame, OUTPUTS)
    settle()
    expected = _rows(scored(df, model, ["id"], OUTPUTS, "skip"), OUTPUTS)
    assert len(once["probability"]) == 50
    for name in OUTPUTS:
        np.testing.assert_allclose(once[name], expected[name], rtol=1e-12, err_msg=name)
    frame, settle = scoring.scored_once(df, model, ["id"], OUTPUTS, "error")
    frame.count()
    message = r"invalid rows \(column 'a': 1 row is NaN, infinite or null \(e\.g\. nan\); column 'b b': 1 row is"
    message += r".*; column 'o': 1 row is"
    with pytest.raises(InputError, match=message):
        settle()
    clean, settle = scoring.scored_once(df.where("id < 100"), model, ["id"], OUTPUTS, "error")
    assert clean.count() == 50
    settle()  # no invalid row: nothing raised, and no second pass
