"""The README's Python examples run as written."""

import os
import re
import subprocess
import sys

from conftest import ROOT


def _python_blocks(section: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


def test_the_from_python_example_runs_as_written(tmp_path):
    blocks = _python_blocks("From Python")
    assert blocks, "the From Python section has a python example"
    (tmp_path / "data").symlink_to(ROOT / "data")  # the example reads data/sample, relative to where it runs
    script = tmp_path / "example.py"
    script.write_text("\n".join(blocks))
    # as a user runs it: no PYSPARK_PYTHON, so the workers' Python is the estimator's to choose
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT")}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    auc = float(re.search(r"ROC AUC (\S+)", done.stdout).group(1))
    assert 0.5 < auc <= 1.0
    assert (tmp_path / "output" / "python_model" / "model.json").is_file()
    assert "True" in done.stdout  # summary.converged


def test_the_tuning_example_runs_as_written(tmp_path):
    (block,) = _python_blocks("Tuning")
    (tmp_path / "data").symlink_to(ROOT / "data")
    script = tmp_path / "example.py"
    script.write_text(block)
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT")}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    best = re.search(r"best (\S+) (\S+) passes (\d+)", done.stdout)
    assert best and float(best.group(1)) > 0 and float(best.group(2)) in (0.0, 0.5)
    assert (tmp_path / "output" / "python_tuned" / "model.json").is_file()
