"""The documentation's code blocks that claim to run do run, as written.

A block claims to run when the line before its opening fence is ``<!-- run -->``. The blocks of
one page run in order in one fresh directory holding ``data``, ``conf`` and ``jobs`` (links to the
repository's), as a reader runs them from the repository root: ``python`` blocks as scripts of this
interpreter, ``bash`` blocks with this environment's ``bin`` first on the PATH (so ``python`` and
``logreg-spark`` are this installation's), and without ``PYSPARK_PYTHON``, so the workers' Python
is the project's own choice.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

MARKER = "<!-- run -->"
FENCE = re.compile(r"^<!-- run -->\n```(\w+)\n(.*?)^```$", re.S | re.M)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

#: What a page's output must show beyond a clean exit, where a number says the example did its work.
EXPECTED = {
    "README.md": [r"ROC AUC 0\.[5-9]\d*", r"converged True"],
    "docs/guide/tuning.md": [r"best \S+ (0\.0|0\.5) passes \d+"],
}


def runnable(page: Path) -> list[tuple[str, str]]:
    """The (language, code) of each block of ``page`` that claims to run, in order."""
    return FENCE.findall(page.read_text(encoding="utf-8"))


def test_every_run_marker_opens_a_python_or_bash_block():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert text.count(MARKER) == len(runnable(page)), f"{page}: a {MARKER} not right before a fence"
        assert {lang for lang, _ in runnable(page)} <= {"python", "bash"}, page


def _run(lang: str, code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    script = cwd / f"block.{'py' if lang == 'python' else 'sh'}"
    script.write_text(code, encoding="utf-8")
    command = [sys.executable, str(script)] if lang == "python" else ["bash", "-euo", "pipefail", str(script)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize(
    "page", [p for p in PAGES if runnable(p)], ids=lambda p: str(p.relative_to(ROOT)).replace(os.sep, "/")
)
def test_the_page_runs_as_written(page, tmp_path):
    for name in ("data", "conf", "jobs"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT", "SPARK_REMOTE")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    output = ""
    for lang, code in runnable(page):
        done = _run(lang, code, tmp_path, env)
        assert done.returncode == 0, f"{lang} block:\n{code}\n{done.stderr[-3000:]}"
        output += done.stdout
    for pattern in EXPECTED.get(str(page.relative_to(ROOT)).replace(os.sep, "/"), []):
        assert re.search(pattern, output), f"{pattern!r} not in the output:\n{output[-3000:]}"
