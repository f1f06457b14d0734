"""A trained model as scoring reads it (:class:`LoadedModel`): its coefficients, where its
features and offsets are, how it decides; and the checks of an input against it."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from pyspark.sql import DataFrame

from ..core.decision import Decision, decision_of, inconsistency
from ..core.family import BINOMIAL, Family
from ..errors import ConfigError, InputError, shown_uri
from .blocks import FeatureSpec
from .reading import check_offset_column, check_pair_columns, locate_features, with_hashed_features


@dataclass(frozen=True)
class LoadedModel:
    """A trained model read back for scoring. It goes to every scoring task with the function
    that uses it, so it holds no per-feature names (:attr:`features` derives them)."""

    uri: str  # the model directory's, or for a model in memory its uid
    coefficients: np.ndarray  # (d,), or (K, d) for K classes
    intercept: float | np.ndarray
    threshold: float
    spec: FeatureSpec  # where the features are in an input table
    label_col: str
    hashing: tuple[list[str], int] | None = None  # input.hash_features and hash_dim, when trained so
    family: Family = BINOMIAL
    offset_col: str = ""  # the input column of each row's offset, added to its margin ("": none)
    class_thresholds: tuple[float, ...] = ()  # multinomial: MLlib's thresholds (empty: the most probable class)

    @property
    def shown(self) -> str:
        """How messages name the model (:func:`~logreg_spark.errors.shown_uri`)."""
        return shown_uri(self.uri)

    @property
    def decision(self) -> Decision:
        return Decision(self.family, self.threshold, self.class_thresholds)

    @property
    def features(self) -> list[str]:
        return self.spec.names

    @property
    def input_columns(self) -> list[str]:
        """The input columns a score reads: the features' and the offset's."""
        return self.spec.input_columns + ([self.offset_col] if self.offset_col else [])

    def margins(self, X: np.ndarray, offset: np.ndarray | None = None) -> np.ndarray:
        """``xᵀβ + b`` per row (plus its ``offset``), or the (n × K) class margins ``B x + b``."""
        margin = X @ (self.coefficients.T if self.family.is_multinomial else self.coefficients) + self.intercept
        return margin if offset is None else margin + offset


def with_offset_col(model: LoadedModel, offset_col: str, key: str) -> LoadedModel:
    """``model`` reading its offsets from the column ``offset_col`` (set as ``key``; "": the
    column it was trained with); a model trained without offsets takes none."""
    if not offset_col:
        return model
    if not model.offset_col:
        raise ConfigError(f"{key}: the model {model.shown} was trained without an offset; leave {key} out")
    return replace(model, offset_col=offset_col)


def model_input(df: DataFrame, model: LoadedModel, reader: str = "auto") -> DataFrame:
    """``df`` with the model's features hashed as in training (if they were), after checking that
    it has the model's feature columns, of usable types and size (an array or Vector column's
    length found as ``input.reader`` says)."""
    if model.offset_col:
        check_offset_column(df, model.offset_col, f"model offset ({model.shown})")
    if model.hashing:
        return with_hashed_features(df, *model.hashing)
    spec, where = model.spec, f"model features ({model.shown})"
    if spec.indices_col:
        check_pair_columns(df, spec, where, where)
        return df
    found = locate_features(df, spec.columns, spec.vector_col, where, reader)
    if spec.vector_col and found.d != spec.d:
        raise InputError(
            f"column {spec.vector_col!r} has {found.d} values per row; the model {model.shown} was trained on {spec.d}"
        )
    return df


def deciding(model: LoadedModel, threshold: float | None, thresholds: list[float] | None) -> LoadedModel:
    """``model`` deciding at ``model.threshold`` or ``model.thresholds`` from the conf, else as it
    was trained to (:mod:`~logreg_spark.core.decision`); a multinomial model takes no threshold."""
    if model.family.is_multinomial and threshold is not None:
        raise ConfigError(
            f"model.threshold: the model {model.shown} is multinomial; it predicts the class "
            "of the highest probability (leave model.threshold out, or set model.thresholds)"
        )
    if thresholds is None:
        return model if threshold is None else replace(model, threshold=threshold)
    problem = None if threshold is None else inconsistency(threshold, thresholds)
    if problem:
        raise ConfigError(f"model.thresholds: {problem}")
    decision = decision_of(model.family, model.threshold, thresholds, "model.thresholds")
    return replace(model, threshold=decision.threshold, class_thresholds=decision.class_thresholds)


def check_not_features(model: LoadedModel, roles: dict[str, str]) -> None:
    """Refuse a label or weight column (``roles``: key or param → column) that the model reads as
    a feature: its scores would be judged against one of their own inputs."""
    features = {name.casefold(): name for name in model.spec.input_columns}
    for key, column in roles.items():
        if column and column.casefold() in features:
            raise ConfigError(
                f"{key}: {column!r} is a feature of the model {model.shown} ({features[column.casefold()]!r}); "
                "a label or weight column cannot be one of the model's features"
            )
