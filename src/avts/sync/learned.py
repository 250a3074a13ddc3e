"""The learned method: distances between a window's video embedding and the embeddings of its
audio shifted over the search range (the AVTS networks used as a sync detector)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from avts.config import ClipConfig, MelConfig
from avts.features.audio import log_mel
from avts.features.video import frames_to_tensor
from avts.media.stream import Window
from avts.sync.curves import Calibration

# P(|error| <= 1 frame) as a logistic function of the peak prominence, fitted (scikit-learn
# LogisticRegression, benchmarks/sync_accuracy.py --fit-calibration) on held-out synthetic
# videos of seed 5151 (never used in training or in the accuracy figures) measured with the
# 25 fps tiny model /work/runs/sync25 (epoch 13): 12 videos x 9 offsets in +-900 ms, all 108
# within one frame, scored 2.90-4.56 (median 3.70); 12 mismatched copies (the audio of another
# video, every estimate wrong) scored 1.72-3.43 (median 2.24). A model trained otherwise may
# score on another scale: refit with that script for it.
LEARNED_CALIBRATION = Calibration(slope=5.39, midpoint=2.81)
_AUDIO_BATCH = 512  # audio clips embedded per forward pass (about)


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
        self.n_clip_frames = mel.n_frames(round(clip.duration_s * mel.sr_hz))

    @torch.no_grad()
    def prepare(self, windows: list[Window], pad_s: float) -> list[_State]:
        video = frames_to_tensor(np.stack([w.frames for w in windows]))  # (B, 3, T, H, W)
        fv = self.model.embed_video(video).float()  # (B, D)
        mel = log_mel(torch.from_numpy(np.stack([w.audio for w in windows])), self.mel_cfg)
        # clone: a view would keep the whole batch's tensors alive for the whole file
        return [_State(fv[i].clone(), mel[i].clone()) for i in range(len(windows))]

    @torch.no_grad()
    def curves(self, states: list[_State], shifts_ms: np.ndarray, pad_s: float) -> np.ndarray:
        """(n_windows, n_shifts) pair scores; shifts are multiples of the spectrogram hop."""
        first = np.round((pad_s * 1000.0 + np.asarray(shifts_ms)) / self.hop_ms).astype(int)
        n_shift = len(first)
        per_batch = max(1, _AUDIO_BATCH // n_shift)  # windows whose shifted clips fit a batch
        rows = []
        for lo in range(0, len(states), per_batch):
            chunk = states[lo : lo + per_batch]
            # every (window, shift) audio clip of the chunk: slices of the padded spectrogram,
            # built per chunk so that memory stays flat however long the file is
            clips = torch.stack([s.mel[:, j : j + self.n_clip_frames] for s in chunk
                                 for j in first]).unsqueeze(1)  # (n * K, 1, M, F)
            video = torch.stack([s.video for s in chunk]).repeat_interleave(n_shift, dim=0)
            fa = self.model.embed_audio(clips).float()
            rows.append(self.scorer.pair_score(video, fa).reshape(len(chunk), n_shift))
        return torch.cat(rows).double().numpy()
