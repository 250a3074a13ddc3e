"""Frozen result dataclasses shared across the package. Each has ``to_dict()`` for JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avts._serialize import to_plain


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


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
    # counter-clockwise display rotation applied to decoded frames; width/height are as shown
    rotation_deg: int = 0

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
class SyncEvaluation(SyncAccuracy):
    """``SyncAccuracy`` on a folder of videos (``avts eval-sync``), with what to know about it."""

    skipped_files: list[SkippedFile] = field(default_factory=list)  # files left out, with reasons
    seen_in_training: list[Path] = field(default_factory=list)  # videos the checkpoint trained on
    seen_in_validation: list[Path] = field(default_factory=list)  # ... or chose its threshold on
    overlap_warning: str | None = None  # one line when either list above is not empty


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
    # model.kind framesync only (None otherwise): share of multi-way scoring windows whose best
    # shift is the true one, on the epoch's training items and on fixed validation items (the
    # model selection metric of that kind)
    train_top1: float | None = None
    val_top1: float | None = None
    # model.kind framesync: the whole-clip offset search on the validation clips shifted by
    # -480, -160, 0, +160, +480 ms: share within one frame, share of right signs
    val_offset_within1: float | None = None
    val_offset_sign: float | None = None


@dataclass(frozen=True)
class EpochEstimate(_ToDict):
    """Expected length of one epoch, measured over the first training steps of a run."""

    epoch: int  # the epoch whose first steps were timed
    steps_timed: int
    clips_per_s: float  # training clips per second over the timed steps
    seconds_per_epoch: float  # training steps plus validation, at that rate
    device: str  # "cpu", "cuda" or "mps"


@dataclass(frozen=True)
class TrainResult(_ToDict):
    run_dir: Path
    last_checkpoint: Path
    best_checkpoint: Path
    epochs: list[EpochMetrics]
    train_seconds: float
    skipped_files: list[SkippedFile]


@dataclass(frozen=True)
class DemoSummary(_ToDict):
    sync_accuracy: SyncAccuracy
    checkpoint: Path
    train_seconds: float
    total_seconds: float
    plot: Path
    n_train_videos: int
    n_eval_videos: int


@dataclass(frozen=True, eq=False)
class Embeddings(_ToDict):
    """Per-window features of one file or array pair (``avts.embed_file`` and friends).

    Window ``i`` of a stream covers ``[ts[i], ts[i] + window_s)`` seconds on the file's
    timeline. A stream the layer does not cover, or the input lacks, is an empty ``(0, 0)``
    array. ``to_dict()`` summarises shapes instead of listing numbers.
    """

    audio: Any  # np.ndarray (n_audio_windows, D) float32
    video: Any  # np.ndarray (n_video_windows, D) float32
    audio_ts: Any  # np.ndarray (n_audio_windows,) float64, window starts in seconds
    video_ts: Any  # np.ndarray (n_video_windows,) float64, window starts in seconds
    layer: str  # "embedding", "backbone", "stageK", "audio.conv5", ...
    window_s: float  # window length (the model's clip duration)
    hop_s: float  # distance between window starts
    path: Path | None = None  # the file, when embedded from one

    def to_dict(self) -> dict[str, Any]:
        return {"path": to_plain(self.path), "layer": self.layer, "window_s": self.window_s,
                "hop_s": self.hop_s, "audio_shape": list(self.audio.shape),
                "video_shape": list(self.video.shape)}


@dataclass(frozen=True)
class EmbedReport(_ToDict):
    """What ``avts.embed_files`` did: one ``.npz`` per input written, found, or failed."""

    written: list[Path]  # outputs written by this run
    existing: list[Path]  # outputs already there (resumed runs skip their inputs)
    failed: list[SkippedFile]  # inputs that wrote nothing, with the reason


@dataclass(frozen=True)
class ProbeScore(_ToDict):
    """Cross-validated clip accuracy of a linear SVM on one kind of feature."""

    accuracy: float  # mean over folds
    folds: list[float]  # accuracy on each test fold, in fold order
    feature_dim: int  # features per window


@dataclass(frozen=True)
class AudioProbeResult(_ToDict):
    """``avts.probe_audio``: the checkpoint's features against the baselines, same folds."""

    accuracy: float  # the checkpoint's features, mean over folds
    folds: list[float]
    baselines: dict[str, ProbeScore]  # "random_init" (same shape, untrained), "log_mel_stats"
    checkpoint: str  # path, or "random"
    layer: str
    feature_dim: int
    classes: list[str]
    n_clips: int  # clips used (after leaving out unreadable and silent ones)
    n_windows: int  # windows over all used clips
    fold_source: str  # "given (...)" from the CSV, or "stratified (...)"
    left_out: list[SkippedFile]  # unreadable or silent files, with the reason


@dataclass(frozen=True)
class FinetuneEpoch(_ToDict):
    epoch: int
    train_loss: float
    train_clip_accuracy: float
    test_clip_accuracy: float  # each test clip on its own
    test_video_accuracy: float  # argmax of the mean softmax over a video's clips
    lr: float
    seconds: float


@dataclass(frozen=True)
class FinetuneResult(_ToDict):
    """``avts.finetune_video``: accuracies of the last epoch on the test videos."""

    clip_accuracy: float
    video_accuracy: float
    init: str  # checkpoint path, or "scratch"
    classes: list[str]
    split: str  # "official split 1 (...)" or "stratified by class (...)"
    n_train_videos: int
    n_test_videos: int
    run_dir: Path  # holds last.pt, best.pt (best test video accuracy) and metrics.jsonl
    epochs: list[FinetuneEpoch]
    train_seconds: float
    skipped_files: list[SkippedFile]


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
    # share of the used windows whose region was a detected face's mouth (frame-rate models:
    # their accuracy differs most by it); None for methods that pick no region
    face_share: float | None = None

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
    score: float | None = None  # the raw score the confidence came from (to refit a map)
    face_share: float | None = None  # SyncResult.face_share


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


@dataclass(frozen=True)
class ScanSummary(_ToDict):
    """``scan``: what one run added to its output file (one row per file)."""

    out: Path  # the results file (JSON lines or CSV)
    format: str  # "jsonl" or "csv"
    n_files: int  # input files found
    n_measured: int  # files measured in this run (a row with a verdict each)
    n_errors: int  # files that could not be measured in this run (a row with "error" each)
    n_skipped: int  # files already in the output, left alone (resume)
    verdicts: dict[str, int]  # verdict -> files measured in this run
    elapsed_s: float  # wall-clock time of this run
