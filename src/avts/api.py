"""The public Python API. Every function returns a dataclass or a path; nothing prints."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from avts._atomic import atomic_path, write_text_atomic
from avts.config import Config, save_yaml, tiny
from avts.errors import CheckpointError, ConfigError, DatasetError, RunExistsError
from avts.types import DemoSummary, MediaInfo, SyncEvaluation, TrainResult

if TYPE_CHECKING:  # heavy imports stay lazy at run time
    from avts.data.prepare import PreparedData
    from avts.models.build import LoadedModel
    from avts.train.trainer import Callbacks
    from avts.types import EpochMetrics

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
               progress: Progress | None = None, fps: float = 25.0) -> list[Path]:
    """Write ``num_videos`` synthetic H.264/AAC videos plus ``labels.csv`` and ``events.csv``,
    rendered at ``fps`` frames per second (every contact, and so every sound onset, falls on a
    frame)."""
    from avts.synth import SynthConfig
    from avts.synth import synthesize as _synthesize

    if num_videos < 1:
        raise ConfigError(f"the number of videos must be at least 1, got {num_videos}")
    if not 4.0 <= fps <= 120.0:
        raise ConfigError(f"the frame rate must be within 4-120 fps, got {fps:g}")
    return _synthesize(out_dir, num_videos, seed, SynthConfig(fps=float(fps)), progress=progress)


def load_config(path: str | Path | None = None, overrides: Sequence[str] = (),
                preset: str | None = None) -> Config:
    """Paper defaults (or a preset), then a YAML file, then ``section.key=value`` overrides."""
    from avts.config import load

    return load(path, overrides, preset)  # validated: a bad setting fails here, not in training


def parameter_counts(cfg: Config) -> dict[str, int]:
    """Trainable parameters of the model that ``cfg`` describes (video, audio, heads, total)."""
    from avts.models import count_parameters
    from avts.models.build import build_networks

    return count_parameters(build_networks(cfg)[0])


def prepare_data(data_dir: str | Path, cfg: Config, progress: StageProgress | None = None
                 ) -> PreparedData:
    """Index a folder, split it by video (and ``data.group_by`` group), check that the split
    can work, then load both sides (bad files are skipped). ``progress(stage, done, total)``
    reports the stages "probing" and "loading"."""
    from avts.data.prepare import prepare_split

    return prepare_split(data_dir, cfg, progress)


def train(data_dir: str | Path, run_dir: str | Path, cfg: Config, resume: bool = False,
          on_step=None, on_epoch=None, data: PreparedData | None = None,
          on_estimate=None) -> TrainResult:
    """Train the two-stream model on a folder of videos; writes ``last.pt``/``best.pt``,
    ``metrics.jsonl``, TensorBoard logs, ``config.yaml``, ``skipped.json`` and ``curves.png``.
    ``resume``: continue ``run_dir/last.pt`` with ``cfg`` (see also ``resume()``).
    ``on_estimate(EpochEstimate)`` is called once, after the first steps have been timed."""
    from avts.train.trainer import Callbacks

    run_dir = Path(run_dir)
    init = None
    if resume:
        state = _resume_state(run_dir, cfg)  # a resumed run has its own weights
    else:
        state, init = None, check_new_run(run_dir, cfg)
    data = data or prepare_data(data_dir, cfg)
    return _fit(run_dir, cfg, data, data_dir, state, Callbacks(on_step, on_epoch, on_estimate),
                init)


def check_new_run(run_dir: str | Path, cfg: Config) -> dict | None:
    """Refuse, before any data is decoded, a run that would overwrite an earlier one, that
    names a device this machine does not have or a ``train.init_from`` that does not fit.
    Returns the network weights the run starts from (``train.init_from``'s), or None."""
    from avts.device import select_device
    from avts.models.build import initial_weights

    select_device(cfg.train.device)
    if (Path(run_dir) / "last.pt").exists():
        raise RunExistsError(f"{run_dir} already holds a training run; continue it with "
                             "--resume or choose another output folder")
    return initial_weights(cfg)


def resume_config(run_dir: str | Path, overrides: Sequence[str] = ()) -> Config:
    """The config a resumed run uses: its ``config.yaml`` plus ``overrides`` (only
    ``train.epochs``, ``train.num_workers`` and ``train.device`` may differ from the run's),
    checked against its ``last.pt`` before any data is decoded."""
    cfg = _saved_config(Path(run_dir), overrides)
    _resume_state(Path(run_dir), cfg)
    return cfg


def resume(run_dir: str | Path, overrides: Sequence[str] = (), data_dir: str | Path | None = None,
           on_step=None, on_epoch=None, on_estimate=None, data: PreparedData | None = None,
           progress: StageProgress | None = None) -> TrainResult:
    """Continue the run in ``run_dir`` from its ``last.pt``, with its ``config.yaml`` plus
    ``overrides`` (e.g. ``train.epochs=40``), on ``data_dir`` (default: the folder it was
    trained on). Refused, with every run file left as it was, when the config or the training
    and validation files differ from the run's."""
    from avts.train.trainer import Callbacks

    run_dir = Path(run_dir)
    cfg = _saved_config(run_dir, overrides)
    state = _resume_state(run_dir, cfg)
    data_dir = data_dir or state.get("data_dir")
    if data_dir is None:
        raise ConfigError(f"{run_dir / 'last.pt'} does not say where its data is; pass data_dir")
    data = data or prepare_data(data_dir, cfg, progress=progress)
    return _fit(run_dir, cfg, data, data_dir, state, Callbacks(on_step, on_epoch, on_estimate))


def _saved_config(run_dir: Path, overrides: Sequence[str]) -> Config:
    saved = run_dir / "config.yaml"
    if not saved.is_file():
        raise CheckpointError(f"nothing to resume in {run_dir}: no config.yaml there")
    return load_config(saved, overrides)


def _resume_state(run_dir: Path, cfg: Config) -> dict:
    """``last.pt`` of ``run_dir``, once its config is known to match ``cfg``."""
    from avts.checkpoint import checkpoint_config, load_checkpoint
    from avts.train.resume import check_resumable

    last = run_dir / "last.pt"
    if not last.is_file():
        raise CheckpointError(f"nothing to resume in {run_dir}: no last.pt there")
    state = load_checkpoint(last)
    check_resumable(checkpoint_config(state, last), cfg)
    return state


def _fit(run_dir: Path, cfg: Config, data: PreparedData, data_dir: str | Path,
         state: dict | None, callbacks: Callbacks, init: dict | None = None) -> TrainResult:
    """Check a resume against the data, then (and only then) write the run files and train,
    from ``state`` (a resume), else from the ``init`` weights, else from scratch."""
    from avts.train.resume import check_same_files
    from avts.train.trainer import Trainer

    if state is not None:
        check_same_files(state, [v.path for v in data.train.videos],
                         [v.path for v in data.val.videos])
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_dir / "skipped.json",
                      json.dumps([s.to_dict() for s in data.skipped], indent=1))
    with atomic_path(run_dir / "config.yaml") as tmp:
        save_yaml(cfg, tmp)
    trainer = Trainer(cfg, data.train, data.val, run_dir, callbacks, data_dir=data_dir)
    if state is not None:
        trainer.load_state(state)
    elif init is not None:
        trainer.model.load_state_dict(init)
    t0 = time.perf_counter()
    history = trainer.fit()
    seconds = time.perf_counter() - t0
    _plot(history, run_dir / "curves.png")
    return TrainResult(run_dir=run_dir, last_checkpoint=trainer.last_path,
                       best_checkpoint=trainer.best_path, epochs=history, train_seconds=seconds,
                       skipped_files=data.skipped)


