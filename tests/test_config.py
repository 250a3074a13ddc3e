import pytest

from avts.config import Config, apply_overrides, from_dict, load_yaml, save_yaml, tiny
from avts.errors import ConfigError


def test_paper_defaults_follow_the_paper():
    cfg = Config()
    assert cfg.train.margin == 0.99
    assert cfg.curriculum.easy_only_epochs == 50 and cfg.curriculum.hard_fraction == 0.25
    assert cfg.train.epochs == 90
    assert cfg.train.plateau_patience == 5 and cfg.train.plateau_factor == 0.1
    assert cfg.model.video_arch == "mc3" and cfg.model.video_blocks == (2, 2, 2, 2)
    assert cfg.data.pairs.positive_fraction == 0.5


def test_yaml_round_trip(tmp_path):
    save_yaml(tiny(), tmp_path / "c.yaml")
    assert load_yaml(tmp_path / "c.yaml") == tiny()


def test_yaml_preset_then_partial_keys(tmp_path):
    (tmp_path / "c.yaml").write_text("preset: tiny\ntrain:\n  epochs: 3\n")
    cfg = load_yaml(tmp_path / "c.yaml")
    assert cfg.train.epochs == 3 and cfg.model == tiny().model


def test_overrides_parse_yaml_values():
    cfg = apply_overrides(Config(), ["train.lr=1e-4", "model.video_widths=[8, 16]",
                                     "data.pairs.hard_min_shift_s=null", "train.epochs=3",
                                     "model.video_blocks=[1, 1]"])
    assert cfg.train.lr == 1e-4 and isinstance(cfg.train.lr, float)
    assert cfg.model.video_widths == (8, 16)
    assert cfg.data.pairs.hard_min_shift_s is None
    assert cfg.train.epochs == 3


@pytest.mark.parametrize("override", ["train.nope=1", "nope.lr=1", "train.epochs=abc",
                                      "train.lr", "model.video_widths=3"])
def test_bad_overrides_are_config_errors(override):
    with pytest.raises(ConfigError) as err:
        apply_overrides(Config(), [override])
    assert "\n" not in str(err.value)


def test_unknown_yaml_key_is_an_error():
    with pytest.raises(ConfigError, match="unknown config key 'model.widht'"):
        from_dict({"model": {"widht": 3}})


def test_bad_yaml_file(tmp_path):
    (tmp_path / "bad.yaml").write_text("train: [unclosed\n")
    with pytest.raises(ConfigError):
        load_yaml(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError):
        load_yaml(tmp_path / "missing.yaml")
