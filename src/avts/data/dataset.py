"""Clips and pairs as torch datasets.

``ClipStore`` serves the video frames and audio samples of any window of a corpus; with
``preload`` it decodes every file once into memory (fast for small corpora; a file that fails
to decode is dropped and reported), otherwise it decodes each window on demand (a window that
fails is skipped and counted by the collate function, never fatal).
``PairDataset`` turns ``PairSpec``s into network inputs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from avts.config import ClipConfig, MelConfig
from avts.data.corpus import usable_spans
from avts.data.pairs import PairSpec, kind_code
from avts.errors import AvtsError
from avts.features.audio import log_mel
from avts.features.augment import augment_audio, augment_video
from avts.features.video import frames_to_tensor
from avts.media import read_audio, read_video, sample_window
from avts.types import MediaInfo, SkippedFile

log = logging.getLogger(__name__)


@dataclass
class _Track:
    """One file decoded at the clip frame rate and size, and at the model's audio rate."""

    start_s: float  # time of frames[0] and audio[0] on the file's timeline
    frames: np.ndarray  # (N, H, W, 3) uint8, frame j shown at start_s + j / fps
    audio: np.ndarray  # (n,) float32 mono at sr_hz


class ClipStore:
    def __init__(
        self,
        videos: Sequence[MediaInfo],
        clip: ClipConfig,
        sr_hz: int,
        preload: bool = True,
        progress: Callable[[int, int], None] | None = None,
        audio_delays: Sequence[float] | None = None,
    ) -> None:
        """``audio_delays``: each file's known offset in seconds (positive: audio late;
        ``avts.data.offsets``), undone by reading its audio that much later."""
        self.clip = clip
        self.sr_hz = sr_hz
        self.preload = preload
        self.failed: list[SkippedFile] = []
        self._tracks: list[_Track] = []
        delays = list(audio_delays) if audio_delays is not None else [0.0] * len(videos)
        kept: list[MediaInfo] = []
        self._delays: list[float] = []
        for i, (info, delay) in enumerate(zip(videos, delays, strict=True)):
            if preload:
                try:
                    self._tracks.append(self._decode_track(info, delay))
                except AvtsError as err:
                    log.warning("skipping %s: %s", info.path, err)
                    self.failed.append(SkippedFile(info.path, str(err)))
                    continue
            kept.append(info)
            self._delays.append(delay)
            if progress is not None:
                progress(i + 1, len(videos))
        self.videos = kept

    def _decode_track(self, info: MediaInfo, delay_s: float) -> _Track:
        start_s = info.start_s
        size_hw = (self.clip.height, self.clip.width)
        frames = read_video(info.path, start_s, info.duration_s, self.clip.fps, size_hw)
        audio = read_audio(info.path, start_s + delay_s, info.duration_s, self.sr_hz)
        return _Track(start_s, frames, audio)

    @property
    def spans(self) -> list[tuple[float, float]]:
        """(start_s, duration_s) of every usable video, as the pair sampler wants them."""
        return usable_spans(self.videos)

    def video(self, index: int, start_s: float) -> tuple[np.ndarray, float]:
        """Frames of the window starting near ``start_s``; also returns the snap to the frame grid
        (seconds) so that the audio can be shifted by the same amount and offsets stay exact."""
        n = self.clip.n_frames
        if not self.preload:
            info = self.videos[index]
            size_hw = (self.clip.height, self.clip.width)
            return read_video(info.path, start_s, self.clip.duration_s, self.clip.fps, size_hw), 0.0
        track = self._tracks[index]
        j0 = round((start_s - track.start_s) * self.clip.fps)
        j0 = min(max(j0, 0), max(len(track.frames) - n, 0))
        snap_s = track.start_s + j0 / self.clip.fps - start_s
        frames = track.frames[j0 : j0 + n]
        if len(frames) < n:  # a track a hair shorter than the window: repeat the last frame
            pad = np.repeat(frames[-1:], n - len(frames), axis=0)
            frames = np.concatenate([frames, pad])
        return frames, snap_s

    def audio(self, index: int, start_s: float) -> np.ndarray:
        n = round(self.clip.duration_s * self.sr_hz)
        if not self.preload:
            info = self.videos[index]
            return read_audio(info.path, start_s + self._delays[index], self.clip.duration_s,
                              self.sr_hz)
        track = self._tracks[index]
        k0 = round((start_s - track.start_s) * self.sr_hz)
        return sample_window(track.audio, k0, n)[0]


class PairDataset(Dataset):
    """Yields ``{"video": (3,T,H,W), "audio": (1,M,F), "label": float, "kind": int}``, or
    ``None`` when a window fails to decode (dropped by ``collate_pairs``)."""

    def __init__(self, store: ClipStore, pairs: Sequence[PairSpec], mel: MelConfig,
                 augment_seed: int | None = None) -> None:
        self.store = store
        self.pairs = list(pairs)
        self.mel = mel
        # None: no augmentation (validation, evaluation). Otherwise item i draws from a generator
        # seeded by (augment_seed, i): the same on any number of loader workers.
        self.augment_seed = augment_seed

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor] | None:
        p = self.pairs[i]
        try:
            frames, snap_s = self.store.video(p.video_index, p.video_start_s)
            audio = self.store.audio(p.audio_index, p.audio_start_s + snap_s)
        except AvtsError as err:
            log.warning("skipping sample %d: %s", i, err)
            return None
        video, waveform = frames_to_tensor(frames), torch.from_numpy(audio)  # (3,T,H,W), (n,)
        if self.augment_seed is not None:
            gen = torch.Generator().manual_seed(self.augment_seed * 1_000_003 + i)
            video, waveform = augment_video(video, gen), augment_audio(waveform, gen)
        return {
            "video": video,  # (3, T, H, W)
            "audio": log_mel(waveform, self.mel).unsqueeze(0),  # (1, M, F)
            "label": torch.tensor(float(p.label)),
            "kind": torch.tensor(kind_code(p.kind)),
            "video_index": torch.tensor(p.video_index),  # keeps in-batch negatives honest
        }


def collate_pairs(items: list[dict[str, torch.Tensor] | None]) -> dict[str, torch.Tensor]:
    """Stack the good samples; ``batch["skipped"]`` counts the ones that failed to decode."""
    good = [it for it in items if it is not None]
    batch: dict[str, torch.Tensor] = {}
    if good:
        batch = {k: torch.stack([it[k] for it in good]) for k in good[0]}
    batch["skipped"] = torch.tensor(len(items) - len(good))
    return batch
