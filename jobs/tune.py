"""spark-submit entry point: ``spark-submit jobs/tune.py --conf conf/tune.toml [--set k=v ...]``."""

import sys

from logreg_spark.app.tune import main

if __name__ == "__main__":
    sys.exit(main())
