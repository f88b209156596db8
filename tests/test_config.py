"""Configs: defaults, TOML round trip, overrides, and errors that name the key."""

import pytest

from gan_experiments.config import Config, ConfigError, dumps, from_dict, load, with_overrides
from gan_experiments.registry import check


def test_toml_round_trip_and_overrides(tmp_path):
    config = with_overrides(
        Config(), ['run.optimizer="acgd"', "run.steps=200", "optimizer.betas=[0.5, 0.9]", "optimizer.lr=1"]
    )
    assert (config.run.optimizer, config.run.steps, config.optimizer.betas) == ("acgd", 200, [0.5, 0.9])
    assert config.optimizer.lr == 1.0 and isinstance(config.optimizer.lr, float)  # an int literal for a float
    path = tmp_path / "config.toml"
    path.write_text(dumps(config))
    assert load(path) == config


@pytest.mark.parametrize(
    "data, message",
    [
        ({"run": {"stpes": 10}}, "unknown key run.stpes"),
        ({"training": {}}, r"unknown section \[training\]"),
        ({"run": {"steps": "10"}}, "run.steps must be int"),
        ({"run": {"steps": True}}, "run.steps must be int"),
        ({"run": {"optimizer": "rmsprop"}}, "run.optimizer = 'rmsprop' is not one of"),
        ({"data": {"name": "moons"}}, "data.name"),
        ({"run": {"steps": 0}}, "run.steps must be at least 1"),
        ({"optimizer": {"lr": -1.0}}, "optimizer.lr must be positive"),
    ],
)
def test_bad_configs_name_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        check(from_dict(data))


def test_parsing_checks_types_and_sections_and_the_registry_check_checks_names():
    config = from_dict({"run": {"optimizer": "rmsprop", "framework": "nothing"}})  # parses: names are not its part
    assert (config.run.optimizer, config.run.framework) == ("rmsprop", "nothing")
    with pytest.raises(ConfigError, match=r"run.framework = 'nothing' is not one of"):
        check(config)
    with pytest.raises(ConfigError, match=r"run.steps must be at least 1"):
        from_dict({"run": {"steps": 0}})  # a section's own rule: at parse time


def test_image_data_need_a_framework_that_trains_on_images():
    with pytest.raises(ConfigError, match=r"run.framework = 'multibranch' on image data .*one of standard"):
        check(
            from_dict(
                {
                    "run": {"framework": "multibranch"},
                    "data": {"name": "mnist"},
                    "model": {"network": "stackelberg_mnist"},
                }
            )
        )


def test_bad_overrides():
    with pytest.raises(ConfigError, match="not a TOML literal"):
        with_overrides(Config(), ["run.optimizer=acgd"])
    with pytest.raises(ConfigError, match=r"section.key=VALUE"):
        with_overrides(Config(), ["steps=3"])


def test_grid_values_come_from_the_config():
    from gan_experiments.config import ConfigError, from_dict
    from gan_experiments.data import data_source

    config = from_dict({"data": {"name": "grid", "grid_values": [-1, 1], "std": 0.1}})
    mixture = data_source("grid").from_config(config).mixture
    assert mixture.modes == 4 and sorted(mixture.centres.abs().reshape(-1).tolist()) == [1.0] * 8
    with pytest.raises(ConfigError, match=r"data.grid_values"):
        from_dict({"data": {"grid_values": []}})


def test_acgds_eps_placement_and_tol_convention_reach_the_optimizer_and_bad_values_name_the_key():
    from gan_experiments.experiment import build

    config = from_dict(
        {
            "run": {"optimizer": "acgd", "samples": 100},
            "model": {"generators": 2},
            "optimizer": {"eps_placement": "outside", "tol_convention": "squared", "tol": 1e-12},
        }
    )
    optimizer = build(config).session.optimizer
    assert [g["eps_placement"] for g in optimizer.param_groups] == ["outside", "outside"]
    assert (optimizer.solver_options.tol_convention, optimizer.solver_options.tol) == ("squared", 1e-12)
    default = build(from_dict({"run": {"optimizer": "acgd", "samples": 100}, "model": {"generators": 2}}))
    assert default.session.optimizer.param_groups[0]["eps_placement"] == "inside"
    assert default.session.optimizer.solver_options.tol_convention == "norm"
    with pytest.raises(ConfigError, match=r"optimizer\.eps_placement = 'between' is not one of inside, outside"):
        check(from_dict({"optimizer": {"eps_placement": "between"}}))
