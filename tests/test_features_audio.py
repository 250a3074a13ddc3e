import dataclasses

import librosa
import numpy as np
import pytest
import torch

from avts.config import MelConfig
from avts.features.audio import LogMel, log_mel, mel_filterbank

CONFIGS = [
    MelConfig(),
    MelConfig(n_mels=32),
    MelConfig(sr_hz=22050, n_fft=1024, win_samples=1024, hop_samples=256, n_mels=64),
    MelConfig(sr_hz=16000, n_fft=512, win_samples=320, hop_samples=128, n_mels=48,
              f_min_hz=60.0, f_max_hz=7000.0),
]


def _test_signal(sr_hz: int, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr_hz
    y = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 2500 * t * (1 + t))
    return (y + 0.05 * rng.standard_normal(n)).astype(np.float32)


def _librosa_log_mel(y: np.ndarray, cfg: MelConfig) -> np.ndarray:
    mel = librosa.feature.melspectrogram(
        y=y, sr=cfg.sr_hz, n_fft=cfg.n_fft, hop_length=cfg.hop_samples,
        win_length=cfg.win_samples, window="hann", center=True, pad_mode="constant", power=2.0,
        n_mels=cfg.n_mels, fmin=cfg.f_min_hz, fmax=cfg.f_max_hz)
    return mel, np.log(mel + cfg.log_eps)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.sr_hz}-{c.n_fft}-{c.n_mels}")
def test_filterbank_matches_librosa(cfg: MelConfig) -> None:
    ref = librosa.filters.mel(sr=cfg.sr_hz, n_fft=cfg.n_fft, n_mels=cfg.n_mels,
                              fmin=cfg.f_min_hz, fmax=cfg.f_max_hz)
    ours = mel_filterbank(cfg).numpy()
    assert ours.shape == (cfg.n_mels, cfg.n_fft // 2 + 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.sr_hz}-{c.n_fft}-{c.n_mels}")
def test_log_mel_matches_librosa(cfg: MelConfig) -> None:
    y = _test_signal(cfg.sr_hz, cfg.sr_hz + 123)
    mel_ref, log_ref = _librosa_log_mel(y, cfg)
    ours = log_mel(torch.from_numpy(y), cfg).numpy()
    assert ours.shape == log_ref.shape
    loud = mel_ref > 1e-3  # tight tolerance on log values where the mel power is not tiny
    assert loud.mean() > 0.9
    np.testing.assert_allclose(ours[loud], log_ref[loud], atol=1e-4, rtol=0)
    np.testing.assert_allclose(ours, log_ref, atol=1e-3, rtol=0)


@pytest.mark.parametrize("n", [1, 159, 160, 161, 16000, 16001])
def test_shape_formula(n: int) -> None:
    cfg = MelConfig()
    out = log_mel(torch.zeros(n), cfg)
    assert out.shape == (cfg.n_mels, 1 + n // cfg.hop_samples) == (cfg.n_mels, cfg.n_frames(n))
    assert torch.isfinite(out).all()
    assert torch.allclose(out, torch.full_like(out, float(np.log(cfg.log_eps))))


def test_batched_input_matches_single() -> None:
    cfg = MelConfig(n_mels=32)
    waves = torch.from_numpy(np.stack([_test_signal(16000, 8000, seed=s) for s in range(6)]))
    batched = log_mel(waves.reshape(2, 3, 8000), cfg)
    assert batched.shape == (2, 3, 32, 51)
    for i in range(6):
        torch.testing.assert_close(batched.reshape(6, 32, 51)[i], log_mel(waves[i], cfg))


def test_dtype_and_module() -> None:
    cfg = MelConfig()
    y = torch.from_numpy(_test_signal(16000, 4000)).double()
    out64 = log_mel(y, cfg)
    assert out64.dtype == torch.float64
    out32 = LogMel(cfg)(y.float())
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32, out64.float(), atol=1e-3, rtol=0)


def test_filterbank_is_cached() -> None:
    from avts.features.audio import _cached_tensors

    cfg = dataclasses.replace(MelConfig(), n_mels=24)
    _cached_tensors.cache_clear()
    for _ in range(3):
        log_mel(torch.zeros(1600), cfg)
    info = _cached_tensors.cache_info()
    assert info.misses == 1 and info.hits == 2