def _plot(history: Sequence[EpochMetrics], path: Path) -> Path:
    """Training curves, written atomically (report/ draws; writing is the caller's)."""
    from avts.report.plots import plot_training

    with atomic_path(path) as tmp:
        plot_training(history, tmp)
    return path


def load_model(checkpoint: str | Path) -> LoadedModel:
    """The trained networks of a checkpoint (on the CPU, eval mode), with the scorer, the config,
    the decision threshold of that checkpoint's epoch and the files it was trained and
    validated on. Refuses (``CheckpointError``) missing, corrupt, foreign and unsafe files."""
    from avts.models.build import load_model as _load_model

    return _load_model(checkpoint)


def evaluate_sync(checkpoint: str | Path, data_dir: str | Path, n_per_kind: int = 256,
                  seed: int = 0, device: str = "auto") -> SyncEvaluation:
    """Sync accuracy on held-out videos for easy, hard and super-hard negatives, at the
    threshold chosen on the training run's validation videos (stored in the checkpoint).
    The result also lists the files left out and warns when the videos overlap the
    checkpoint's training or validation files."""
    import numpy as np

    from avts.data.pairs import fixed_eval_pairs
    from avts.data.prepare import load_corpus, pair_window_s
    from avts.device import select_device
    from avts.eval.sync import accuracy_by_kind, score_pairs

    loaded = load_model(checkpoint)
    cfg = loaded.config
    dev = select_device(device)
    store, skipped = load_corpus(data_dir, cfg)
    pairs = fixed_eval_pairs(np.random.default_rng(seed), store.spans, n_per_kind,
                             pair_window_s(cfg), cfg.data.pairs)
    out = score_pairs(loaded.model.to(dev), loaded.scorer.to(dev), store, pairs,
                      cfg.data.mel, dev)
    acc = accuracy_by_kind(out["score"], out["kind"], loaded.threshold)
    overlap = _overlap_with_run(loaded, [v.path for v in store.videos])
    return SyncEvaluation(**vars(acc), skipped_files=skipped, **overlap)


