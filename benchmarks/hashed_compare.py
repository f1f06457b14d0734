"""Hashed categorical features, as click-through models have them, against MLlib's
``FeatureHasher`` + ``LogisticRegression``: the whole fit and the seconds per pass.

    python benchmarks/hashed_compare.py [--rows 1000000] [--fields 40] [--levels 100000]
                                        [--bits 20 24] [--reg-param 1e-6] [--master local[2]]
                                        [--driver-memory 12g] [--work /tmp/logreg_hashed] [--json PATH]

Data (written once under --work): --fields string columns ``c0``, ``c1``, … whose values are
levels ``v<k>`` drawn with Zipf frequencies out of --levels (a few levels in most rows, most
levels rare), and labels from a random effect per level (``synthetic.zipf_one_hot``'s model).
Both sides hash the same columns with Spark's ``FeatureHasher`` into 2^bits buckets (a string
column's value as ``column=value``, about --fields non-zeros per row) and fit the same
objective: mean log loss + L2 --reg-param, standardization off, tol 1e-6. For each --bits:

- MLlib: read, hash, ``LogisticRegression.fit``, save, timed whole; its seconds per iteration
  from the slope between fits of 2 and 12 iterations (tol 0, best of two each);
- ours: the training job (``input.hash_features``, ``input.hash_dim``) from Parquet to the
  written model, timed whole; seconds per pass = ``train_seconds / passes`` of its model.json;
- both models' objective, from one pass of ours over the same hashed rows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from compare import mllib_iteration_cost, our_fit, time_mllib
from pyspark.ml.feature import FeatureHasher
from pyspark.sql import DataFrame, SparkSession
from synthetic import zipf_one_hot

from logreg_spark.core.objective import Objective
from logreg_spark.settings.schema import InputConf
from logreg_spark.spark.prepare import TrainingData
from logreg_spark.spark.session import spark_session

FILES = 16


@dataclass(frozen=True)
class HashedData:
    """String columns ``c0..`` at ``path``, hashed into 2^bits buckets by both sides."""

    path: Path
    rows: int
    fields: int
    bits: int

    @property
    def columns(self) -> list[str]:
        return [f"c{j}" for j in range(self.fields)]

    @property
    def size(self) -> str:
        return f"{self.rows:,} rows × {self.fields} hashed fields, 2^{self.bits} buckets"

    def frame(self, spark: SparkSession) -> DataFrame:
        """The rows with a hashed Vector column ``features``, as MLlib takes them."""
        hasher = FeatureHasher(inputCols=self.columns, outputCol="features", numFeatures=2**self.bits)
        return hasher.transform(spark.read.parquet(str(self.path)))

    def input_conf(self, cache: str) -> InputConf:
        return InputConf(path=str(self.path), hash_features=self.columns, hash_dim=2**self.bits, cache=cache)


def write_data(path: Path, rows: int, fields: int, levels: int) -> None:
    """The categorical rows as Parquet (dictionary-encoded strings), unless already there."""
    if path.exists():
        return
    X, y = zipf_one_hot(rows, fields, levels, seed=0)
    drawn = (X.indices.reshape(rows, fields) - levels * np.arange(fields)).astype(np.int32)
    dictionary = pa.array([f"v{k}" for k in range(levels)])
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for part, rows_of in enumerate(np.array_split(np.arange(rows), FILES)):
        table = pa.table(
            {
                **{f"c{j}": pa.DictionaryArray.from_arrays(drawn[rows_of, j], dictionary) for j in range(fields)},
                "label": y[rows_of],
            }
        )
        pq.write_table(table, partial / f"part-{part:05d}.parquet")
    partial.rename(path)


def objectives(spark: SparkSession, data: HashedData, reg_param: float, models: dict) -> dict[str, float]:
    """Each model's full objective (coefficients, intercept), from one pass of ours per model."""
    prepared = TrainingData.prepare(spark.read.parquet(str(data.path)), data.input_conf("local"), 0)
    try:
        objective = Objective.build(prepared.passes(), prepared.summary, reg_param=reg_param, standardization=False)
        return {name: objective.evaluate(objective.from_data(*model)).total for name, model in models.items()}
    finally:
        prepared.release()


def measure(spark: SparkSession, data: HashedData, reg_param: float, work: Path) -> dict:
    time_mllib(spark, data, reg_param, 1, work / "mllib_model")  # the files into the page cache
    mllib_setup, mllib_pass = mllib_iteration_cost(spark, data, reg_param, work / "mllib_model", extra=10)
    mllib_whole, mllib_model = time_mllib(spark, data, reg_param, 100, work / "mllib_model")
    out = work / "our_model"
    started = time.perf_counter()
    our_whole = our_fit(spark, data, reg_param, out, ("local", "float64"), "lbfgs")
    meta = json.loads((out / "model.json").read_text())
    coefficients = pq.read_table(out / "coefficients").column("coefficient").to_numpy()
    found = objectives(
        spark,
        data,
        reg_param,
        {
            "mllib": (mllib_model.coefficients.toArray(), mllib_model.intercept),
            "ours": (coefficients[:-1], coefficients[-1]),
        },
    )
    print(f"measured {data.size} in {time.perf_counter() - started:.0f} s", flush=True)
    return {
        "size": data.size,
        "bits": data.bits,
        "mllib": {
            "whole": mllib_whole,
            "per_pass": mllib_pass,
            "setup": mllib_setup,
            "passes": mllib_model.summary.totalIterations,
            "objective": found["mllib"],
        },
        "ours": {
            "whole": our_whole,
            "per_pass": meta["train_seconds"] / meta["passes"],
            "setup": meta["prepare_seconds"],
            "passes": meta["passes"],
            "objective": found["ours"],
        },
    }


def table(results: list[dict]) -> str:
    lines = [
        "| data | | whole fit s | s/pass | passes | objective |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        m, o = r["mllib"], r["ours"]
        for name, side in (("MLlib", m), ("logreg_spark", o)):
            lines.append(
                f"| {r['size']} | {name} | {side['whole']:.1f} | {side['per_pass']:.3f} | {side['passes']} | "
                f"{side['objective']:.10f} |"
            )
        lines.append(
            f"| {r['size']} | ours / MLlib | {o['whole'] / m['whole']:.2f} | {o['per_pass'] / m['per_pass']:.2f} | "
            f"| {(o['objective'] - m['objective']) / m['objective']:+.1e} (rel.) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--fields", type=int, default=40)
    parser.add_argument("--levels", type=int, default=100_000)
    parser.add_argument("--bits", type=int, nargs="+", default=[20, 24])
    parser.add_argument("--reg-param", type=float, default=1e-6)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="12g")
    parser.add_argument("--work", type=Path, default=Path("/tmp/logreg_hashed"))
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    path = args.work / f"rows_{args.rows}_fields_{args.fields}_levels_{args.levels}"
    write_data(path, args.rows, args.fields, args.levels)
    settings = {"spark.master": args.master, "spark.driver.memory": args.driver_memory}
    spark = spark_session({**settings, "spark.ui.showConsoleProgress": "false"}, "logreg_spark hashed benchmark")
    results: list[dict] = []
    try:
        for bits in args.bits:  # each size's results kept as soon as measured: a bigger one may fail
            results.append(measure(spark, HashedData(path, args.rows, args.fields, bits), args.reg_param, args.work))
            if args.json:
                args.json.write_text(json.dumps(results, indent=2))
            print(table(results[-1:]), flush=True)
    finally:
        spark.stop()
    print(table(results))


if __name__ == "__main__":
    main()
