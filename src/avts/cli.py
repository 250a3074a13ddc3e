"""Command line: parses arguments, calls ``avts.api``, formats results, maps errors to exit codes.

Exit status: 0 success, 2 bad input or usage (one line on stderr, no traceback), 1 unexpected.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from avts.api import DEFAULT_BENCH_OFFSETS_MS, DEMO_EVAL_VIDEOS, DEMO_TRAIN_VIDEOS

EXIT_USER_ERROR = 2
CPU_HINT_S = 30 * 60  # an epoch estimated longer than this on a CPU suggests the tiny preset


def _add_config_args(p: argparse.ArgumentParser, default_preset: str = "paper") -> None:
    p.add_argument("--config", type=Path, help="YAML config file (may name a 'preset')")
    p.add_argument("--preset", choices=["paper", "tiny"], help="start from a built-in preset "
                   f"(default: {default_preset})")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="config overrides, e.g. train.lr=1e-3 model.pool=time")
    p.set_defaults(overrides_anywhere=True)  # KEY=VALUE may also follow an option (see main)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avts", description="Audio-Visual Temporal Synchronization (Korbar et al. 2018).")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="synthesize videos, train the tiny model on CPU, evaluate")
    p.add_argument("--out", type=Path, default=Path("avts-demo"), help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-videos", type=int, default=DEMO_TRAIN_VIDEOS,
                   help="synthetic training videos")
    p.add_argument("--eval-videos", type=int, default=DEMO_EVAL_VIDEOS,
                   help="unseen evaluation videos")
    _add_config_args(p, default_preset="tiny")

    p = sub.add_parser("train", help="train the audio and video networks on a folder of videos")
    p.add_argument("--data", type=Path, help="folder of video files (recursive); with --resume "
                   "default: the run's own")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, logs)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/last.pt with OUT/config.yaml (overrides may add epochs)")
    p.add_argument("--group-by", metavar="REGEX|CSV",
                   help="keep groups of files on one side of the split: a regex over the file "
                        "name or a CSV 'file,group' (sets data.group_by)")
    p.add_argument("--init", metavar="CHECKPOINT",
                   help="start from this checkpoint's network weights (same model shape; a "
                        "fresh optimizer), e.g. one pretrained on `avts synth` videos "
                        "(sets train.init_from)")
    _add_config_args(p)

    p = sub.add_parser("eval-sync", help="sync accuracy per negative kind on held-out videos")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True, help="folder of held-out videos")
    p.add_argument("--pairs-per-kind", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = sub.add_parser("synth", help="write synthetic audio-visual videos with labels")
    p.add_argument("out_dir", type=Path)
    p.add_argument("--num-videos", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fps", type=float, default=25.0,
                   help="frame rate the videos are rendered at (default 25)")

    _add_sync_parser(sub)

    p = sub.add_parser("probe", help="show streams, measured fps and start times of media files")
    p.add_argument("paths", type=Path, nargs="+")
    p.add_argument("--json", action="store_true")
    _add_downstream_parsers(sub)
    _add_fix_parsers(sub)
    _add_scan_parser(sub)
    return parser


def _add_downstream_parsers(sub) -> None:
    from avts.api import EMBED_HOP_S

    checkpoint_help = ("RUN/best.pt, or 'random' for an untrained network (default: "
                       "$AVTS_CHECKPOINT, else the packaged model)")
    p = sub.add_parser("embed", help="write per-window audio and video embeddings, one .npz "
                       "per file (resumable)")
    p.add_argument("inputs", type=Path, nargs="+", metavar="FILE_OR_DIR")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--checkpoint", help=checkpoint_help)
    p.add_argument("--hop-s", type=float, default=EMBED_HOP_S,
                   help="seconds between window starts")
    p.add_argument("--layer", default="embedding",
                   help="embedding, backbone, stageK, audio.conv5, video.stageK, ...")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")

    p = sub.add_parser("probe-audio", help="linear-SVM audio probe (the paper's ESC-50 "
                       "protocol) against random init and log-mel statistics")
    p.add_argument("data_dir", type=Path, metavar="DIR",
                   help="sound files: one folder per class, or with a CSV (meta.csv)")
    p.add_argument("--meta", type=Path, help="CSV with filename, fold, target, category "
                   "(default: DIR/meta.csv or DIR/labels.csv when present)")
    p.add_argument("--checkpoint", help=checkpoint_help)
    p.add_argument("--layer", default="audio.conv5", help="audio layer (default: audio.conv5, "
                   "the audio net's last stage; or stageK, backbone, embedding)")
    p.add_argument("--classes", action="append", default=[], metavar="GLOB",
                   help="keep only classes matching GLOB (repeatable)")
    p.add_argument("--folds", type=int, default=5, help="stratified folds when the CSV has none")
    p.add_argument("--hop-s", type=float, default=EMBED_HOP_S,
                   help="seconds between window starts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("finetune-video", help="fine-tune the video network on labelled videos "
                       "(the paper's UCF101/HMDB51 protocol); clip and video accuracy")
    p.add_argument("data_dir", type=Path, metavar="DIR", help="one folder per class (optional "
                   "trainlist01.txt/testlist01.txt or *_test_split1.txt), or a labels CSV")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, metrics)")
    p.add_argument("--init", default="scratch",
                   help="CHECKPOINT (AVTS-trained) or 'scratch' (random, --preset's shape)")
    p.add_argument("--preset", choices=["paper", "tiny"], default="tiny",
                   help="network shape for --init scratch (default: tiny)")
    p.add_argument("--meta", type=Path, help="CSV with file and label columns")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override shaping the --init scratch network (repeatable), "
                   "e.g. --set data.clip.fps=25")


SYNC_EPILOG = ("Sign: a POSITIVE offset means the AUDIO IS LATE (a sound is heard after its event "
               "is seen); negative: the audio is early. Default tolerances follow ITU-R BT.1359 "
               "acceptability: in sync when the audio is at most 90 ms early and 185 ms late.")


def _add_sync_parser(sub) -> None:
    p = sub.add_parser("sync", help="measure the audio/video offset of a file "
                       "(positive: audio late)", description="Estimate the audio/video offset "
                       "of VIDEO by sliding the audio against the picture.", epilog=SYNC_EPILOG)
    p.add_argument("video", type=Path)
    _add_sync_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _add_sync_options(p: argparse.ArgumentParser, method: bool = True) -> None:
    p.add_argument("--checkpoint", type=Path, help="model for --method avts (default: "
                   "$AVTS_CHECKPOINT, else the model shipped with the package)")
    if method:
        p.add_argument("--method", choices=["avts", "baseline"], default="avts",
                       help="avts: learned embeddings; baseline: audio onsets vs motion, no model")
    else:
        p.set_defaults(method=None)
    p.add_argument("--search-ms", type=float, default=1000.0,
                   help="search offsets from -N to +N ms (default 1000, at most 5000)")
    p.add_argument("--hop-s", type=float, help="seconds between analysis windows "
                   "(default: about 16 windows, at most 2 s apart)")
    p.add_argument("--tolerance-early-ms", type=float, default=90.0,
                   help="audio early by more than this is out of sync (BT.1359: 90)")
    p.add_argument("--tolerance-late-ms", type=float, default=185.0,
                   help="audio late by more than this is out of sync (BT.1359: 185)")
    p.add_argument("--min-confidence", type=float, default=0.3,
                   help="below this confidence the verdict is inconclusive (default 0.3; "
                   "higher: fewer false alarms, more inconclusive files)")


def _sync_kwargs(args) -> dict:
    return dict(checkpoint=args.checkpoint, method=args.method, search_ms=args.search_ms,
                hop_s=args.hop_s, tolerance_early_ms=args.tolerance_early_ms,
                tolerance_late_ms=args.tolerance_late_ms, min_confidence=args.min_confidence)


_SIGN = "positive: audio late, a sound is heard after its event is seen; negative: audio early"


def _add_fix_parsers(sub) -> None:
    p = sub.add_parser(
        "fix", help="write a copy with the audio moved to undo an offset (video bit-exact)",
        description="Write OUT: VIDEO with its audio shifted (late audio advanced, early audio "
        "delayed with silence), video packets copied bit-exactly, duration kept; then measure "
        f"OUT again and print the residual offset. Offsets: {_SIGN}.")
    p.add_argument("video", type=Path)
    p.add_argument("--out", type=Path, required=True, help="corrected file (never the input)")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--offset-ms", type=float, help=f"the offset to undo ({_SIGN})")
    how.add_argument("--auto", action="store_true", help="measure the offset first, as `sync`")
    p.add_argument("--no-measure", action="store_true",
                   help="with --offset-ms: do not measure the corrected file")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    _add_sync_options(p)

    p = sub.add_parser(
        "bench-sync", help="offset detection accuracy on shifted copies of in-sync videos",
        description="Copy in-sync videos with known offsets, measure each copy with each method "
        f"and print the share within 1 and 2 frames and with the right sign. Offsets: {_SIGN}.")
    p.add_argument("data", type=Path, help="folder of in-sync videos (recursive), or one file")
    p.add_argument("--offsets", type=_float_list, default=list(DEFAULT_BENCH_OFFSETS_MS),
                   help="comma-separated offsets in ms (default: %(default)s)")
    p.add_argument("--methods", type=lambda text: [m for m in text.split(",") if m],
                   default=["avts", "baseline"], help="comma-separated (default: avts,baseline; "
                   "avts is left out without a model)")
    p.add_argument("--out", type=Path, help="keep the shifted copies here (default: temporary)")
    p.add_argument("--jobs", type=int, default=1,
                   help="worker processes measuring the copies (default 1)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    _add_sync_options(p, method=False)


def _float_list(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") \
            from None


def _glue_list_values(argv: list[str]) -> list[str]:
    # "--offsets -500,-200" would be read as an unknown option "-500,-200"; "--offsets=-500,..."
    # is not, so the value is glued to its option before argparse sees it.
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in ("--offsets", "--offset-ms") and arg.startswith("-"):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def _bar(desc: str, unit: str = "step", total: int | None = None):
    from tqdm import tqdm

    return tqdm(desc=desc, unit=unit, total=total, leave=False, disable=not sys.stderr.isatty())


def _report_files(files, what: str = "skipped") -> None:
    """One stderr line per file that a command left out, with its reason."""
    for f in files:
        print(f"avts: {what} {f.path}: {f.reason}", file=sys.stderr)


class _CountBar:
    """A ``progress(done, total)`` callback drawing one bar, opened on first use; a context
    manager so that the bar is closed however the work ends."""

    def __init__(self, desc: str, unit: str) -> None:
        self.desc, self.unit, self.bar = desc, unit, None

    def __call__(self, done: int, total: int) -> None:
        self.bar = self.bar or _bar(self.desc, unit=self.unit, total=total)
        self.bar.update(done - self.bar.n)

    def __enter__(self) -> _CountBar:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


class _StageBars:
    """One tqdm bar per named stage (synthesizing, probing, loading), on a terminal only."""

    def __init__(self) -> None:
        self.bars: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = _bar(stage, unit="file", total=total)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()


class _TrainProgress:
    """tqdm bar per epoch (clips/s in the postfix) and a one-line summary per epoch."""

    def __init__(self) -> None:
        self.bar = None
        self.epoch = 0

    def on_step(self, epoch: int, step: int, n_steps: int, loss: float, rate: float) -> None:
        if epoch != self.epoch:
            self.close()
            self.bar = _bar(f"epoch {epoch}")
            self.bar.reset(total=n_steps)
            self.epoch = epoch
        self.bar.set_postfix(loss=f"{loss:.3f}", clips_s=f"{rate:.0f}")
        self.bar.update(1)

    def on_epoch(self, m) -> None:
        self.close()
        print(f"epoch {m.epoch:3d}  loss {m.train_loss:.4f}  val_loss {m.val_loss:.4f}  "
              f"acc easy {m.val_accuracy_easy:.3f} hard {m.val_accuracy_hard:.3f}  "
              f"lr {m.lr:.2g}  {m.clips_per_s:.0f} clips/s"
              + (f"  top-1 train {m.train_top1:.3f} val {m.val_top1:.3f}"
                 if m.val_top1 is not None else "")
              + (f"  clip offset val w1 {m.val_offset_within1:.3f} "
                 f"sign {m.val_offset_sign:.3f}" if m.val_offset_within1 is not None else "")
              + (f"  skipped {m.skipped_samples}" if m.skipped_samples else ""), flush=True)

    def on_estimate(self, est) -> None:
        line = (f"about {_duration(est.seconds_per_epoch)} per epoch at "
                f"{est.clips_per_s:.3g} clips/s on {est.device}")
        if est.device == "cpu" and est.seconds_per_epoch > CPU_HINT_S:
            line += "; for a CPU try --preset tiny"
        if self.bar is not None:
            self.bar.write(line)
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 10 else f"{hours:.0f} h"


def _print_accuracy(acc, as_json: bool) -> None:
    if as_json:
        print(json.dumps(acc.to_dict(), indent=2))
        return
    print(f"{'negatives':<12}{'accuracy':>10}{'pairs':>8}")
    for kind in ("easy", "hard", "superhard"):
        print(f"{kind:<12}{getattr(acc, kind):>10.3f}{acc.n_pairs.get(kind, 0):>8d}")
    print(f"{'positives':<12}{acc.positive:>10.3f}{acc.n_pairs.get('positive', 0):>8d}")
    print(f"threshold (pair score, chosen on validation): {acc.threshold:.4f}")


def _cmd_demo(args) -> None:
    from avts import api

    cfg = api.load_config(args.config, args.overrides, args.preset or "tiny")
    progress = _TrainProgress()
    summary = api.demo(args.out, seed=args.seed, cfg=cfg, n_train_videos=args.train_videos,
                       n_eval_videos=args.eval_videos, on_step=progress.on_step,
                       on_epoch=progress.on_epoch, progress=_StageBars(),
                       on_stage=lambda s: print(f"== {s}", flush=True))
    _print_accuracy(summary.sync_accuracy, as_json=False)
    print(f"train {summary.train_seconds:.0f} s, total {summary.total_seconds:.0f} s")
    print(f"summary: {args.out / 'summary.json'}\nplot: {summary.plot}\n"
          f"checkpoint: {summary.checkpoint}")


def _cmd_train(args) -> None:
    from avts import api
    from avts.errors import ConfigError

    overrides = list(args.overrides)
    if args.group_by is not None:  # JSON quoting keeps a regex a YAML string
        overrides.append(f"data.group_by={json.dumps(args.group_by)}")
    if args.init is not None:
        overrides.append(f"train.init_from={json.dumps(args.init)}")
    if args.resume and (args.config or args.preset):
        raise ConfigError("--resume continues with the run's own config.yaml; give only "
                          "overrides (e.g. train.epochs=40), not --config or --preset")
    if args.resume:
        cfg = api.resume_config(args.out, overrides)  # refused before any decoding
    elif args.data is None:
        raise ConfigError("--data is required to start a run (only --resume may leave it out)")
    else:
        cfg = api.load_config(args.config, overrides, args.preset)
    counts = api.parameter_counts(cfg)
    nets = (f"{cfg.model.video_arch} video net + VGG audio net"
            if cfg.model.kind == "twostream" else "framesync (frame-rate video and audio nets)")
    print(f"model: {nets}, parameters: "
          + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
    progress = _TrainProgress()
    callbacks = {"on_step": progress.on_step, "on_epoch": progress.on_epoch,
                 "on_estimate": progress.on_estimate}
    if args.resume:
        result = api.resume(args.out, args.overrides, data_dir=args.data,
                            progress=_StageBars(), **callbacks)
        _report_files(result.skipped_files)
    else:
        api.check_new_run(args.out, cfg)
        data = api.prepare_data(args.data, cfg, progress=_StageBars())
        _report_files(data.skipped)
        print(f"{len(data.train.videos)} training and {len(data.val.videos)} validation videos, "
              f"{len(data.skipped)} skipped", flush=True)
        result = api.train(args.data, args.out, cfg, data=data, **callbacks)
    print(f"trained {len(result.epochs)} epochs in {result.train_seconds:.0f} s; "
          f"best: {result.best_checkpoint}, last: {result.last_checkpoint}")


def _cmd_eval_sync(args) -> None:
    from avts import api

    acc = api.evaluate_sync(args.checkpoint, args.data, n_per_kind=args.pairs_per_kind,
                            seed=args.seed)
    _report_files(acc.skipped_files)
    if acc.overlap_warning:
        print(f"avts: warning: {acc.overlap_warning}", file=sys.stderr)
    _print_accuracy(acc, args.json)


def _cmd_synth(args) -> None:
    from avts import api

    bars = _StageBars()
    paths = api.synthesize(args.out_dir, args.num_videos, seed=args.seed,
                           progress=lambda done, total: bars("synthesizing", done, total),
                           fps=args.fps)
    print(f"wrote {len(paths)} videos and labels.csv to {args.out_dir}")


def _cmd_probe(args) -> None:
    from avts import api

    infos = [api.probe(p) for p in args.paths]
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], indent=2))
        return
    for i in infos:
        print(f"{i.path}: {i.duration_s:.3f} s usable from {i.start_s:.3f} s; "
              f"video {i.video_codec} {i.width}x{i.height} {i.video_fps or 0:.3f} fps "
              f"(starts {i.video_start_s or 0:.3f} s); audio {i.audio_codec} {i.audio_sr_hz} Hz "
              f"x{i.audio_channels} (starts {i.audio_start_s or 0:.3f} s)")


def _cmd_embed(args) -> int:
    from avts import api

    bars = _StageBars()
    report = api.embed_files(args.inputs, args.out, checkpoint=args.checkpoint,
                             hop_s=args.hop_s, layer=args.layer, jobs=args.jobs,
                             progress=lambda done, total: bars("embedding", done, total))
    nothing_done = report.failed and not (report.written or report.existing)
    if nothing_done and len(report.failed) == 1:
        print(f"avts: error: {report.failed[0].reason}", file=sys.stderr)
        return EXIT_USER_ERROR
    _report_files(report.failed)
    if nothing_done:
        print(f"avts: error: none of the {len(report.failed)} files could be embedded",
              file=sys.stderr)
        return EXIT_USER_ERROR
    print(f"wrote {len(report.written)} files to {args.out}"
          + (f", {len(report.existing)} already there" if report.existing else "")
          + (f", {len(report.failed)} failed" if report.failed else ""))
    return 0


def _cmd_probe_audio(args) -> None:
    from avts import api

    result = api.probe_audio(args.data_dir, meta=args.meta, checkpoint=args.checkpoint,
                             layer=args.layer, classes=args.classes, n_folds=args.folds,
                             hop_s=args.hop_s, seed=args.seed, progress=_StageBars())
    _report_files(result.left_out, "left out")
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    print(f"{len(result.classes)} classes, {result.n_clips} clips ({len(result.left_out)} left "
          f"out), {result.n_windows} windows; folds: {result.fold_source}")
    rows = [(f"{result.checkpoint} [{result.layer}]", result.accuracy, result.folds)]
    names = {"random_init": "random init, same network", "log_mel_stats": "log-mel mean+std"}
    rows += [(names.get(k, k), v.accuracy, v.folds) for k, v in result.baselines.items()]
    print(f"{'features':<48}{'accuracy':>9}  per fold")
    for name, acc, folds in rows:
        print(f"{name[-48:]:<48}{acc:>9.3f}  " + " ".join(f"{a:.2f}" for a in folds))


def _cmd_finetune_video(args) -> None:
    from avts import api

    def on_epoch(m) -> None:
        if not args.json:
            print(f"epoch {m.epoch:3d}  loss {m.train_loss:.4f}  train {m.train_clip_accuracy:.3f}"
                  f"  test clip {m.test_clip_accuracy:.3f} video {m.test_video_accuracy:.3f}  "
                  f"lr {m.lr:.2g}  {m.seconds:.0f} s", flush=True)

    result = api.finetune_video(args.data_dir, args.out, init=args.init, meta=args.meta,
                                preset=args.preset, epochs=args.epochs, lr=args.lr,
                                batch_size=args.batch_size, seed=args.seed, resume=args.resume,
                                on_epoch=on_epoch, progress=_StageBars(),
                                overrides=args.overrides)
    _report_files(result.skipped_files)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    print(f"{len(result.classes)} classes, {result.n_train_videos} training and "
          f"{result.n_test_videos} test videos ({result.split}); init: {result.init}")
    print(f"test accuracy: clip {result.clip_accuracy:.3f}, video {result.video_accuracy:.3f} "
          f"(last epoch); run: {result.run_dir}")


def _format_sync(r) -> str:
    if r.offset_ms is None:
        head = "offset: unknown"
    else:
        late = {"audio": "audio late", "video": "audio early"}.get(r.late_stream, "no offset")
        head = (f"offset: {r.offset_ms:+.1f} ms ({r.offset_frames:+.2f} frames at {r.fps:g} fps, "
                f"{late})")
    faces = "" if r.face_share is None else f", a face in {r.face_share:.0%} of them"
    lines = [f"{r.file}", f"  {head}", f"  confidence: {r.confidence:.2f} (score {r.score:.2f}, "
             f"{r.n_windows}/{r.n_windows_total} windows{faces}, search +-{r.search_ms:g} ms)",
             f"  verdict: {r.verdict}" + (f" ({r.reason})" if r.reason else "")
             + f"  [tolerance: audio early <= {r.tolerance_early_ms:g} ms, "
             f"late <= {r.tolerance_late_ms:g} ms]"]
    if r.drift_ms_per_min is not None:
        lines.append(f"  drift: {r.drift_ms_per_min:+.1f} ms/min")
    for w in r.timeline[:12]:
        offset = "   n/a" if w.offset_ms is None else f"{w.offset_ms:+7.1f} ms"
        lines.append(f"  {w.start_s:8.1f}-{w.end_s:8.1f} s  {offset}  conf {w.confidence:.2f}")
    if len(r.timeline) > 12:
        lines.append(f"  ... {len(r.timeline) - 12} more stretches (--json for all)")
    return "\n".join(lines)


def _cmd_sync(args) -> None:
    from avts import api

    with _CountBar("windows", "window") as progress:
        result = api.detect_offset(args.video, progress=progress, **_sync_kwargs(args))
    print(json.dumps(result.to_dict()) if args.json else _format_sync(result))


def _detect_options(args) -> dict:
    """``_sync_kwargs`` without the model choice, which fix and bench-sync pass themselves."""
    return {k: v for k, v in _sync_kwargs(args).items() if k not in ("checkpoint", "method")}


def _describe_offset(result) -> str:
    if result.offset_ms is None:
        return f"no estimate ({result.verdict}: {result.reason or 'too little signal'})"
    ms = round(result.offset_ms, 1) + 0.0  # + 0.0 turns -0.0 into 0.0
    late = "audio late" if ms > 0 else "audio early" if ms < 0 else "no offset"
    return (f"{ms:+.1f} ms ({late}; {result.offset_frames:+.2f} frames at "
            f"{result.fps:.3g} fps), {result.verdict}, confidence {result.confidence:.2f} "
            f"[{result.method}]")


def _cmd_fix(args) -> None:
    from avts import api

    bars = _StageBars()
    result = api.fix_offset(args.video, args.out, None if args.auto else args.offset_ms,
                            checkpoint=args.checkpoint, method=args.method,
                            measure=not args.no_measure, progress=bars,
                            **_detect_options(args))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    if result.measured_before is not None:
        print(f"measured {result.src}: {_describe_offset(result.measured_before)}")
    shift = result.applied_offset_ms
    moved = "advanced" if shift > 0 else "delayed" if shift < 0 else "not moved"
    print(f"applied: audio {moved} by {abs(shift):.1f} ms (undoing an offset of {shift:+.1f} ms)")
    same = "yes" if result.video_packets_identical else "NO"
    print(f"wrote {result.dst}; video packets byte-identical to the input: {same}")
    if result.measured_after is not None:
        print(f"residual offset: {_describe_offset(result.measured_after)}")
    elif result.note:
        print(f"residual offset: not measured; {result.note}")


def _cmd_bench_sync(args) -> None:
    from avts import api

    with _CountBar("measuring shifted copies", "copy") as progress:
        result = api.bench_sync(args.data, args.offsets, checkpoint=args.checkpoint,
                                methods=args.methods, out_dir=args.out, progress=progress,
                                jobs=args.jobs, **_detect_options(args))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    _print_bench(result)


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}%"


def _print_bench(result) -> None:
    print(f"bench-sync: {len(result.files)} files x {len(result.offsets_ms)} offsets "
          f"(positive = audio late); share of copies within 1 and 2 frames of the true offset, "
          "share with the right sign, median |error|")
    width = 30
    print(f"{'offset':>8}" + "".join(f" | {m:^{width}}" for m in result.methods))
    print(f"{'ms':>8}" + f" | {'<=1 fr':>7}{'<=2 fr':>7}{'sign':>6}{'med ms':>9} "
          * len(result.methods))
    rows = [(k, {m: result.per_offset[m][k] for m in result.methods})
            for k in result.per_offset[result.methods[0]]] if result.methods else []
    rows.append(("all", result.overall))
    for key, scores in rows:
        cells = []
        for m in result.methods:
            s = scores[m]
            med = "-" if s.median_abs_error_ms is None else f"{s.median_abs_error_ms:.1f}"
            cells.append(f" | {_pct(s.within_1_frame):>7}{_pct(s.within_2_frames):>7}"
                         f"{_pct(s.sign_accuracy):>6}{med:>9} ")
        print(f"{key:>8}" + "".join(cells))
    for note in result.notes:
        print(f"note: {note}")


def _add_scan_parser(sub) -> None:
    p = sub.add_parser(
        "scan", help="measure the offset of many files in parallel, one result line each",
        description="Measure every file (folders: their video files, recursively) as `sync` "
        "does, in parallel worker processes; append one JSON line per file to OUT (the `sync "
        "--json` object, or {\"file\", \"error\"}) as results arrive. Files already in OUT "
        "are skipped, so an interrupted scan resumes where it stopped.", epilog=SYNC_EPILOG)
    p.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="files and folders")
    p.add_argument("--out", type=Path, required=True, help="results file (appended to)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--csv", action="store_true", help="write CSV rows instead of JSON lines "
                   "(the timeline as a JSON string column)")
    _add_sync_options(p)


def _cmd_scan(args) -> None:
    from avts import api

    with _CountBar("scanning", "file") as progress:
        summary = api.scan(args.paths, args.out, jobs=args.jobs, csv=args.csv,
                           progress=progress, **_sync_kwargs(args))
    counts = ", ".join(f"{n} {v}" for v, n in summary.verdicts.items()) or "none measured"
    print(f"scanned {summary.n_measured + summary.n_errors} of {summary.n_files} files in "
          f"{summary.elapsed_s:.1f} s: {counts}; {summary.n_errors} errors; "
          f"{summary.n_skipped} skipped (already in {summary.out})")


COMMANDS = {"demo": _cmd_demo, "train": _cmd_train, "eval-sync": _cmd_eval_sync,
            "synth": _cmd_synth, "probe": _cmd_probe, "embed": _cmd_embed,
            "probe-audio": _cmd_probe_audio, "finetune-video": _cmd_finetune_video,
            "sync": _cmd_sync, "fix": _cmd_fix, "bench-sync": _cmd_bench_sync,
            "scan": _cmd_scan}


def _parse(argv: list[str]) -> argparse.Namespace:
    # argparse takes positional overrides in one run only: "--init C a=1 --group-by G b=2"
    # would reject b=2. Overrides found after an option are gathered here instead.
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "overrides_anywhere", False):
        late = [e for e in extra if "=" in e and not e.startswith("-")]
        args.overrides = [*args.overrides, *late]
        extra = [e for e in extra if e not in late]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(_glue_list_values(sys.argv[1:] if argv is None else list(argv)))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from avts.errors import AvtsError

    try:
        status = COMMANDS[args.command](args)
    except AvtsError as err:
        print(f"avts: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as err:  # an output folder that cannot be created, a full disk, ...
        print(f"avts: error: {err.strerror or err}: {err.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("avts: interrupted", file=sys.stderr)
        return 130
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
