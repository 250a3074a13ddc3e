"""Corpus index: find the video files under a folder, probe each once, keep the usable ones.

Probe results (and failures, with their reason) are cached in a JSON file per corpus root,
keyed by absolute path and invalidated when a file's size or mtime changes. The cache lives
under ``cache_dir`` or ``$XDG_CACHE_HOME/avts/probe`` (default ``~/.cache/avts/probe``); a
corrupt or unwritable cache is ignored with a warning, never fatal.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avts._atomic import atomic_path
from avts.errors import ConfigError, DatasetError, MediaError
from avts.media.probe import probe, require_av
from avts.types import MediaInfo, SkippedFile

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {"mp4", "mkv", "avi", "webm", "mov", "mpg", "mpeg", "m4v", "flv", "ts", "ogv", "wmv"}
)
CACHE_VERSION = 2  # bumped when probe results change meaning (2: display size, edit lists)

ProbeFn = Callable[[Path], MediaInfo]
ProgressFn = Callable[[int, int], None]


@dataclass
class CorpusIndex:
    """The usable videos under ``root`` (sorted by path) and the files left out, with reasons."""

    root: Path
    videos: list[MediaInfo] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)

    @property
    def spans(self) -> list[tuple[float, float]]:
        """``(start_s, duration_s)`` of each video's usable span, as the pair sampler wants."""
        return usable_spans(self.videos)


def usable_span(info: MediaInfo) -> tuple[float, float]:
    """``(start_s, duration_s)``: starts when both streams have started (``MediaInfo.start_s``)."""
    return (info.start_s, info.duration_s)


def usable_spans(videos: Sequence[MediaInfo]) -> list[tuple[float, float]]:
    """``usable_span`` of each video, in order: what ``pairs.draw_pairs`` takes."""
    return [usable_span(info) for info in videos]


def unusable_reason(info: MediaInfo, min_duration_s: float,
                    remedy: str | None = None) -> str | None:
    """``require_av``'s one-line message when a probed file cannot be used, else None."""
    try:
        require_av(info, min_duration_s, remedy)
    except MediaError as err:
        return str(err)
    return None


def find_videos(root: Path) -> list[Path]:
    """Video files under ``root`` (recursive, by extension), sorted by relative path."""
    found = (
        p
        for p in root.rglob("*")
        if p.suffix.lower().lstrip(".") in VIDEO_EXTENSIONS and p.is_file()
    )
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


# --- probe cache ---------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/avts/probe``, or ``~/.cache/avts/probe``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "avts" / "probe"


def cache_file(root: Path, cache_dir: str | Path | None) -> Path:
    """One cache file per corpus root, named by a hash of its absolute path."""
    digest = hashlib.sha1(str(root).encode()).hexdigest()[:16]
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return folder / f"probe-{digest}.json"


def load_cache(path: Path) -> dict[str, dict[str, Any]]:
    """Entries of a cache file; a missing, corrupt or old-format file gives an empty cache."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        log.warning("ignoring unreadable probe cache %s: %s", path, err)
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        log.warning("ignoring probe cache %s: unknown format", path)
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def save_cache(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    """Write atomically (temporary file + rename); failure only logs a warning."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps({"version": CACHE_VERSION, "entries": entries}))
    except OSError as err:
        log.warning("could not write probe cache %s: %s", path, err)


