"""The public Python API. Every function returns a dataclass or a path; nothing prints."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from avts.config import Config, apply_overrides, load_yaml, save_yaml, tiny
from avts.errors import ConfigError, DatasetError, RunExistsError
from avts.types import DemoSummary, MediaInfo, SkippedFile, SyncAccuracy, TrainResult

if TYPE_CHECKING:  # heavy imports stay lazy at run time
    from avts.data.dataset import ClipStore

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total)
StageProgress = Callable[[str, int, int], None]  # (stage, done, total)


def _stage(progress: StageProgress | None, name: str) -> Progress | None:
    return None if progress is None else (lambda done, total: progress(name, done, total))


def probe(path: str | Path) -> MediaInfo:
    """Streams, durations, measured frame rate and start times of one media file."""
    from avts.media import probe as _probe

    return _probe(path)


def synthesize(out_dir: str | Path, num_videos: int, seed: int = 0,
               progress: Progress | None = None) -> list[Path]:
    """Write ``num_videos`` synthetic H.264/AAC videos plus ``labels.csv`` and ``events.csv``."""
    from avts.data.synthetic import synthesize as _synthesize

    if num_videos < 1:
        raise ConfigError(f"the number of videos must be at least 1, got {num_videos}")
    return _synthesize(out_dir, num_videos, seed, progress=progress)


def load_config(path: str | Path | None = None, overrides: Sequence[str] = (),
                preset: str | None = None) -> Config:
    """Paper defaults (or a preset), then a YAML file, then ``section.key=value`` overrides."""
    from avts.config import PRESETS

    base = PRESETS[preset]() if preset else Config()
    cfg = load_yaml(path, base=base) if path else base
    return apply_overrides(cfg, list(overrides))


def parameter_counts(cfg: Config) -> dict[str, int]:
    """Trainable parameters of the model that ``cfg`` describes (video, audio, heads, total)."""
    from avts.models import count_parameters
    from avts.train.trainer import build_networks

    return count_parameters(build_networks(cfg)[0])


@dataclass
class PreparedData:
    train: ClipStore  # training videos, decoded
    val: ClipStore  # validation videos (other files than training)
    skipped: list[SkippedFile]  # files left out, with the reason


def prepare_data(data_dir: str | Path, cfg: Config, progress: StageProgress | None = None
                 ) -> PreparedData:
    """Index a folder, split it by video, and load both sides (bad files are skipped).
    ``progress(stage, done, total)`` reports the stages "probing" and "loading"."""
    from avts.data.corpus import index_corpus, split_by_video
    from avts.data.dataset import ClipStore
    from avts.data.pairs import min_duration_for

    min_s = cfg.data.min_duration_s or min_duration_for(cfg.data.clip.duration_s, cfg.data.pairs)
    index = index_corpus(data_dir, min_s, cache_dir=cfg.data.cache_dir,
                         progress=_stage(progress, "probing"))
    if len(index.videos) < 2:
        raise DatasetError(f"{data_dir}: need at least 2 usable videos of >= {min_s:.1f} s with "
                           f"audio and video, found {len(index.videos)} "
                           f"({len(index.skipped)} skipped)")
    train_infos, val_infos = split_by_video(index.videos, cfg.data.val_fraction, cfg.train.seed)
    sr = cfg.data.mel.sr_hz
    n_all = len(train_infos) + len(val_infos)
    load = _stage(progress, "loading")
    train = ClipStore(train_infos, cfg.data.clip, sr, preload=cfg.data.preload,
                      progress=load and (lambda done, _total: load(done, n_all)))
    val = ClipStore(val_infos, cfg.data.clip, sr, preload=cfg.data.preload,
                    progress=load and (lambda done, _total: load(len(train_infos) + done, n_all)))
    skipped = list(index.skipped) + train.failed + val.failed
    if len(train.videos) < 2 or not val.videos:
        raise DatasetError(f"{data_dir}: too few videos decode for a train/validation split "
                           f"({len(train.videos)} train, {len(val.videos)} validation)")
    return PreparedData(train, val, skipped)


def train(data_dir: str | Path, run_dir: str | Path, cfg: Config, resume: bool = False,
          on_step=None, on_epoch=None, data: PreparedData | None = None) -> TrainResult:
    """Train the two-stream model on a folder of videos; writes ``last.pt``/``best.pt``,
    ``metrics.jsonl``, TensorBoard logs, ``config.yaml``, ``skipped.json`` and ``curves.png``."""
    from avts.report.plots import plot_training
    from avts.train.trainer import Callbacks, Trainer, build_networks

    build_networks(cfg)  # fail on a bad model setting before any data is decoded
    run_dir = Path(run_dir)
    if not resume and (run_dir / "last.pt").exists():
        raise RunExistsError(f"{run_dir} already holds a training run; continue it with "
                             "--resume or choose another output folder")
    run_dir.mkdir(parents=True, exist_ok=True)
    data = data or prepare_data(data_dir, cfg)
    (run_dir / "skipped.json").write_text(json.dumps([s.to_dict() for s in data.skipped], indent=1))
    save_yaml(cfg, run_dir / "config.yaml")
    trainer = Trainer(cfg, data.train, data.val, run_dir, Callbacks(on_step, on_epoch))
    if resume:
        trainer.resume()
    t0 = time.perf_counter()
    history = trainer.fit()
    seconds = time.perf_counter() - t0
    plot_training(history, run_dir / "curves.png")
    return TrainResult(run_dir=run_dir, last_checkpoint=trainer.last_path,
                       best_checkpoint=trainer.best_path, epochs=history, train_seconds=seconds,
                       skipped_files=data.skipped)


def load_model(checkpoint: str | Path):
    """Rebuild ``(model, loss_fn, config, threshold)`` from a checkpoint, on the CPU, eval mode."""
    from avts.train.checkpoint import checkpoint_config, load_checkpoint
    from avts.train.trainer import build_networks

    state = load_checkpoint(checkpoint)
    cfg = checkpoint_config(state)
    model, loss_fn = build_networks(cfg)
    model.load_state_dict(state["model"])
    loss_fn.load_state_dict(state["loss"])
    return model.eval(), loss_fn.eval(), cfg, float(state["threshold"])


def evaluate_sync(checkpoint: str | Path, data_dir: str | Path, n_per_kind: int = 256,
                  seed: int = 0, device: str = "auto") -> SyncAccuracy:
    """Sync accuracy on held-out videos for easy, hard and super-hard negatives, at the
    threshold chosen on the training run's validation videos (stored in the checkpoint)."""
    import numpy as np

    from avts.data.corpus import index_corpus
    from avts.data.dataset import ClipStore
    from avts.data.pairs import fixed_eval_pairs, min_duration_for
    from avts.eval.sync import accuracy_by_kind, score_pairs
    from avts.train.trainer import select_device

    model, loss_fn, cfg, threshold = load_model(checkpoint)
    dev = select_device(device)
    clip_s = cfg.data.clip.duration_s
    min_s = cfg.data.min_duration_s or min_duration_for(clip_s, cfg.data.pairs)
    index = index_corpus(data_dir, min_s, cache_dir=cfg.data.cache_dir)
    store = ClipStore(index.videos, cfg.data.clip, cfg.data.mel.sr_hz, preload=cfg.data.preload)
    if len(store.videos) < 2:
        raise DatasetError(f"{data_dir}: need at least 2 usable videos to evaluate, "
                           f"found {len(store.videos)}")
    pairs = fixed_eval_pairs(np.random.default_rng(seed), store.spans, n_per_kind, clip_s,
                             cfg.data.pairs)
    out = score_pairs(model.to(dev), loss_fn.to(dev), store, pairs, cfg.data.mel, dev)
    return accuracy_by_kind(out["score"], out["kind"], threshold)


