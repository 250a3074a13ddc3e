import pytest

from avts.config import CurriculumConfig, tiny
from avts.data.curriculum import NegativeMix, negative_mix
from avts.errors import ConfigError


def test_paper_schedule_easy_only_then_three_to_one():
    cfg = CurriculumConfig()
    assert negative_mix(1, cfg) == NegativeMix(1.0, 0.0, 0.0)
    assert negative_mix(50, cfg) == NegativeMix(1.0, 0.0, 0.0)
    mix = negative_mix(51, cfg)
    assert mix.easy == pytest.approx(0.75)
    assert mix.hard == pytest.approx(0.25)
    assert mix.superhard == 0.0
    assert negative_mix(90, cfg) == mix


def test_superhard_share_splits_the_hard_fraction():
    mix = negative_mix(
        3, CurriculumConfig(easy_only_epochs=2, hard_fraction=0.4, superhard_share=0.5)
    )
    assert mix.easy == pytest.approx(0.6)
    assert mix.hard == pytest.approx(0.2)
    assert mix.superhard == pytest.approx(0.2)
    assert sum(mix.as_tuple()) == pytest.approx(1.0)


def test_tiny_preset_switches_after_its_easy_only_stage():
    cfg = tiny().curriculum
    last_easy = cfg.easy_only_epochs
    assert negative_mix(last_easy, cfg).easy == 1.0
    assert negative_mix(last_easy + 1, cfg).hard == pytest.approx(0.5)


def test_no_easy_only_phase():
    assert negative_mix(1, CurriculumConfig(easy_only_epochs=0)).hard == pytest.approx(0.25)


@pytest.mark.parametrize(
    "cfg",
    [
        CurriculumConfig(easy_only_epochs=-1),
        CurriculumConfig(hard_fraction=1.5),
        CurriculumConfig(hard_fraction=-0.1),
        CurriculumConfig(superhard_share=2.0),
        CurriculumConfig(hard_fraction=float("nan")),
    ],
)
def test_bad_config_raises(cfg):
    with pytest.raises(ConfigError, match=r"^curriculum\.\w+ must be"):
        cfg.validate()


def test_epochs_are_one_based():
    with pytest.raises(ValueError):
        negative_mix(0, CurriculumConfig())


def test_mix_must_sum_to_one():
    with pytest.raises(ValueError):
        NegativeMix(0.5, 0.2, 0.2)
    with pytest.raises(ValueError):
        NegativeMix(1.2, -0.2, 0.0)
