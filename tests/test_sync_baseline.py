"""The baseline's signals: visual onsets without shot cuts or window-start artefacts."""

import numpy as np

from avts.sync.baseline import MEL, RATE_HZ, drop_cuts, motion_onset, onset_strength

FPS = 25.0


def _frames(levels) -> np.ndarray:
    """One flat grey frame per level, (T, 32, 32, 3) uint8."""
    return np.stack([np.full((32, 32, 3), v, np.uint8) for v in levels])


def test_a_cut_is_dropped_but_a_flash_is_kept():
    steady = np.full(9, 4.0)
    cut = steady.copy()
    cut[4] = 3000.0  # the whole picture changes once
    assert np.allclose(drop_cuts(cut), steady)
    flash = steady.copy()
    flash[4:6] = 3000.0  # on, then off: twice
    assert np.array_equal(drop_cuts(flash), flash)


def test_motion_onsets_ignore_a_cut_and_the_window_start():
    rng = np.random.default_rng(0)
    moving = rng.integers(0, 8, (75, 32, 32, 3)).astype(np.uint8)  # steady jitter
    moving[40:] += 150  # a shot cut at frame 40
    onsets = motion_onset(moving, FPS, 3.0)
    assert onsets.shape == (round(3.0 * RATE_HZ),)
    assert onsets[: round(RATE_HZ / FPS)].max() == 0.0  # nothing before the first difference
    assert onsets.max() < 20.0  # the cut (a squared change of ~22500) left no onset


def test_motion_onset_peaks_at_the_frame_that_changes():
    levels = [10] * 75
    levels[50:] = [10, 200, 10] + [10] * 22  # a flash at frame 51
    onsets = motion_onset(_frames(levels), FPS, 3.0)
    assert np.argmax(onsets) == round(51 / FPS * RATE_HZ)


def test_audio_onsets_at_the_start_and_at_a_click():
    sr_hz = MEL.sr_hz
    audio = (0.05 * np.random.default_rng(1).standard_normal(sr_hz)).astype(np.float32)
    audio[sr_hz // 2 : sr_hz // 2 + 400] += 0.8  # a click at 0.5 s
    flux = onset_strength(audio)
    assert abs(int(np.argmax(flux)) - 50) <= 1  # at the click, on the 10 ms grid
    assert flux[:3].max() == 0.0  # the STFT's zero padding makes no onset at the start
