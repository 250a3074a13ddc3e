import math
from collections import Counter

import numpy as np
import pytest

from avts.config import PairConfig
from avts.data.curriculum import NegativeMix
from avts.data.pairs import (
    KINDS,
    PairSpec,
    draw_kinds,
    draw_pair,
    draw_pairs,
    fixed_eval_pairs,
    kind_code,
    min_duration_for,
)
from avts.errors import ConfigError, DatasetError

CLIP_S = 1.0
EPS = 1e-9
# (start_s, duration_s); video 3 is too short for a hard negative, video 4 is exactly enough.
SPANS = [(0.0, 10.0), (0.5, 4.0), (2.0, 3.5), (0.1, 1.5), (0.0, 2.0)]
CFG = PairConfig()


def _inside(spans, index, start_s):
    span_start, span_dur = spans[index]
    return span_start - EPS <= start_s and start_s + CLIP_S <= span_start + span_dur + EPS


def _draw_many(kind, n=3000, spans=SPANS, cfg=CFG, seed=0):
    rng = np.random.default_rng(seed)
    return [draw_pair(rng, kind, spans, CLIP_S, cfg) for _ in range(n)]


def _assert_windows_inside(pairs, spans=SPANS):
    for p in pairs:
        assert _inside(spans, p.video_index, p.video_start_s), p
        assert _inside(spans, p.audio_index, p.audio_start_s), p


def test_kind_codes_are_stable():
    assert KINDS == ("positive", "easy", "hard", "superhard")
    assert [kind_code(k) for k in KINDS] == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        kind_code("medium")


def test_min_duration_for():
    assert min_duration_for(1.0, PairConfig()) == 2.0
    assert min_duration_for(1.0, PairConfig(hard_min_shift_s=0.5)) == 1.5


def test_positives_same_video_same_time():
    pairs = _draw_many("positive")
    _assert_windows_inside(pairs)
    assert all(p.video_index == p.audio_index and p.video_start_s == p.audio_start_s for p in pairs)
    assert all(p.label == 1 for p in pairs)
    assert {p.video_index for p in pairs} == set(range(len(SPANS)))


def test_easy_negatives_from_another_video():
    pairs = _draw_many("easy")
    _assert_windows_inside(pairs)
    assert all(p.audio_index != p.video_index and p.label == 0 for p in pairs)
    assert {p.audio_index for p in pairs} == set(range(len(SPANS)))


@pytest.mark.parametrize("min_shift_s", [None, 0.5, 2.5])
def test_hard_negatives_same_video_far_enough(min_shift_s):
    cfg = PairConfig(hard_min_shift_s=min_shift_s)
    need_s = CLIP_S if min_shift_s is None else min_shift_s
    pairs = _draw_many("hard", cfg=cfg)
    _assert_windows_inside(pairs)
    for p in pairs:
        assert p.video_index == p.audio_index and p.label == 0
        assert abs(p.audio_start_s - p.video_start_s) >= need_s - EPS
        assert SPANS[p.video_index][1] >= min_duration_for(CLIP_S, cfg)
    hosts = {i for i, (_, d) in enumerate(SPANS) if d >= CLIP_S + need_s}
    assert {p.video_index for p in pairs} == hosts


def test_hard_negatives_are_uniform_over_the_allowed_set():
    # Span 4 s, clip 1 s, shift >= 1 s: starts (v, a) in [0, 3]^2 with |a - v| >= 1.
    # Uniform over that set, the shift d = |a - v| has density (3 - d) / 2 on [1, 3]:
    # mean 5/3, and the audio start is never in the middle of the square.
    pairs = _draw_many("hard", n=20000, spans=[(0.0, 4.0)])
    shifts = np.array([abs(p.audio_start_s - p.video_start_s) for p in pairs])
    assert shifts.mean() == pytest.approx(5 / 3, abs=0.02)
    assert np.mean(shifts < 2.0) == pytest.approx(0.75, abs=0.015)
    signs = np.array([p.audio_start_s > p.video_start_s for p in pairs])
    assert signs.mean() == pytest.approx(0.5, abs=0.015)


def test_hard_negative_on_exactly_long_enough_span():
    pairs = _draw_many("hard", n=200, spans=[(1.0, 2.0)])
    for p in pairs:
        assert {p.video_start_s, p.audio_start_s} == {1.0, 2.0}


