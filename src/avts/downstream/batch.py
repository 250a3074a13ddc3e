"""Embed many files into one ``.npz`` each, in parallel worker processes, resumably.

Each output is written atomically, so an interrupted run leaves only whole files and a rerun
skips inputs whose output exists. Workers rebuild the model from its config and weights
(passed as bytes), so they need no checkpoint file and no loader.
"""

from __future__ import annotations

import io
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import torch

from avts._atomic import atomic_path
from avts.config import Config, from_dict
from avts.downstream.embed import embed_media
from avts.errors import AvtsError, ConfigError
from avts.models import build_model
from avts.types import EmbedReport, SkippedFile

MEDIA_EXTENSIONS = frozenset({
    "mp4", "mkv", "avi", "webm", "mov", "mpg", "mpeg", "m4v", "flv", "ts", "ogv", "wmv",
    "wav", "flac", "mp3", "ogg", "oga", "opus", "m4a", "aac", "aif", "aiff"})

Progress = Callable[[int, int], None]


def find_media(root: Path) -> list[Path]:
    """Media files under ``root`` (recursive, by extension), sorted by relative path."""
    found = (p for p in root.rglob("*")
             if p.suffix.lower().lstrip(".") in MEDIA_EXTENSIONS and p.is_file())
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def plan_outputs(inputs: Sequence[str | Path], out_dir: Path) -> list[tuple[Path, Path]]:
    """``(input file, output .npz)`` pairs: a folder contributes its media files with their
    relative paths kept; a file maps to ``out_dir/<stem>.npz``. Two inputs may not share one
    output (``a.mp4`` and ``a.mkv``)."""
    pairs: list[tuple[Path, Path]] = []
    for item in map(Path, inputs):
        if item.is_dir():
            pairs += [(p, out_dir / p.relative_to(item).with_suffix(".npz"))
                      for p in find_media(item)]
        else:  # a missing file is reported by embedding it, like any unreadable one
            pairs.append((item, out_dir / f"{item.stem}.npz"))
    seen: dict[Path, Path] = {}
    for src, dst in pairs:
        if dst in seen and seen[dst] != src:
            raise ConfigError(f"{seen[dst]} and {src} would both write {dst}; embed them into "
                              "different --out folders")
        seen[dst] = src
    return pairs


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


# --- workers -----------------------------------------------------------------------------

_WORKER: dict[str, object] = {}


def model_blob(model: torch.nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


def _init_worker(cfg_dict: dict, blob: bytes, layer: str, hop_s: float, threads: int) -> None:
    torch.set_num_threads(threads)
    cfg = from_dict(cfg_dict)
    model = build_model(cfg.model)
    model.load_state_dict(torch.load(io.BytesIO(blob), map_location="cpu"))
    _WORKER.update(model=model.eval(), cfg=cfg, layer=layer, hop_s=hop_s)


def _embed_one(src: Path, dst: Path) -> str | None:
    """Embed ``src`` into ``dst``; the one-line reason on a user-level failure, else None."""
    try:
        emb = embed_media(_WORKER["model"], _WORKER["cfg"], src, _WORKER["layer"],
                          _WORKER["hop_s"])
    except AvtsError as err:
        return str(err)
    write_npz(dst, {"audio": emb.audio, "video": emb.video, "audio_ts": emb.audio_ts,
                    "video_ts": emb.video_ts})
    return None


def embed_many(pairs: list[tuple[Path, Path]], model: torch.nn.Module, cfg: Config, layer: str,
               hop_s: float, jobs: int = 1, progress: Progress | None = None) -> EmbedReport:
    """Embed every ``(input, output)`` pair whose output does not exist yet."""
    existing = [dst for _, dst in pairs if dst.exists()]
    todo = [(src, dst) for src, dst in pairs if not dst.exists()]
    init = (cfg.to_dict(), model_blob(model), layer, hop_s)
    written: list[Path] = []
    failed: list[SkippedFile] = []

    def record(src: Path, dst: Path, reason: str | None) -> None:
        if reason is None:
            written.append(dst)
        else:
            failed.append(SkippedFile(src, reason))
        if progress is not None:
            progress(len(written) + len(failed), len(todo))

    if jobs <= 1 or len(todo) <= 1:
        _init_worker(*init, threads=torch.get_num_threads())
        for src, dst in todo:
            record(src, dst, _embed_one(src, dst))
        return EmbedReport(written, existing, failed)
    # spawn, not fork: a forked copy of a process that already ran torch can deadlock
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                             initargs=(*init, 1)) as pool:
        futures = {pool.submit(_embed_one, src, dst): (src, dst) for src, dst in todo}
        for future in as_completed(futures):
            record(*futures[future], future.result())
    return EmbedReport(sorted(written), existing, sorted(failed, key=lambda f: f.path))
