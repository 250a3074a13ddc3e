"""Log-mel spectrogram of a waveform, in torch, matching librosa.

Defaults come from ``MelConfig``: 16 kHz mono, ``n_fft=512``, a 400-sample (25 ms) periodic
Hann window zero-padded (centred) to ``n_fft``, a 160-sample (10 ms) hop, 40 Slaney mel bands
(area-normalised, as ``librosa.filters.mel`` with ``htk=False, norm='slaney'``) from 0 Hz to
Nyquist, and ``log(mel power + 1e-6)`` with the natural log.

The STFT is centred with zero padding of ``n_fft // 2`` on both sides, so a waveform of ``n``
samples gives ``1 + n // hop_samples`` frames; frame ``j`` is centred on sample ``j * hop``.
The result equals ``librosa.feature.melspectrogram(..., window='hann', center=True,
pad_mode='constant', power=2)`` followed by ``log(x + eps)``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import Tensor, nn

from avts.config import MelConfig

# Slaney's mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
_SLANEY_HZ_PER_MEL = 200.0 / 3.0
_SLANEY_BREAK_HZ = 1000.0
_SLANEY_BREAK_MEL = _SLANEY_BREAK_HZ / _SLANEY_HZ_PER_MEL
_SLANEY_LOG_STEP = math.log(6.4) / 27.0


def hz_to_mel(freq_hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale (librosa ``htk=False``)."""
    freq_hz = np.asarray(freq_hz, dtype=np.float64)
    linear = freq_hz / _SLANEY_HZ_PER_MEL
    log_part = _SLANEY_BREAK_MEL + np.log(np.maximum(freq_hz, 1e-10) / _SLANEY_BREAK_HZ) / (
        _SLANEY_LOG_STEP
    )
    return np.where(freq_hz >= _SLANEY_BREAK_HZ, log_part, linear)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of ``hz_to_mel``."""
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * _SLANEY_HZ_PER_MEL
    log_part = _SLANEY_BREAK_HZ * np.exp(_SLANEY_LOG_STEP * (mel - _SLANEY_BREAK_MEL))
    return np.where(mel >= _SLANEY_BREAK_MEL, log_part, linear)


def _mel_filterbank_np(cfg: MelConfig) -> np.ndarray:
    """Triangular filters on the Slaney scale, each scaled to unit area (float64)."""
    f_max_hz = cfg.f_max_hz if cfg.f_max_hz is not None else cfg.sr_hz / 2.0
    fft_hz = np.linspace(0.0, cfg.sr_hz / 2.0, 1 + cfg.n_fft // 2)
    edge_mels = np.linspace(hz_to_mel(cfg.f_min_hz), hz_to_mel(f_max_hz), cfg.n_mels + 2)
    edge_hz = mel_to_hz(edge_mels)
    width_hz = np.diff(edge_hz)
    ramps = edge_hz[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / width_hz[:-1, None]
    falling = ramps[2:] / width_hz[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    # Slaney normalisation: each triangle has area 1 over its span in Hz.
    return weights * (2.0 / (edge_hz[2:] - edge_hz[:-2]))[:, None]


def mel_filterbank(cfg: MelConfig) -> Tensor:
    """Mel filterbank as a float32 tensor of shape (n_mels, n_fft // 2 + 1)."""
    return torch.from_numpy(_mel_filterbank_np(cfg).astype(np.float32))


def stft_window(cfg: MelConfig) -> Tensor:
    """Periodic Hann window of ``win_samples``, zero-padded symmetrically to ``n_fft``."""
    if cfg.win_samples > cfg.n_fft:
        raise ValueError(f"win_samples ({cfg.win_samples}) must not exceed n_fft ({cfg.n_fft})")
    window = torch.hann_window(cfg.win_samples, periodic=True, dtype=torch.float64)
    left = (cfg.n_fft - cfg.win_samples) // 2
    return nn.functional.pad(window, (left, cfg.n_fft - cfg.win_samples - left)).float()


@functools.lru_cache(maxsize=32)
def _cached_tensors(cfg: MelConfig, device: torch.device,
                    dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    # Built once per (config, device, dtype): the filterbank costs a few ms and a host->device copy.
    return stft_window(cfg).to(device, dtype), mel_filterbank(cfg).to(device, dtype)


def log_mel(waveform: Tensor, cfg: MelConfig) -> Tensor:
    """Natural-log mel power of ``waveform`` (..., n) -> (..., n_mels, cfg.n_frames(n))."""
    if not waveform.is_floating_point():
        waveform = waveform.float()
    window, filterbank = _cached_tensors(cfg, waveform.device, waveform.dtype)
    lead_shape, n_samples = waveform.shape[:-1], waveform.shape[-1]
    flat = waveform.reshape(-1, n_samples)  # (B, n)
    spec = torch.stft(flat, n_fft=cfg.n_fft, hop_length=cfg.hop_samples, win_length=cfg.n_fft,
                      window=window, center=True, pad_mode="constant", return_complex=True)
    power = spec.real.square() + spec.imag.square()  # (B, n_fft // 2 + 1, n_frames)
    mel = torch.matmul(filterbank, power)  # (B, n_mels, n_frames)
    return torch.log(mel + cfg.log_eps).reshape(*lead_shape, cfg.n_mels, mel.shape[-1])


class LogMel(nn.Module):
    """``log_mel`` as a module, so it can sit in front of the audio network."""

    def __init__(self, cfg: MelConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg if cfg is not None else MelConfig()

    def forward(self, waveform: Tensor) -> Tensor:
        return log_mel(waveform, self.cfg)

    def extra_repr(self) -> str:
        return f"sr_hz={self.cfg.sr_hz}, n_fft={self.cfg.n_fft}, n_mels={self.cfg.n_mels}"
