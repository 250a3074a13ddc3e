from pathlib import Path

import pytest

from avts.config import Config, apply_overrides, from_dict, load, load_yaml, save_yaml, tiny
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


REPO = Path(__file__).resolve().parents[1]


def test_presets_are_valid():
    Config().validate()
    tiny().validate()


@pytest.mark.parametrize("name,preset", [("paper", Config), ("tiny", tiny)])
def test_config_files_equal_the_presets(name, preset):
    # configs/*.yaml are documentation users copy from: they must say what the presets are.
    assert load_yaml(REPO / "configs" / f"{name}.yaml") == preset()


BAD_SETTINGS = [
    ("train.device=gpu", "train.device must be one of auto, cpu, cuda, cuda:N, mps; got 'gpu'"),
    ("data.mel.win_samples=600", "data.mel.win_samples must be <= data.mel.n_fft (512); got 600"),
    ("train.optimizer=adam", "train.optimizer must be one of sgd, adamw; got 'adam'"),
    ("train.lr_schedule=step", "train.lr_schedule must be one of plateau, cosine; got 'step'"),
    ("train.loss=triplet", "train.loss must be one of contrastive, cross_entropy, infonce"),
    ("model.video_arch=r2plus1d", "model.video_arch must be one of mc3, r3d; got 'r2plus1d'"),
    ("model.pool=max", "model.pool must be one of global, time; got 'max'"),
    ("model.video_space_pool=sum", "model.video_space_pool must be one of mean, max; got 'sum'"),
    ("train.batch_size=0", "train.batch_size must be >= 1; got 0"),
    ("train.epochs=0", "train.epochs must be >= 1; got 0"),
    ("train.samples_per_epoch=8", "train.samples_per_epoch must be >= train.batch_size (64)"),
    ("train.val_samples=0", "train.val_samples must be >= 1"),
    ("train.lr=0", "train.lr must be > 0; got 0.0"),
    ("train.lr=.nan", "train.lr must be > 0; got nan"),
    ("data.mel.hop_samples=0", "data.mel.hop_samples must be >= 1"),
    ("data.mel.n_mels=0", "data.mel.n_mels must be >= 1"),
    ("data.mel.f_max_hz=9000", "data.mel.f_max_hz must be null or in (0, 8000]"),
    ("data.pairs.positive_fraction=1.5", "data.pairs.positive_fraction must be in [0, 1]"),
    ("data.pairs.superhard_max_shift_s=0.1", "data.pairs.superhard_max_shift_s must be >= "),
    ("data.pairs.superhard_max_shift_s=1.0", "must be < the clip duration (1.0 s)"),
    ("curriculum.hard_fraction=2", "curriculum.hard_fraction must be in [0, 1]; got 2.0"),
    ("curriculum.superhard_share=-0.5", "curriculum.superhard_share must be in [0, 1]"),
    ("curriculum.easy_only_epochs=-1", "curriculum.easy_only_epochs must be >= 0"),
    ("data.val_fraction=1.0", "data.val_fraction must be in (0, 1); got 1.0"),
    ("data.val_fraction=0", "data.val_fraction must be in (0, 1); got 0.0"),
    ("data.clip.fps=0", "data.clip.fps must be > 0"),
    ("data.clip.duration_s=-1", "data.clip.duration_s must be > 0"),
    ("data.clip.height=0", "data.clip.height must be >= 1"),
    ("data.min_duration_s=0.5", "data.min_duration_s must be null or >= data.clip.duration_s"),
    ("model.dropout=1", "model.dropout must be in [0, 1); got 1.0"),
    ("model.video_blocks=[2, 2]", "model.video_blocks must be as long as model.video_widths"),
    ("model.audio_widths=[]", "model.audio_widths must be a non-empty list of integers >= 1"),
    ("model.embed_dim=0", "model.embed_dim must be >= 1"),
    ("train.seed=-1", "train.seed must be >= 0"),
    ("train.num_workers=-2", "train.num_workers must be >= 0"),
    ("data.group_by='(unclosed'", "data.group_by must be a valid regex over the file name"),
    ("data.multiway.speed=0.6", "data.multiway.speed must be in [0, 0.5]; got 0.6"),
    ("data.group_by=no/such/groups.csv", "data.group_by: group file no/such/groups.csv not found"),
]


@pytest.mark.parametrize("override,message", BAD_SETTINGS, ids=[b[0] for b in BAD_SETTINGS])
def test_bad_settings_name_the_key_the_value_and_what_is_allowed(override, message):
    with pytest.raises(ConfigError) as err:
        apply_overrides(Config(), [override])
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("override", ["train.device=cuda:1", "train.device=cpu",
                                      "train.loss=infonce", "data.group_by=^([a-z]+)_",
                                      "model.pool=time"])
def test_good_settings_pass(override):
    apply_overrides(Config(), [override])


def test_speed_needs_the_audio_around_each_item():
    cfg = apply_overrides(Config(), ["data.multiway.speed=0.1"])
    assert cfg.data.multiway.speed == 0.1
    with pytest.raises(ConfigError, match="data.multiway.speed must be 0 with data.multiway.whole"):
        apply_overrides(cfg, ["data.multiway.whole_clips=true"])


def test_every_loader_validates(tmp_path):
    (tmp_path / "c.yaml").write_text("train:\n  device: gpu\n")
    with pytest.raises(ConfigError, match="train.device"):
        load_yaml(tmp_path / "c.yaml")
    with pytest.raises(ConfigError, match="train.device"):
        load(tmp_path / "c.yaml")
    with pytest.raises(ConfigError, match="train.device"):
        from_dict({"train": {"device": "gpu"}})
    with pytest.raises(ConfigError, match="train.batch_size"):
        load(overrides=["train.batch_size=0"], preset="tiny")


def test_only_the_final_combination_must_be_valid(tmp_path):
    # Each override alone would break samples_per_epoch >= batch_size (tiny: 1536, 32).
    cfg = load(overrides=["train.samples_per_epoch=16", "train.batch_size=8"], preset="tiny")
    assert (cfg.train.samples_per_epoch, cfg.train.batch_size) == (16, 8)
    (tmp_path / "c.yaml").write_text("preset: tiny\ntrain:\n  samples_per_epoch: 16\n")
    assert load(tmp_path / "c.yaml", ["train.batch_size=16"]).train.batch_size == 16


def test_group_csv_is_checked_when_loaded_but_not_from_a_checkpoint(tmp_path):
    groups = tmp_path / "groups.csv"
    groups.write_text("file,group\na.mp4,x\n")
    cfg = apply_overrides(Config(), [f"data.group_by={groups}"])
    assert cfg.data.group_by == str(groups)
    groups.unlink()  # a run moved to another machine: its config still loads for evaluation
    assert from_dict(cfg.to_dict(), check_files=False) == cfg
    with pytest.raises(ConfigError, match="not found"):
        from_dict(cfg.to_dict())


def test_one_serializer_for_configs_and_results(tmp_path):
    from avts._serialize import to_plain
    from avts.types import SkippedFile

    assert tiny().to_dict() == to_plain(tiny())
    assert tiny().to_dict()["model"]["video_widths"] == [16, 32, 64]
    assert SkippedFile(tmp_path / "a.mp4", "why").to_dict() == {"path": str(tmp_path / "a.mp4"),
                                                                  "reason": "why"}
