"""What scoring outputs: each output column's quantity, rendered in NumPy or as a Spark SQL expression.

:class:`Output` says what a column is (margin, probability or prediction; one
class's or both sides'); :func:`output_values` renders a table's outputs from
its margins in NumPy, :meth:`Output.column` as an expression over the margins and
probabilities of :mod:`~logreg_spark.spark.expressions`. Both follow MLlib's
conventions, so that the paths of :mod:`~logreg_spark.spark.scoring` give the
same columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..core.decision import Decision
from ..core.family import Family
from . import expressions

#: The columns a scoring adds to a table of valid rows, from their margins.
AddColumns = Callable[[pa.Table, np.ndarray], "dict[str, np.ndarray | pa.Array]"]


@dataclass(frozen=True)
class Output:
    """An output column of :func:`scored`: each row's ``quantity`` (``"margin"``,
    ``"probability"`` or ``"prediction"``). A binomial model's margin and probability are class
    1's, or with ``both_sides`` MLlib's pairs for classes 0 and 1 (``[−m, m]``, ``[1 − p, p]``);
    a multinomial model's are arrays of its K classes' either way."""

    quantity: str
    both_sides: bool = False

    def dtype(self, family: Family) -> T.DataType:
        if self.quantity == "prediction" or not (family.is_multinomial or self.both_sides):
            return T.DoubleType()
        return T.ArrayType(T.DoubleType(), False)

    def values(self, decision: Decision, margin: np.ndarray, p: np.ndarray) -> np.ndarray | pa.Array:
        """The column in NumPy, from a batch's margins and probabilities."""
        family = decision.family
        if self.quantity == "prediction":
            return decision.classes(p)
        values = margin if self.quantity == "margin" else p
        if self.both_sides and not family.is_multinomial:
            values = np.column_stack([-values, values] if self.quantity == "margin" else [1.0 - values, values])
        return per_row(values)

    def column(self, decision: Decision, margin: list[Column], p: list[Column]) -> Column:
        """The column as a Spark SQL expression (:mod:`~logreg_spark.spark.expressions`)."""
        family = decision.family
        if self.quantity == "prediction":
            return expressions.prediction(decision, p)
        values = margin if self.quantity == "margin" else p
        if family.is_multinomial:
            return F.array(*values)
        if self.both_sides:
            return F.array(-values[0], values[0]) if self.quantity == "margin" else F.array(1.0 - values[0], values[0])
        return values[0]


def output_values(decision: Decision, outputs: dict[str, Output]) -> AddColumns:
    """The ``outputs`` in NumPy, from a table's margins (probabilities computed once)."""

    def add(_: pa.Table, margin: np.ndarray) -> dict[str, np.ndarray | pa.Array]:
        p = decision.family.probabilities(margin)
        return {name: output.values(decision, margin, p) for name, output in outputs.items()}

    return add


def per_row(values: np.ndarray) -> np.ndarray | pa.Array:
    """A column of numbers, or of arrays for an (n × K) matrix (its rows as list elements)."""
    if values.ndim == 1:
        return values
    return pa.ListArray.from_arrays(
        np.arange(0, values.size + 1, values.shape[1], dtype=np.int32), pa.array(values.ravel())
    )
