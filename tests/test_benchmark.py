"""The benchmark runs end to end at a tiny size (its timings are not checked here)."""

import os
import re
import subprocess
import sys

from conftest import ROOT


def test_compare_prints_a_table_with_both_fits(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "compare.py"), "--rows", "3000", "6000", "--features", "5",
         "--work", str(tmp_path), "--driver-memory", "1g", "--cache", "local", "--json", str(tmp_path / "r.json")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout
    for size in ("3,000 × 5", "6,000 × 5"):
        for label in ("MLlib", "logreg_spark (newton, local cache, float64)", "newton / MLlib",
                      "logreg_spark (lbfgs, local cache, float64)", "lbfgs / MLlib", "NumPy floor"):
            assert f"| {size} | {label} |" in table
    differences = [float(d) for d in re.findall(r"\| ([+-]\d\.\de[+-]\d+) \(rel\.\)", table)]
    assert len(differences) == 4 and all(abs(d) < 1e-5 for d in differences)
    assert (tmp_path / "r.json").exists()
