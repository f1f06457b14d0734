"""The benchmark runs end to end at a tiny size (its timings are not checked here)."""

import json
import os
import re
import subprocess
import sys

from conftest import ROOT


def run_compare(tmp_path, *args: str, script: str = "compare.py") -> str:
    """compare.py's (or a sibling's) table, run on this checkout's code at a tiny size."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / script),
            *args,
            "--work",
            str(tmp_path),
            "--driver-memory",
            "1g",
            "--json",
            str(tmp_path / "r.json"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


WARM_UP = ("--cache", "local", "--warm-up-rows", "1000")


def relative_differences(table: str) -> list[float]:
    """The "(rel.)" differences of our final objectives from MLlib's."""
    return [float(d) for d in re.findall(r"\| ([+-]\d\.\de[+-]\d+) \(rel\.\)", table)]


def test_compare_prints_a_table_with_both_fits(tmp_path):
    table = run_compare(tmp_path, "--rows", "3000", "--features", "5", *WARM_UP)
    for label in (
        "MLlib",
        "logreg_spark (newton, local cache, float64)",
        "newton / MLlib",
        "logreg_spark (lbfgs, local cache, float64)",
        "lbfgs / MLlib",
        "NumPy floor",
    ):
        assert f"| 3,000 × 5 | {label} |" in table
    differences = relative_differences(table)
    assert len(differences) == 2 and all(abs(d) < 1e-5 for d in differences)
    # With more than one size in --rows, the table also says how each whole fit grew with the rows: its
    # table() on this size's results and a copy of them as a size with twice the rows (a second measured
    # size would only add minutes of the same fits).
    from compare import table as compare_table

    (result,) = json.loads((tmp_path / "r.json").read_text())
    doubled = {**result, "rows": 2 * result["rows"], "size": "6,000 × 5"}
    grown = compare_table([result, doubled])
    for size in ("3,000 × 5", "6,000 × 5"):
        assert f"| {size} | logreg_spark (newton, local cache, float64) |" in grown
    for solver in ("newton", "lbfgs"):
        assert f"2 × the rows: {solver} whole fit × 1.00 (MLlib × 1.00)." in grown


def test_compare_on_sparse_vectors_runs_auto_once_as_lbfgs(tmp_path):
    table = run_compare(tmp_path, "--rows", "3000", "--features", "2000", "--nonzeros", "10", *WARM_UP)
    size = "3,000 × 2,000 sparse, 10 per row"
    for label in ("MLlib", "logreg_spark (lbfgs, local cache, float64)", "lbfgs / MLlib", "NumPy floor"):
        assert f"| {size} | {label} |" in table
    assert "newton" not in table
    differences = relative_differences(table)
    assert len(differences) == 1 and abs(differences[0]) < 1e-5
    (result,) = json.loads((tmp_path / "r.json").read_text())
    assert result["nonzeros"] == 10 and result["mllib"]["passes"] > 1


def test_conditioning_benchmark_reports_each_fit_against_the_optimum(tmp_path):
    table = run_compare(tmp_path, "--rows", "2000", "--kinds", "onehot", script="conditioning.py")
    (result,) = json.loads((tmp_path / "r.json").read_text())
    fits = {f["fit"]: f for f in result["fits"]}
    assert set(fits) == {"MLlib", "logreg_spark (lbfgs)", "logreg_spark (gd)"}
    assert all(f["gap"] >= 0 for f in fits.values())  # the optimum is the lowest objective seen
    for name in ("logreg_spark (lbfgs)", "logreg_spark (gd)"):
        assert f"| onehot {result['size']} | {name} |" in table and "converged: true" in fits[name]["reports"]
        assert fits[name]["gap"] < 1e-8


def test_tune_compare_reports_both_selections_side_by_side(tmp_path):
    lams, alphas = ["0.1", "0.001"], ["0.0", "0.5"]
    table = run_compare(
        tmp_path,
        *("--rows", "3000", "--features", "5", "--reg-params", *lams, "--elastic-net-params", *alphas),
        *("--folds", "2"),
        *WARM_UP,
        script="tune_compare.py",
    )
    header = next(line for line in table.splitlines() if line.startswith("| rows × features |"))
    for column in ("rows × features", "grid", "MLlib s", "ours s", "ours / MLlib", "our passes"):
        assert f"| {column} |" in header
    for column in ("MLlib (λ, α)", "MLlib log loss", "ours (λ, α)", "our log loss", "agree"):
        assert f"| {column} |" in header
    assert "| 3,000 × 5 | 2 × 2, 2 folds |" in table
    (result,) = json.loads((tmp_path / "r.json").read_text())
    for side in ("mllib", "ours"):
        best = result[side]["best"]
        assert best["reg_param"] in map(float, lams) and best["elastic_net_param"] in map(float, alphas)
        assert 0 < best["mean"] < 1 and len(result[side]["scores"]) == 4
    assert result["ours"]["passes"] > 0 and result["agreement"]["verdict"].startswith(("yes", "no"))


def test_jobs_compare_times_the_three_jobs_on_both_sides(tmp_path):
    table = run_compare(tmp_path, "--rows", "2000", "--features", "5", "--repeats", "1", script="jobs_compare.py")
    for job in ("train", "predict", "evaluate", "set-up / preparation"):
        assert re.search(rf"\| 2,000 × 5 \| {re.escape(job)} \| [\d.]+ \| [\d.]+ \| [\d.]+ \|", table), job
    assert "ROC AUC MLlib" in table
    (result,) = json.loads((tmp_path / "r.json").read_text())
    for job in ("train", "predict", "evaluate"):
        for side in ("mllib", "ours"):
            seconds = result["jobs"][job][side]
            assert len(seconds["all"]) == 1 and seconds["best"] == seconds["all"][0] > 0
    assert result["setup"]["mllib"] > 0 and result["setup"]["ours"] > 0
    for side in ("mllib", "ours"):
        assert 0.5 < result["evaluation"][side]["roc_auc"] <= 1


def test_hashed_compare_fits_the_same_objective_as_mllib(tmp_path):
    table = run_compare(
        tmp_path,
        *("--rows", "3000", "--fields", "5", "--levels", "300", "--bits", "10", "--reg-param", "1e-3"),
        script="hashed_compare.py",
    )
    assert "| 3,000 rows × 5 hashed fields, 2^10 buckets | ours / MLlib |" in table
    (result,) = json.loads((tmp_path / "r.json").read_text())
    mllib, ours = result["mllib"], result["ours"]
    assert abs(ours["objective"] - mllib["objective"]) <= 1e-6 * mllib["objective"]
    assert ours["passes"] > 0 and mllib["passes"] > 0 and ours["whole"] > 0 and mllib["whole"] > 0
