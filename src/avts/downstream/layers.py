"""Which representation to take from the two-stream model.

Names: ``embedding`` (the L2-normalised projection both streams share), ``backbone`` (the
pooled output of each network, before the projection head), ``stageK`` (the map after the
K-th stage, 1-based, averaged over time and space) and ``conv5`` (the audio network's last
stage, the layer the paper's audio classification experiments use). A ``audio.`` or
``video.`` prefix restricts the layer to one stream; ``conv5`` is audio only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from avts.errors import ConfigError

STREAMS = ("audio", "video")
LAYER_HELP = ("embedding, backbone, stageK, conv5 (audio), optionally prefixed with 'audio.' "
              "or 'video.'")


@dataclass(frozen=True)
class LayerSpec:
    name: str  # as the user wrote it
    streams: tuple[str, ...]  # the streams this layer exists for
    kind: str  # "embedding", "backbone" or "stage"
    stage: int | None = None  # 1-based stage number for kind == "stage"


def parse_layer(name: str, model: torch.nn.Module) -> LayerSpec:
    """Check ``name`` against ``model``'s stages; a bad name is a one-line ConfigError."""
    stream, _, rest = name.rpartition(".")
    if stream and stream not in STREAMS:
        raise ConfigError(f"unknown layer {name!r}: the prefix must be audio. or video. "
                          f"(layers: {LAYER_HELP})")
    streams = (stream,) if stream else STREAMS
    if rest in ("embedding", "backbone"):
        return LayerSpec(name, streams, rest)
    n_stages = {s: len(getattr(model, s).stages) for s in streams}
    if rest == "conv5":
        if stream == "video":
            raise ConfigError("layer 'conv5' names the audio network's last stage; "
                              "use video.stageK for the video network")
        return LayerSpec(name, ("audio",), "stage", len(model.audio.stages))
    match = re.fullmatch(r"stage(\d+)", rest)
    if not match:
        raise ConfigError(f"unknown layer {name!r} (layers: {LAYER_HELP})")
    k = int(match.group(1))
    for s, n in n_stages.items():
        if not 1 <= k <= n:
            raise ConfigError(f"layer {name!r}: the {s} network has stages 1 to {n}")
    return LayerSpec(name, streams, "stage", k)


def audio_features(model: torch.nn.Module, mel: torch.Tensor, spec: LayerSpec) -> torch.Tensor:
    """(B, 1, n_mels, n_frames) log-mel -> (B, D) features of the chosen layer."""
    if spec.kind == "embedding":
        return model.embed_audio(mel)
    if spec.kind == "backbone":
        return model.audio(mel)
    return model.audio.features(mel, upto=spec.stage).mean(dim=(2, 3))  # global average pool


def video_features(model: torch.nn.Module, x: torch.Tensor, spec: LayerSpec) -> torch.Tensor:
    """(B, 3, T, H, W) normalised frames -> (B, D) features of the chosen layer."""
    if spec.kind == "embedding":
        return model.embed_video(x)
    if spec.kind == "backbone":
        return model.video(x)
    return model.video.features(x, upto=spec.stage).mean(dim=(2, 3, 4))