def test_superhard_negatives_overlap_with_shift_in_range():
    cfg = PairConfig(superhard_min_shift_s=0.2, superhard_max_shift_s=0.5)
    pairs = _draw_many("superhard", cfg=cfg)
    _assert_windows_inside(pairs)
    shifts = np.array([p.audio_start_s - p.video_start_s for p in pairs])
    assert all(p.video_index == p.audio_index and p.label == 0 for p in pairs)
    assert np.all(np.abs(shifts) >= 0.2 - EPS) and np.all(np.abs(shifts) <= 0.5 + EPS)
    assert np.all(np.abs(shifts) < CLIP_S)  # the windows overlap
    assert np.mean(shifts > 0) == pytest.approx(0.5, abs=0.04)
    assert {p.video_index for p in pairs} == set(range(len(SPANS)))


def test_superhard_shift_limited_by_short_span():
    cfg = PairConfig(superhard_min_shift_s=0.2, superhard_max_shift_s=0.5)
    pairs = _draw_many("superhard", n=500, spans=[(0.0, 1.3)], cfg=cfg)
    _assert_windows_inside(pairs, spans=[(0.0, 1.3)])
    assert all(0.2 - EPS <= abs(p.audio_start_s - p.video_start_s) <= 0.3 + EPS for p in pairs)


def test_superhard_shift_must_be_shorter_than_a_clip():
    with pytest.raises(ConfigError):
        draw_pair(
            np.random.default_rng(0),
            "superhard",
            SPANS,
            CLIP_S,
            PairConfig(superhard_max_shift_s=1.0),
        )


def test_no_video_can_host_a_hard_negative():
    short = [(0.0, 1.5), (0.0, 1.9)]
    with pytest.raises(DatasetError, match="hard"):
        draw_pair(np.random.default_rng(0), "hard", short, CLIP_S, CFG)
    with pytest.raises(DatasetError, match="2.00 s"):
        draw_pairs(
            np.random.default_rng(0), short, 10, NegativeMix(0.5, 0.5, 0.0), 0.5, CLIP_S, CFG
        )
    # Easy-only curriculum needs no hard host.
    pairs = draw_pairs(np.random.default_rng(0), short, 10, NegativeMix(1, 0, 0), 0.5, CLIP_S, CFG)
    assert len(pairs) == 10


def test_easy_needs_two_videos():
    with pytest.raises(DatasetError, match="easy"):
        draw_pair(np.random.default_rng(0), "easy", [(0.0, 5.0), (0.0, 0.5)], CLIP_S, CFG)


def _binomial_ok(count, n, p):
    return abs(count - n * p) <= 5 * math.sqrt(n * p * (1 - p)) + 1


def test_draw_kinds_proportions():
    n = 20000
    mix = NegativeMix(0.6, 0.3, 0.1)
    counts = Counter(draw_kinds(np.random.default_rng(1), n, 0.4, mix))
    expected = {"positive": 0.4, "easy": 0.36, "hard": 0.18, "superhard": 0.06}
    for kind, p in expected.items():
        assert _binomial_ok(counts[kind], n, p), (kind, counts)


def test_draw_pairs_follow_curriculum_mix():
    n = 20000
    mix = NegativeMix(0.75, 0.25, 0.0)
    pairs = draw_pairs(np.random.default_rng(2), SPANS, n, mix, 0.5, CLIP_S, CFG)
    counts = Counter(p.kind for p in pairs)
    assert counts["superhard"] == 0
    assert _binomial_ok(counts["positive"], n, 0.5)
    assert _binomial_ok(counts["easy"], n, 0.375)
    assert _binomial_ok(counts["hard"], n, 0.125)
    assert all(p.label == (p.kind == "positive") for p in pairs)
    _assert_windows_inside(pairs)


def test_draw_pairs_is_deterministic_for_a_seed():
    mix = NegativeMix(0.5, 0.3, 0.2)
    a = draw_pairs(np.random.default_rng(7), SPANS, 500, mix, 0.5, CLIP_S, CFG)
    b = draw_pairs(np.random.default_rng(7), SPANS, 500, mix, 0.5, CLIP_S, CFG)
    c = draw_pairs(np.random.default_rng(8), SPANS, 500, mix, 0.5, CLIP_S, CFG)
    assert a == b
    assert a != c
    assert all(isinstance(p, PairSpec) and isinstance(p.video_start_s, float) for p in a)


def test_fixed_eval_pairs_balanced_and_deterministic():
    pairs = fixed_eval_pairs(np.random.default_rng(3), SPANS, 25, CLIP_S, CFG)
    assert Counter(p.kind for p in pairs) == {k: 25 for k in KINDS}
    assert pairs == fixed_eval_pairs(np.random.default_rng(3), SPANS, 25, CLIP_S, CFG)
    _assert_windows_inside(pairs)


def test_bad_positive_fraction():
    with pytest.raises(ConfigError):
        draw_kinds(np.random.default_rng(0), 5, 1.5, NegativeMix(1, 0, 0))