DEMO_TRAIN_VIDEOS = 240
DEMO_EVAL_VIDEOS = 24


def demo(out_dir: str | Path = "avts-demo", seed: int = 0, cfg: Config | None = None,
         n_train_videos: int = DEMO_TRAIN_VIDEOS, n_eval_videos: int = DEMO_EVAL_VIDEOS,
         on_step=None, on_epoch=None, on_stage: Callable[[str], None] | None = None,
         progress: StageProgress | None = None) -> DemoSummary:
    """Synthesize videos, train the tiny model on the CPU, evaluate on unseen synthetic videos,
    and write ``summary.json`` and ``curves.png`` into ``out_dir``."""
    t_start = time.perf_counter()
    out = Path(out_dir)
    if (out / "run" / "last.pt").exists():
        raise RunExistsError(f"{out} already holds a demo run; choose another --out or delete it")
    cfg = cfg or tiny()
    stage = on_stage or (lambda _msg: None)
    stage("synthesizing videos")
    train_dir, eval_dir = out / "data" / "train", out / "data" / "eval"
    synthesize(train_dir, n_train_videos, seed=seed, progress=_stage(progress, "synthesizing"))
    # A different seed family, so the evaluation videos share nothing with the training ones.
    synthesize(eval_dir, n_eval_videos, seed=seed + 7919,
               progress=_stage(progress, "synthesizing (evaluation)"))
    stage("training")
    data = prepare_data(train_dir, cfg, progress=progress)
    result = train(train_dir, out / "run", cfg, on_step=on_step, on_epoch=on_epoch, data=data)
    stage("evaluating on unseen videos")
    acc = evaluate_sync(result.best_checkpoint, eval_dir, seed=seed)
    from avts.report.plots import plot_training

    plot = plot_training(result.epochs, out / "curves.png")
    summary = DemoSummary(
        sync_accuracy=acc, checkpoint=result.best_checkpoint.resolve(),
        train_seconds=result.train_seconds, total_seconds=time.perf_counter() - t_start,
        plot=plot.resolve(), n_train_videos=n_train_videos,
        n_eval_videos=n_eval_videos)
    (out / "summary.json").write_text(json.dumps(summary.to_dict(), indent=2))
    return summary


