"""The math and the solvers are pure NumPy/SciPy: importing them loads neither Spark nor Arrow."""

import ast
import json
import subprocess
import sys

from conftest import ROOT

#: The layers that must run without Spark (tests, benchmarks, any other engine of passes).
PURE = ("core", "solvers")
#: Top-level modules none of them may load, directly or through another module.
FORBIDDEN = ["pyspark", "pyarrow", "py4j"]

#: Imports each module in turn in a fresh interpreter and prints, as JSON, which forbidden
#: modules each one brought in: the first module to load one is the one to blame.
PROBE = """
import importlib, json, sys
forbidden, blamed = set({forbidden!r}), {{}}
for name in {modules!r}:
    before = {{m.partition(".")[0] for m in sys.modules}}
    importlib.import_module(name)
    loaded = {{m.partition(".")[0] for m in sys.modules}} - before
    if loaded & forbidden:
        blamed[name] = sorted(loaded & forbidden)
print(json.dumps(blamed))
"""


def pure_modules() -> list[str]:
    """Every module under the pure layers, found by listing their files."""
    package = ROOT / "logreg_spark"
    files = [f.relative_to(ROOT).with_suffix("") for layer in PURE for f in (package / layer).rglob("*.py")]
    return sorted(".".join(f.parts[:-1] if f.name == "__init__" else f.parts) for f in files)


def test_the_math_and_solver_layers_import_neither_spark_nor_arrow():
    modules = pure_modules()
    assert {"logreg_spark.core.objective", "logreg_spark.core.engine", "logreg_spark.solvers.gd"} <= set(modules)
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(forbidden=FORBIDDEN, modules=modules)],
        cwd=ROOT,  # this checkout's package, first on the path
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == {}


#: The subpackages in layer order: each imports only itself and those before it (docs/design/code-map.md).
LAYERS = ["core", "solvers", "settings", "spark", "artifacts", "training", "tuning", "ml", "app"]


def _imported_layers(path) -> set[str]:
    """The subpackages of logreg_spark that the module at ``path`` imports (at any depth of code)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 2 and node.module:  # from ..layer.module import …
                found.add(node.module.split(".")[0])
            elif node.level == 0 and node.module and node.module.startswith("logreg_spark."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("logreg_spark.")}
    return found & set(LAYERS)


def test_each_layer_imports_only_the_layers_before_it():
    package = ROOT / "logreg_spark"
    assert sorted(p.name for p in package.iterdir() if (p / "__init__.py").exists()) == sorted(LAYERS)
    wrong = {
        str(path.relative_to(package)): sorted(layer for layer in _imported_layers(path) if LAYERS.index(layer) > rank)
        for rank, name in enumerate(LAYERS)
        for path in (package / name).rglob("*.py")
    }
    assert {module: layers for module, layers in wrong.items() if layers} == {}
