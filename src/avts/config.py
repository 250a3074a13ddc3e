"""Configuration as frozen dataclasses, with YAML files and ``key=value`` overrides.

Defaults follow the paper (Korbar et al. 2018) where it says something; ``tiny()`` is the
scaled-down preset that trains on a laptop CPU in minutes (used by ``avts demo``).
Unknown keys, wrongly typed values and values out of range raise ``ConfigError``: every
section has a ``validate()``, and every loader (``from_dict``, ``load_yaml``,
``apply_overrides``, ``load``) returns only validated configs.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from avts._serialize import to_plain
from avts.errors import ConfigError

# Choices, shared with the code that acts on them (models/, losses.py, train/).
VIDEO_ARCHS: tuple[str, ...] = ("mc3", "r3d")
POOL_MODES: tuple[str, ...] = ("global", "time")
SPACE_POOLS: tuple[str, ...] = ("mean", "max")
LOSS_NAMES: tuple[str, ...] = ("contrastive", "cross_entropy", "infonce", "multiway")
MODEL_KINDS: tuple[str, ...] = ("twostream", "framesync")
REGIONS: tuple[str, ...] = ("face", "motion", "full")
OPTIMIZERS: tuple[str, ...] = ("sgd", "adamw")
LR_SCHEDULES: tuple[str, ...] = ("plateau", "cosine")
_DEVICE_RE = re.compile(r"auto|cpu|cuda|cuda:\d+|mps")


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

    def validate(self, prefix: str = "data.mel") -> None:
        for name in ("sr_hz", "n_fft", "win_samples", "hop_samples", "n_mels"):
            _at_least(f"{prefix}.{name}", getattr(self, name), 1)
        if self.win_samples > self.n_fft:
            _fail(f"{prefix}.win_samples", f"<= {prefix}.n_fft ({self.n_fft})", self.win_samples)
        _in_range(f"{prefix}.f_min_hz", self.f_min_hz, 0.0, self.sr_hz / 2, hi_open=True)
        if self.f_max_hz is not None:
            _in_range(f"{prefix}.f_max_hz", self.f_max_hz, self.f_min_hz, self.sr_hz / 2,
                      lo_open=True, what=f"null or in ({self.f_min_hz:g}, {self.sr_hz / 2:g}] "
                      "(above f_min_hz, at most sr_hz / 2)")
        _positive(f"{prefix}.log_eps", self.log_eps)


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

    def validate(self, prefix: str = "data.clip") -> None:
        _positive(f"{prefix}.duration_s", self.duration_s)
        _positive(f"{prefix}.fps", self.fps)
        _at_least(f"{prefix}.height", self.height, 1)
        _at_least(f"{prefix}.width", self.width, 1)


@dataclass(frozen=True)
class PairConfig:
    """How positives and negatives are drawn (paper, Sec. 3)."""

    positive_fraction: float = 0.5  # share of positives in a batch
    # hard negatives: audio at least this far away; None: one window length (no overlap)
    hard_min_shift_s: float | None = None
    superhard_min_shift_s: float = 0.2  # super-hard negatives: overlapping windows shifted by
    superhard_max_shift_s: float = 0.5  # a small amount in [min, max] seconds

    def validate(self, prefix: str = "data.pairs") -> None:
        _in_range(f"{prefix}.positive_fraction", self.positive_fraction, 0.0, 1.0)
        if self.hard_min_shift_s is not None:
            _positive(f"{prefix}.hard_min_shift_s", self.hard_min_shift_s, "null or > 0")
        _positive(f"{prefix}.superhard_min_shift_s", self.superhard_min_shift_s)
        if not self.superhard_max_shift_s >= self.superhard_min_shift_s:
            _fail(f"{prefix}.superhard_max_shift_s",
                  f">= {prefix}.superhard_min_shift_s ({self.superhard_min_shift_s})",
                  self.superhard_max_shift_s)

    def validate_for_clip(self, clip_s: float, prefix: str = "data.pairs") -> None:
        """Super-hard windows must overlap: the largest shift is shorter than a clip."""
        self.validate(prefix)
        if not self.superhard_max_shift_s < clip_s:
            _fail(f"{prefix}.superhard_max_shift_s",
                  f"< the clip duration ({clip_s} s) so that super-hard windows overlap",
                  self.superhard_max_shift_s)


@dataclass(frozen=True)
class CurriculumConfig:
    """Paper default: easy negatives only for epochs 1-50, then easy:hard 3:1 (to epoch 90)."""

    easy_only_epochs: int = 50  # epochs (1-based, inclusive) that use easy negatives only
    hard_fraction: float = 0.25  # afterwards, share of negatives that are hard (3:1 -> 0.25)
    superhard_share: float = 0.0  # share of those hard negatives that are super-hard

    def validate(self, prefix: str = "curriculum") -> None:
        _at_least(f"{prefix}.easy_only_epochs", self.easy_only_epochs, 0)
        _in_range(f"{prefix}.hard_fraction", self.hard_fraction, 0.0, 1.0)
        _in_range(f"{prefix}.superhard_share", self.superhard_share, 0.0, 1.0)


@dataclass(frozen=True)
class MultiwayConfig:
    """Items for multi-way matching (``train.loss: multiway``, ``model.kind: framesync``): a
    video segment and the audio around it, all on the video frame grid (``data.clip.fps``).

    Each scoring window of ``win_frames`` (every ``win_stride`` frames inside an item of
    ``n_frames``) must pick its in-sync audio among shifts of -max_shift..+max_shift frames of
    the SAME recording. The video input is a grey crop of the motion region (or of the whole
    frame), found on frames with a ``region_short_side``-pixel short side, resized to ``size``.
    """

    n_frames: int = 45  # scored video frames per item (1.8 s at 25 fps)
    win_frames: int = 15  # one multi-way softmax per window of this many frames (0.6 s)
    win_stride: int = 5
    max_shift: int = 15  # candidates -15..+15 frames (+-600 ms at 25 fps)
    margin: int = 4  # context frames on both ends of an item, never scored
    # "face": the mouth of the largest frontal face (OpenCV), the motion region when there is
    # none; "motion": square of largest frame-difference energy; "full": the whole frame
    region: str = "motion"
    box_fraction: float = 0.5  # side of the motion square, as a share of the shorter side
    region_short_side: int = 160  # frames are decoded this small to find the region
    size: int = 32  # the region is resized to size x size grey pixels
    jitter: int = 4  # training: random crop of size from size + jitter (0: none)
    # training: > 0 crops a random square of size * (1 +- crop_scale) pixels (at most
    # size + jitter) instead, resized to size, so the net sees the region a little larger or
    # smaller, as a box found per window at test time may be (0: plain jitter crops)
    crop_scale: float = 0.0
    audio_mix: float = 0.3  # training: another clip's audio mixed in at this level (0: none)
    flip: bool = True  # training: random horizontal flips
    # items wherever the video fits, not only where every candidate's audio does: the first
    # and last max_shift frames of each clip are scored too, and clips shorter than an item
    # (down to n_frames + max_shift + 2 * margin frames) train as well; candidates whose audio
    # would fall outside the clip are left out of the softmax
    whole_clips: bool = False
    # training: > 0 plays each item at a random speed in [1 - speed, 1 + speed], both streams
    # resampled together (sync kept exactly; new tempi of speech and motion from few clips)
    speed: float = 0.0

    def validate(self, prefix: str = "data.multiway") -> None:
        for name in ("n_frames", "win_frames", "win_stride", "max_shift", "size",
                     "region_short_side"):
            _at_least(f"{prefix}.{name}", getattr(self, name), 1)
        for name in ("margin", "jitter"):
            _at_least(f"{prefix}.{name}", getattr(self, name), 0)
        if self.win_frames > self.n_frames:
            _fail(f"{prefix}.win_frames", f"<= {prefix}.n_frames ({self.n_frames})",
                  self.win_frames)
        _choice(f"{prefix}.region", self.region, REGIONS)
        _in_range(f"{prefix}.box_fraction", self.box_fraction, 0.0, 1.0, lo_open=True)
        _in_range(f"{prefix}.audio_mix", self.audio_mix, 0.0, math.inf)
        _in_range(f"{prefix}.crop_scale", self.crop_scale, 0.0, 0.5)
        _in_range(f"{prefix}.speed", self.speed, 0.0, 0.5)
        if self.speed > 0 and self.whole_clips:
            _fail(f"{prefix}.speed", f"0 with {prefix}.whole_clips (a stretched item needs the "
                  "clip's audio around it)", self.speed)


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
    # Files of one group stay on one side of the split: a regex over the file name (its first
    # group, or the whole match, names the group), or a CSV file (name ends in .csv) with the
    # header "file,group". Files not matched or not listed are each their own group.
    group_by: str | None = None
    multiway: MultiwayConfig = field(default_factory=MultiwayConfig)  # model.kind: framesync
    # seed of the train/validation split; None: train.seed. Runs that differ only in their
    # initialisation (members of an ensemble) keep one split with it.
    split_seed: int | None = None
    # A folder of videos added to the training side only: never split, never validated on
    # (e.g. `avts synth` videos trained beside real ones, so that what they teach is kept).
    train_extra: str | None = None
    # Known offsets of training files, undone when they are read (avts.data.offsets): a CSV
    # with columns file and offset_ms, or an `avts scan` output; positive: audio late.
    known_offsets: str | None = None

    def validate(self, prefix: str = "data", check_files: bool = True) -> None:
        self.clip.validate(f"{prefix}.clip")
        self.mel.validate(f"{prefix}.mel")
        self.multiway.validate(f"{prefix}.multiway")
        self.pairs.validate_for_clip(self.clip.duration_s, f"{prefix}.pairs")
        if self.min_duration_s is not None and not self.min_duration_s >= self.clip.duration_s:
            _fail(f"{prefix}.min_duration_s",
                  f"null or >= {prefix}.clip.duration_s ({self.clip.duration_s})",
                  self.min_duration_s)
        _in_range(f"{prefix}.val_fraction", self.val_fraction, 0.0, 1.0, lo_open=True,
                  hi_open=True)
        if self.group_by is not None:
            _check_group_by(f"{prefix}.group_by", self.group_by, check_files)
        if self.split_seed is not None:
            _at_least(f"{prefix}.split_seed", self.split_seed, 0)
        if self.train_extra is not None:
            _check_folder(f"{prefix}.train_extra", self.train_extra, check_files)
        if self.known_offsets is not None:
            _check_file(f"{prefix}.known_offsets", self.known_offsets, check_files,
                        "a CSV with columns file and offset_ms, or an `avts scan` output")


@dataclass(frozen=True)
class ModelConfig:
    """Two-stream network. Defaults are paper-sized (MC3-18 video net, VGG-style audio net).

    ``kind: framesync`` is the frame-rate sync model instead (avts.models.framesync): per-frame
    features of both streams, trained by multi-way matching; ``framesync_widths`` are its
    channels, ``embed_dim`` its feature size; the other keys apply to ``twostream`` only."""

    kind: str = "twostream"  # "twostream" (paper) or "framesync"
    framesync_widths: tuple[int, ...] = (16, 32, 48, 64)
    framesync_members: int = 1  # > 1: an ensemble of that many nets (mean of their cosines)
    # Dilations of the kernel-5 temporal convs on the per-frame features: the reach in frames
    # is 1 + 4 * sum. Video (1, 1): 9 frames (360 ms); audio: none beyond its 2D convs.
    framesync_video_dilations: tuple[int, ...] = (1, 1)
    framesync_audio_dilations: tuple[int, ...] = ()
    video_arch: str = "mc3"  # "mc3": 3D stem + 3D first stage, then 2D (1x3x3); "r3d": all 3D
    video_stem_channels: int = 64
    video_widths: tuple[int, ...] = (64, 128, 256, 512)  # channels of the residual stages
    video_blocks: tuple[int, ...] = (2, 2, 2, 2)  # basic blocks per stage (ResNet-18)
    audio_widths: tuple[int, ...] = (64, 128, 256, 512)  # VGG stages: 2 convs each, then pool
    embed_dim: int = 128  # both streams project to this size; embeddings are L2-normalised
    pool: str = "global"  # "global": average over time and space (paper); "time": keep time axis
    pool_time_steps: int = 4  # with pool="time", the time axis is resampled to this many steps
    # How the video net's last map is reduced over space: "mean" (paper) or "max", which keeps
    # a small sounding object's response from being averaged away by the background (as in
    # Arandjelovic & Zisserman 2018, "Objects that sound").
    video_space_pool: str = "mean"
    dropout: float = 0.0

    def validate(self, prefix: str = "model") -> None:
        _choice(f"{prefix}.kind", self.kind, MODEL_KINDS)
        if len(self.framesync_widths) != 4 or min(self.framesync_widths) < 1:
            _fail(f"{prefix}.framesync_widths", "a list of 4 integers >= 1",
                  list(self.framesync_widths))
        _at_least(f"{prefix}.framesync_members", self.framesync_members, 1)
        for name in ("framesync_video_dilations", "framesync_audio_dilations"):
            values = getattr(self, name)
            if any(d < 1 for d in values):
                _fail(f"{prefix}.{name}", "a list of integers >= 1", list(values))
        _choice(f"{prefix}.video_arch", self.video_arch, VIDEO_ARCHS)
        _choice(f"{prefix}.pool", self.pool, POOL_MODES)
        _choice(f"{prefix}.video_space_pool", self.video_space_pool, SPACE_POOLS)
        for name in ("video_stem_channels", "embed_dim", "pool_time_steps"):
            _at_least(f"{prefix}.{name}", getattr(self, name), 1)
        for name in ("video_widths", "video_blocks", "audio_widths"):
            values = getattr(self, name)
            if not values or min(values) < 1:
                _fail(f"{prefix}.{name}", "a non-empty list of integers >= 1", list(values))
        if len(self.video_blocks) != len(self.video_widths):
            _fail(f"{prefix}.video_blocks", f"as long as {prefix}.video_widths "
                  f"({len(self.video_widths)} stages)", list(self.video_blocks))
        _in_range(f"{prefix}.dropout", self.dropout, 0.0, 1.0, hi_open=True)


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
    # "plateau" (paper): the factor above; "cosine": lr * (1 + cos(pi * e / epochs)) / 2 after
    # epoch e, ending near 0 (short runs end on a low rate without waiting for a plateau)
    lr_schedule: str = "plateau"
    grad_clip_norm: float = 5.0
    loss: str = "contrastive"  # "contrastive" (paper), "cross_entropy", "infonce", "multiway"
    margin: float = 0.99  # eta of the contrastive loss
    temperature: float = 0.1  # multi-way matching: cosine / temperature
    in_batch_negatives: bool = False  # also use other videos' audio in the batch as easy negatives
    num_workers: int = 2  # data-loading processes
    device: str = "auto"  # "auto" (cuda, mps, cpu), "cpu", "cuda", "cuda:N" or "mps"
    seed: int = 0
    # Warm start: a new run begins from this checkpoint's network weights (same model shape;
    # optimizer and schedule start afresh), e.g. a model pretrained on synthetic videos.
    init_from: str | None = None
    # model.kind framesync: what picks best.pt. "top1": the multi-way top-1 on validation
    # windows; "offset": the whole-clip offset search on the validation clips (mean of the
    # share within one frame and the share with the right sign), what `avts sync` does
    select_by: str = "top1"

    def validate(self, prefix: str = "train") -> None:
        for name in ("epochs", "batch_size", "val_samples"):
            _at_least(f"{prefix}.{name}", getattr(self, name), 1)
        _at_least(f"{prefix}.samples_per_epoch", self.samples_per_epoch, self.batch_size,
                  f"{prefix}.batch_size ({self.batch_size})")
        _choice(f"{prefix}.optimizer", self.optimizer, OPTIMIZERS)
        _choice(f"{prefix}.loss", self.loss, LOSS_NAMES)
        _choice(f"{prefix}.lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _choice(f"{prefix}.select_by", self.select_by, ("top1", "offset"))
        _positive(f"{prefix}.lr", self.lr)
        _in_range(f"{prefix}.weight_decay", self.weight_decay, 0.0, math.inf)
        _at_least(f"{prefix}.plateau_patience", self.plateau_patience, 0)
        _in_range(f"{prefix}.plateau_factor", self.plateau_factor, 0.0, 1.0, lo_open=True,
                  hi_open=True)
        _positive(f"{prefix}.grad_clip_norm", self.grad_clip_norm)
        _positive(f"{prefix}.margin", self.margin)
        _positive(f"{prefix}.temperature", self.temperature)
        _at_least(f"{prefix}.num_workers", self.num_workers, 0)
        if not _DEVICE_RE.fullmatch(self.device):
            _fail(f"{prefix}.device", "one of auto, cpu, cuda, cuda:N, mps", self.device)
        _at_least(f"{prefix}.seed", self.seed, 0)  # numpy generators take no negative seeds
        if self.init_from is not None and not self.init_from:
            _fail(f"{prefix}.init_from", "null or the path of a checkpoint", self.init_from)


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)

    def validate(self, check_files: bool = True) -> None:
        """Raise ``ConfigError`` naming the first bad key, its value and what is allowed.
        ``check_files=False`` skips checks of files on this machine (the group CSV), for
        configs read back from a checkpoint."""
        self.data.validate(check_files=check_files)
        self.model.validate()
        self.train.validate()
        self.curriculum.validate()
        self._validate_kind()

    def _validate_kind(self) -> None:
        """The frame-rate model and multi-way matching go together, on a 4:1 mel:frame grid."""
        framesync = self.model.kind == "framesync"
        if framesync != (self.train.loss == "multiway"):
            _fail("train.loss", "multiway exactly when model.kind is framesync "
                  f"(model.kind is {self.model.kind})", self.train.loss)
        if not framesync:
            return
        mel = self.data.mel
        if mel.hop_samples * 4 * self.data.clip.fps != mel.sr_hz:
            fps = mel.sr_hz / 4 / mel.hop_samples
            _fail("data.clip.fps", f"sr_hz / (4 * hop_samples) = {fps:g} "
                  "with model.kind framesync (its audio net strides the mel frames by 4)",
                  self.data.clip.fps)


def tiny() -> Config:
    """CPU-sized preset used by ``avts demo``: small frames, narrow nets, a short curriculum."""
    return Config(
        data=DataConfig(
            # 8 fps, 40x40, 20 ms hop: 2.6x cheaper per step than the earlier 12 fps / 48x48 /
            # 10 ms input; batch 8 with a cosine rate leaves the initial plateau in a few epochs
            # where batch 32 took 10-13; the video net's spatial max makes that more reliable
            # across synthetic worlds. With the demo's world rendered at these 8 fps (a contact
            # on every sampled frame) it leaves it by epoch 3-4, so 10 epochs suffice (README,
            # "What the demo reaches").
            clip=ClipConfig(duration_s=1.0, fps=8.0, height=40, width=40),
            mel=MelConfig(n_mels=32, hop_samples=320),
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
            video_space_pool="max",
        ),
        train=TrainConfig(
            epochs=10,
            batch_size=8,
            samples_per_epoch=1536,
            val_samples=256,
            optimizer="adamw",
            lr=5e-4,
            weight_decay=1e-4,
            lr_schedule="cosine",
            plateau_patience=3,
            in_batch_negatives=True,
            num_workers=0,
        ),
        curriculum=CurriculumConfig(easy_only_epochs=3, hard_fraction=0.5),
    )


PRESETS = {"paper": Config, "tiny": tiny}


# --- YAML and overrides -------------------------------------------------------------------


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


def from_dict(data: dict[str, Any], base: Config | None = None,
              check_files: bool = True) -> Config:
    """Apply a nested mapping (as read from YAML) on top of ``base`` (default: paper config)."""
    cfg = _merge(Config, base if base is not None else Config(), data or {})
    cfg.validate(check_files=check_files)
    return cfg


def _read_yaml(path: str | Path, base: Config) -> Config:
    """``base`` (or the preset the file names) updated by the file's keys; not yet validated."""
    try:
        text = Path(path).read_text()
        data = yaml.safe_load(text)
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}".splitlines()[0]) from err
    if isinstance(data, dict) and "preset" in data:
        name = data.pop("preset")
        if name not in PRESETS:
            raise ConfigError(f"unknown preset {name!r} in {path} (known: {', '.join(PRESETS)})")
        base = PRESETS[name]()
    return _merge(Config, base, data or {})


