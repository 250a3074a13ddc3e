"""The frame-rate method (``model.kind: framesync``): per-frame features of a window's motion
region and of its padded audio, computed once per window, scored for every candidate shift by
sliding one sequence against the other (mean per-frame cosine, as multi-way matching trained).

Each window's video goes through exactly what training sees without augmentation: frames at the
model's rate with a ``region_short_side``-pixel short side (the file's aspect kept), the region
of ``data.multiway.region`` over the window's frames (``avts.features.region.find_region``, the
call training makes over a whole clip: the mouth of the largest face, the square of largest
motion energy, or the whole frame), grey, resized (area) to ``size + jitter`` and centre-cropped
to ``size``. The audio net strides the 100 Hz log-mel by 4, so its features lie on a 40 ms grid;
shifts between grid points come from running it again on the log-mel started 1..3 hops later
(the audio delayed by 10, 20, 30 ms): four phases give every shift on the 10 ms hop grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from avts.config import MelConfig, MultiwayConfig
from avts.features.audio import log_mel
from avts.features.region import center_crop, find_region, grey_square
from avts.media.stream import Window
from avts.models.framesync import FrameSync, video_input
from avts.sync.curves import Calibration
from avts.sync.learned import LEARNED_CALIBRATION

# Window length. The model's reach is short (9 frames of video, about +-140 ms of audio per
# feature), so a window needs only enough frames that (a) the mean cosine over its scored frames
# is not carried by one or two events and (b) the motion region is found on a stable energy map.
# Training items are 45 scored + 8 context frames (2.1 s) with the region over the whole clip.
# 2 s (50 frames, 42 scored) matches the items and still leaves a +-0.58 s search on the
# shortest held-out real clips (3.2 s); 3 s windows would leave such a clip almost no range.
# The window plan (avts.sync.windows) spreads about 16 of them over a file and the curves are
# averaged before the peak is picked, so a short file is still covered end to end.
WINDOW_S = 2.0


@dataclass
class _State:
    video: np.ndarray  # (T, D) per-frame video features of the window
    audio: list[np.ndarray]  # phase k: (F_k, D) audio features of the log-mel from hop k on
    face: bool  # the region is the mouth of a detected face


def region_input(frames: np.ndarray, spec: MultiwayConfig) -> tuple[np.ndarray, bool]:
    """(T, H, W, 3) uint8 frames -> (T, size, size) uint8 grey region, as training sees it,
    and whether the region is a detected face's mouth."""
    box = find_region(frames, spec.region, spec.box_fraction)
    grey = center_crop(grey_square(box.crop(frames), spec.size + spec.jitter), spec.size)
    return grey, box.face


class FrameSyncMethod:
    """Scores ``mean_i cos(video_i(t), audio_i(t + shift))`` over a window's scored frames."""

    name = "avts"

    def __init__(self, model: FrameSync, spec: MultiwayConfig, mel: MelConfig, fps: float,
                 frame_hw: tuple[int, int], calibration: Calibration | None = None) -> None:
        self.model, self.spec, self.mel_cfg = model.eval(), spec, mel
        self.calibration = calibration or LEARNED_CALIBRATION
        self.clip_s, self.fps, self.sr_hz = WINDOW_S, float(fps), mel.sr_hz
        self.size_hw = frame_hw
        self.hop_ms = 1000.0 * mel.hop_samples / mel.sr_hz
        self.phases = max(1, round(1000.0 / fps / self.hop_ms))  # hops per video frame (4)
        self.step_ms = self.phases * self.hop_ms  # coarse: one frame
        self.fine_ms = self.hop_ms  # fine: one hop, from the delayed phases

    @torch.no_grad()
    def prepare(self, windows: list[Window], pad_s: float) -> list[_State]:
        regions = [region_input(w.frames, self.spec) for w in windows]
        grey = np.stack([g for g, _ in regions])  # (B, T, S, S)
        video = self.model.video_steps(video_input(torch.from_numpy(grey))).float().numpy()
        mel = log_mel(torch.from_numpy(np.stack([w.audio for w in windows])), self.mel_cfg)
        mel = mel.unsqueeze(1)  # (B, 1, n_mels, F), frame j at (t - pad) + j * hop
        audio = [self.model.audio_steps(mel[..., k:]).float().numpy()
                 for k in range(self.phases)]  # phase k: (B, F_k, D)
        return [_State(video[i], [a[i] for a in audio], regions[i][1])
                for i in range(len(windows))]

    def curves(self, states: list[_State], shifts_ms: np.ndarray, pad_s: float) -> np.ndarray:
        """(n_windows, n_shifts) mean per-frame cosines; shifts on the hop grid."""
        hops = np.round((pad_s * 1000.0 + np.asarray(shifts_ms)) / self.hop_ms).astype(int)
        phase, lag = hops % self.phases, hops // self.phases
        out = np.empty((len(states), len(hops)))
        for row, state in enumerate(states):
            n = len(state.video)
            frames = np.arange(self.spec.margin, max(self.spec.margin + 1, n - self.spec.margin))
            for k in np.unique(phase):
                sims = state.video[frames] @ state.audio[k].T  # (scored frames, F_k)
                for col in np.flatnonzero(phase == k):
                    out[row, col] = _diagonal_mean(sims, frames + lag[col])
        return out


def _diagonal_mean(sims: np.ndarray, cols: np.ndarray) -> float:
    """Mean of ``sims[r, cols[r]]`` over the rows whose column exists (NaN if none)."""
    ok = (cols >= 0) & (cols < sims.shape[1])
    if not ok.any():
        return float("nan")
    return float(sims[np.flatnonzero(ok), cols[ok]].mean())
