import numpy as np

from avts.sync.windows import plan_windows, snap_to_frames


def test_window_starts_land_on_frame_timestamps_within_the_room():
    plan = plan_windows(0.52, 30.0, 1.0, 1.0, frame_grid=(0.52, 25.0))
    k = (plan.starts_s - 0.52) * 25.0
    assert np.allclose(k, np.round(k), atol=1e-9)  # every start is a frame's timestamp
    lo, hi = 0.52 + 1.0, 0.52 + 30.0 - 1.0 - 1.0
    assert plan.starts_s.min() >= lo - 1e-9 and plan.starts_s.max() <= hi + 1e-9
    assert len(plan.starts_s) == len(plan_windows(0.52, 30.0, 1.0, 1.0).starts_s)


def test_snapping_stays_inside_and_gives_up_when_no_frame_fits():
    starts = np.array([1.01, 1.99])
    snapped = snap_to_frames(starts, 1.01, 1.99, 0.0, 10.0)  # 1.0 and 2.0 fall outside
    assert np.allclose(snapped, [1.1, 1.9])
    narrow = np.array([1.01])
    assert snap_to_frames(narrow, 1.005, 1.02, 0.0, 10.0) is narrow
