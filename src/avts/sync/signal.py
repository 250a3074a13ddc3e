"""Does a window carry enough signal to vote? Silent audio and a still picture do not."""

from __future__ import annotations

import numpy as np

SILENCE_RMS = 10 ** (-60 / 20)  # -60 dBFS: below this the audio counts as silent
CHANGE_LEVEL = 12.0  # a pixel "changes" when it moves by more than this many grey levels
STILL_FRACTION = 0.002  # a picture is still when no frame pair changes more pixels than this


def is_silent(audio: np.ndarray) -> bool:
    if audio.size == 0:
        return True
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) < SILENCE_RMS


def is_still(frames: np.ndarray) -> bool:
    if len(frames) < 2:
        return True
    grey = frames.astype(np.int16).mean(axis=-1)
    changed = (np.abs(np.diff(grey, axis=0)) > CHANGE_LEVEL).mean(axis=(1, 2))
    return float(changed.max()) < STILL_FRACTION
