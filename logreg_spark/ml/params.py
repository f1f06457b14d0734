"""The Python API's params: MLlib's names and meanings, each one a key of the jobs' conf.

Every param but the three output columns stands for one conf key (:data:`CONF_KEYS`),
so a :class:`~logreg_spark.settings.schema.FitConf` and a set of params say the same
thing, and they are checked by the same code with the same one-line messages
(naming the param, then the key: ``regParam: model.reg_param must be >= 0.0``).
Defaults are the conf's, which are MLlib's where MLlib has the param, with one
exception: ``aggregationDepth`` 0 (chosen per pass from the size of the partial
sums; MLlib's fixed 2 is accepted).

The features come from exactly one source: ``featureCols`` (numeric columns, no
``VectorAssembler`` needed), ``hashFeatures``, ``indicesCol`` with ``valuesCol``
and ``numFeatures``, or else ``featuresCol`` (an ML Vector or numeric array column).
Every param has MLlib-style ``getX`` and ``setX`` methods (made from the table
below), and a model carries its estimator's params. The bounds are MLlib's
Matrix and Vector params; their conf keys hold lists (:func:`~.param_table.to_conf_value`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import typing
from collections.abc import Callable, Iterator
from typing import Any

from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import (
    HasAggregationDepth,
    HasElasticNetParam,
    HasFeaturesCol,
    HasFitIntercept,
    HasLabelCol,
    HasMaxBlockSizeInMB,
    HasMaxIter,
    HasPredictionCol,
    HasProbabilityCol,
    HasRawPredictionCol,
    HasRegParam,
    HasStandardization,
    HasThreshold,
    HasThresholds,
    HasTol,
    HasWeightCol,
)

from ..core.decision import binary_threshold, inconsistency
from ..errors import ConfigError, naming
from ..settings.schema import FitConf, InputConf, ModelConf, SolverConf
from ..settings.sections import origins
from ..spark.failures import user_errors
from .param_table import CONF_KEYS, DOCS, LINALG, OUTPUT_COLUMNS, UNSET, from_conf_value, to_conf_value

_SECTIONS: dict[str, type] = {"input": InputConf, "model": ModelConf, "solver": SolverConf}
_CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    bool: TypeConverters.toBoolean,
    int: TypeConverters.toInt,
    float: TypeConverters.toFloat,
    str: TypeConverters.toString,
    list[str]: TypeConverters.toListString,
    list[float]: TypeConverters.toListFloat,
    int | None: TypeConverters.toInt,
    float | None: TypeConverters.toFloat,
}


@contextlib.contextmanager
def param_origins() -> Iterator[None]:
    """While entered, a conf error names the param that stands for the key (``regParam:
    model.reg_param …``), also in the checks a fit makes once it has read the data; an input
    error names the param alone (``labelCol: …``); and a user error a Spark task raised (an
    invalid row, say) is raised as itself (:func:`~logreg_spark.spark.failures.user_errors`)."""
    params = {key: name for name, key in CONF_KEYS.items()}
    with origins(params), naming(params), user_errors():
        yield


def _conf_field(name: str) -> tuple[dataclasses.Field[Any], Any]:
    """The conf field param ``name`` stands for, and its type."""
    section, key = CONF_KEYS[name].split(".")
    cls = _SECTIONS[section]
    return next(f for f in dataclasses.fields(cls) if f.name == key), typing.get_type_hints(cls)[key]


def _conf_default(f: dataclasses.Field[Any]) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _converter(name: str) -> Callable[[Any], Any]:
    if name in LINALG:
        return LINALG[name][0]
    return _CONVERTERS[_conf_field(name)[1]] if name in CONF_KEYS else TypeConverters.toString


def _check_value(name: str, value: Any) -> None:
    """Check one param's value alone, as its conf key is checked (combinations: :meth:`fit_conf`)."""
    section, key = CONF_KEYS[name].split(".")
    with origins({CONF_KEYS[name]: name}):
        _SECTIONS[section](**{key: value})