def _overlap_with_run(loaded: LoadedModel, paths: list[Path]) -> dict:
    """``SyncEvaluation`` fields for evaluation videos that the checkpoint has already seen."""
    from avts.data.prepare import seen_in_run

    train_files, val_files = loaded.train_videos, loaded.val_videos
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
    # The world is rendered at the model's frame rate: every contact then falls on a frame the
    # model sees (at 25 fps sampled at 8, a contact's flash is often between two sampled frames).
    fps = cfg.data.clip.fps
    synthesize(train_dir, n_train_videos, seed=seed, progress=_stage(progress, "synthesizing"),
               fps=fps)
    # A different seed family, so the evaluation videos share nothing with the training ones.
    synthesize(eval_dir, n_eval_videos, seed=seed + 7919,
               progress=_stage(progress, "synthesizing (evaluation)"), fps=fps)
    stage("training")
    data = prepare_data(train_dir, cfg, progress=progress)
    result = train(train_dir, out / "run", cfg, on_step=on_step, on_epoch=on_epoch, data=data)
    stage("evaluating on unseen videos")
    acc = evaluate_sync(result.best_checkpoint, eval_dir, seed=seed)
    plot = _plot(result.epochs, out / "curves.png")
    summary = DemoSummary(
        sync_accuracy=acc, checkpoint=result.best_checkpoint.resolve(),
        train_seconds=result.train_seconds, total_seconds=time.perf_counter() - t_start,
        plot=plot.resolve(), n_train_videos=n_train_videos,
        n_eval_videos=n_eval_videos)
    write_text_atomic(out / "summary.json", json.dumps(summary.to_dict(), indent=2))
    return summary


# --- downstream: embeddings, audio probe, video fine-tuning -------------------------------

DEFAULT_CHECKPOINT = Path(__file__).parent / "assets" / "default.pt"
CHECKPOINT_ENV = "AVTS_CHECKPOINT"
RANDOM_INIT = ("random", "scratch")  # checkpoint names that mean "untrained network"
EMBED_HOP_S = 0.5

if TYPE_CHECKING:
    from avts.types import AudioProbeResult, Embeddings, EmbedReport, FinetuneResult


