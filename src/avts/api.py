"""The public Python API. Every function returns a dataclass or a path; nothing prints."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from avts.config import Config, save_yaml, tiny
from avts.errors import ConfigError, RunExistsError
from avts.types import DemoSummary, MediaInfo, SyncEvaluation, TrainResult

if TYPE_CHECKING:  # heavy imports stay lazy at run time
    from avts.data.prepare import PreparedData

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
    from avts.synth import synthesize as _synthesize

    if num_videos < 1:
        raise ConfigError(f"the number of videos must be at least 1, got {num_videos}")
    return _synthesize(out_dir, num_videos, seed, progress=progress)


def load_config(path: str | Path | None = None, overrides: Sequence[str] = (),
                preset: str | None = None) -> Config:
    """Paper defaults (or a preset), then a YAML file, then ``section.key=value`` overrides."""
    from avts.config import load

    return load(path, overrides, preset)  # validated: a bad setting fails here, not in training


def parameter_counts(cfg: Config) -> dict[str, int]:
    """Trainable parameters of the model that ``cfg`` describes (video, audio, heads, total)."""
    from avts.models import count_parameters
    from avts.train.trainer import build_networks

    return count_parameters(build_networks(cfg)[0])


def prepare_data(data_dir: str | Path, cfg: Config, progress: StageProgress | None = None
                 ) -> PreparedData:
    """Index a folder, split it by video (and ``data.group_by`` group), check that the split
    can work, then load both sides (bad files are skipped). ``progress(stage, done, total)``
    reports the stages "probing" and "loading"."""
    from avts.data.prepare import prepare_split

    return prepare_split(data_dir, cfg, progress)


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
                  seed: int = 0, device: str = "auto") -> SyncEvaluation:
    """Sync accuracy on held-out videos for easy, hard and super-hard negatives, at the
    threshold chosen on the training run's validation videos (stored in the checkpoint).
    The result also lists the files left out and warns when the videos overlap the
    checkpoint's training or validation files."""
    import numpy as np

    from avts.data.pairs import fixed_eval_pairs
    from avts.data.prepare import load_corpus
    from avts.eval.sync import accuracy_by_kind, score_pairs
    from avts.train.trainer import select_device

    model, loss_fn, cfg, threshold = load_model(checkpoint)
    dev = select_device(device)
    store, skipped = load_corpus(data_dir, cfg)
    pairs = fixed_eval_pairs(np.random.default_rng(seed), store.spans, n_per_kind,
                             cfg.data.clip.duration_s, cfg.data.pairs)
    out = score_pairs(model.to(dev), loss_fn.to(dev), store, pairs, cfg.data.mel, dev)
    acc = accuracy_by_kind(out["score"], out["kind"], threshold)
    overlap = _overlap_with_run(checkpoint, [v.path for v in store.videos])
    return SyncEvaluation(**vars(acc), skipped_files=skipped, **overlap)


def _run_files(checkpoint: str | Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The files the checkpoint's run trained and validated on."""
    # TODO(LoadedModel): becomes (loaded.train_videos, loaded.val_videos), without a 2nd load.
    from avts.train.checkpoint import load_checkpoint

    state = load_checkpoint(checkpoint)
    return tuple(state.get("train_videos", ())), tuple(state.get("val_videos", ()))


def _overlap_with_run(checkpoint: str | Path, paths: list[Path]) -> dict:
    """``SyncEvaluation`` fields for evaluation videos that the checkpoint has already seen."""
    from avts.data.prepare import seen_in_run

    train_files, val_files = _run_files(checkpoint)
    seen_train, seen_val = seen_in_run(paths, train_files), seen_in_run(paths, val_files)
    warning = None
    if seen_train or seen_val:
        warning = (f"{len(set(seen_train) | set(seen_val))} of {len(paths)} evaluation videos "
                   f"were used by this checkpoint's run ({len(seen_train)} for training, "
                   f"{len(seen_val)} for validation): the accuracy is not on held-out data")
    return {"seen_in_training": seen_train, "seen_in_validation": seen_val,
            "overlap_warning": warning}


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
