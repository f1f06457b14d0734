"""Write a class data sharing archive of the classes a Spark driver loads (conftest.py runs this once per
test session, in the background).

    python tests/jvm_archive.py WORKDIR

with ``-XX:ArchiveClassesAtExit=FILE`` in ``SPARK_SUBMIT_OPTS``: it trains on the sample data (the
training job's code, and MLlib's LogisticRegression, as the benchmarks and parity tests use it), stops
Spark, then waits for its JVM to exit, which is when the JVM writes the archive. Later JVMs that name
the archive (``-XX:SharedArchiveFile``) map those classes instead of loading and verifying them from
the jars, and start about 5 s sooner on a 2-core machine; nothing they compute depends on it.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from pyspark import SparkContext
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import VectorAssembler

from logreg_spark.app.config import load_conf
from logreg_spark.app.train import run
from logreg_spark.spark.session import spark_session

ROOT = Path(__file__).resolve().parents[1]


def main(work: Path) -> None:
    local = ROOT / "conf" / "local.toml"
    data = str(ROOT / "data" / "sample")
    conf = load_conf([local], [f"input.path={data}", f"output.model_path={work / 'model'}"])
    spark = spark_session({"spark.master": "local[2]", "spark.ui.enabled": "false"}, "logreg_spark tests archive")
    gateway = SparkContext._gateway
    try:
        run(spark, conf)
        features = tomllib.loads(local.read_text())["input"]["features"]
        frame = VectorAssembler(inputCols=features, outputCol="features").transform(spark.read.parquet(data))
        model = LogisticRegression(maxIter=5).fit(frame)
        model.transform(frame).write.mode("overwrite").parquet(str(work / "scored"))
    finally:
        spark.stop()
    if gateway is not None and gateway.proc is not None:
        gateway.proc.stdin.close()  # the gateway JVM exits at the end of its standard input ...
        gateway.proc.wait()  # ... after writing the archive


if __name__ == "__main__":
    main(Path(sys.argv[1]))