def resolve_checkpoint(checkpoint: str | Path | None, for_sync: bool = False) -> Path | None:
    """The checkpoint to use: the given one, else ``$AVTS_CHECKPOINT``, else the packaged
    default; ``None`` for a randomly initialised network ("random" or "scratch")."""
    import os

    from avts.errors import CheckpointError

    if checkpoint is None:
        checkpoint = os.environ.get(CHECKPOINT_ENV) or None
    if checkpoint is None:
        if not DEFAULT_CHECKPOINT.is_file():
            raise CheckpointError(
                f"no checkpoint given: pass --checkpoint RUN/best.pt, set {CHECKPOINT_ENV}, or "
                "train one with `avts demo --out DIR` (DIR/run/best.pt)"
                + (", or use --method baseline (no model needed)" if for_sync else ""))
        return DEFAULT_CHECKPOINT
    if str(checkpoint) in RANDOM_INIT:
        return None
    return Path(checkpoint)


def load_backbone(checkpoint: str | Path | None, preset: str = "tiny", seed: int = 0,
                  overrides: Sequence[str] = ()):
    """``(model, config)``: the checkpoint's two-stream model in eval mode on the CPU, or a
    randomly initialised one of ``preset``'s shape plus ``overrides`` (seeded) for
    "random"/"scratch"."""
    import torch

    from avts.models.build import build_networks

    path = resolve_checkpoint(checkpoint)
    if path is not None:
        if overrides:
            raise ConfigError("config overrides shape an untrained network (random/scratch); "
                              "a checkpoint brings its own config")
        loaded = load_model(path)
        if loaded.config.model.kind != "twostream":
            from avts.errors import CheckpointError

            raise CheckpointError(
                f"{path} is a frame-rate sync model (model.kind {loaded.config.model.kind}, "
                "the packaged default is one): embeddings, the audio probe and video "
                "fine-tuning need the paper's two-stream network: pass --checkpoint of an "
                "`avts train`/`avts demo` run (or --checkpoint random)")
        return loaded.model, loaded.config
    cfg = load_config(preset=preset, overrides=overrides)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = build_networks(cfg)[0]
    return model.eval(), cfg


def embed_file(path: str | Path, checkpoint: str | Path | None = None,
               hop_s: float = EMBED_HOP_S, layer: str = "embedding") -> Embeddings:
    """Per-window embeddings of a media file's audio and video (see ``avts.types.Embeddings``)."""
    from avts.downstream.embed import embed_media

    model, cfg = load_backbone(checkpoint)
    return embed_media(model, cfg, path, layer, hop_s)


def embed_audio(samples, sample_rate: int, checkpoint: str | Path | None = None,
                hop_s: float = EMBED_HOP_S, layer: str = "embedding") -> Embeddings:
    """Per-window embeddings of a waveform in memory ((n,) or (n, channels), any rate)."""
    from avts.downstream.embed import embed_arrays

    model, cfg = load_backbone(checkpoint)
    return embed_arrays(model, cfg, layer, hop_s, audio=samples, sr_hz=sample_rate)


def embed_video(frames, fps: float, checkpoint: str | Path | None = None,
                hop_s: float = EMBED_HOP_S, layer: str = "embedding") -> Embeddings:
    """Per-window embeddings of uint8 frames (T, H, W, 3) in memory, at any fps and size."""
    from avts.downstream.embed import embed_arrays

    model, cfg = load_backbone(checkpoint)
    return embed_arrays(model, cfg, layer, hop_s, frames=frames, fps=fps)


def embed_files(inputs: Sequence[str | Path], out_dir: str | Path,
                checkpoint: str | Path | None = None, hop_s: float = EMBED_HOP_S,
                layer: str = "embedding", jobs: int = 1,
                progress: Progress | None = None) -> EmbedReport:
    """One ``.npz`` (``audio``, ``video``, ``audio_ts``, ``video_ts``) per media file under
    ``out_dir``; existing outputs are kept (a rerun resumes), failures are collected."""
    from avts.downstream.batch import embed_many, plan_outputs
    from avts.downstream.layers import parse_layer

    if hop_s <= 0:
        raise ConfigError(f"--hop-s must be positive, got {hop_s}")
    model, cfg = load_backbone(checkpoint)
    parse_layer(layer, model)  # a bad layer name fails before any file is read
    pairs = plan_outputs(inputs, Path(out_dir))
    if not pairs:
        raise DatasetError(f"no media files found in {', '.join(map(str, inputs))}")
    return embed_many(pairs, model, cfg, layer, hop_s, jobs=max(1, jobs), progress=progress)