def _stat_key(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _info_from_dict(data: Any, path: Path) -> MediaInfo | None:
    """Rebuild a cached MediaInfo; None when the stored fields no longer match."""
    if not isinstance(data, dict):
        return None
    try:
        return MediaInfo(**{**data, "path": path})
    except TypeError:
        return None


def _cached_outcome(entry: Any, stat: dict[str, int], path: Path) -> MediaInfo | str | None:
    """The cached probe outcome (info or failure reason) if still valid, else None."""
    if not isinstance(entry, dict) or entry.get("stat") != stat:
        return None
    if isinstance(entry.get("error"), str):
        return entry["error"]
    return _info_from_dict(entry.get("info"), path)


def _probe(path: Path, probe_fn: ProbeFn) -> MediaInfo | str:
    try:
        return dataclasses.replace(probe_fn(path), path=path)
    except MediaError as err:
        return str(err).splitlines()[0] if str(err) else type(err).__name__


def _entry(stat: dict[str, int], outcome: MediaInfo | str) -> dict[str, Any]:
    if isinstance(outcome, str):
        return {"stat": stat, "error": outcome}
    return {"stat": stat, "info": outcome.to_dict()}


# --- index ---------------------------------------------------------------------------------


def _check_root(root: Path) -> None:
    if not root.exists():
        raise DatasetError(f"corpus folder {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"corpus path {root} is not a folder")


def index_corpus(
    root: str | Path,
    min_duration_s: float,
    cache_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
    probe_fn: ProbeFn | None = None,
    remedy: str | None = None,
) -> CorpusIndex:
    """Probe every video file under ``root`` once (cached) and sort them into used and skipped.

    A file is used when it has a video and an audio stream and their overlap lasts at least
    ``min_duration_s`` (``remedy``: what a too-short file's reason suggests). Raises
    ``DatasetError`` when ``root`` is missing or holds no video files.
    """
    root = Path(root).expanduser().absolute()
    _check_root(root)
    paths = find_videos(root)
    if not paths:
        exts = ", ".join(f".{e}" for e in sorted(VIDEO_EXTENSIONS))
        raise DatasetError(f"no video files under {root} (looked for {exts})")
    probe_file = probe_fn if probe_fn is not None else probe
    cache_path = cache_file(root, cache_dir)
    old = load_cache(cache_path)
    new: dict[str, dict[str, Any]] = {}
    index = CorpusIndex(root=root)
    for done, path in enumerate(paths, start=1):
        outcome = _outcome(path, old, new, probe_file)
        reason = (outcome if isinstance(outcome, str)
                  else unusable_reason(outcome, min_duration_s, remedy))
        if reason is None and isinstance(outcome, MediaInfo):
            index.videos.append(outcome)
        else:
            index.skipped.append(SkippedFile(path=path, reason=reason or "unusable"))
        if progress is not None:
            progress(done, len(paths))
    if new != old:
        save_cache(cache_path, new)
    log.info("indexed %s: %d usable, %d skipped", root, len(index.videos), len(index.skipped))
    return index


def _outcome(
    path: Path,
    old: dict[str, dict[str, Any]],
    new: dict[str, dict[str, Any]],
    probe: ProbeFn,
) -> MediaInfo | str:
    """Probe outcome of one file, from the cache when valid; records it in ``new``."""
    key = str(path)
    try:
        stat = _stat_key(path)
    except OSError as err:
        return f"cannot read file: {err.strerror or err}"
    outcome = _cached_outcome(old.get(key), stat, path)
    if outcome is None:
        outcome = _probe(path, probe)
    new[key] = _entry(stat, outcome)
    return outcome


# --- train/validation split ----------------------------------------------------------------


MIN_VIDEOS_PER_SIDE = 2  # easy negatives pair a video with another one of the same side


def split_by_video(
    videos: Sequence[MediaInfo],
    val_fraction: float,
    seed: int,
    group_fn: Callable[[MediaInfo], str] | None = None,
) -> tuple[list[MediaInfo], list[MediaInfo]]:
    """Split whole videos (never clips) into train and validation, deterministically per seed.

    ``group_fn(info)`` names a group whose videos stay on one side (default: each file its own
    group; see ``avts.data.groups``). The validation share is as close to ``val_fraction`` of
    the videos as whole groups allow, with at least one group on each side.
    Raises ``DatasetError`` with fewer than two groups.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"data.val_fraction must be in (0, 1); got {val_fraction!r}")
    key = group_fn if group_fn is not None else (lambda info: str(info.path))
    groups: dict[str, int] = {}
    for info in videos:
        name = key(info)
        groups[name] = groups.get(name, 0) + 1
    if len(groups) < 2:
        raise DatasetError(
            f"need at least 2 videos (or groups) to hold some out for validation, "
            f"found {len(groups)}"
        )
    val_groups = _pick_val_groups(groups, val_fraction, seed)
    train = [v for v in videos if key(v) not in val_groups]
    val = [v for v in videos if key(v) in val_groups]
    return train, val


def _pick_val_groups(groups: dict[str, int], val_fraction: float, seed: int) -> set[str]:
    """Groups in a shuffled order (independent of the input order for a seed) join validation
    while they bring its video count closer to the target; never all of them, never none."""
    names = sorted(groups)
    order = [names[k] for k in np.random.default_rng(seed).permutation(len(names))]
    target = val_fraction * sum(groups.values())
    picked: set[str] = set()
    count = 0
    for name in order:
        if len(picked) == len(names) - 1:
            break
        if abs(count + groups[name] - target) < abs(count - target):
            picked.add(name)
            count += groups[name]
    if not picked:  # every group is far larger than the target: the smallest one, first in order
        picked.add(min(order, key=lambda name: groups[name]))
    return picked


def min_videos_for_split(val_fraction: float) -> int:
    """The fewest usable videos (each its own group) for which ``split_by_video`` puts at least
    ``MIN_VIDEOS_PER_SIDE`` on each side at ``val_fraction``. Both sides grow with the number of
    videos, so a doubling search and a bisection over the real split rule find it."""

    def enough(n: int) -> bool:
        n_val = len(_pick_val_groups({str(i): 1 for i in range(n)}, val_fraction, 0))
        return min(n_val, n - n_val) >= MIN_VIDEOS_PER_SIDE

    lo, hi = 2 * MIN_VIDEOS_PER_SIDE - 1, 2 * MIN_VIDEOS_PER_SIDE  # enough(lo) is False
    while not enough(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    return hi
