"""Configuration: merge order, overrides, and one-line errors naming key and file."""

from dataclasses import replace

import pytest

from logreg_spark.app.config import (
    Conf,
    ConfigError,
    InputConf,
    ModelConf,
    ModelRefConf,
    OutputConf,
    PredictConf,
    PredictInputConf,
    SolverConf,
    load_conf,
)

BASE = """
[input]
path = "in"
features = ["a", "b"]
[output]
model_path = "out"
[solver]
max_iter = 10
tol = 1e-4
"""


@pytest.fixture
def base(tmp_path):
    path = tmp_path / "base.toml"
    path.write_text(BASE)
    return path


def test_defaults_and_types(base):
    conf = load_conf([base])
    assert conf.solver.max_iter == 10 and conf.solver.aggregation_depth == 0
    assert conf.model.standardization is True and conf.model.reg_param == 0.0
    assert conf.output.mode == "error" and conf.input.label_col == "label"


def test_later_files_then_set_override_earlier(base, tmp_path):
    more = tmp_path / "more.toml"
    more.write_text('[solver]\nmax_iter = 20\nlearning_rate = 0.5\n[spark]\n"spark.master" = "local[1]"\n')
    conf = load_conf(
        [base, more],
        [
            "solver.max_iter=30",
            "input.path=s3a://bucket/events/dt=2026-11-23",
            "spark.spark.executor.memory=4g",
            'input.features=["c"]',
        ],
    )
    assert conf.solver.max_iter == 30
    assert conf.solver.learning_rate == 0.5
    assert conf.input.path == "s3a://bucket/events/dt=2026-11-23"
    assert conf.input.features == ["c"]
    assert conf.spark == {"spark.master": "local[1]", "spark.executor.memory": "4g"}
    assert isinstance(load_conf([base], ["solver.tol=1"]).solver.tol, float)


@pytest.mark.parametrize(
    "override, message",
    [
        ("solver.max_itr=5", "unknown key solver.max_itr (did you mean 'max_iter'?)"),
        ("solver.max_iter=-1", "solver.max_iter must be >= 0"),
        ("solver.max_iter=1.5", "solver.max_iter must be an integer"),
        ("model.elastic_net_param=1.5", "model.elastic_net_param must be in [0.0, 1.0]"),
        ("model.reg_param=-0.1", "model.reg_param must be >= 0"),
        ("model.fit_intercept=yes", "model.fit_intercept must be true or false"),
        ("solver.name=sgd", "solver.name must be one of"),
        ("output.mode=append", "output.mode must be one of 'error', 'overwrite'"),
        ("modle.reg_param=1", "unknown section [modle] (did you mean 'model'?)"),
        ("solver.max_iter", "expected section.key=value"),
    ],
)
def test_bad_overrides_name_the_key(base, override, message):
    with pytest.raises(ConfigError) as err:
        load_conf([base], [override])
    assert message in str(err.value)
    assert str(err.value).startswith("--set") and "\n" not in str(err.value)