def _random_like(cfg: Config, seed: int):
    """An untrained network of ``cfg``'s shape (the "random init" baseline), seeded."""
    import torch

    from avts.models.build import build_networks

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build_networks(cfg)[0].eval()


def probe_audio(data_dir: str | Path, meta: str | Path | None = None,
                checkpoint: str | Path | None = None, layer: str = "audio.conv5",
                classes: Sequence[str] = (), n_folds: int = 5, hop_s: float = EMBED_HOP_S,
                seed: int = 0, progress: StageProgress | None = None) -> AudioProbeResult:
    """The paper's linear-SVM audio probe on a labelled sound set, with a randomly initialised
    network of the same shape and log-mel statistics as baselines on the same folds."""
    import numpy as np

    from avts.downstream import probe as P
    from avts.downstream.labelled import load_labelled_set
    from avts.downstream.layers import parse_layer
    from avts.types import AudioProbeResult

    model, cfg = load_backbone(checkpoint, seed=seed)
    spec = parse_layer(layer if "." in layer or layer == "conv5" else f"audio.{layer}", model)
    if spec.streams != ("audio",):
        raise ConfigError(f"the audio probe needs an audio layer, not {layer!r}")
    data = load_labelled_set(data_dir, meta, classes)
    items, waves, left_out = P.read_clips(data.items, cfg.data.mel.sr_hz,
                                          _stage(progress, "reading"))
    if not items:
        raise DatasetError(f"{data_dir}: none of the {len(data.items)} files is usable "
                           f"({len(left_out)} unreadable or silent)")
    folds, fold_source = P.assign_folds(data, items, n_folds, seed)
    names = sorted({i.label for i in items})
    y = np.array([names.index(i.label) for i in items])
    feats = {"main": P.network_features(model, cfg, waves, spec, hop_s),
             "log_mel_stats": P.log_mel_stats(cfg, waves, hop_s)}
    is_random = resolve_checkpoint(checkpoint) is None
    if not is_random:
        feats["random_init"] = P.network_features(_random_like(cfg, seed), cfg, waves, spec,
                                                  hop_s)
    scores = {}
    done = _stage(progress, "cross-validating")
    for n, (name, f) in enumerate(feats.items(), start=1):
        scores[name] = P.cross_validate(f, y, folds)
        if done:
            done(n, len(feats))
    main = scores.pop("main")
    return AudioProbeResult(
        accuracy=main.accuracy, folds=main.folds, baselines=scores,
        checkpoint="random" if is_random else str(resolve_checkpoint(checkpoint)),
        layer=spec.name, feature_dim=main.feature_dim, classes=names, n_clips=len(items),
        n_windows=int(sum(len(f) for f in feats["main"])), fold_source=fold_source,
        left_out=left_out)


