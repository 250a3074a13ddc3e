"""The two-stream AVTS model: video and audio nets, each with a projection head into a shared
L2-normalised embedding space. As in Korbar et al. 2018, the distance between the two streams'
embeddings decides "in sync" vs "not in sync" (see avts.losses.ContrastiveLoss).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avts.config import ClipConfig, MelConfig, ModelConfig
from avts.models.audio import AudioNet
from avts.models.video import VideoNet


def projection_head(in_dim: int, embed_dim: int, dropout: float) -> nn.Sequential:
    """Linear -> ReLU -> (Dropout) -> Linear; the hidden width is min(in_dim, 512), >= embed_dim."""
    hidden = max(embed_dim, min(in_dim, 512))
    layers: list[nn.Module] = [nn.Linear(in_dim, hidden), nn.ReLU(inplace=True)]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(hidden, embed_dim))
    return nn.Sequential(*layers)


class TwoStream(nn.Module):
    """Video and audio embedders mapping clips onto the unit sphere in R^embed_dim.

    Unit-norm embeddings put pair distances in [0, 2], which makes the paper's margin 0.99
    meaningful whatever the scale the networks would otherwise drift to. ``clip_cfg`` and
    ``mel_cfg`` are optional and only used by ``example_inputs``.
    """

    def __init__(
        self,
        model_cfg: ModelConfig,
        clip_cfg: ClipConfig | None = None,
        mel_cfg: MelConfig | None = None,
    ) -> None:
        super().__init__()
        self.cfg = model_cfg
        self.clip_cfg = clip_cfg
        self.mel_cfg = mel_cfg
        self.video = VideoNet(model_cfg)
        self.audio = AudioNet(model_cfg)
        self.video_head = projection_head(
            self.video.out_dim, model_cfg.embed_dim, model_cfg.dropout
        )
        self.audio_head = projection_head(
            self.audio.out_dim, model_cfg.embed_dim, model_cfg.dropout
        )
        self.embed_dim = model_cfg.embed_dim

    def embed_video(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) normalised frames -> (B, D) unit vectors."""
        return F.normalize(self.video_head(self.video(x)), dim=1)

    def embed_audio(self, m: torch.Tensor) -> torch.Tensor:
        """(B, 1, n_mels, n_frames) log-mel -> (B, D) unit vectors."""
        return F.normalize(self.audio_head(self.audio(m)), dim=1)

    def forward(
        self, video: torch.Tensor, audio: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.embed_video(video), self.embed_audio(audio)

    def example_inputs(self, batch_size: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero inputs of the shapes implied by clip_cfg / mel_cfg (defaults if not given)."""
        clip = self.clip_cfg or ClipConfig()
        mel = self.mel_cfg or MelConfig()
        n_samples = round(clip.duration_s * mel.sr_hz)
        video = torch.zeros(batch_size, 3, clip.n_frames, clip.height, clip.width)
        audio = torch.zeros(batch_size, 1, mel.n_mels, mel.n_frames(n_samples))
        return video, audio


def build_model(
    model_cfg: ModelConfig,
    clip_cfg: ClipConfig | None = None,
    mel_cfg: MelConfig | None = None,
) -> TwoStream:
    return TwoStream(model_cfg, clip_cfg, mel_cfg)


def count_parameters(module: TwoStream) -> dict[str, int]:
    """Trainable parameter counts: ``video``, ``audio`` (backbones), ``heads``, ``total``."""

    def n(m: nn.Module) -> int:
        return sum(p.numel() for p in m.parameters() if p.requires_grad)

    counts = {
        "video": n(module.video),
        "audio": n(module.audio),
        "heads": n(module.video_head) + n(module.audio_head),
    }
    counts["total"] = n(module)
    return counts
