"""What each input column is for: the one feature source, and the row's other columns (label,
weight, offset, fold id), none of which may be a feature or hold two roles."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError, named
from .sections import Where

if TYPE_CHECKING:
    from .schema import InputConf, ModelConf

#: The keys of the index/value pair input, which go together.
_PAIR_KEYS = ("indices_col", "values_col", "num_features")


def check_feature_source(conf: InputConf, where: Where) -> None:
    """Exactly one feature source; the index/value pair input needs all of its keys."""
    pair = {key: getattr(conf, key) for key in _PAIR_KEYS}
    sources = (conf.features, conf.features_col, conf.hash_features, conf.indices_col or conf.values_col)
    if sum(map(bool, sources)) != 1:
        raise ConfigError(
            f"{where('input.features')}: set exactly one of input.features (a list of columns), "
            "input.features_col (an array or Vector column), input.hash_features (columns to hash) "
            "or input.indices_col with input.values_col (index and value array columns)"
        )
    if any(pair.values()) and not all(pair.values()):
        given = next(key for key, value in pair.items() if value)
        missing = [f"input.{key}" for key, value in pair.items() if not value]
        raise ConfigError(
            f"{where(f'input.{given}')}: input.{given} needs {' and '.join(missing)} "
            "(the index/value pair input: input.indices_col, input.values_col and "
            "input.num_features go together)"
        )
    if conf.indices_col and conf.indices_col == conf.values_col:
        raise ConfigError(
            f"{where('input.values_col')}: input.indices_col and input.values_col must be "
            f"two columns, not both {conf.values_col!r}"
        )


#: The columns a row carries besides its features, by their keys, with what they hold.
ROLES = {
    "input.label_col": "the label",
    "input.weight_col": "the row weight",
    "input.offset_col": "the row offset",
    "tune.fold_col": "the fold id",
}


def check_roles(conf: InputConf, more: dict[str, str], where: Where) -> None:
    """No column is both a feature and a row's label, weight or offset (or another role of ``more``: a
    key of :data:`ROLES` → its column), nor has two roles: a label among the features trains a
    model on its own answer, without a word. Names are compared as Spark resolves them by
    default, without case."""
    columns_of = {
        "input.features": conf.features,
        "input.hash_features": conf.hash_features,
        "input.features_col": [conf.features_col],
        "input.indices_col": [conf.indices_col],
        "input.values_col": [conf.values_col],
        "input.label_col": [conf.label_col],
        "input.weight_col": [conf.weight_col],
        "input.offset_col": [conf.offset_col],
        **{key: [column] for key, column in more.items()},
    }
    first: dict[str, tuple[str, str]] = {}
    for key, columns in columns_of.items():
        for column in filter(None, columns):
            earlier, spelled = first.setdefault(column.casefold(), (key, column))
            if earlier != key and key in ROLES:
                raise ConfigError(
                    f"{where(earlier)}: {named(earlier)} names {spelled!r}, which is also {named(key)} ({ROLES[key]}); "
                    "one column cannot be both"
                )


def check_offset(conf: InputConf, model: ModelConf, where: Where) -> None:
    """An offset column goes with a binomial model: a term added to every class's margin cancels
    in the softmax."""
    if conf.offset_col and model.family == "multinomial":
        raise ConfigError(
            f"{where('input.offset_col')}: input.offset_col needs a binomial model (an offset added to "
            'every class margin cancels in the softmax); leave it out with model.family = "multinomial"'
        )
