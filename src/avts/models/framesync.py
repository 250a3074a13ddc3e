"""A frame-rate sync model: video and audio features at the video frame rate (25 Hz).

Unlike TwoStream, neither stream pools time away: the video net keeps every frame (no temporal
stride), the audio net strides the 100 Hz log-mel by 4. Features at step t describe roughly
+-140 ms around frame t, so the audio for every candidate shift comes from one pass over a longer
audio segment (see avts.data.multiway), and a window's embedding is its per-frame features,
each L2-normalised, concatenated and scaled by 1/sqrt(T): the cosine of two window embeddings
is the mean per-frame cosine, which is what multi-way matching and the offset search score.

Video input: grey level and frame difference of a small crop (the motion region), which keeps
little of what a person or scene looks like (identity) and much of how it moves.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _block2d(cin: int, cout: int, stride: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _time_stack(channels: int, dilations: tuple[int, ...]) -> nn.Sequential:
    """Temporal convs (kernel 5) on per-step features, one per dilation: reach
    1 + 4 * sum(dilations) steps. ``(1, 1)`` is the original 9-frame (360 ms) stack."""
    layers: list[nn.Module] = []
    for d in dilations:
        layers += [nn.Conv1d(channels, channels, 5, padding=2 * d, dilation=d, bias=False),
                   nn.BatchNorm1d(channels), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def video_input(gray: torch.Tensor) -> torch.Tensor:
    """(B, T, H, W) grey levels in [0, 255] -> (B, 2, T, H, W): standardised grey, difference."""
    x = gray.float() / 255.0
    x = (x - x.mean(dim=(1, 2, 3), keepdim=True)) / (x.std(dim=(1, 2, 3), keepdim=True) + 0.05)
    diff = torch.diff(x, dim=1, prepend=x[:, :1])  # (B, T, H, W)
    return torch.stack([x, 4.0 * diff], dim=1)


class FrameSync(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (24, 48, 64, 96), embed_dim: int = 64,
                 n_mels: int = 40, video_dilations: tuple[int, ...] = (1, 1),
                 audio_dilations: tuple[int, ...] = ()) -> None:
        super().__init__()
        # (2+1)D: a 2D net on each frame (grey + difference), then temporal convs on the
        # pooled per-frame features (by default a reach of 9 frames, 360 ms). Far faster on a
        # CPU than 3D convolutions of the same reach.
        blocks, cin = [], 2
        for width in widths:
            blocks.append(_block2d(cin, width, (2, 2)))
            cin = width
        self.video = nn.Sequential(*blocks)
        self.video_time = _time_stack(cin, tuple(video_dilations))
        self.video_head = nn.Conv1d(cin, embed_dim, 1)
        strides = ((2, 2), (2, 2), (2, 1), (1, 1))  # time: 100 Hz -> 25 Hz
        blocks, cin = [], 1
        for width, stride in zip(widths, strides, strict=True):
            blocks.append(_block2d(cin, width, stride))
            cin = width
        self.audio = nn.Sequential(*blocks)
        # Optional: the audio's own temporal stack at 25 Hz (its 2D convs reach about 230 ms);
        # absent by default, so checkpoints without it load unchanged.
        if audio_dilations:
            self.audio_time = _time_stack(cin, tuple(audio_dilations))
        self.audio_head = nn.Conv1d(cin, embed_dim, 1)
        self.embed_dim = embed_dim
        self.n_mels = n_mels

    def video_steps(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 2, T, H, W) -> (B, T, D) unit vectors, one per frame."""
        b, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * t, c, h, w)  # (B * T, 2, H, W)
        feats = self.video(frames).mean(dim=(2, 3)).reshape(b, t, -1)  # (B, T, C)
        fmap = self.video_time(feats.transpose(1, 2))  # (B, C, T)
        return F.normalize(self.video_head(fmap), dim=1).transpose(1, 2)

    def audio_steps(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 1, n_mels, F) log-mel at 100 Hz -> (B, ceil(F / 4), D) unit vectors at 25 Hz."""
        mel = mel - mel.mean(dim=(2, 3), keepdim=True)
        fmap = self.audio(mel).mean(dim=2)  # (B, C, F / 4)
        if hasattr(self, "audio_time"):
            fmap = self.audio_time(fmap)
        return F.normalize(self.audio_head(fmap), dim=1).transpose(1, 2)

    @staticmethod
    def window_embedding(steps: torch.Tensor) -> torch.Tensor:
        """(..., T, D) per-frame unit vectors -> (..., T * D) unit vector."""
        return steps.flatten(-2) / steps.shape[-2] ** 0.5


class FrameSyncEnsemble(nn.Module):
    """Several FrameSync nets (members trained from different seeds) as one: each step's
    feature is the members' unit vectors concatenated and scaled by 1/sqrt(k), so the cosine of
    two steps is the mean of the members' cosines, and every consumer of FrameSync (training
    loss, pair scores, the offset search) averages the members without knowing of them."""

    def __init__(self, members: int, widths: tuple[int, ...] = (24, 48, 64, 96),
                 embed_dim: int = 64, n_mels: int = 40, video_dilations: tuple[int, ...] = (1, 1),
                 audio_dilations: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.members = nn.ModuleList(
            FrameSync(widths, embed_dim, n_mels, video_dilations, audio_dilations)
            for _ in range(members))
        self.embed_dim = members * embed_dim
        self.n_mels = n_mels

    def _joined(self, parts: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(parts, dim=-1) / len(parts) ** 0.5

    def video_steps(self, x: torch.Tensor) -> torch.Tensor:
        return self._joined([m.video_steps(x) for m in self.members])

    def audio_steps(self, mel: torch.Tensor) -> torch.Tensor:
        return self._joined([m.audio_steps(mel) for m in self.members])

    window_embedding = staticmethod(FrameSync.window_embedding)
