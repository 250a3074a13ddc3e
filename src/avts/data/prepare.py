"""From a folder of videos to decoded clips, in one place for training and evaluation.

Index (probe) the corpus, split it, check that the split can work, and only then decode: a
setting or a folder that cannot work fails in seconds, before any file is decoded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from avts.config import Config
from avts.data.corpus import (
    MIN_VIDEOS_PER_SIDE,
    CorpusIndex,
    index_corpus,
    min_videos_for_split,
    split_by_video,
)
from avts.data.groups import group_fn
from avts.data.multiway import MultiwaySpec, min_clip_frames
from avts.data.offsets import lookup_delays, read_known_offsets
from avts.data.pairs import min_duration_for
from avts.errors import DatasetError
from avts.types import MediaInfo, SkippedFile

if TYPE_CHECKING:  # the dataset needs torch; it is imported when data is really decoded
    from avts.data.dataset import ClipStore
    from avts.data.regionstore import RegionStore

    Store = ClipStore | RegionStore

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total)
StageProgress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class PreparedData:
    train: Store  # training videos, decoded (RegionStore for model.kind framesync)
    val: Store  # validation videos (other files, other groups than training)
    skipped: list[SkippedFile]  # files left out, with the reason


def _stage(progress: StageProgress | None, name: str) -> Progress | None:
    return None if progress is None else (lambda done, total: progress(name, done, total))


def min_duration_s(cfg: Config, training: bool = True) -> float:
    """Usable span a file needs: ``data.min_duration_s``, or room for a hard negative (and,
    to train ``model.kind: framesync``, for one multi-way item; evaluation needs pairs only)."""
    if cfg.data.min_duration_s:
        return cfg.data.min_duration_s
    need = min_duration_for(pair_window_s(cfg), cfg.data.pairs)
    if training and cfg.model.kind == "framesync":
        need = max(need, _item_s(cfg, cfg.data.multiway.whole_clips))
    return need


def _item_s(cfg: Config, whole_clips: bool) -> float:
    """Seconds a clip needs to give one multi-way item."""
    mw = cfg.data.multiway
    spec = MultiwaySpec(n_frames=mw.n_frames, max_shift=mw.max_shift, margin=mw.margin,
                        whole_clips=whole_clips)
    return min_clip_frames(spec) / cfg.data.clip.fps


def too_short_remedy(cfg: Config, training: bool = True) -> str | None:
    """What to change when files are too short to train the frame-rate model on (None: the
    generic advice, a longer file or shorter pair clips)."""
    if cfg.data.min_duration_s or not (training and cfg.model.kind == "framesync"):
        return None
    if cfg.data.multiway.whole_clips:
        return "use a longer file, or a smaller data.multiway.max_shift"
    need = max(min_duration_for(pair_window_s(cfg), cfg.data.pairs), _item_s(cfg, True))
    return f"use a longer file, or data.multiway.whole_clips=true to train on clips of {need:.2f} s"


def pair_window_s(cfg: Config) -> float:
    """Length of the windows of validation and ``eval-sync`` pairs: ``data.clip.duration_s``,
    or ``data.multiway.win_frames`` frames for ``model.kind: framesync`` (its scoring window)."""
    if cfg.model.kind == "framesync":
        return cfg.data.multiway.win_frames / cfg.data.clip.fps
    return cfg.data.clip.duration_s


def index_for(root: str | Path, cfg: Config, progress: Progress | None = None,
              training: bool = True) -> CorpusIndex:
    """Probe the files under ``root`` (cached) and keep the ones ``cfg`` can use (to train on,
    or with ``training=False`` to evaluate on)."""
    return index_corpus(root, min_duration_s(cfg, training), cache_dir=cfg.data.cache_dir,
                        progress=progress, remedy=too_short_remedy(cfg, training))


def load_store(videos: Sequence[MediaInfo], cfg: Config, progress: Progress | None = None,
               audio_delays: Sequence[float] | None = None) -> Store:
    """Decode (with ``data.preload``) the videos at the clip size and audio rate of ``cfg``;
    for ``model.kind: framesync``, the grey region crops (``train.num_workers`` threads).
    ``audio_delays``: known offsets to undo (seconds, one per video; training only)."""
    from avts.data.dataset import ClipStore

    if cfg.model.kind == "framesync":
        from avts.data.regionstore import RegionStore

        return RegionStore(videos, cfg.data.clip, cfg.data.mel.sr_hz, cfg.data.multiway,
                           workers=cfg.train.num_workers, progress=progress,
                           audio_delays=audio_delays)

    return ClipStore(videos, cfg.data.clip, cfg.data.mel.sr_hz, preload=cfg.data.preload,
                     progress=progress, audio_delays=audio_delays)


def load_corpus(root: str | Path, cfg: Config, progress: StageProgress | None = None,
                min_videos: int = 2) -> tuple[Store, list[SkippedFile]]:
    """Index ``root``, then decode every usable file into one store (evaluation). Fewer than
    ``min_videos`` usable videos fail before decoding, fewer decoded ones after."""
    index = index_for(root, cfg, _stage(progress, "probing"), training=False)
    _require(len(index.videos), min_videos, index, cfg, training=False)
    store = load_store(index.videos, cfg, _stage(progress, "loading"))
    _require(len(store.videos), min_videos, index, cfg, "decodable", training=False)
    return store, list(index.skipped) + store.failed


def _require(found: int, needed: int, index: CorpusIndex, cfg: Config, what: str = "usable",
             training: bool = True) -> None:
    if found < needed:
        raise DatasetError(f"{index.root}: need at least {needed} {what} videos (audio and "
                           f"video, >= {min_duration_s(cfg, training):.1f} s), found {found} "
                           f"({len(index.skipped)} skipped)")


def split_for(index: CorpusIndex, cfg: Config) -> tuple[list[MediaInfo], list[MediaInfo]]:
    """Train and validation videos by ``data.val_fraction`` and ``data.group_by``; raises a
    DatasetError that says what is missing when a side gets too few videos to draw pairs."""
    vf, group_by = cfg.data.val_fraction, cfg.data.group_by
    need = min_videos_for_split(vf)
    if len(index.videos) < need:
        raise DatasetError(f"{index.root}: need at least {need} usable videos at "
                           f"data.val_fraction={vf} (found {len(index.videos)}; usable: audio and "
                           f"video, >= {min_duration_s(cfg):.1f} s; {len(index.skipped)} skipped)")
    groups = group_fn(index.videos, group_by, index.root)
    try:
        split_seed = cfg.train.seed if cfg.data.split_seed is None else cfg.data.split_seed
        train, val = split_by_video(index.videos, vf, split_seed, groups)
    except DatasetError as err:  # all videos in one group
        raise DatasetError(f"{index.root}: data.group_by={group_by!r}: {err}") from err
    if min(len(train), len(val)) < MIN_VIDEOS_PER_SIDE:
        raise DatasetError(f"{index.root}: data.group_by={group_by!r} puts {len(train)} videos "
                           f"in training and {len(val)} in validation; each side needs at least "
                           f"{MIN_VIDEOS_PER_SIDE} (smaller groups or another data.val_fraction)")
    return train, val


def prepare_split(root: str | Path, cfg: Config, progress: StageProgress | None = None
                  ) -> PreparedData:
    """Index ``root``, split it by video (and group), check the split, then decode both sides.
    ``progress(stage, done, total)`` reports the stages "probing" and "loading"."""
    cfg.validate()  # loaded configs are valid; one built in Python may not be (cheap, once)
    index = index_for(root, cfg, _stage(progress, "probing"))
    train_infos, val_infos = split_for(index, cfg)
    extra = _train_extra(cfg, progress)
    train_infos = train_infos + (extra.videos if extra else [])
    n_all = len(train_infos) + len(val_infos)
    train_delays, val_delays = _known_delays(cfg, index.root, train_infos, val_infos)
    load = _stage(progress, "loading")
    train = load_store(train_infos, cfg, load and (lambda done, _total: load(done, n_all)),
                       train_delays)
    val = load_store(val_infos, cfg,
                     load and (lambda done, _total: load(len(train_infos) + done, n_all)),
                     val_delays)
    skipped = list(index.skipped) + (extra.skipped if extra else []) + train.failed + val.failed
    if min(len(train.videos), len(val.videos)) < MIN_VIDEOS_PER_SIDE:
        raise DatasetError(f"{index.root}: too few videos decode for a train/validation split "
                           f"({len(train.videos)} train, {len(val.videos)} validation; each side "
                           f"needs {MIN_VIDEOS_PER_SIDE})")
    return PreparedData(train, val, skipped)


def _known_delays(cfg: Config, root: Path, train: Sequence[MediaInfo],
                  val: Sequence[MediaInfo]) -> tuple[list[float], list[float]]:
    """Each video's offset from ``data.known_offsets`` (seconds; 0 when none is known)."""
    table = read_known_offsets(cfg.data.known_offsets) if cfg.data.known_offsets else {}
    train_d, val_d = (lookup_delays([v.path for v in side], table, root) for side in (train, val))
    n_used, n_listed = sum(d != 0.0 for d in train_d + val_d), sum(d != 0.0 for d in table.values())
    if n_listed and not n_used:
        log.warning("data.known_offsets: none of its %d files with an offset is under %s (paths "
                    "are matched whole, relative to the data folder, or by file name)",
                    n_listed, root)
    elif n_listed:
        log.info("data.known_offsets: undoing the offsets of %d files", n_used)
    return train_d, val_d


