"""The learned method: distances between a window's video embedding and the embeddings of its
audio shifted over the search range (the AVTS networks used as a sync detector)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from avts.config import ClipConfig, MelConfig
from avts.features.audio import log_mel, n_mel_frames
from avts.features.video import frames_to_tensor
from avts.media.stream import Window
from avts.sync.curves import Calibration

# Fitted on shifted copies of held-out synthetic videos (benchmarks/sync_accuracy.py
# --fit-calibration): P(|error| <= 1 frame) as a logistic function of the peak prominence.
LEARNED_CALIBRATION = Calibration(slope=2.0, midpoint=2.5)
_AUDIO_BATCH = 512  # audio clips embedded per forward pass


@dataclass
class _State:
    video: torch.Tensor  # (D,) video embedding of the window
    mel: torch.Tensor  # (n_mels, F) log-mel of the padded audio; frame j at (t - pad) + j * hop


class LearnedMethod:
    """Scores ``pair_score(video(t), audio(t + shift))``: higher = in sync."""

    name = "avts"
    calibration = LEARNED_CALIBRATION

    def __init__(self, model: torch.nn.Module, scorer: torch.nn.Module, clip: ClipConfig,
                 mel: MelConfig) -> None:
        self.model, self.scorer = model.eval(), scorer.eval()
        self.clip_cfg, self.mel_cfg = clip, mel
        self.clip_s, self.fps, self.sr_hz = clip.duration_s, clip.fps, mel.sr_hz
        self.size_hw = (clip.height, clip.width)
        self.hop_ms = 1000.0 * mel.hop_samples / mel.sr_hz
        # coarse step: one model frame, on the spectrogram's hop grid
        self.step_ms = max(1, round(1000.0 / clip.fps / self.hop_ms)) * self.hop_ms
        self.fine_ms = self.hop_ms
        self.n_clip_frames = n_mel_frames(round(clip.duration_s * mel.sr_hz), mel)

    @torch.no_grad()
    def prepare(self, windows: list[Window], pad_s: float) -> list[_State]:
        video = frames_to_tensor(np.stack([w.frames for w in windows]))  # (B, 3, T, H, W)
        fv = self.model.embed_video(video).float()  # (B, D)
        mel = log_mel(torch.from_numpy(np.stack([w.audio for w in windows])), self.mel_cfg)
        return [_State(fv[i], mel[i]) for i in range(len(windows))]

    @torch.no_grad()
    def curves(self, states: list[_State], shifts_ms: np.ndarray, pad_s: float) -> np.ndarray:
        """(n_windows, n_shifts) pair scores; shifts are multiples of the spectrogram hop."""
        first = np.round((pad_s * 1000.0 + np.asarray(shifts_ms)) / self.hop_ms).astype(int)
        n_win, n_shift = len(states), len(first)
        # every (window, shift) audio clip, as one flat batch of spectrogram slices
        clips = torch.stack([s.mel[:, j : j + self.n_clip_frames] for s in states for j in first])
        video = torch.stack([s.video for s in states]).repeat_interleave(n_shift, dim=0)
        scores = []
        for lo in range(0, len(clips), _AUDIO_BATCH):
            fa = self.model.embed_audio(clips[lo : lo + _AUDIO_BATCH].unsqueeze(1)).float()
            scores.append(self.scorer.pair_score(video[lo : lo + _AUDIO_BATCH], fa))
        return torch.cat(scores).reshape(n_win, n_shift).double().numpy()
