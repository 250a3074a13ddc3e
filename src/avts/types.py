"""Frozen result dataclasses shared across the package. Each has ``to_dict()`` for JSON."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        return _jsonable(self)


@dataclass(frozen=True)
class MediaInfo(_ToDict):
    """What ``avts.media.probe`` learns about a file. Times are in seconds."""

    path: Path
    duration_s: float  # overlap of the audio and video streams (what is usable for sync)
    container: str  # FFmpeg format name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    has_video: bool
    has_audio: bool
    video_codec: str | None = None
    video_fps: float | None = None  # measured from presentation timestamps, not the header
    width: int | None = None
    height: int | None = None
    video_start_s: float | None = None  # first video presentation time
    video_duration_s: float | None = None
    audio_codec: str | None = None
    audio_sr_hz: int | None = None
    audio_channels: int | None = None
    audio_start_s: float | None = None  # first audio presentation time
    audio_duration_s: float | None = None

    @property
    def start_s(self) -> float:
        """Start of the usable span: the later of the two stream starts (0 when unknown)."""
        starts = [s for s in (self.video_start_s, self.audio_start_s) if s is not None]
        return max(starts) if starts else 0.0

@dataclass(frozen=True)
class SkippedFile(_ToDict):
    """A file the corpus index left out, with the one-line reason."""

    path: Path
    reason: str


@dataclass(frozen=True)
class SyncAccuracy(_ToDict):
    """Sync classification accuracy on held-out pairs, one number per negative kind."""

    easy: float  # positives vs. audio from another video
    hard: float  # positives vs. same video, non-overlapping window
    superhard: float  # positives vs. same video, small overlapping shift
    positive: float  # accuracy on positives alone (recall at the threshold)
    threshold: float  # distance threshold chosen on validation data
    n_pairs: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class EpochMetrics(_ToDict):
    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float  # mean of the easy and hard accuracies below (model selection metric)
    val_accuracy_easy: float  # positives vs. easy negatives, at the threshold chosen on val
    val_accuracy_hard: float  # positives vs. hard negatives, at the same threshold
    threshold: float  # pair-score threshold chosen on the validation pairs
    lr: float
    clips_per_s: float
    hard_fraction: float  # share of negatives that were hard during this epoch
    skipped_samples: int


@dataclass(frozen=True)
class TrainResult(_ToDict):
    run_dir: Path
    last_checkpoint: Path
    best_checkpoint: Path
    epochs: list[EpochMetrics]
    train_seconds: float
    skipped_files: list[SkippedFile]
    stopped_early: str | None = None  # reason, when training ended before the last epoch


@dataclass(frozen=True)
class DemoSummary(_ToDict):
    sync_accuracy: SyncAccuracy
    checkpoint: Path
    train_seconds: float
    total_seconds: float
    plot: Path
    n_train_videos: int
    n_eval_videos: int


@dataclass(frozen=True)
class SyncWindow(_ToDict):
    """One stretch of the file with its own offset estimate (the timeline of ``SyncResult``)."""

    start_s: float  # start of the stretch on the file's timeline
    end_s: float  # end of the stretch (its last window's end)
    offset_ms: float | None  # positive: the audio is late; None when the stretch had no signal
    confidence: float  # in [0, 1], same calibration as ``SyncResult.confidence``


@dataclass(frozen=True)
class SyncResult(_ToDict):
    """Audio/video offset of one file. **Positive ``offset_ms`` means the audio is late** (a
    sound is heard after its event is seen); negative means the audio is early."""

    file: Path
    offset_ms: float | None  # None when the verdict is "inconclusive" for lack of signal
    offset_frames: float | None  # offset_ms in frames of the file's own frame rate
    fps: float  # the file's measured video frame rate
    confidence: float  # calibrated: estimated P(|error| <= 1 frame), in [0, 1]
    score: float  # the raw score confidence came from (peak prominence of the mean curve)
    verdict: str  # "in-sync", "out-of-sync" or "inconclusive"
    method: str  # "avts" (learned embeddings) or "baseline" (onsets vs motion)
    timeline: tuple[SyncWindow, ...]  # per-stretch estimates, in time order
    drift_ms_per_min: float | None  # slope of a significant linear drift, else None
    search_ms: float = 0.0  # the offsets searched were -search_ms .. +search_ms
    tolerance_early_ms: float = 90.0  # audio may be early by this much and still be in sync
    tolerance_late_ms: float = 185.0  # audio may be late by this much and still be in sync
    n_windows: int = 0  # analysis windows that carried signal and were used
    n_windows_total: int = 0  # analysis windows placed across the file
    reason: str | None = None  # why the verdict is "inconclusive"

    @property
    def late_stream(self) -> str | None:
        """"audio" or "video" (the stream that lags), None without an estimate or at 0."""
        if self.offset_ms is None or self.offset_ms == 0:
            return None
        return "audio" if self.offset_ms > 0 else "video"


@dataclass(frozen=True)
class FixResult(_ToDict):
    """``fix``: what was applied to write ``dst`` from ``src``, and what ``dst`` measures."""

    src: Path
    dst: Path
    applied_offset_ms: float  # the offset undone (positive: late audio was advanced by it)
    measured_before: SyncResult | None  # the measurement of ``src`` (with --auto), else None
    measured_after: SyncResult | None  # the measurement of ``dst``, None when not measured
    residual_offset_ms: float | None  # ``measured_after.offset_ms``: what is left
    video_packets_identical: bool  # dst's video packets are byte for byte those of src
    note: str | None = None  # why measured_after is None although a measurement was asked for


@dataclass(frozen=True)
class BenchSyncCase(_ToDict):
    """One shifted copy measured by one method in ``bench-sync``."""

    file: Path  # the in-sync original
    copy: Path  # the shifted copy that was measured
    true_offset_ms: float  # offset introduced (positive: audio late)
    method: str
    fps: float  # the original's measured frame rate; errors are scored in its frames
    measured_offset_ms: float | None  # None when the method gave no estimate
    error_ms: float | None  # measured - true
    verdict: str | None
    confidence: float | None
    error: str | None = None  # one-line reason when the measurement failed


@dataclass(frozen=True)
class BenchSyncScore(_ToDict):
    """Accuracy of one method over a set of shifted copies (a miss when no estimate)."""

    n: int  # copies measured
    within_1_frame: float | None  # share with |error| <= 1 frame (None when n == 0)
    within_2_frames: float | None  # share with |error| <= 2 frames
    sign_accuracy: float | None  # share of nonzero offsets whose sign was right
    n_signed: int  # copies with a nonzero offset
    n_failed: int  # copies without an estimate (inconclusive or error)
    median_abs_error_ms: float | None


@dataclass(frozen=True)
class BenchSyncResult(_ToDict):
    """``bench-sync``: scores per method, overall and per true offset, plus every case."""

    offsets_ms: list[float]
    methods: list[str]
    files: list[Path]  # originals that were shifted and measured
    overall: dict[str, BenchSyncScore]  # method -> score over every copy
    per_offset: dict[str, dict[str, BenchSyncScore]]  # method -> "+200" -> score
    cases: list[BenchSyncCase]
    notes: list[str]  # e.g. a method left out for want of a checkpoint, files skipped