def test_errors_in_files_name_the_file(base, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[solver]\nmax_iter = -3\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: solver\.max_iter must be >= 0 \(got -3\)"):
        load_conf([base, bad])
    bad.write_text("[solver\nmax_iter = 3\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_conf([bad])
    with pytest.raises(ConfigError, match=r"missing\.toml: conf file not found"):
        load_conf([tmp_path / "missing.toml"])


def test_required_keys(tmp_path):
    conf = tmp_path / "c.toml"
    conf.write_text('[input]\nfeatures = ["a"]\n[output]\nmodel_path = "m"\n')
    with pytest.raises(ConfigError, match="input.path is required"):
        load_conf([conf])
    conf.write_text('[input]\npath = "p"\nfeatures = ["a"]\nfeatures_col = "v"\n[output]\nmodel_path = "m"\n')
    with pytest.raises(ConfigError, match="exactly one of input.features"):
        load_conf([conf])
    conf.write_text('[input]\npath = "p"\nfeatures = ["a"]\n')
    with pytest.raises(ConfigError, match="output.model_path is required"):
        load_conf([conf])


@pytest.mark.parametrize(
    "keys, message",
    [
        ('indices_col = "idx"\nvalues_col = "val"\nnum_features = 100', None),
        (
            'features = ["a"]\nindices_col = "idx"\nvalues_col = "val"\nnum_features = 100',
            "exactly one of input.features",
        ),
        ('indices_col = "idx"\nnum_features = 100', "input.indices_col needs input.values_col (the index/value pair"),
        ('values_col = "val"', "input.values_col needs input.indices_col and input.num_features"),
        ('indices_col = "idx"\nvalues_col = "val"', "input.indices_col needs input.num_features"),
        ('features = ["a"]\nnum_features = 100', "input.num_features needs input.indices_col and input.values_col"),
        ('indices_col = "idx"\nvalues_col = "val"\nnum_features = 0', "input.num_features must be >= 1"),
        ('indices_col = "v"\nvalues_col = "v"\nnum_features = 9', "must be two columns, not both 'v'"),
    ],
)
def test_the_index_value_pair_input_needs_all_three_keys(tmp_path, keys, message):
    conf = tmp_path / "c.toml"
    conf.write_text(f'[input]\npath = "p"\n{keys}\n[output]\nmodel_path = "m"\n')
    if message is None:
        loaded = load_conf([conf]).input
        assert (loaded.indices_col, loaded.values_col, loaded.num_features) == ("idx", "val", 100)
        return
    with pytest.raises(ConfigError) as err:
        load_conf([conf])
    assert message in str(err.value) and str(err.value).startswith(str(conf))


def _in_code() -> Conf:
    return Conf(input=InputConf(path="in", features=["a", "b"]), output=OutputConf(model_path="out"))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ModelConf(reg_param=-0.1), "conf: model.reg_param must be >= 0.0 (got -0.1)"),
        (lambda: SolverConf(max_iter=1.5), "conf: solver.max_iter must be an integer (got 1.5)"),
        (
            lambda: SolverConf(name="sgd"),
            "conf: solver.name must be one of 'auto', 'gd', 'lbfgs', 'newton' (got 'sgd')",
        ),
        (lambda: InputConf(num_features=0), "conf: input.num_features must be >= 1 (got 0)"),
        (lambda: InputConf(features="a"), "conf: input.features must be a list of strings (got 'a')"),
        (lambda: ModelRefConf(threshold=1.5), "conf: model.threshold must be in [0.0, 1.0] (got 1.5)"),
        (
            lambda: Conf(input=InputConf(features=["a"]), output=OutputConf(model_path="m")),
            "conf: input.path is required",
        ),
        (lambda: Conf(input=InputConf(path="p")), "conf: set exactly one of input.features"),
        (lambda: Conf(input=InputConf(path="p", features=["a"])), "conf: output.model_path is required"),
        (
            lambda: PredictConf(input=PredictInputConf(path="p"), model=ModelRefConf(path="m")),
            "conf: output.path is required",
        ),
        (lambda: replace(_in_code(), solver=replace(_in_code().solver, tol=-1.0)), "conf: solver.tol must be >= 0.0"),
    ],
)
def test_a_conf_built_in_code_is_checked_when_made(make, message):
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_a_conf_built_in_code_takes_numbers_as_floats():
    conf = replace(_in_code(), model=ModelConf(reg_param=1), solver=SolverConf(tol=0))
    assert (conf.model.reg_param, conf.solver.tol) == (1.0, 0.0)
    assert isinstance(conf.model.reg_param, float) and isinstance(conf.solver.tol, float)


@pytest.mark.parametrize(
    "keys, message",
    [
        (
            'features = ["a", "Label"]',
            r"c\.toml: input\.features names 'Label', which is also input\.label_col \(the label\); one column",
        ),
        ('features = ["a", "w"]\nweight_col = "w"', r"input\.features names 'w', which is also input\.weight_col"),
        ('hash_features = ["a", "label"]', r"input\.hash_features names 'label', which is also input\.label_col"),
        ('features_col = "label"', r"input\.features_col names 'label', which is also input\.label_col"),
        ('features = ["a"]\nweight_col = "label"', r"input\.label_col names 'label', which is also input\.weight_col"),
        (
            'indices_col = "i"\nvalues_col = "w"\nnum_features = 9\nweight_col = "w"',
            r"input\.values_col names 'w', which is also input\.weight_col",
        ),
    ],
)
def test_the_label_and_weight_are_refused_among_the_features(tmp_path, keys, message):
    conf = tmp_path / "c.toml"
    conf.write_text(f'[input]\npath = "p"\n{keys}\n[output]\nmodel_path = "m"\n')
    with pytest.raises(ConfigError, match=message) as caught:
        load_conf([conf])
    assert "\n" not in str(caught.value)
