"""Embeddings of whole files or in-memory arrays: the chosen layer on sliding windows of the
model's clip length, with the start time of every window in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from avts.config import Config
from avts.downstream.layers import LayerSpec, audio_features, parse_layer, video_features
from avts.downstream.windows import (
    audio_windows,
    conform_frames,
    resample_audio,
    to_mono,
    video_windows,
)
from avts.errors import ConfigError, MediaError, NoAudioStreamError, NoVideoStreamError
from avts.features.audio import log_mel
from avts.features.video import frames_to_tensor
from avts.media import probe, read_audio, read_video
from avts.types import Embeddings

BATCH = 32  # windows per forward pass; bounds memory on long files


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.float64)


@torch.no_grad()
def audio_window_features(model: torch.nn.Module, cfg: Config, samples: np.ndarray,
                          spec: LayerSpec, hop_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Mono samples at ``cfg.data.mel.sr_hz`` -> ``(n_windows, D)`` float32 and window starts."""
    windows, starts_s = audio_windows(samples, cfg.data.mel.sr_hz, cfg.data.clip.duration_s,
                                      hop_s)
    out = []
    for at in range(0, len(windows), BATCH):
        mel = log_mel(torch.from_numpy(windows[at: at + BATCH]), cfg.data.mel).unsqueeze(1)
        out.append(audio_features(model, mel, spec).float().numpy())  # (B, D)
    return np.concatenate(out), starts_s


@torch.no_grad()
def video_window_features(model: torch.nn.Module, cfg: Config, frames: np.ndarray,
                          spec: LayerSpec, hop_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Frames at the model's fps and size -> ``(n_windows, D)`` float32 and window starts."""
    clip = cfg.data.clip
    windows, starts_s = video_windows(frames, clip.fps, clip.n_frames, hop_s)
    out = []
    for at in range(0, len(windows), BATCH):
        x = frames_to_tensor(windows[at: at + BATCH])  # (B, 3, T, H, W)
        out.append(video_features(model, x, spec).float().numpy())
    return np.concatenate(out), starts_s


def embed_arrays(model: torch.nn.Module, cfg: Config, layer: str, hop_s: float, *,
                 audio: np.ndarray | None = None, sr_hz: int | None = None,
                 frames: np.ndarray | None = None, fps: float | None = None,
                 path: Path | None = None, start_s: float = 0.0) -> Embeddings:
    """Embed whichever of ``audio`` (any rate, mono or (n, ch)) and ``frames`` (uint8
    (T, H, W, 3), any fps and size) are given; timestamps are offset by ``start_s``."""
    model.eval()
    spec = parse_layer(layer, model)
    given = {"audio": audio is not None, "video": frames is not None}
    if not any(given[s] for s in spec.streams):
        raise ConfigError(f"layer {layer!r} needs {' or '.join(spec.streams)} input")
    a, a_ts = _empty()
    v, v_ts = _empty()
    if audio is not None and "audio" in spec.streams:
        samples = resample_audio(to_mono(audio), int(sr_hz), cfg.data.mel.sr_hz)
        a, a_ts = audio_window_features(model, cfg, samples, spec, hop_s)
    if frames is not None and "video" in spec.streams:
        clip = cfg.data.clip
        conformed = conform_frames(frames, float(fps), clip.fps, (clip.height, clip.width))
        v, v_ts = video_window_features(model, cfg, conformed, spec, hop_s)
    return Embeddings(audio=a, video=v, audio_ts=a_ts + start_s, video_ts=v_ts + start_s,
                      layer=layer, window_s=cfg.data.clip.duration_s, hop_s=hop_s, path=path)


def embed_media(model: torch.nn.Module, cfg: Config, path: str | Path, layer: str,
                hop_s: float) -> Embeddings:
    """Embed a media file over its usable span. A layer of one stream needs that stream; the
    other layers embed the streams the file has (at least one)."""
    path = Path(path)
    spec = parse_layer(layer, model)
    info = probe(path)
    has = {"audio": info.has_audio, "video": info.has_video}
    missing = [s for s in spec.streams if not has[s]]
    if len(missing) == len(spec.streams):
        error = NoAudioStreamError if missing == ["audio"] else NoVideoStreamError
        if len(missing) == 2:
            error = MediaError
        raise error(f"{path} has no {' or '.join(missing)} stream, which layer {layer!r} needs")
    clip = cfg.data.clip
    start_s = info.start_s
    frames = (read_video(path, start_s, None, clip.fps, (clip.height, clip.width), info=info)
              if has["video"] and "video" in spec.streams else None)
    audio = (read_audio(path, start_s, None, cfg.data.mel.sr_hz, info=info)
             if has["audio"] and "audio" in spec.streams else None)
    if frames is not None and len(frames) == 0:
        raise MediaError(f"{path}: no video frames in its usable span")
    return embed_arrays(model, cfg, layer, hop_s, audio=audio, sr_hz=cfg.data.mel.sr_hz,
                        frames=frames, fps=clip.fps, path=path, start_s=start_s)
