"""Many separate fits of one DataFrame in shared passes: the Python API's ``fitMultiple``.

pyspark.ml's ``CrossValidator`` and ``TrainValidationSplit`` fit every param map
of a grid on each training split through ``Estimator.fitMultiple``. When the
maps differ only in what the fit does with the rows (``regParam``,
``elasticNetParam``, solver settings), not in which rows and columns it reads
or how it weights them, the split is prepared (cached as blocks) once and every
fit runs in its own thread of a :class:`~.batching.Batcher`: each pass reads
the blocks once for all the fits still running. Each fit is exactly the fit
``fit`` would make (same start, same solver), to the rounding of the shared
products.
"""

from __future__ import annotations

import functools

from pyspark.sql import DataFrame

from ..artifacts.model_dir import TrainedModel
from ..settings.schema import FitConf
from ..training.fitting import fit_prepared, prepare
from .batching import Batcher, ModelEngine


def shareable(confs: list[FitConf]) -> bool:
    """Whether ``confs`` can be fitted in shared passes: the same input read the same way, and no
    class weights, starting model or checkpoints (each would need its own pass or state)."""
    first = confs[0]
    return all(
        conf.input == first.input
        and conf.solver.dtype == first.solver.dtype
        and conf.solver.aggregation_depth == first.solver.aggregation_depth
        and (conf.model.family == "binomial") == (first.model.family == "binomial")
        and not (conf.model.class_weight or conf.model.init_model or conf.solver.checkpoint_path)
        for conf in confs
    )


def fit_many(df: DataFrame, confs: list[FitConf]) -> list[TrainedModel]:
    """Fit each of ``confs`` (:func:`shareable`) on ``df``, all in shared passes over one cache."""
    data = prepare(df, confs[0])
    try:
        batcher = Batcher(data.passes())
        return batcher.run([functools.partial(fit_prepared, data, c, engine=ModelEngine(batcher, None)) for c in confs])
    finally:
        data.release()
