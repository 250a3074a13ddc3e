"""The model-free method: audio onset strength against frame-difference motion energy.

Both signals are put on a common 100 Hz grid, standardised, and cross-correlated over the
search range: a sound that starts when something visibly changes lines the two up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from avts.config import MelConfig
from avts.features.audio import log_mel
from avts.media.stream import Window
from avts.sync.curves import Calibration, prominence

RATE_HZ = 100.0  # common rate of both signals (the log-mel hop)
CLIP_S = 3.0  # window length: long enough to hold a few events
SIZE_HW = (32, 32)  # motion energy needs only a coarse picture
MEL = MelConfig(sr_hz=16000, n_mels=40)  # 10 ms hop = RATE_HZ
# Logistic fit of P(|error| <= 1 frame) on the prominence (benchmarks/sync_accuracy.py
# --videos 8 --fit-calibration, seed 4242, 8 videos x 9 offsets in +-900 ms, all within one
# frame, plus 8 mismatched videos), refitted once shot cuts and window-start onsets were
# dropped and windows weighted by their evidence: shifted copies scored 3.76-6.80 (median
# 6.37), mismatched ones 2.44-4.24 (median 3.63).
BASELINE_CALIBRATION = Calibration(slope=3.09, midpoint=3.81)
# A shot cut: a frame difference of at least this mean squared grey-level change (an RMS change
# of 14 of 255 levels over the picture), this many times both of its neighbours; on 37 clips
# of ../shared/data/av-sync differences that large stood either 24-6000x above both neighbours
# (cuts) or at most 13x (movement).
CUT_MIN_ENERGY = 200.0
CUT_RATIO = 16.0
# spectrogram frames at the start whose window reaches into the STFT's zero padding
_EDGE_FRAMES = -(-MEL.win_samples // (2 * MEL.hop_samples))


@dataclass
class _State:
    motion: np.ndarray  # (n,) standardised motion onsets on the 100 Hz grid from t
    onset: np.ndarray  # (m,) standardised onset strength on the 100 Hz grid from t - pad


def _standardise(x: np.ndarray) -> np.ndarray:
    std = float(x.std())
    return (x - x.mean()) / std if std > 1e-9 else np.zeros_like(x)


def motion_onset(frames: np.ndarray, fps: float, clip_s: float) -> np.ndarray:
    """Visual onsets: the rise of the frame-difference energy (mean squared grey-level change
    between consecutive frames), half-wave rectified so that an event counts when it starts,
    not again when it ends; interpolated onto the 100 Hz grid of ``[0, clip_s)``."""
    grey = frames.astype(np.float32).mean(axis=-1)  # (T, H, W)
    energy = np.square(np.diff(grey, axis=0)).mean(axis=(1, 2))  # (T - 1,) at frames 1..T-1
    energy = drop_cuts(energy)
    # the first difference has no earlier one to rise from: 0, not the whole energy (else every
    # window got a spurious onset at its start, which lined up with the audio's at -search)
    rise = np.maximum(0.0, np.diff(energy, prepend=energy[:1]))
    times_s = np.arange(1, len(grey)) / fps
    grid_s = np.arange(round(clip_s * RATE_HZ)) / RATE_HZ
    return np.interp(grid_s, times_s, rise, left=0.0)


def drop_cuts(energy: np.ndarray) -> np.ndarray:
    """Frame-difference energy with shot cuts replaced by their larger neighbour.

    A cut changes the whole picture once: one difference far above both of its neighbours (a
    flash, by contrast, changes it twice, on and off). It is no audible event, yet it outweighs
    every movement of the window and lined its window up with whatever loud sound lay near it
    (a tennis clip read -932 ms with full confidence from one cut)."""
    if len(energy) < 2:
        return energy
    padded = np.pad(energy, 1)
    neighbours = np.maximum(padded[:-2], padded[2:])
    cut = (energy > CUT_MIN_ENERGY) & (energy > CUT_RATIO * neighbours)
    return np.where(cut, neighbours, energy)


def onset_strength(audio: np.ndarray) -> np.ndarray:
    """Half-wave rectified spectral flux of the log-mel spectrogram on the 10 ms grid.

    In the log domain a sharp onset shows as soon as it enters the leading edge of the
    analysis window, half a window after the frame's centre; the flux is placed there, so an
    onset at time x peaks at x rather than ~12 ms early."""
    mel = log_mel(torch.from_numpy(audio), MEL).numpy()  # (n_mels, F)
    flux = np.concatenate([[0.0], np.maximum(0.0, np.diff(mel, axis=1)).sum(axis=0)])
    # the centred STFT's zero padding makes the first frames rise from silence: no onset
    flux[: _EDGE_FRAMES + 1] = 0.0
    grid = np.arange(len(flux)) * MEL.hop_samples
    return np.interp(grid, grid + MEL.win_samples / 2, flux)


class BaselineMethod:
    name = "baseline"
    calibration = BASELINE_CALIBRATION
    clip_s = CLIP_S
    size_hw = SIZE_HW
    sr_hz = MEL.sr_hz
    step_ms = fine_ms = 1000.0 / RATE_HZ

    def __init__(self, fps: float) -> None:
        self.fps = float(min(max(fps, 10.0), 60.0))

    def prepare(self, windows: list[Window], pad_s: float) -> list[_State]:
        return [_State(_standardise(motion_onset(w.frames, self.fps, self.clip_s)),
                       _standardise(onset_strength(w.audio))) for w in windows]

    def curves(self, states: list[_State], shifts_ms: np.ndarray, pad_s: float) -> np.ndarray:
        """(n_windows, n_shifts) correlations, each window's scaled by its evidence weight."""
        first = np.round((pad_s * 1000.0 + np.asarray(shifts_ms)) / self.step_ms).astype(int)
        out = np.empty((len(states), len(first)))
        for i, s in enumerate(states):
            # every lag of the padded audio: index j compares motion with onset[j : j + n]
            full = np.correlate(s.onset, s.motion, mode="valid") / len(s.motion)
            out[i] = full[first] * evidence_weight(full)
        return out


def evidence_weight(curve: np.ndarray) -> float:
    """A window's weight in the mean curve: its own peak prominence, squared.

    Both signals are standardised per window, so a window with one clear event and one with
    nothing but camera shake and background noise would otherwise count alike, and on real
    footage the many uneventful windows buried the few telling ones (a rifle clip read -88 ms
    with confidence 0.09; weighted, +13 ms, 0.74). Computed over the whole search range, so it
    does not depend on which shifts are asked for. Squared: roughly the window's signal-to-noise
    power; on the synthetic calibration set it leaves the scores of matched and mismatched
    copies where they were."""
    return max(prominence(curve), 0.0) ** 2 if np.all(np.isfinite(curve)) else 0.0