class LogisticRegressionParams(
    HasProbabilityCol,
    HasThresholds,
    HasRawPredictionCol,
    HasLabelCol,
    HasFeaturesCol,
    HasPredictionCol,
    HasRegParam,
    HasElasticNetParam,
    HasMaxIter,
    HasFitIntercept,
    HasTol,
    HasStandardization,
    HasWeightCol,
    HasAggregationDepth,
    HasThreshold,
    HasMaxBlockSizeInMB,
):
    """The params shared by :class:`~logreg_spark.ml.LogisticRegression` and its model. It derives
    from MLlib's param mixins (in the order of MLlib's ``_LogisticRegressionParams``), so that
    ``isinstance(lr, HasWeightCol)`` and the like hold as for MLlib's classes (``OneVsRest``
    passes its weights only then); the :class:`Param` objects are this module's (:data:`DOCS`),
    which replace the mixins' of the same name."""

    def __init__(self) -> None:
        super().__init__()
        defaults = {name: _conf_default(_conf_field(name)[0]) for name in CONF_KEYS if name not in UNSET}
        self._setDefault(**{**defaults, "featuresCol": "features", **OUTPUT_COLUMNS})

    def setThreshold(self, value: float) -> Any:
        """Set threshold (binomial: predict 1 when P(1) > threshold) and clear thresholds, as MLlib."""
        self._set(threshold=value)
        self.clear(self.getParam("thresholds"))
        return self

    def setThresholds(self, value: list[float]) -> Any:
        """Set thresholds (one per class: predict the class of the largest p/t) and clear
        threshold, as MLlib."""
        self._set(thresholds=value)
        self.clear(self.getParam("threshold"))
        return self

    def getThreshold(self) -> float:
        """threshold, or with two thresholds (t0, t1) the equivalent 1 / (1 + t0/t1) (MLlib's)."""
        self.check_thresholds()
        if self.isSet("thresholds"):
            thresholds = self.getOrDefault("thresholds")
            if len(thresholds) != 2:
                raise ConfigError(f"threshold: applies to two classes; thresholds has {len(thresholds)} values")
            return binary_threshold(thresholds)
        return float(self.getOrDefault("threshold"))

    def getThresholds(self) -> list[float]:
        """thresholds, or for a set threshold t the equivalent [1 - t, t]; neither set: an error."""
        self.check_thresholds()
        if not self.isSet("thresholds") and self.isSet("threshold"):
            t = float(self.getOrDefault("threshold"))
            return [1.0 - t, t]
        if not self.isDefined("thresholds"):
            raise ConfigError("thresholds: not set (set thresholds, or threshold for two classes)")
        return list(self.getOrDefault("thresholds"))

    def check_thresholds(self) -> None:
        """MLlib's ``checkThresholdConsistency``: threshold and thresholds, both set, must agree."""
        if self.isSet("threshold") and self.isSet("thresholds"):
            problem = inconsistency(self.getOrDefault("threshold"), self.getOrDefault("thresholds"))
            if problem:
                raise ConfigError(f"threshold, thresholds: {problem}")

    def _set(self, **kwargs: Any) -> LogisticRegressionParams:
        """Set params, each checked as its conf key; None for a param without a default (MLlib's
        ``weightCol=None``, ``thresholds=None``) leaves it unset."""
        for name in [name for name, value in kwargs.items() if value is None and name in UNSET]:
            self.clear(self.getParam(name))
            del kwargs[name]
        for name, value in kwargs.items():
            if name in CONF_KEYS and value is not None:
                _check_value(name, to_conf_value(name, self.getParam(name).typeConverter(value)))
        return super()._set(**kwargs)

    def fit_conf(self) -> FitConf:
        """The conf these params stand for; a bad value or combination is a :class:`ConfigError`
        naming the param and its key."""
        self.check_thresholds()
        values: dict[str, dict[str, Any]] = {section: {} for section in _SECTIONS}
        explicit_source = any(self.isSet(name) for name in ("featureCols", "hashFeatures", "indicesCol", "valuesCol"))
        for name, key in CONF_KEYS.items():
            param = self.getParam(name)
            if not self.isDefined(param) or (name == "featuresCol" and explicit_source and not self.isSet(param)):
                continue
            section, field_name = key.split(".")
            values[section][field_name] = to_conf_value(name, self.getOrDefault(param))
        with param_origins():
            sections = {section: cls(**values[section]) for section, cls in _SECTIONS.items()}
            return FitConf(**sections)

    def set_conf(self, conf: FitConf) -> None:
        """Set every param from ``conf`` (params that stand for an unset key stay unset)."""
        for name, key in CONF_KEYS.items():
            section, field_name = key.split(".")
            value = getattr(getattr(conf, section), field_name)
            if name == "featuresCol" and not value or (name == "threshold" and conf.model.thresholds and value == 0.5):
                continue
            if name in UNSET and value == UNSET[name]:
                self.clear(self.getParam(name))
            else:
                self._set(**{name: from_conf_value(name, value)})


def _add_params(cls: type[Params]) -> None:
    """Give ``cls`` a :class:`Param` per entry of :data:`DOCS`, with a getter and a setter each."""
    for name, doc in DOCS.items():
        setattr(cls, name, Param(Params._dummy(), name, doc, typeConverter=_converter(name)))
        title = name[0].upper() + name[1:]
        for method, make in ((f"get{title}", _getter), (f"set{title}", _setter)):
            if method not in cls.__dict__:  # not written out in the class (the thresholds' rules)
                setattr(cls, method, make(name))


def _getter(name: str) -> Callable[[Params], Any]:
    def get(self: Params) -> Any:
        return self.getOrDefault(name)

    get.__doc__ = f"The value of {name}: {DOCS[name]}."
    return get


def _setter(name: str) -> Callable[[Params, Any], Params]:
    def set_(self: Params, value: Any) -> Params:
        return self._set(**{name: value})

    set_.__doc__ = f"Set {name}: {DOCS[name]}."
    return set_


_add_params(LogisticRegressionParams)
