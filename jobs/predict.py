"""spark-submit entry point: ``spark-submit jobs/predict.py --conf conf/predict.toml [--set k=v ...]``."""

import sys

from logreg_spark.app.predict import main

if __name__ == "__main__":
    sys.exit(main())