def _read_overrides(cfg: Config, overrides: Sequence[str]) -> Config:
    """``cfg`` with ``section.key=value`` strings applied in order; not yet validated, so that
    only the final combination has to make sense."""
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
        cfg = _merge(Config, cfg, nested)
    return cfg


def load_yaml(path: str | Path, base: Config | None = None) -> Config:
    cfg = _read_yaml(path, base if base is not None else Config())
    cfg.validate()
    return cfg


def apply_overrides(cfg: Config, overrides: Sequence[str]) -> Config:
    """Apply ``section.key=value`` strings; values are parsed as YAML (``1e-3``, ``[8, 16]``)."""
    cfg = _read_overrides(cfg, overrides)
    cfg.validate()
    return cfg


def load(path: str | Path | None = None, overrides: Sequence[str] = (),
         preset: str | None = None) -> Config:
    """Paper defaults (or ``preset``), then a YAML file, then overrides; validated once, at the
    end, so that a file and the overrides may change keys that depend on each other."""
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
    cfg = PRESETS[preset]() if preset else Config()
    if path:
        cfg = _read_yaml(path, cfg)
    cfg = _read_overrides(cfg, overrides)
    cfg.validate()
    return cfg


def save_yaml(cfg: Config, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))


# --- validation ----------------------------------------------------------------------------

