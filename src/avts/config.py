"""Configuration as frozen dataclasses, with YAML files and ``key=value`` overrides.

Defaults follow the paper (Korbar et al. 2018) where it says something; ``tiny()`` is the
scaled-down preset that trains on a laptop CPU in minutes (used by ``avts demo``).
Unknown keys and wrongly typed values raise ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from avts.errors import ConfigError


@dataclass(frozen=True)
class MelConfig:
    """Log-mel spectrogram of the audio stream (defaults: 25 ms window, 10 ms hop, 40 bands)."""

    sr_hz: int = 16000  # audio is resampled to this rate, mono
    n_fft: int = 512  # FFT size in samples (>= win_samples)
    win_samples: int = 400  # Hann window length: 25 ms at 16 kHz
    hop_samples: int = 160  # hop: 10 ms at 16 kHz, i.e. 100 spectrogram frames per second
    n_mels: int = 40  # mel bands (Slaney-style, area-normalised filters as in librosa)
    f_min_hz: float = 0.0
    f_max_hz: float | None = None  # None: Nyquist
    log_eps: float = 1e-6  # log(mel power + eps); keeps silence finite

    def n_frames(self, n_samples: int) -> int:
        """Spectrogram frames of ``n_samples`` samples: centred STFT, frame j at sample j * hop."""
        return 1 + n_samples // self.hop_samples


@dataclass(frozen=True)
class ClipConfig:
    """One training example: ``duration_s`` of video and the audio of the same span."""

    duration_s: float = 1.0  # window length in seconds
    fps: float = 25.0  # video frames are sampled at this rate by presentation timestamp
    height: int = 112  # frames are resized to height x width (aspect not kept)
    width: int = 112

    @property
    def n_frames(self) -> int:
        return max(1, round(self.duration_s * self.fps))


@dataclass(frozen=True)
class PairConfig:
    """How positives and negatives are drawn (paper, Sec. 3)."""

    positive_fraction: float = 0.5  # share of positives in a batch
    # hard negatives: audio at least this far away; None: one window length (no overlap)
    hard_min_shift_s: float | None = None
    superhard_min_shift_s: float = 0.2  # super-hard negatives: overlapping windows shifted by
    superhard_max_shift_s: float = 0.5  # a small amount in [min, max] seconds


@dataclass(frozen=True)
class CurriculumConfig:
    """Paper default: easy negatives only for epochs 1-50, then easy:hard 3:1 (to epoch 90)."""

    easy_only_epochs: int = 50  # epochs (1-based, inclusive) that use easy negatives only
    hard_fraction: float = 0.25  # afterwards, share of negatives that are hard (3:1 -> 0.25)
    superhard_share: float = 0.0  # share of those hard negatives that are super-hard


@dataclass(frozen=True)
class DataConfig:
    clip: ClipConfig = field(default_factory=ClipConfig)
    mel: MelConfig = field(default_factory=MelConfig)
    pairs: PairConfig = field(default_factory=PairConfig)
    min_duration_s: float | None = None  # files shorter are skipped; None: room for a hard negative
    val_fraction: float = 0.2  # share of videos (never clips) held out for validation
    preload: bool = True  # decode each file once into memory (fast for small corpora)
    augment: bool = False  # training clips: random crop + flip, audio gain (never a time shift)
    cache_dir: str | None = None  # probe cache; None: the user's cache directory


@dataclass(frozen=True)
class ModelConfig:
    """Two-stream network. Defaults are paper-sized (MC3-18 video net, VGG-style audio net)."""

    video_arch: str = "mc3"  # "mc3": 3D stem + 3D first stage, then 2D (1x3x3); "r3d": all 3D
    video_stem_channels: int = 64
    video_widths: tuple[int, ...] = (64, 128, 256, 512)  # channels of the residual stages
    video_blocks: tuple[int, ...] = (2, 2, 2, 2)  # basic blocks per stage (ResNet-18)
    audio_widths: tuple[int, ...] = (64, 128, 256, 512)  # VGG stages: 2 convs each, then pool
    embed_dim: int = 128  # both streams project to this size; embeddings are L2-normalised
    pool: str = "global"  # "global": average over time and space (paper); "time": keep time axis
    pool_time_steps: int = 4  # with pool="time", the time axis is resampled to this many steps
    dropout: float = 0.0


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 90
    batch_size: int = 64  # paper: 4 GPUs x 16 clips
    samples_per_epoch: int = 20000  # pairs drawn per epoch (videos are sampled with replacement)
    val_samples: int = 2000  # held-out pairs evaluated after every epoch
    optimizer: str = "sgd"  # "sgd" (momentum 0.9) or "adamw"
    lr: float = 0.01
    weight_decay: float = 1e-4
    plateau_patience: int = 5  # paper: lr x0.1 when the loss has not improved for 5 epochs
    plateau_factor: float = 0.1
    grad_clip_norm: float = 5.0
    loss: str = "contrastive"  # "contrastive" (paper), "cross_entropy", or "infonce"
    margin: float = 0.99  # eta of the contrastive loss
    in_batch_negatives: bool = False  # also use other videos' audio in the batch as easy negatives
    num_workers: int = 2  # data-loading processes
    device: str = "auto"  # "auto" (cuda, mps, cpu), or a torch device string
    seed: int = 0


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)

    def to_dict(self) -> dict[str, Any]:
        return _asdict(self)


def tiny() -> Config:
    """CPU-sized preset used by ``avts demo``: small frames, narrow nets, a short curriculum."""
    return Config(
        data=DataConfig(
            clip=ClipConfig(duration_s=1.0, fps=12.0, height=48, width=48),
            mel=MelConfig(n_mels=32),
            pairs=PairConfig(superhard_min_shift_s=0.25, superhard_max_shift_s=0.5),
            val_fraction=0.2,
        ),
        model=ModelConfig(
            video_stem_channels=16,
            video_widths=(16, 32, 64),
            video_blocks=(1, 1, 1),
            audio_widths=(16, 32, 64),
            embed_dim=64,
            pool="time",
        ),
        train=TrainConfig(
            epochs=22,
            batch_size=32,
            samples_per_epoch=1536,
            val_samples=768,
            optimizer="adamw",
            lr=5e-4,
            weight_decay=1e-4,
            plateau_patience=3,
            in_batch_negatives=True,
            num_workers=0,
        ),
        curriculum=CurriculumConfig(easy_only_epochs=6, hard_fraction=0.5),
    )


PRESETS = {"paper": Config, "tiny": tiny}


# --- YAML and overrides -------------------------------------------------------------------


def _asdict(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _asdict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        return list(obj)
    return obj


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert lists to tuples."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(f"config key {key!r}: {value!r} is not a valid {tp}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"config key {key!r}: expected null, got {value!r}")
    if origin is tuple:
        (item_tp, _ellipsis) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key {key!r}: expected a list, got {value!r}")
        return tuple(_coerce(v, item_tp, key) for v in value)
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):  # YAML 1.1 reads "1e-4" as a string
        try:
            return float(value)
        except ValueError:
            pass
    if tp in (int, str, bool) and type(value) is tp:
        return value
    raise ConfigError(f"config key {key!r}: expected {getattr(tp, '__name__', tp)}, got {value!r}")


def _merge(cls: type, base: Any, updates: dict[str, Any], prefix: str = "") -> Any:
    if not isinstance(updates, dict):
        raise ConfigError(f"config section {prefix or '<root>'!r} must be a mapping")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    changes = {}
    for key, value in updates.items():
        full = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(f"unknown config key {full!r} (known: {', '.join(sorted(known))})")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            changes[key] = _merge(tp, getattr(base, key), value, prefix=f"{full}.")
        else:
            changes[key] = _coerce(value, tp, full)
    return dataclasses.replace(base, **changes)


def from_dict(data: dict[str, Any], base: Config | None = None) -> Config:
    """Apply a nested mapping (as read from YAML) on top of ``base`` (default: paper config)."""
    return _merge(Config, base if base is not None else Config(), data or {})


def load_yaml(path: str | Path, base: Config | None = None) -> Config:
    try:
        text = Path(path).read_text()
        data = yaml.safe_load(text)
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}".splitlines()[0]) from err
    preset = None
    if isinstance(data, dict) and "preset" in data:
        name = data.pop("preset")
        if name not in PRESETS:
            raise ConfigError(f"unknown preset {name!r} in {path} (known: {', '.join(PRESETS)})")
        preset = PRESETS[name]()
    return from_dict(data or {}, base=preset or base)


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """Apply ``section.key=value`` strings; values are parsed as YAML (``1e-3``, ``[8, 16]``)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.key=value")
        dotted, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            raise ConfigError(f"override {item!r}: value is not valid YAML") from err
        nested: dict[str, Any] = {}
        node = nested
        parts = dotted.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
        cfg = from_dict(nested, base=cfg)
    return cfg


def save_yaml(cfg: Config, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