def finetune_video(data_dir: str | Path, run_dir: str | Path, init: str | Path = "scratch",
                   meta: str | Path | None = None, preset: str = "tiny", epochs: int = 12,
                   lr: float = 1e-3, batch_size: int = 16, seed: int = 0, resume: bool = False,
                   on_epoch=None, progress: StageProgress | None = None,
                   overrides: Sequence[str] = ()) -> FinetuneResult:
    """The paper's video protocol: fine-tune the video network (from ``init``, a checkpoint,
    or "scratch" for ``preset``'s shape at random) and a linear classifier on labelled videos
    (class folders or a CSV; official split files when present); clip and video accuracy.
    ``overrides`` (``section.key=value``) shape the scratch network, e.g. to match a checkpoint's
    ``data.clip.fps`` and ``model.pool_time_steps`` for a like-for-like comparison."""
    import numpy as np
    import torch

    from avts.downstream import finetune as FT
    from avts.downstream.labelled import load_labelled_set
    from avts.downstream.splits import split_videos
    from avts.types import FinetuneResult

    run_dir = Path(run_dir)
    if not resume and (run_dir / "last.pt").exists():
        raise RunExistsError(f"{run_dir} already holds a fine-tuning run; continue it with "
                             "--resume or choose another output folder")
    if epochs < 1 or batch_size < 1 or lr <= 0:
        raise ConfigError("epochs and batch size must be >= 1 and the learning rate positive")
    ft = FT.FinetuneConfig(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    backbone, cfg = load_backbone(init, preset=preset, seed=seed, overrides=overrides)
    data = load_labelled_set(data_dir, meta)
    items, videos, skipped = FT.decode_videos(data.items, cfg, _stage(progress, "decoding"))
    train_items, test_items, how = split_videos(data.root, items, ft.test_fraction, seed)
    classes = sorted({i.label for i in train_items})
    test_items = [i for i in test_items if i.label in classes]
    frames = {i: v for i, v in zip(items, videos, strict=True)}

    def split(part):
        return FT.Split([frames[i] for i in part],
                        np.array([classes.index(i.label) for i in part], dtype=np.int64))

    torch.manual_seed(seed)  # the classifier's initial weights
    model = FT.VideoClassifier(backbone.video, len(classes), ft.dropout)
    init_name = "scratch" if resolve_checkpoint(init) is None else str(init)
    runner = FT.FinetuneRunner(model, cfg, ft, split(train_items), split(test_items), run_dir,
                               {"classes": classes, "init": init_name, "split": how},
                               on_epoch=on_epoch)
    if resume:
        runner.resume()
    t0 = time.perf_counter()
    history = runner.fit()
    return FinetuneResult(
        clip_accuracy=history[-1].test_clip_accuracy,
        video_accuracy=history[-1].test_video_accuracy, init=init_name, classes=classes,
        split=how, n_train_videos=len(train_items), n_test_videos=len(test_items),
        run_dir=run_dir, epochs=history, train_seconds=time.perf_counter() - t0,
        skipped_files=skipped)


# --- offset detection ---------------------------------------------------------------------


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
    from avts.sync.detect import detect

    options = _sync_options(search_ms, hop_s, segment_s, tolerance_early_ms, tolerance_late_ms,
                            min_confidence)
    if method == "baseline":
        from avts.sync.baseline import BaselineMethod

        info = probe(path)
        return detect(path, BaselineMethod(info.video_fps or 25.0), options, progress)
    if method != "avts":
        raise ConfigError(f"unknown sync method {method!r} (known: avts, baseline)")
    found = resolve_checkpoint(checkpoint, for_sync=True)
    if found is None:
        raise CheckpointError("--method avts needs a trained model, not a random one")
    from avts.sync.methods import learned_method

    loaded = load_model(found)  # twostream or framesync: the method follows config.model.kind
    return detect(path, learned_method(loaded, probe(path)), options, progress)


def _sync_options(search_ms: float = 1000.0, hop_s: float | None = None, segment_s: float = 5.0,
                  tolerance_early_ms: float | None = None, tolerance_late_ms: float | None = None,
                  min_confidence: float = 0.3):
    """Checked ``SyncOptions`` (a ``ConfigError`` for values out of range)."""
    from avts.sync.detect import MAX_SEARCH_MS, SyncOptions
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
    if not 0.0 <= min_confidence <= 1.0:
        raise ConfigError(f"the minimum confidence must be in [0, 1], got {min_confidence:g}")
    return SyncOptions(search_ms=float(search_ms), hop_s=hop_s, segment_s=segment_s,
                       tolerances=tolerances, min_confidence=min_confidence)


# --- fixing an offset, and benchmarking detection on shifted copies -----------------------

if TYPE_CHECKING:
    from avts.eval.bench_sync import MeasureAll
    from avts.sync.detect import SyncOptions
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
    if measuring and method == "avts" and not _has_model(checkpoint):
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
               out_dir: str | Path | None = None, progress: Progress | None = None, *,
               jobs: int = 1, **sync_options) -> BenchSyncResult:
    """Shift in-sync videos (a folder, searched recursively, or one file) by each of
    ``offsets_ms`` (positive: audio late), measure every copy with each method and score
    the errors at each file's frame rate. Without a model the learned method is left out
    (noted in the result). Copies go to ``out_dir``, or to a temporary folder removed after.
    ``jobs`` worker processes (one torch thread each, the model loaded once per worker)
    measure the copies; the result is the same whatever their number.
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
    _check_jobs(jobs)
    options = _sync_options(**sync_options)  # bad options stop here, not once per copy
    methods, notes = _bench_methods(methods, checkpoint)
    measure = _bench_measure(methods, checkpoint, jobs, options)
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        return run_bench(videos, offsets_ms, methods, measure, Path(out_dir), progress, notes)
    with tempfile.TemporaryDirectory(prefix="avts-bench-") as tmp:
        return run_bench(videos, offsets_ms, methods, measure, Path(tmp), progress, notes)


def _bench_measure(methods: Sequence[str], checkpoint: str | Path | None, jobs: int,
                   options: SyncOptions) -> MeasureAll:
    """bench-sync's ``MeasureAll``: the model loaded once (per worker with ``jobs > 1``; with
    one job, here, with this process's thread count), every copy measured with it."""
    import functools

    from avts.engines.scan import measure_copies

    found = resolve_checkpoint(checkpoint, for_sync=True) if "avts" in methods else None
    if found is not None:
        load_model(found)  # a missing or bad checkpoint stops here, not once per copy
    return functools.partial(measure_copies, options=options, checkpoint=found, workers=jobs)