def _train_extra(cfg: Config, progress: StageProgress | None) -> CorpusIndex | None:
    """The usable videos of ``data.train_extra`` (training only); None when it is not set."""
    if cfg.data.train_extra is None:
        return None
    try:
        extra = index_for(Path(cfg.data.train_extra).expanduser(), cfg,
                          _stage(progress, "probing"))
    except DatasetError as err:
        raise DatasetError(f"data.train_extra: {err}") from err
    if not extra.videos:
        raise DatasetError(f"data.train_extra: no usable videos in {cfg.data.train_extra} "
                           f"(audio and video, >= {min_duration_s(cfg):.1f} s; "
                           f"{len(extra.skipped)} skipped)")
    return extra


def seen_in_run(paths: Sequence[Path], run_files: Sequence[str]) -> list[Path]:
    """The ``paths`` that are among a run's files (a checkpoint's ``train_videos`` or
    ``val_videos``): the same file by resolved path, or, for a run file that does not exist on
    this machine (data moved or trained elsewhere), the same file name."""
    resolved, names = set(), set()
    for f in run_files:
        p = Path(f)
        if p.exists():
            resolved.add(p.resolve())
        else:
            names.add(p.name)
    return [p for p in paths if Path(p).resolve() in resolved or Path(p).name in names]
