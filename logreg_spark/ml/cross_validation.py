"""``LogisticRegressionCV``: the tuning job from Python, as a pyspark.ml ``Estimator``.

It wraps a :class:`~logreg_spark.ml.LogisticRegression` (which says where the
features are and how to fit, as for one fit; its ``regParam`` and
``elasticNetParam`` are left unset) as ``CrossValidator`` wraps an estimator, and
takes the ``[tune]`` section's keys as params: ``regParams`` (empty: a path of
``pathLength`` values from λ_max down to ``pathMinRatio`` · λ_max),
``elasticNetParams``, ``numFolds``, ``foldCol``, ``validationFraction``,
``seed`` and ``metric``. ``fit`` runs :func:`~logreg_spark.tuning.run.tune_frame`:
every (λ, α, fold) in shared passes, then the best refit on all rows, which the
returned :class:`LogisticRegressionCVModel` uses to ``transform``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pyspark.ml import Estimator, Model
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.sql import DataFrame

from ..errors import ConfigError
from ..settings.sections import origins
from ..settings.tuning import TuneFitConf, TuneSection
from ..tuning.run import Tuned, tune_frame
from .estimator import LogisticRegression, model_of
from .model import LogisticRegressionModel
from .names import check_known
from .param_table import CONF_KEYS

_LIST, _INT, _FLOAT, _STR = (
    TypeConverters.toListFloat,
    TypeConverters.toInt,
    TypeConverters.toFloat,
    TypeConverters.toString,
)

#: Param name → its ``[tune]`` key, its documentation and its type converter.
TUNE_KEYS = {
    "regParams": ("tune.reg_params", "λ values to try (empty: a path from λ_max)", _LIST),
    "pathLength": ("tune.path_length", "λ values of the path", _INT),
    "pathMinRatio": ("tune.path_min_ratio", "the path's smallest λ over λ_max", _FLOAT),
    "elasticNetParams": ("tune.elastic_net_params", "α values to try", _LIST),
    "numFolds": ("tune.folds", "number of folds, hashed from each row's values and seed", _INT),
    "foldCol": ("tune.fold_col", "integer column of the user's fold ids ('' for hashed folds)", _STR),
    "validationFraction": ("tune.validation_fraction", "> 0: one split holding out about this share", _FLOAT),
    "seed": ("tune.seed", "seed of the fold hash", _INT),
    "metric": ("tune.metric", "'log_loss', 'roc_auc' or 'pr_auc' on the held-out rows", _STR),
}


def _tune_field(name: str) -> dataclasses.Field[Any]:
    key = TUNE_KEYS[name][0].split(".")[1]
    return next(f for f in dataclasses.fields(TuneSection) if f.name == key)


class LogisticRegressionCV(Estimator["LogisticRegressionCVModel"]):
    """``LogisticRegressionCV(estimator=LogisticRegression(featureCols=[...]), elasticNetParams=[0.0,
    0.5], numFolds=3)``: see the module's docstring."""

    estimator: Param[LogisticRegression] = Param(Params._dummy(), "estimator", "the LogisticRegression to tune")

    def __init__(self, **params: Any) -> None:
        super().__init__()
        defaults = {}
        for name in TUNE_KEYS:
            f = _tune_field(name)
            defaults[name] = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        self._setDefault(estimator=LogisticRegression(), **defaults)
        check_known(self, params)
        self._set(**params)

    def tune_conf(self) -> TuneFitConf:
        """The tuning conf these params stand for; a bad value or combination is a
        :class:`ConfigError` naming the param and its key."""
        lr = self.getOrDefault(self.estimator)
        if not isinstance(lr, LogisticRegression):
            raise ConfigError(f"estimator: must be a logreg_spark LogisticRegression, not {type(lr).__name__}")
        fit = lr.fit_conf()
        values = {key.split(".")[1]: self.getOrDefault(name) for name, (key, *_) in TUNE_KEYS.items()}
        where = {key: name for name, (key, *_) in TUNE_KEYS.items()} | {key: name for name, key in CONF_KEYS.items()}
        with origins(where):
            return TuneFitConf(fit.input, fit.model, fit.solver, fit.spark, TuneSection(**values))

    def _fit(self, dataset: DataFrame) -> LogisticRegressionCVModel:
        tuned = tune_frame(dataset, self.tune_conf())
        best = tuned.selection.best
        model = model_of(tuned.trained, self.getOrDefault(self.estimator), dataset)
        model._set(regParam=best.reg_param, elasticNetParam=best.elastic_net_param)
        return LogisticRegressionCVModel(model, tuned, self.getOrDefault("metric"))


for _name, (_key, _doc, _converter) in TUNE_KEYS.items():
    setattr(LogisticRegressionCV, _name, Param(Params._dummy(), _name, _doc, typeConverter=_converter))


class LogisticRegressionCVModel(Model):
    """A tuning run's result: ``bestModel`` (the best (λ, α) refit on all rows, which ``transform``
    uses), ``avgMetrics`` and ``stdMetrics`` in the order of ``grid`` ((λ, α) pairs), the best's
    ``bestRegParam`` and ``bestElasticNetParam``, and ``passes``. Save ``bestModel`` to keep it."""

    def __init__(self, best_model: LogisticRegressionModel, tuned: Tuned, metric: str) -> None:
        super().__init__()
        scores = tuned.selection.scores
        self.bestModel = best_model
        self.metric = metric
        self.grid = [(s.reg_param, s.elastic_net_param) for s in scores]
        self.avgMetrics = [s.mean for s in scores]
        self.stdMetrics = [s.std for s in scores]
        self.bestRegParam = tuned.selection.best.reg_param
        self.bestElasticNetParam = tuned.selection.best.elastic_net_param
        self.passes = tuned.result.passes

    def _transform(self, dataset: DataFrame) -> DataFrame:
        return self.bestModel.transform(dataset)