def _check_jobs(jobs: int) -> None:
    if jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")


def _has_model(checkpoint: str | Path | None) -> bool:
    """Whether ``resolve_checkpoint`` finds a trained model (not "random", not nothing)."""
    from avts.errors import CheckpointError

    try:
        return resolve_checkpoint(checkpoint) is not None
    except CheckpointError:
        return False


def _bench_methods(methods: Sequence[str], checkpoint) -> tuple[list[str], list[str]]:
    from avts.errors import CheckpointError

    unknown = [m for m in methods if m not in SYNC_METHODS]
    if unknown or not methods:
        raise ConfigError(f"unknown sync method(s) {', '.join(unknown) or '(none given)'} "
                          f"(known: {', '.join(SYNC_METHODS)})")
    methods = list(dict.fromkeys(methods))
    if "avts" in methods and not _has_model(checkpoint):
        methods.remove("avts")
        note = ("no model (--checkpoint, AVTS_CHECKPOINT or a packaged one): the learned "
                "method was left out")
        if not methods:
            raise CheckpointError(f"{note}, and no other method was asked for; add "
                                  "--methods baseline or pass --checkpoint FILE")
        return methods, [note]
    return methods, []


# --- scanning many files ------------------------------------------------------------------

if TYPE_CHECKING:
    from avts.types import ScanSummary


def scan(paths: Sequence[str | Path], out: str | Path, *, jobs: int = 1, csv: bool = False,
         checkpoint: str | Path | None = None, method: str = "avts",
         progress: Progress | None = None, **sync_options) -> ScanSummary:
    """Measure the offset of every file in ``paths`` (files, and folders searched recursively
    for video files) with ``detect_offset``'s options, in ``jobs`` worker processes (one torch
    thread each, the model loaded once per worker). Each file's ``SyncResult.to_dict()``, or
    ``{"file", "error"}`` when it cannot be measured, is appended to ``out`` (JSON lines, or CSV
    with ``csv=True``) as soon as it is ready; files already in ``out`` are skipped.
    """
    from avts.engines.scan import find_inputs, scan_files
    from avts.errors import CheckpointError

    _check_jobs(jobs)
    if method not in SYNC_METHODS:
        raise ConfigError(f"unknown sync method {method!r} (known: {', '.join(SYNC_METHODS)})")
    options = _sync_options(**sync_options)
    files = find_inputs(paths)
    if not files:
        raise DatasetError(f"no video files found in {', '.join(map(str, paths)) or '(none)'}")
    found = None
    if method == "avts":
        found = resolve_checkpoint(checkpoint, for_sync=True)
        if found is None:
            raise CheckpointError("--method avts needs a trained model, not a random one")
        load_model(found)  # a bad checkpoint stops the scan here, not once per file
    return scan_files(files, Path(out), options, method, found, jobs=jobs, as_csv=csv,
                      progress=progress)