GROUP_CSV_SUFFIX = ".csv"


def is_group_csv(group_by: str) -> bool:
    """``data.group_by`` names a CSV file (``file,group``) rather than a regex."""
    return group_by.lower().endswith(GROUP_CSV_SUFFIX)


def _fail(key: str, allowed: str, value: Any) -> None:
    raise ConfigError(f"{key} must be {allowed}; got {value!r}")


def _choice(key: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        _fail(key, f"one of {', '.join(choices)}", value)


def _at_least(key: str, value: int, low: int, low_name: str | None = None) -> None:
    if not value >= low:
        _fail(key, f">= {low_name or low}", value)


def _positive(key: str, value: float, what: str = "> 0") -> None:
    if not (math.isfinite(value) and value > 0):
        _fail(key, what, value)


def _in_range(key: str, value: float, lo: float, hi: float, lo_open: bool = False,
              hi_open: bool = False, what: str | None = None) -> None:
    """``value`` in [lo, hi], an open end where asked; NaN never is."""
    ok = (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
    if not ok or math.isnan(value):
        interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        _fail(key, what or f"in {interval}", value)


def _check_folder(key: str, folder: str, check_files: bool) -> None:
    if not folder:
        _fail(key, "null or a folder of videos", folder)
    if check_files and not Path(folder).expanduser().is_dir():
        raise ConfigError(f"{key}: folder {folder} not found")


def _check_file(key: str, path: str, check_files: bool, what: str) -> None:
    if not path:
        _fail(key, f"null or the path of {what}", path)
    if check_files and not Path(path).expanduser().is_file():
        raise ConfigError(f"{key}: file {path} not found ({what})")


def _check_group_by(key: str, group_by: str, check_files: bool) -> None:
    if not group_by:
        _fail(key, "null, a regex over the file name or the path of a CSV file", group_by)
    if is_group_csv(group_by):
        if check_files and not Path(group_by).expanduser().is_file():
            raise ConfigError(f"{key}: group file {group_by} not found (a CSV with the header "
                              "'file,group')")
        return
    try:
        re.compile(group_by)
    except re.error as err:
        raise ConfigError(f"{key} must be a valid regex over the file name; got {group_by!r} "
                          f"({err})") from err