# --- offset detection ---------------------------------------------------------------------

CHECKPOINT_ENV = "AVTS_CHECKPOINT"
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "assets" / "default.pt"


def resolve_checkpoint(checkpoint: str | Path | None = None) -> Path | None:
    """The model to use: ``checkpoint``, else ``$AVTS_CHECKPOINT``, else the packaged model."""
    import os

    if checkpoint:
        return Path(checkpoint)
    if os.environ.get(CHECKPOINT_ENV):
        return Path(os.environ[CHECKPOINT_ENV])
    return DEFAULT_CHECKPOINT if DEFAULT_CHECKPOINT.is_file() else None


def _sync_model(checkpoint: str | Path):
    """``(model, scorer, config)`` from ``load_model``: the one place that knows its shape."""
    loaded = load_model(checkpoint)
    if isinstance(loaded, tuple):
        model, scorer, cfg, _threshold = loaded
        return model, scorer, cfg
    return loaded.model, loaded.scorer, loaded.config


def detect_offset(path: str | Path, checkpoint: str | Path | None = None, method: str = "avts",
                  *, search_ms: float = 1000.0, hop_s: float | None = None,
                  segment_s: float = 5.0, tolerance_early_ms: float | None = None,
                  tolerance_late_ms: float | None = None, min_confidence: float = 0.3,
                  progress: Progress | None = None):
    """Audio/video offset of one file as a ``SyncResult``. **Positive ``offset_ms``: the audio
    is late** (a sound is heard after its event is seen).

    ``method="avts"`` slides the audio against the video over ``-search_ms..+search_ms`` and
    compares the learned embeddings (model from ``checkpoint``, ``$AVTS_CHECKPOINT`` or the
    packaged one); ``"baseline"`` correlates audio onsets with motion, without a model.
    Tolerances default to ITU-R BT.1359 acceptability: audio early <= 90 ms, late <= 185 ms.
    """
    from avts.errors import CheckpointError
    from avts.sync.detect import MAX_SEARCH_MS, SyncOptions, detect
    from avts.sync.verdict import Tolerances

    if not 0 < search_ms <= MAX_SEARCH_MS:
        raise ConfigError(f"the search range must be in (0, {MAX_SEARCH_MS:g}] ms, "
                          f"got {search_ms:g}")
    defaults = Tolerances()
    tolerances = Tolerances(
        early_ms=defaults.early_ms if tolerance_early_ms is None else float(tolerance_early_ms),
        late_ms=defaults.late_ms if tolerance_late_ms is None else float(tolerance_late_ms))
    if tolerances.early_ms < 0 or tolerances.late_ms < 0:
        raise ConfigError("tolerances must be >= 0 ms")
    if hop_s is not None and hop_s <= 0:
        raise ConfigError(f"the window spacing must be > 0 s, got {hop_s:g}")
    options = SyncOptions(search_ms=float(search_ms), hop_s=hop_s, segment_s=segment_s,
                          tolerances=tolerances, min_confidence=min_confidence)
    if method == "baseline":
        from avts.sync.baseline import BaselineMethod

        info = probe(path)
        return detect(path, BaselineMethod(info.video_fps or 25.0), options, progress)
    if method != "avts":
        raise ConfigError(f"unknown sync method {method!r} (known: avts, baseline)")
    found = resolve_checkpoint(checkpoint)
    if found is None:
        raise CheckpointError(
            "no model for --method avts: pass --checkpoint FILE or set AVTS_CHECKPOINT (train "
            "one with `avts demo` or `avts train`), or use --method baseline")
    from avts.sync.learned import LearnedMethod

    model, scorer, cfg = _sync_model(found)
    return detect(path, LearnedMethod(model, scorer, cfg.data.clip, cfg.data.mel), options,
                  progress)


# --- fixing an offset, and benchmarking detection on shifted copies -----------------------

if TYPE_CHECKING:
    from avts.types import BenchSyncResult, FixResult


