"""Audio subnetwork: a VGG-style 2D CNN on the log-mel spectrogram (Korbar et al. 2018, audio
subnetwork).

Each stage is two 3x3 conv-BN-ReLU layers and a 2x2 max pool. The last stage is the paper's
"conv5", whose activations feed the linear-SVM probe of the audio classification experiments.
"""

from __future__ import annotations

import torch
from torch import nn

from avts.config import ModelConfig
from avts.models.pool import SequencePool


def _vgg_stage(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
        # ceil_mode keeps a size-1 axis at 1 instead of pooling it away.
        nn.MaxPool2d(2, ceil_mode=True),
    )


class AudioNet(nn.Module):
    """(B, 1, n_mels, n_frames) log-mel -> (B, out_dim) clip feature."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if not cfg.audio_widths:
            raise ValueError("audio_widths must be non-empty")
        stages: list[nn.Module] = []
        in_ch = 1
        for width in cfg.audio_widths:
            stages.append(_vgg_stage(in_ch, width))
            in_ch = width
        self.stages = nn.Sequential(*stages)  # stages[-1] is "conv5"
        self.pool = SequencePool(cfg.pool, cfg.pool_time_steps)
        self.feature_dim = in_ch
        self.out_dim = self.pool.out_dim(in_ch)

    def features(self, m: torch.Tensor, upto: int | None = None) -> torch.Tensor:
        """Stage map after the first ``upto`` stages (default all: the last, "conv5"):
        (B, 1, M, F) -> (B, C, M', F'). Intermediate stages feed the downstream probes."""
        if m.device.type == "cpu":  # faster oneDNN convolutions, as in VideoNet.features
            m = m.contiguous(memory_format=torch.channels_last)
        return self.stages[:upto](m) if upto is not None else self.stages(m)

    def forward(self, m: torch.Tensor) -> torch.Tensor:  # (B, 1, n_mels, n_frames)
        fmap = self.features(m)  # (B, C, M', F')
        seq = fmap.mean(dim=2)  # (B, C, F'): average over frequency, keep time
        return self.pool(seq)  # (B, out_dim)
