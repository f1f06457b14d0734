"""The held-out rows' scores of every fold's models, for the metrics that rank them (ROC and PR AUC).

The cached blocks hold the rows as the passes need them; the ranking metrics
need each held-out row's score sorted by Spark. So the input is read once more
and each Arrow batch made into a block exactly as preparation made it (the same
valid rows, the same fold ids, the same float32 rounding with ``solver.dtype``);
one product with all models' coefficients gives every margin, and each model
keeps the rows of its own held-out fold.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame

from ..core.family import BINOMIAL
from ..core.folds import FoldRule
from ..settings.schema import InputConf
from ..spark.blocks import block_from_table
from ..spark.prepare import training_frame
from .chains import PathFit

#: The rows :func:`~logreg_spark.spark.ranking.rankings` takes.
SCORED = "model long, p double, y double, w double"


def held_out_scores(df: DataFrame, conf: InputConf, folds: FoldRule, dtype: str, fits: list[PathFit]) -> DataFrame:
    """Rows (model, p, y, w): for each binomial fit (``model``: its index in ``fits``), P(label 1)
    of each row of the fold it held out, with its label and weight."""
    spec, columns = training_frame(df, conf, folds.column)
    ids = np.arange(len(fits), dtype=np.int64)
    held_out = np.array([fit.held_out for fit in fits], dtype=np.int64)
    coefs = np.column_stack([fit.coef for fit in fits])  # d × models
    intercepts = np.array([fit.intercept for fit in fits], dtype=np.float64)
    label_col, weight_col, offset_col = conf.label_col, conf.weight_col, conf.offset_col

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table = pa.Table.from_batches([batch])
            block, _ = block_from_table(table, spec, label_col, weight_col, 2, folds, offset_col)
            assert block.fold is not None, "blocks built with folds hold fold ids"
            X = block.X.astype(np.float32).astype(np.float64) if dtype == "float32" else block.X
            margins = np.asarray(X @ coefs) + intercepts
            if block.offset is not None:
                margins += block.offset[:, None]
            rows, models = np.nonzero(block.fold[:, None] == held_out[None, :])
            yield pa.record_batch(
                {
                    "model": ids[models],
                    "p": BINOMIAL.probabilities(margins[rows, models]),
                    "y": block.y[rows],
                    "w": block.w[rows],
                }
            )

    return columns.mapInArrow(score, SCORED)
