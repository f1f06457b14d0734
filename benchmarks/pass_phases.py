"""Where a pass's time goes, phase by phase, on the real cached blocks of a benchmark dataset.

    python benchmarks/pass_phases.py --rows 200000 --features 1000000 --nonzeros 30

Prepares the dataset as a training job does (``input.cache``, ``solver.dtype``), then times
reductions over the cached blocks that each add one phase of a pass to the one before, and
reports each phase as the difference of two medians (these machines are noisy: ``--repeats``):

- fixed: a reduction whose tasks load their blocks and return nothing (job and task start, the
  blocks reaching the Python workers);
- point: the same with the point (d + 1 coefficients) sent to every task as a pass sends it;
- sums: the tasks also compute every block's sums at the point (each on its own, not added up),
  but return none of them;
- partials: the whole pass (:meth:`SparkPassEngine.run`): the blocks' sums added up in each
  task, the partials serialised and combined in the tree, the driver's unpacking;
- driver step: a whole L-BFGS fit's time between its passes, per pass (the solver's vector
  work, the coordinates' changes, the line search's bookkeeping).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from compare import add_shared_arguments, dataset, numpy_floor, our_fit

from logreg_spark.core.columns import add_block_sums
from logreg_spark.core.data import effective_weights
from logreg_spark.core.family import BINOMIAL
from logreg_spark.core.sums import Layout, Request
from logreg_spark.spark.cached_blocks import BlockItem
from logreg_spark.spark.prepare import TrainingData
from logreg_spark.spark.session import spark_session


def _median_seconds(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _count(acc: int | None, item: BlockItem, payload: object) -> int:
    item[0].load()
    return (acc or 0) + 1


def _sums_kept(acc: int | None, item: BlockItem, requests: list[Request]) -> int:
    block = item[0].load()
    add_block_sums(None, block, effective_weights(block, None), requests)
    return (acc or 0) + 1


def _add(a: int | None, b: int | None) -> int:
    return (a or 0) + (b or 0)


def phases(data: TrainingData, repeats: int) -> dict[str, float]:
    """Seconds of each phase of one pass at a point of small random coefficients (see the module)."""
    d = data.summary.n_features
    rng = np.random.default_rng(0)
    request = Request(rng.normal(scale=0.01, size=d), 0.1, Layout(d, BINOMIAL))
    engine = data.passes()
    blocks = data.blocks
    totals = {
        "fixed": _median_seconds(lambda: blocks.aggregate(_count, _add, 8), repeats),
        "point": _median_seconds(lambda: blocks.aggregate(_count, _add, 8, [request]), repeats),
        "sums": _median_seconds(lambda: blocks.aggregate(_sums_kept, _add, 8, [request]), repeats),
        "partials": _median_seconds(lambda: engine.run(request.coef, request.intercept, request.layout), repeats),
    }
    names = list(totals)
    out = {names[0]: totals[names[0]]}
    for before, name in zip(names, names[1:]):
        out[name] = totals[name] - totals[before]
    out["pass"] = totals["partials"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_shared_arguments(parser, [200_000], Path("/tmp/logreg_bench"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reg-param", type=float, default=1e-4)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    settings = {"spark.master": args.master, "spark.driver.memory": args.driver_memory}
    spark = spark_session({**settings, "spark.ui.showConsoleProgress": "false"}, "logreg_spark pass phases")
    results = []
    try:
        for rows in args.rows:
            data_set = dataset(args.work, rows, args.features, args.nonzeros)
            X, y = data_set.arrays()
            floor = numpy_floor(X, y)
            del X, y
            out = args.work / "phases_model"
            our_fit(spark, data_set, args.reg_param, out, (args.cache, args.dtype), "lbfgs")
            meta = json.loads((out / "model.json").read_text())
            conf = data_set.input_conf(args.cache)
            data = TrainingData.prepare(spark.read.parquet(str(data_set.path)), conf, 0, args.dtype)
            try:
                measured = phases(data, args.repeats)
            finally:
                data.release()
            fit_per_pass = meta["train_seconds"] / meta["passes"]
            measured["driver step"] = fit_per_pass - measured["pass"]
            results.append({"size": data_set.size, "floor": floor, "fit_per_pass": fit_per_pass, **measured})
    finally:
        spark.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print("| data | fixed | point | sums | partials | pass | driver step | s/pass in a fit | NumPy floor |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        columns = ("fixed", "point", "sums", "partials", "pass", "driver step", "fit_per_pass", "floor")
        cells = " | ".join(f"{r[k]:.3f}" for k in columns)
        print(f"| {r['size']} | {cells} |")


if __name__ == "__main__":
    main()
