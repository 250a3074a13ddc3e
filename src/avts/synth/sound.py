"""Sounds of the synthetic world: one timbre per object class, mixed at event onsets.

Every timbre starts at full amplitude within ``_ATTACK_S`` of its onset, so the audio onset of
an event is sharp and lands on the sample of the contact frame. Timbres differ in spectral
centroid (thud < tone < chirp < bell < clicks), so the class is audible, not only visible.
"""

from __future__ import annotations

import numpy as np

_ATTACK_S = 0.002  # a 2 ms ramp avoids a codec-smearing step but keeps the onset sharp


def _envelope(n: int, sr_hz: int, decay_s: float) -> np.ndarray:
    t_s = np.arange(n) / sr_hz
    attack = np.minimum(1.0, t_s / _ATTACK_S)
    return attack * np.exp(-t_s / decay_s)


def _lowpass_noise(rng: np.random.Generator, n: int, sr_hz: int, cutoff_hz: float) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[np.fft.rfftfreq(n, 1.0 / sr_hz) > cutoff_hz] = 0.0
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.abs(noise).max() + 1e-9)


def _thud(rng: np.random.Generator, sr_hz: int) -> np.ndarray:
    n = int(0.25 * sr_hz)
    return _lowpass_noise(rng, n, sr_hz, cutoff_hz=350.0) * _envelope(n, sr_hz, 0.06)


def _tone(rng: np.random.Generator, sr_hz: int) -> np.ndarray:
    n = int(0.3 * sr_hz)
    f0_hz = 520.0 * rng.uniform(0.97, 1.03)
    t_s = np.arange(n) / sr_hz
    wave = np.sin(2 * np.pi * f0_hz * t_s) + 0.3 * np.sin(2 * np.pi * 2 * f0_hz * t_s)
    return wave / 1.3 * _envelope(n, sr_hz, 0.08)


def _chirp(rng: np.random.Generator, sr_hz: int) -> np.ndarray:
    n = int(0.18 * sr_hz)
    t_s = np.arange(n) / sr_hz
    start_hz, end_hz = 900.0, 2600.0 * rng.uniform(0.95, 1.05)
    phase = 2 * np.pi * (start_hz * t_s + (end_hz - start_hz) * t_s**2 / (2 * t_s[-1]))
    return np.sin(phase) * _envelope(n, sr_hz, 0.07)


def _bell(rng: np.random.Generator, sr_hz: int) -> np.ndarray:
    n = int(0.35 * sr_hz)
    t_s = np.arange(n) / sr_hz
    f0_hz = 2400.0 * rng.uniform(0.98, 1.02)
    wave = np.sin(2 * np.pi * f0_hz * t_s) + 0.4 * np.sin(2 * np.pi * 2.76 * f0_hz * t_s)
    return wave / 1.4 * _envelope(n, sr_hz, 0.12)


def _clicks(rng: np.random.Generator, sr_hz: int) -> np.ndarray:
    """A short train of broadband clicks (rattle): 4-6 clicks 20-35 ms apart."""
    n = int(0.2 * sr_hz)
    out = np.zeros(n)
    click_len = int(0.003 * sr_hz)
    click = rng.standard_normal(click_len) * np.exp(-np.arange(click_len) / (0.0008 * sr_hz))
    start = 0
    for k in range(int(rng.integers(4, 7))):
        out[start : start + click_len] += click * 0.8**k
        start += int(rng.uniform(0.020, 0.035) * sr_hz)
    return out / (np.abs(out).max() + 1e-9)


# Class timbres, in the order of the classes in ``synthetic.CLASSES``.
TIMBRES = {"thud": _thud, "tone": _tone, "chirp": _chirp, "bell": _bell, "clicks": _clicks}


def class_sound(timbre: str, rng: np.random.Generator, sr_hz: int) -> np.ndarray:
    """One event's sound, peak about 1, starting at its onset (float64)."""
    return TIMBRES[timbre](rng, sr_hz)


def add_at(buffer: np.ndarray, sound: np.ndarray, onset_sample: int) -> None:
    """Add ``sound`` into ``buffer`` from ``onset_sample``, cut at the buffer's end."""
    end = min(buffer.shape[0], onset_sample + sound.shape[0])
    if end > onset_sample:
        buffer[onset_sample:end] += sound[: end - onset_sample]


def background_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Stationary noise with a 1/f^0.5 tilt (between white and pink), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.shape[0]), 1.0)) ** 0.5
    noise = np.fft.irfft(spectrum, n)
    return noise / (noise.std() + 1e-12)


def spectral_centroid_hz(x: np.ndarray, sr_hz: int) -> float:
    """Power-weighted mean frequency of ``x``."""
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs_hz = np.fft.rfftfreq(x.shape[0], 1.0 / sr_hz)
    return float((power * freqs_hz).sum() / (power.sum() + 1e-20))
