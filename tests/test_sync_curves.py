import math

import numpy as np
import pytest

from avts.sync.curves import (
    Calibration,
    aggregate,
    at_edge,
    edge_discounted,
    merge_grids,
    parabolic_peak,
    prominence,
    shift_grid,
)


def test_aggregate_before_choosing_beats_voting():
    # 3 windows carry a weak peak at shift index 5; one noisy window has a tall wrong peak.
    shifts = np.arange(11)
    curves = np.zeros((4, 11))
    curves[:3, 5] = 1.0
    curves[3, 9] = 2.5
    mean = aggregate(curves)
    assert shifts[np.argmax(mean)] == 5
    assert mean[5] == pytest.approx(0.75)


def test_aggregate_skips_nan_rows_and_honours_weights():
    curves = np.array([[0.0, 1.0], [np.nan, 5.0], [1.0, 0.0]])
    np.testing.assert_allclose(aggregate(curves), [0.5, 0.5])
    np.testing.assert_allclose(aggregate(curves, weights=np.array([3.0, 1.0, 1.0])), [0.25, 0.75])
    assert np.isnan(aggregate(np.full((2, 3), np.nan))).all()


def test_parabolic_peak_recovers_subgrid_maximum():
    shifts = np.arange(-100.0, 101.0, 10.0)
    true_ms = 23.0
    curve = -((shifts - true_ms) ** 2)
    assert parabolic_peak(shifts, curve) == pytest.approx(true_ms, abs=1e-6)
    # uneven spacing (coarse grid merged with a fine one) still gives the vertex
    uneven = np.array([-40.0, 0.0, 10.0, 20.0, 30.0, 40.0, 80.0])
    assert parabolic_peak(uneven, -((uneven - 33.0) ** 2)) == pytest.approx(33.0, abs=1e-6)


def test_parabolic_peak_at_the_edge_stays_on_the_grid():
    shifts = np.array([0.0, 10.0, 20.0])
    assert parabolic_peak(shifts, np.array([3.0, 2.0, 1.0])) == 0.0


def test_prominence_is_scale_free_and_high_for_a_sharp_peak():
    rng = np.random.default_rng(0)
    flat = rng.normal(size=51)
    sharp = flat * 0.1
    sharp[20] = 3.0
    assert prominence(sharp) > 5.0
    assert prominence(flat) < 3.0
    assert prominence(sharp * 7.0 + 4.0) == pytest.approx(prominence(sharp))
    assert prominence(np.ones(10)) == 0.0


def test_calibration_is_monotonic_in_unit_range():
    cal = Calibration(slope=2.0, midpoint=3.0)
    values = [cal(s) for s in (0.0, 2.0, 3.0, 4.0, 9.0)]
    assert values == sorted(values)
    assert values[2] == pytest.approx(0.5)
    assert 0.0 <= values[0] and values[-1] <= 1.0
    assert cal(float("nan")) == 0.0


def test_shift_grids():
    np.testing.assert_allclose(shift_grid(100.0, 40.0), [-80, -40, 0, 40, 80])
    np.testing.assert_allclose(shift_grid(40.0, 10.0, center_ms=980.0, limit_ms=1000.0),
                               [940, 950, 960, 970, 980, 990, 1000])
    np.testing.assert_allclose(merge_grids(np.array([0.0, 40.0]), np.array([10.0, 40.0])),
                               [0, 10, 40])


def test_a_peak_at_the_search_edge_counts_half():
    assert at_edge(1000.0, 1000.0, 10.0) and at_edge(-990.0, 1000.0, 10.0)
    assert not at_edge(980.0, 1000.0, 10.0) and not at_edge(0.0, 1000.0, 10.0)
    assert edge_discounted(6.0, -1000.0, 1000.0, 40.0) == pytest.approx(3.0)
    assert edge_discounted(6.0, -950.0, 1000.0, 40.0) == 6.0


def test_the_face_term_moves_the_confidence_by_the_face_share():
    from avts.sync.curves import Calibration

    plain = Calibration(slope=2.0, midpoint=3.0)
    faced = Calibration(slope=2.0, midpoint=3.0, face_slope=1.5)
    assert faced(3.0) == plain(3.0) == plain(3.0, 1.0) == 0.5  # no face share: no change
    assert faced(3.0, 0.0) == 0.5
    assert faced(3.0, 1.0) == pytest.approx(1 / (1 + math.exp(-1.5)))
    assert faced(3.0, 0.5) == pytest.approx(1 / (1 + math.exp(-0.75)))
    assert faced(float("nan"), 1.0) == 0.0
