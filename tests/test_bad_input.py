"""Bad input, bad conf, bad models: each exits non-zero with one line naming the problem, writing nothing.

The jobs' ``main`` runs in this process, joining the tests' Spark session
(which a job leaves running when it did not start it).
"""

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from logreg_spark.app import evaluate, predict, train

ROWS = 8
BASE_CONF = """
[input]
path = "{data}"
features = ["x0", "x1"]
[output]
model_path = "{out}"
[solver]
max_iter = 20
"""


def _good() -> dict[str, pa.Array]:
    rng = np.random.default_rng(0)
    return {
        "x0": pa.array(rng.normal(size=ROWS)),
        "x1": pa.array(rng.normal(size=ROWS)),
        "v": pa.array([[1.0, 2.0, 3.0]] * ROWS),
        "idx": pa.array([[0, 2], [1]] * (ROWS // 2)),
        "val": pa.array([[1.0, 2.0], [3.0]] * (ROWS // 2)),
        "label": pa.array([0, 1] * (ROWS // 2)),
        "w": pa.array(np.ones(ROWS)),
    }


def _with(**changes) -> dict[str, pa.Array]:
    columns = _good()
    for name, values in changes.items():
        if values is None:
            del columns[name]
        else:
            columns[name] = pa.array(values)
    return columns


def _failure(capsys, run, argv) -> str:
    """Run a job's main; check it failed with exactly one error line, the last; return that line."""
    code = run(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err[-5:]
    errors = [line for line in err if line.startswith("logreg_spark: error:")]
    assert len(errors) == 1 and err[-1] == errors[0]
    return errors[0]


def _nothing_written(out: Path) -> None:
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")] == []


NAN, INF = math.nan, math.inf
PAIRS = ["input.features=[]", "input.indices_col=idx", "input.values_col=val", "input.num_features=3"]

TRAINING_CASES = {
    "label missing": (_with(label=None), [], r"input.label_col: column 'label' is not in the input"),
    "labels 2 and -1, binomial": (
        _with(label=[0, 1, 2, -1, 0, 1, 0, 1]),
        ["model.family=binomial"],
        r"column 'label': 2 rows are not 0 or 1 \(or null/NaN\)",
    ),
    "label -1": (
        _with(label=[0, 1, 2, -1, 0, 1, 0, 1]),
        [],
        r"column 'label': 1 row is not a class 0 … 999 \(or null/NaN\) \(e.g. -1.0\)",
    ),
    "label 0.5": (_with(label=[0.0, 1.0, 0.5, 1.0, 0.0, 1.0, 0.0, 1.0]), [], r"column 'label': 1 row is not a class 0"),
    "a class without rows": (
        _with(label=[0, 1, 3, 3, 0, 1, 0, 1]),
        [],
        r"input.label_col 'label': no rows \(of positive weight\) have label 2; "
        r"labels must be 0 … 3 with every class present",
    ),
    "null and NaN labels": (
        _with(label=[0.0, None, NAN, 1.0, 0.0, 1.0, 0.0, 1.0]),
        ["model.family=binomial"],
        r"column 'label': 2 rows are not 0 or 1 \(or null/NaN\)",
    ),
    "string label": (
        _with(label=["no", "yes"] * 4),
        [],
        r"input.label_col: column 'label' is string; labels must be class numbers 0, 1, …",
    ),
    "feature missing": (_with(x1=None), [], r"input.features: column 'x1' is not in the input"),
    "string feature": (_with(x1=["a"] * ROWS), [], r"input.features: column 'x1' is string, not numeric"),
    "null, NaN, ±Inf features": (
        _with(x1=[None, NAN, INF, -INF, 1.0, 2.0, 3.0, 4.0]),
        [],
        r"column 'x1': 4 rows are NaN, infinite or null",
    ),
    "array of another length": (
        _with(v=[[1.0, 2.0, 3.0]] * 6 + [[1.0], None]),
        ["input.features=[]", "input.features_col=v"],
        r"column 'v': 2 rows are null or not of length 3",
    ),
    "null index array": (_with(idx=[[0, 2]] * 7 + [None]), PAIRS, r"column 'idx': 1 row is null"),
    "index and value arrays of different lengths": (
        _with(val=[[1.0, 2.0], [3.0]] * 3 + [[1.0], [1.0, 2.0]]),
        PAIRS,
        r"column 'val': 2 rows are of another length than 'idx'",
    ),
    "indices out of range": (
        _with(idx=[[0, 2], [1]] * 3 + [[0, 3], [-1]]),
        PAIRS,
        r"column 'idx': 2 rows are holding an index outside \[0, 3\) or null \(e.g. 3.0\)",
    ),
    "NaN and ±Inf values": (
        _with(val=[[1.0, 2.0], [3.0]] * 2 + [[NAN, 1.0], [INF], [1.0, -INF], [3.0]]),
        PAIRS,
        r"column 'val': 3 rows are NaN, infinite or null",
    ),
    "indices not integers": (
        _with(idx=[[0.0, 2.0], [1.0]] * (ROWS // 2)),
        PAIRS,
        r"input.indices_col: column 'idx' is array<double>, not an array of integers",
    ),
    "values column missing": (_with(val=None), PAIRS, r"input.values_col: column 'val' is not in the input"),
    "bad weights": (
        _with(w=[-1.0, NAN, INF, 1.0, 1.0, 1.0, 1.0, 1.0]),
        ["input.weight_col=w"],
        r"column 'w': 3 rows are negative, NaN, infinite or null",
    ),
    "all weights zero": (_with(w=[0.0] * ROWS), ["input.weight_col=w"], r"input.weight_col 'w': all weights are zero"),
    "newton on a wide model": (
        _with(v=[[1.0] * 5001] * ROWS),
        ["input.features=[]", "input.features_col=v", "solver.name=newton"],
        r'solver.name = "newton": the Hessian of 5002 parameters would take 0.2 GB',
    ),
    "no rows": ({name: array.slice(0, 0) for name, array in _good().items()}, [], r"no rows"),
    "wrong-typed conf value": (_good(), ["solver.max_iter=many"], r"--set: solver.max_iter must be an integer"),
    "unknown conf key": (_good(), ["solver.max_itre=3"], r"unknown key solver.max_itre \(did you mean 'max_iter'\?\)"),
}


@pytest.fixture
def job_files(tmp_path):
    def make(columns: dict[str, pa.Array] | None) -> tuple[Path, Path, Path]:
        data, out = tmp_path / "data", tmp_path / "out"
        if columns is not None:
            data.mkdir()
            pq.write_table(pa.table(columns), data / "part-0.parquet")
        conf = tmp_path / "job.toml"
        conf.write_text(BASE_CONF.format(data=data, out=out))
        return data, out, conf

    return make


@pytest.mark.parametrize("case", list(TRAINING_CASES))
def test_training_refuses_bad_input(spark, capsys, job_files, case):
    columns, overrides, message = TRAINING_CASES[case]
    _, out, conf = job_files(columns)
    line = _failure(capsys, train.main, ["--conf", str(conf), *[a for o in overrides for a in ("--set", o)]])
    assert re.search(message, line), line
    _nothing_written(out)


def test_invalid_rows_can_be_skipped_and_are_counted(spark, capsys, job_files, caplog):
    _, out, conf = job_files(_with(x1=[None, NAN, 0.5, 1.5, 2.0, 0.3, 1.1, 0.9]))
    assert train.main(["--conf", str(conf), "--set", "input.invalid=skip"]) == 0
    meta = json.loads((out / "model.json").read_text())
    assert meta["rows"] == 6 and meta["rows_skipped"] == 2
    assert "skipping invalid rows: column 'x1': 2 rows are NaN, infinite or null" in caplog.text


@pytest.mark.parametrize(
    "where, message",
    [
        ("missing", r"input.path .*missing: \[PATH_NOT_FOUND\] Path does not exist"),
        ("empty", r"input.path .*empty: no Parquet files there"),
        ("csv", r"input.path .*csv: .*x.csv is not a Parquet file"),
    ],
)
def test_training_refuses_an_input_path_without_parquet(spark, capfd, job_files, tmp_path, where, message):
    _, out, conf = job_files(None)
    (tmp_path / "empty").mkdir()
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "x.csv").write_text("x0,x1,label\n1,2,0\n")
    capfd.readouterr()
    argv = ["--conf", str(conf), "--set", f"input.path={tmp_path / where}"]
    assert train.main(argv) == 2
    err = capfd.readouterr().err  # this process's file descriptor 2: the JVM's log lines too
    line = err.strip().splitlines()[-1]
    assert re.search(message, line), line
    # no Java stack trace ahead of it (Spark logs one for a missing path and for a failed task)
    assert not re.search(r"^\s+at |Exception", err.replace(line, ""), flags=re.M), err[-3000:]
    _nothing_written(out)


@pytest.mark.parametrize("output", ["data", "data/model", "."])
def test_an_output_overlapping_the_input_is_refused(spark, capsys, job_files, tmp_path, output):
    data, _, conf = job_files(_good())
    before = sorted(p.name for p in data.iterdir())
    line = _failure(
        capsys,
        train.main,
        ["--conf", str(conf), "--set", f"output.model_path={tmp_path / output}", "--set", "output.mode=overwrite"],
    )
    assert "overlaps input.path" in line
    assert sorted(p.name for p in data.iterdir()) == before


def test_a_conf_that_is_not_toml_is_refused(capsys, tmp_path):
    conf = tmp_path / "broken.toml"
    conf.write_text("[input\npath = 'x'\n")
    assert "not valid TOML" in _failure(capsys, train.main, ["--conf", str(conf)])


def _two_files(tmp_path: Path, second: dict[str, pa.Array]) -> Path:
    """A conf training on two files, the first good, the second ``second``: listed as two paths,
    so Spark takes the schema from the first."""
    first, other = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pq.write_table(pa.table(_good()), first)
    pq.write_table(pa.table(second), other)
    conf = tmp_path / "job.toml"
    conf.write_text(BASE_CONF.replace('path = "{data}"', f"path = ['{first}', '{other}']").format(out=tmp_path / "out"))
    return conf


def test_a_problem_found_by_a_task_is_one_line(spark, capsys, tmp_path):
    """Read by pyarrow in the tasks: a file with two columns that both match a feature's name."""
    conf = _two_files(tmp_path, {**_good(), "X1": _good()["x1"]})
    line = _failure(capsys, train.main, ["--conf", str(conf)])
    assert re.search(r"error: .*b.parquet: columns x1, X1 all match 'x1' \(names are not case-sensitive\)$", line)
    _nothing_written(tmp_path / "out")


@pytest.mark.parametrize("reader", ["auto", "spark"])
def test_files_storing_a_column_as_two_types_are_refused_naming_both(spark, capsys, tmp_path, reader):
    """Doubles in one file, strings in the other (pyarrow would parse them; Spark's reader fails a task)."""
    conf = _two_files(tmp_path, {**_good(), "x1": pa.array([str(v) for v in _good()["x1"].to_pylist()])})
    line = _failure(capsys, train.main, ["--conf", str(conf), "--set", f'input.reader="{reader}"'])
    assert line == (
        f"logreg_spark: error: column 'x1' is double in {tmp_path / 'a.parquet'} but string in "
        f"{tmp_path / 'b.parquet'}; every file must store a column as one type "
        "(numbers of different types are read as double)"
    )
    _nothing_written(tmp_path / "out")


@pytest.mark.parametrize("reader", ["auto", "spark"])
def test_a_file_that_is_not_parquet_among_good_ones_is_named(spark, capsys, tmp_path, reader):
    conf = _two_files(tmp_path, _good())
    (tmp_path / "b.parquet").write_bytes(b"not Parquet" * 10)
    line = _failure(capsys, train.main, ["--conf", str(conf), "--set", f'input.reader="{reader}"'])
    said = "not a Parquet file (Parquet magic bytes not found in footer)"
    assert line == f"logreg_spark: error: {tmp_path / 'b.parquet'}: {said}"
    _nothing_written(tmp_path / "out")


def test_numbers_of_different_types_in_different_files_are_read_alike_by_both_readers(spark, tmp_path):
    """64-bit integers in one file where the other has doubles (Spark's reader alone fails on
    them): both readers train the model of the same rows stored as doubles."""
    whole = np.arange(ROWS) % 3
    conf = _two_files(tmp_path, {**_good(), "x1": pa.array(whole)})
    pq.write_table(pa.table({**_good(), "x1": pa.array(whole.astype(float))}), tmp_path / "c.parquet")
    coefficients = {}
    for run, overrides in {
        "auto": [],
        "spark": ["input.reader=spark"],
        "doubles": [f"input.path=['{tmp_path / 'a.parquet'}', '{tmp_path / 'c.parquet'}']"],
    }.items():
        out = tmp_path / run
        argv = ["--conf", str(conf), "--set", f"output.model_path={out}"]
        assert train.main([*argv, *[a for o in overrides for a in ("--set", o)]]) == 0
        coefficients[run] = pq.read_table(out / "coefficients").column("coefficient").to_pylist()
    assert coefficients["auto"] == pytest.approx(coefficients["doubles"], rel=1e-9)
    assert coefficients["spark"] == pytest.approx(coefficients["doubles"], rel=1e-9)


def _trained_model(root: Path, *overrides: str) -> Path:
    pq.write_table(pa.table(_good()), root / "train.parquet")
    conf = root / "train.toml"
    conf.write_text(BASE_CONF.format(data=root / "train.parquet", out=root / "model"))
    assert (
        train.main(["--conf", str(conf), "--set", "model.reg_param=0.1", *[a for o in overrides for a in ("--set", o)]])
        == 0
    )
    return root / "model"


@pytest.fixture(scope="module")
def model_dir(spark, tmp_path_factory):
    return _trained_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def pair_model_dir(spark, tmp_path_factory):
    return _trained_model(tmp_path_factory.mktemp("pair_model"), *PAIRS)


def _assert_scoring_fails(capsys, model: Path, tmp_path: Path, job, columns: dict[str, pa.Array], message: str) -> None:
    pq.write_table(pa.table(columns), tmp_path / "score.parquet")
    out = tmp_path / "out"
    conf = tmp_path / "job.toml"
    conf.write_text(
        f'[input]\npath = "{tmp_path / "score.parquet"}"\n[model]\npath = "{model}"\n[output]\npath = "{out}"\n'
    )
    line = _failure(capsys, job.main, ["--conf", str(conf)])
    assert re.search(message, line), line
    _nothing_written(out)


@pytest.mark.parametrize("job", [predict, evaluate])
@pytest.mark.parametrize(
    "columns, message",
    [
        (_with(x1=None), r"model features \(.*\): column 'x1' is not in the input"),
        (_with(x1=["a"] * ROWS), r"model features \(.*\): column 'x1' is string, not numeric"),
        (_with(x0=[None, NAN, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]), r"column 'x0': 2 rows are NaN, infinite or null"),
    ],
)
def test_scoring_input_must_have_the_models_features(spark, capsys, model_dir, tmp_path, job, columns, message):
    _assert_scoring_fails(capsys, model_dir, tmp_path, job, columns, message)


@pytest.mark.parametrize("job", [predict, evaluate])
@pytest.mark.parametrize(
    "columns, message",
    [
        (_with(idx=None), r"model features \(.*\): column 'idx' is not in the input"),
        (_with(val=["a"] * ROWS), r"model features \(.*\): column 'val' is string, not an array of numbers"),
        (_with(idx=[[0, 2], [1]] * 3 + [[0, 2], [9]]), r"column 'idx': 1 row is holding an index outside \[0, 3\)"),
    ],
)
def test_scoring_input_must_have_the_models_index_value_pairs(
    spark, capsys, pair_model_dir, tmp_path, job, columns, message
):
    _assert_scoring_fails(capsys, pair_model_dir, tmp_path, job, columns, message)


def test_an_incomplete_model_directory_is_refused_by_the_jobs(spark, capsys, model_dir, tmp_path):
    broken = tmp_path / "model"
    shutil.copytree(model_dir, broken)
    shutil.rmtree(broken / "coefficients")
    pq.write_table(pa.table(_good()), tmp_path / "score.parquet")
    conf = tmp_path / "job.toml"
    conf.write_text(
        f'[input]\npath = "{tmp_path / "score.parquet"}"\n[model]\npath = "{broken}"\n'
        f'[output]\npath = "{tmp_path / "out"}"\n'
    )
    assert "coefficients: cannot be read" in _failure(capsys, predict.main, ["--conf", str(conf)])
    _nothing_written(tmp_path / "out")


def test_a_file_spark_cannot_read_ends_the_job_in_one_line_naming_it(spark, capsys, tmp_path):
    """A partitioned directory is read by Spark alone (the files lack the partition column): its
    failure on 64-bit integers in a file where the schema has doubles is exit 2, naming the file."""
    for part, values in (("1", _good()["x1"]), ("2", pa.array(np.arange(ROWS)))):
        (tmp_path / "data" / f"part={part}").mkdir(parents=True)
        pq.write_table(pa.table({**_good(), "x1": values}), tmp_path / "data" / f"part={part}" / "f.parquet")
    conf = tmp_path / "job.toml"
    conf.write_text(BASE_CONF.format(data=tmp_path / "data", out=tmp_path / "out"))
    line = _failure(capsys, train.main, ["--conf", str(conf)])
    assert line.startswith(
        "logreg_spark: error: an input file could not be read: Encountered error while reading file "
    )
    assert f"{tmp_path / 'data'}/part=" in line and "[x1]" in line, line
    _nothing_written(tmp_path / "out")
