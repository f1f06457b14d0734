"""spark-submit entry point: ``spark-submit jobs/train.py --conf conf/local.toml [--set k=v ...]``."""

import sys

from logreg_spark.app.train import main

if __name__ == "__main__":
    sys.exit(main())