def fix_offset(src: str | Path, dst: str | Path, offset_ms: float | None = None, *,
               checkpoint: str | Path | None = None, method: str = "avts",
               measure: bool = True, progress: StageProgress | None = None,
               **sync_options) -> FixResult:
    """Write ``dst``: ``src`` with its audio moved so that an offset of ``offset_ms`` is undone
    (**positive: the audio is late** and is advanced; negative: it is early and is delayed
    with silence). Video packets are copied bit-exactly; the duration is kept.

    With ``offset_ms=None`` the offset is measured first with ``detect_offset`` (``method``,
    ``checkpoint`` and ``sync_options`` are passed on); an inconclusive measurement raises
    ``InconclusiveOffsetError`` and nothing is written. Unless ``measure=False``, ``dst`` is
    then measured the same way and the residual offset reported. ``dst`` is written to a
    temporary file and renamed; it may never be ``src``.
    """
    from avts.errors import AvtsError, CheckpointError, InconclusiveOffsetError
    from avts.media.remux import check_output_path, shift_audio, video_packets_identical
    from avts.types import FixResult

    src, dst = Path(src), Path(dst)
    check_output_path(src, dst)  # fail before a long measurement, not after it
    measuring = offset_ms is None or measure
    if measuring and method == "avts" and resolve_checkpoint(checkpoint) is None:
        # a missing model must stop us before anything is written, not after
        raise CheckpointError(
            "no model to measure with --method avts: pass --checkpoint FILE or set "
            "AVTS_CHECKPOINT, use --method baseline, or give --offset-ms with --no-measure")

    def measure_file(path: Path, stage: str):
        return detect_offset(path, checkpoint=checkpoint, method=method,
                             progress=_stage(progress, stage), **sync_options)

    before = None
    if offset_ms is None:
        before = measure_file(src, "measuring the input")
        if before.offset_ms is None or before.verdict == "inconclusive":
            # a guess with little confidence behind it would make a good file worse
            why = before.reason or f"confidence {before.confidence:.2f}"
            raise InconclusiveOffsetError(
                f"{src}: the offset measurement is inconclusive ({why}); nothing was written; "
                "give the offset with --offset-ms instead of --auto")
        offset_ms = before.offset_ms
    shift_audio(src, dst, offset_ms)
    after, note = None, None
    if measure:
        try:
            after = measure_file(dst, "measuring the output")
        except AvtsError as err:  # dst is written and complete; only checking it failed
            note = f"the corrected file could not be measured: {err}"
    return FixResult(src=src, dst=dst, applied_offset_ms=float(offset_ms),
                     measured_before=before, measured_after=after,
                     residual_offset_ms=None if after is None else after.offset_ms,
                     video_packets_identical=video_packets_identical(src, dst), note=note)


SYNC_METHODS = ("avts", "baseline")
DEFAULT_BENCH_OFFSETS_MS = (-500, -200, -80, 0, 80, 200, 500)


def bench_sync(data: str | Path, offsets_ms: Sequence[float] = DEFAULT_BENCH_OFFSETS_MS,
               checkpoint: str | Path | None = None, methods: Sequence[str] = SYNC_METHODS,
               out_dir: str | Path | None = None, progress: Progress | None = None,
               **sync_options) -> BenchSyncResult:
    """Shift in-sync videos (a folder, searched recursively, or one file) by each of
    ``offsets_ms`` (positive: audio late), measure every copy with each method and score
    the errors at each file's frame rate. Without a model the learned method is left out
    (noted in the result). Copies go to ``out_dir``, or to a temporary folder removed after.
    """
    import tempfile

    from avts.data.corpus import find_videos
    from avts.eval.bench_sync import run_bench

    data = Path(data)
    videos = [data] if data.is_file() else find_videos(data) if data.is_dir() else []
    if not videos:
        raise DatasetError(f"{data}: no video files found (give a folder of in-sync videos)")
    if not offsets_ms:
        raise ConfigError("give at least one offset, e.g. --offsets -200,0,200")
    methods, notes = _bench_methods(methods, checkpoint)

    def detect(path: Path, method: str):
        return detect_offset(path, checkpoint=checkpoint, method=method, **sync_options)

    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        return run_bench(videos, offsets_ms, methods, detect, Path(out_dir), progress, notes)
    with tempfile.TemporaryDirectory(prefix="avts-bench-") as tmp:
        return run_bench(videos, offsets_ms, methods, detect, Path(tmp), progress, notes)


def _bench_methods(methods: Sequence[str], checkpoint) -> tuple[list[str], list[str]]:
    from avts.errors import CheckpointError
    unknown = [m for m in methods if m not in SYNC_METHODS]
    if unknown or not methods:
        raise ConfigError(f"unknown sync method(s) {', '.join(unknown) or '(none given)'} "
                          f"(known: {', '.join(SYNC_METHODS)})")
    methods = list(dict.fromkeys(methods))
    if "avts" in methods and resolve_checkpoint(checkpoint) is None:
        methods.remove("avts")
        note = ("no model (--checkpoint, AVTS_CHECKPOINT or a packaged one): the learned "
                "method was left out")
        if not methods:
            raise CheckpointError(f"{note}, and no other method was asked for; add "
                                  "--methods baseline or pass --checkpoint FILE")
        return methods, [note]
    return methods, []
