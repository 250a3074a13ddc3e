import numpy as np
import pytest

from avts.sync.verdict import (
    IN_SYNC,
    INCONCLUSIVE,
    OUT_OF_SYNC,
    Tolerances,
    drift_ms_per_min,
    verdict,
)
from avts.sync.windows import group_segments, plan_windows


@pytest.mark.parametrize("offset_ms,expected", [
    (0.0, IN_SYNC), (-90.0, IN_SYNC), (185.0, IN_SYNC),
    (-91.0, OUT_OF_SYNC),  # audio early (sound before picture) by more than 90 ms
    (186.0, OUT_OF_SYNC),  # audio late by more than 185 ms
])
def test_bt1359_acceptability_with_positive_meaning_audio_late(offset_ms, expected):
    assert verdict(offset_ms, 0.9, Tolerances(), 0.3) == (expected, None)


def test_user_tolerances_and_low_confidence():
    assert verdict(60.0, 0.9, Tolerances(early_ms=45, late_ms=50), 0.3)[0] == OUT_OF_SYNC
    result, reason = verdict(0.0, 0.1, Tolerances(), 0.3)
    assert result == INCONCLUSIVE and "confidence" in reason
    assert verdict(None, 0.9, Tolerances(), 0.3)[0] == INCONCLUSIVE


def test_drift_from_a_linear_timeline():
    t = np.arange(0.0, 600.0, 30.0)
    offsets = 20.0 + 0.5 * t + np.random.default_rng(0).normal(0, 3, t.size)  # 30 ms/min
    assert drift_ms_per_min(t, offsets, np.ones_like(t)) == pytest.approx(30.0, abs=2.0)


def test_no_drift_when_constant_noisy_or_too_short():
    t = np.arange(0.0, 600.0, 30.0)
    noise = np.random.default_rng(1).normal(0, 10, t.size)
    assert drift_ms_per_min(t, 100 + noise, np.ones_like(t)) is None
    assert drift_ms_per_min(t[:2], np.array([0.0, 50.0]), np.ones(2)) is None
    # a zero-weight (no signal) stretch is ignored
    w = np.ones_like(t)
    w[3] = 0.0
    y = 2.0 * t
    y[3] = 1e6
    assert drift_ms_per_min(t, y, w) == pytest.approx(120.0)


def test_plan_windows_keeps_shifted_audio_inside_and_narrows_for_short_files():
    plan = plan_windows(0.0, 8.0, 1.0, 1.0)
    assert plan.search_s == 1.0
    assert plan.starts_s[0] >= 1.0 - 1e-9 and plan.starts_s[-1] + 1.0 + 1.0 <= 8.0 + 1e-9
    assert 10 <= len(plan.starts_s) <= 16
    short = plan_windows(2.0, 2.0, 1.0, 1.0)
    assert short.search_s == pytest.approx(0.5)
    long = plan_windows(0.0, 3600.0, 1.0, 1.0)
    assert np.diff(long.starts_s).max() <= 2.0 + 1e-9


def test_plan_windows_rejects_a_file_shorter_than_a_window():
    from avts.errors import MediaTooShortError

    with pytest.raises(MediaTooShortError, match="too short"):
        plan_windows(0.0, 1.1, 1.0, 1.0)


def test_group_segments():
    groups = group_segments(np.arange(0.0, 12.0, 1.0), 5.0)
    assert [list(g) for g in groups] == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    assert len(group_segments(np.arange(0.0, 600.0, 2.0), 5.0)) == 120
    assert [list(g) for g in group_segments(np.array([3.0]), 5.0)] == [[0]]
