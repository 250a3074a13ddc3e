"""The whole-clip offset search on a store's clips (what training validates the frame-rate
model with), checked with a stand-in model whose features are a clip's blinks and clicks."""

import math

import numpy as np
import torch

from avts.config import MelConfig, MultiwayConfig
from avts.data.regionstore import RegionStore, RegionTrack
from avts.eval.framesync import clip_offsets
from avts.features.region import Box

FPS, SR = 25.0, 16000
SPF = SR // 25  # audio samples per video frame


def _unit(x: torch.Tensor) -> torch.Tensor:
    z = (x - x.mean()) / (x.std() + 1e-6)
    return torch.nn.functional.normalize(torch.stack([z, 0.3 * torch.ones_like(z)], -1), dim=-1)


class BlinkModel(torch.nn.Module):
    """Per-frame features: the frame's brightness (video), the loudness of its 4 mel hops."""

    def video_steps(self, x: torch.Tensor) -> torch.Tensor:  # (1, 2, T, S, S)
        return _unit(x[0, 0].mean(dim=(1, 2)))[None]

    def audio_steps(self, mel: torch.Tensor) -> torch.Tensor:  # (1, 1, M, F)
        loud = mel[0, 0].mean(0)
        loud = loud[:len(loud) // 4 * 4].reshape(-1, 4).mean(1)
        return _unit(loud)[None]


def _store(codes_video, codes_audio, size=8) -> RegionStore:
    store = RegionStore([], type("Clip", (), {"fps": FPS})(), SR, MultiwayConfig(size=size,
                                                                                 jitter=0))
    rng = np.random.default_rng(0)
    for cv, ca in zip(codes_video, codes_audio, strict=True):
        gray = np.where(cv[:, None, None], 200, 50).astype(np.uint8) \
            * np.ones((1, size, size), np.uint8)
        audio = (rng.standard_normal(len(ca) * SPF) * np.repeat(np.where(ca, 0.5, 0.005), SPF))
        store.tracks.append(RegionTrack(0.0, gray, audio.astype(np.float32), Box(0, 0, 1, 1)))
    return store


def test_clip_offsets_find_every_shift_of_clips_in_sync():
    rng = np.random.default_rng(1)
    codes = [rng.random(200) < 0.3 for _ in range(3)]
    found = clip_offsets(BlinkModel(), _store(codes, codes), MelConfig(n_mels=40),
                         torch.device("cpu"), search_s=1.0)
    assert (found.within_1_frame, found.sign, found.n_clips) == (1.0, 1.0, 3)


def test_clip_offsets_of_unrelated_sound_are_near_chance_and_short_clips_are_left_out():
    rng = np.random.default_rng(2)
    video = [rng.random(200) < 0.3 for _ in range(6)] + [rng.random(60) < 0.3]
    audio = [rng.random(len(c)) < 0.3 for c in video]
    found = clip_offsets(BlinkModel(), _store(video, audio), MelConfig(n_mels=40),
                         torch.device("cpu"), search_s=1.0)
    assert found.n_clips == 6  # 60 frames leave no room to search +-25 around +-12
    assert found.within_1_frame <= 0.3


def test_clip_offsets_without_a_long_enough_clip_are_nan():
    rng = np.random.default_rng(3)
    codes = [rng.random(60) < 0.3]
    found = clip_offsets(BlinkModel(), _store(codes, codes), MelConfig(n_mels=40),
                         torch.device("cpu"), search_s=1.0)
    assert found.n_clips == 0 and math.isnan(found.within_1_frame) and math.isnan(found.sign)
