"""Video subnetwork: an 18-layer-style residual 3D CNN (MC3 or R3D), after Tran et al. 2018.

AVTS (Korbar et al. 2018, video subnetwork) uses the mixed-convolution network MC3: 3D
convolutions in the stem and the first residual stage, 2D (1x3x3) convolutions in the later
stages, where motion has already been summarised. R3D uses 3D convolutions throughout.
"""

from __future__ import annotations

import torch
from torch import nn

from avts.config import SPACE_POOLS, VIDEO_ARCHS, ModelConfig
from avts.models.pool import SequencePool


class BasicBlock3d(nn.Module):
    """ResNet basic block: two (kt x 3 x 3) conv-BN layers and a residual shortcut."""

    def __init__(self, in_ch: int, out_ch: int, stride: tuple[int, int, int], kt: int) -> None:
        super().__init__()
        kernel = (kt, 3, 3)
        pad = (kt // 2, 1, 1)
        self.conv1 = nn.Conv3d(in_ch, out_ch, kernel, stride=stride, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm3d(out_ch)
        self.conv2 = nn.Conv3d(out_ch, out_ch, kernel, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm3d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != (1, 1, 1) or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv3d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm3d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, T, H, W)
        out = self.relu(self.bn1(self.conv1(x)))  # (B, C_out, T', H', W')
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class VideoNet(nn.Module):
    """(B, 3, T, H, W) frames -> (B, out_dim) clip feature.

    Stem: 3x7x7 conv, stride (1, 2, 2). Stage i has ``video_blocks[i]`` blocks of width
    ``video_widths[i]``; from the second stage on the first block halves H and W. R3D also halves
    T there (as in Tran et al.); MC3's 2D stages cannot, so T is only reduced by R3D. Convs with
    kernel 3 / padding 1 (or kernel 1) never shrink T below 1, so 1-frame inputs still work.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if cfg.video_arch not in VIDEO_ARCHS:
            raise ValueError(
                f"unknown video_arch {cfg.video_arch!r} (known: {', '.join(VIDEO_ARCHS)})"
            )
        if cfg.video_space_pool not in SPACE_POOLS:
            raise ValueError(f"unknown video_space_pool {cfg.video_space_pool!r} "
                             f"(known: {', '.join(SPACE_POOLS)})")
        if len(cfg.video_widths) != len(cfg.video_blocks) or not cfg.video_widths:
            raise ValueError("video_widths and video_blocks must be non-empty and equally long")
        self.arch = cfg.video_arch
        c0 = cfg.video_stem_channels
        self.stem = nn.Sequential(
            nn.Conv3d(3, c0, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(c0),
            nn.ReLU(inplace=True),
        )
        stages: list[nn.Module] = []
        in_ch = c0
        for i, (width, n_blocks) in enumerate(zip(cfg.video_widths, cfg.video_blocks, strict=True)):
            is_3d = self.arch == "r3d" or i == 0  # MC3: 3D only in the first stage
            kt = 3 if is_3d else 1
            s = 1 if i == 0 else 2
            stride = (s if is_3d else 1, s, s)
            blocks = [BasicBlock3d(in_ch, width, stride, kt)]
            blocks += [BasicBlock3d(width, width, (1, 1, 1), kt) for _ in range(n_blocks - 1)]
            stages.append(nn.Sequential(*blocks))
            in_ch = width
        self.stages = nn.Sequential(*stages)
        self.space_pool = cfg.video_space_pool
        self.pool = SequencePool(cfg.pool, cfg.pool_time_steps)
        self.feature_dim = in_ch
        self.out_dim = self.pool.out_dim(in_ch)

    def features(self, x: torch.Tensor, upto: int | None = None) -> torch.Tensor:
        """Map after the stem and the first ``upto`` residual stages (default all, the last
        convolutional map): (B, 3, T, H, W) -> (B, C, T', H', W')."""
        if x.device.type == "cpu":
            # oneDNN's 3D convolutions run about a quarter faster on channels-last tensors (same
            # values, only the memory layout differs); CUDA keeps the layout it is given.
            x = x.contiguous(memory_format=torch.channels_last_3d)
        x = self.stem(x)
        return self.stages[:upto](x) if upto is not None else self.stages(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, T, H, W)
        fmap = self.features(x)  # (B, C, T', H', W')
        # (B, C, T'): reduced over space
        seq = fmap.amax(dim=(3, 4)) if self.space_pool == "max" else fmap.mean(dim=(3, 4))
        return self.pool(seq)  # (B, out_dim)
