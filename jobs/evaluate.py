"""spark-submit entry point: ``spark-submit jobs/evaluate.py --conf conf/evaluate.toml [--set k=v ...]``."""

import sys

from logreg_spark.app.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
