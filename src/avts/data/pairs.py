"""Drawing audio-visual pairs (paper, Sec. 3): positives and easy, hard, super-hard negatives.

A pair is a video window ``[video_start_s, video_start_s + clip_s)`` of one file and an audio
window of the same length, both inside their file's usable span ``[start_s, start_s +
duration_s)`` (see docs/ARCHITECTURE.md, time convention).

- positive: audio and video of the same video at the same time (label 1);
- easy: audio from another video (label 0);
- hard: same video, audio at least ``hard_min_shift_s`` away (default: one window, no overlap);
- superhard: same video, overlapping windows shifted by ``superhard_min_shift_s`` to
  ``superhard_max_shift_s`` seconds either way.

Every function is pure and takes an explicit ``np.random.Generator``. Windows are sampled
exactly (no rejection loops), and a kind is drawn only from videos long enough to host it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from avts.config import PairConfig
from avts.data.curriculum import NegativeMix
from avts.errors import ConfigError, DatasetError

KINDS: tuple[str, ...] = ("positive", "easy", "hard", "superhard")  # index = stable int code

Span = tuple[float, float]  # (start_s, duration_s) of a file's usable span


@dataclass(frozen=True)
class PairSpec:
    """Which windows make up one example; decoded later by the dataset."""

    kind: str  # one of KINDS
    video_index: int  # index into the spans (i.e. the corpus videos)
    video_start_s: float
    audio_index: int
    audio_start_s: float
    label: int  # 1: in sync (positive), 0: not in sync


def kind_code(kind: str) -> int:
    """Stable integer code of a pair kind (its position in ``KINDS``)."""
    try:
        return KINDS.index(kind)
    except ValueError:
        raise ValueError(f"unknown pair kind {kind!r} (known: {', '.join(KINDS)})") from None


# --- configuration ------------------------------------------------------------------------


def hard_min_shift_s(clip_s: float, cfg: PairConfig) -> float:
    """Minimum |audio - video| start offset of a hard negative (None in the config: one clip)."""
    return clip_s if cfg.hard_min_shift_s is None else cfg.hard_min_shift_s


def min_duration_for(clip_s: float, cfg: PairConfig) -> float:
    """Usable span a video needs to host a hard negative: one clip plus the minimum shift."""
    return clip_s + hard_min_shift_s(clip_s, cfg)


def check_pair_config(clip_s: float, cfg: PairConfig) -> None:
    """Raise ``ConfigError`` for values that make pairs impossible or mislabelled. Loaded configs
    are valid already (``PairConfig.validate``); this guards direct callers, once per call."""
    if not clip_s > 0:
        raise ConfigError(f"clip duration must be > 0 s, got {clip_s}")
    cfg.validate()


def check_superhard_config(clip_s: float, cfg: PairConfig) -> None:
    """Super-hard shifts must be positive and shorter than a clip, so that windows overlap."""
    cfg.validate_for_clip(clip_s)


def _check_fraction(positive_fraction: float) -> None:
    if not 0.0 <= positive_fraction <= 1.0:
        raise ConfigError(f"positive_fraction must be in [0, 1], got {positive_fraction}")


# --- which videos can host which kind -----------------------------------------------------


def _needed_s(kind: str, clip_s: float, cfg: PairConfig) -> float:
    if kind == "hard":
        return min_duration_for(clip_s, cfg)
    if kind == "superhard":
        return clip_s + cfg.superhard_min_shift_s
    return clip_s


def _hosts(kind: str, durations_s: np.ndarray, clip_s: float, cfg: PairConfig) -> np.ndarray:
    """Indices of the videos whose span can hold a pair of ``kind``, or DatasetError."""
    if kind == "superhard":
        check_superhard_config(clip_s, cfg)
    needed_s = _needed_s(kind, clip_s, cfg)
    hosts = np.flatnonzero(durations_s >= needed_s)
    min_hosts = 2 if kind == "easy" else 1
    if hosts.size < min_hosts:
        longest = float(durations_s.max()) if durations_s.size else 0.0
        raise DatasetError(
            f"cannot draw {kind} pairs: need {min_hosts} video(s) with a usable span of at least "
            f"{needed_s:.2f} s (clip {clip_s:.2f} s), found {hosts.size} of {durations_s.size} "
            f"(longest {longest:.2f} s)"
        )
    return hosts


def _host_table(
    kinds: Sequence[str], spans: Sequence[Span], clip_s: float, cfg: PairConfig
) -> dict[str, np.ndarray]:
    durations_s = np.asarray([d for _, d in spans], dtype=np.float64)
    return {kind: _hosts(kind, durations_s, clip_s, cfg) for kind in dict.fromkeys(kinds)}


# --- window offsets within one span (pure geometry, offsets from the span start) ----------


def _uniform(rng: np.random.Generator, high: float) -> float:
    return float(rng.uniform(0.0, high)) if high > 0 else 0.0


def _hard_offsets(
    rng: np.random.Generator, room_s: float, min_shift_s: float
) -> tuple[float, float]:
    """(video, audio) offsets in [0, room_s], uniform over the set with |a - v| >= min_shift_s.

    The set {0 <= lo, lo + min_shift <= hi <= room} maps by (lo, hi - min_shift) onto the
    triangle {0 <= x <= y <= room - min_shift}; two sorted uniforms sample it exactly.
    """
    x, y = sorted((_uniform(rng, room_s - min_shift_s), _uniform(rng, room_s - min_shift_s)))
    lo, hi = x, y + min_shift_s
    return (lo, hi) if rng.random() < 0.5 else (hi, lo)


def _superhard_offsets(
    rng: np.random.Generator, room_s: float, min_shift_s: float, max_shift_s: float
) -> tuple[float, float]:
    """(video, audio) offsets in [0, room_s]; shift uniform in ±[min, min(max, room)]."""
    shift_s = float(rng.uniform(min_shift_s, min(max_shift_s, room_s)))
    lo = _uniform(rng, room_s - shift_s)
    return (lo, lo + shift_s) if rng.random() < 0.5 else (lo + shift_s, lo)


# --- one pair ------------------------------------------------------------------------------


def _draw(
    rng: np.random.Generator,
    kind: str,
    spans: Sequence[Span],
    hosts: np.ndarray,
    clip_s: float,
    cfg: PairConfig,
) -> PairSpec:
    i = int(hosts[rng.integers(hosts.size)])
    start_s, duration_s = spans[i]
    room_s = duration_s - clip_s  # window starts lie in [start_s, start_s + room_s]
    if kind == "positive":
        t = start_s + _uniform(rng, room_s)
        return PairSpec(kind, i, t, i, t, label=1)
    if kind == "easy":
        k = int(rng.integers(hosts.size - 1))
        j = int(hosts[k + 1 if hosts[k] >= i else k])  # any host but i
        j_start_s, j_duration_s = spans[j]
        t_audio = j_start_s + _uniform(rng, j_duration_s - clip_s)
        return PairSpec(kind, i, start_s + _uniform(rng, room_s), j, t_audio, label=0)
    if kind == "hard":
        v, a = _hard_offsets(rng, room_s, hard_min_shift_s(clip_s, cfg))
    elif kind == "superhard":
        v, a = _superhard_offsets(rng, room_s, cfg.superhard_min_shift_s, cfg.superhard_max_shift_s)
    else:
        raise ValueError(f"unknown pair kind {kind!r} (known: {', '.join(KINDS)})")
    return PairSpec(kind, i, start_s + v, i, start_s + a, label=0)


def draw_pair(
    rng: np.random.Generator, kind: str, spans: Sequence[Span], clip_s: float, cfg: PairConfig
) -> PairSpec:
    """One pair of ``kind`` from a video (uniformly) among those long enough to host it."""
    check_pair_config(clip_s, cfg)
    kind_code(kind)
    hosts = _host_table([kind], spans, clip_s, cfg)[kind]
    return _draw(rng, kind, spans, hosts, clip_s, cfg)


# --- batches -------------------------------------------------------------------------------


def kind_probabilities(positive_fraction: float, mix: NegativeMix) -> tuple[float, ...]:
    """Probability of each entry of ``KINDS`` for one draw."""
    _check_fraction(positive_fraction)
    neg = 1.0 - positive_fraction
    return (positive_fraction, neg * mix.easy, neg * mix.hard, neg * mix.superhard)


def draw_kinds(
    rng: np.random.Generator, n: int, positive_fraction: float, mix: NegativeMix
) -> list[str]:
    """``n`` independent kinds: positive with ``positive_fraction``, else a negative per ``mix``."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    probs = np.asarray(kind_probabilities(positive_fraction, mix))
    codes = rng.choice(len(KINDS), size=n, p=probs / probs.sum())
    return [KINDS[c] for c in codes]


def draw_pairs(
    rng: np.random.Generator,
    spans: Sequence[Span],
    n: int,
    mix: NegativeMix,
    positive_fraction: float,
    clip_s: float,
    cfg: PairConfig,
) -> list[PairSpec]:
    """``n`` pairs whose kinds follow ``positive_fraction`` and the curriculum ``mix``.

    Raises ``DatasetError`` up front when a kind with non-zero probability has no host video,
    so the outcome never depends on the luck of the draw.
    """
    check_pair_config(clip_s, cfg)
    probs = kind_probabilities(positive_fraction, mix)
    hosts = _host_table([k for k, p in zip(KINDS, probs, strict=True) if p > 0], spans, clip_s, cfg)
    kinds = draw_kinds(rng, n, positive_fraction, mix)
    return [_draw(rng, kind, spans, hosts[kind], clip_s, cfg) for kind in kinds]


def fixed_eval_pairs(
    rng: np.random.Generator,
    spans: Sequence[Span],
    n_per_kind: int,
    clip_s: float,
    cfg: PairConfig,
    kinds: Sequence[str] = KINDS,
) -> list[PairSpec]:
    """A balanced evaluation set: ``n_per_kind`` pairs of each of ``kinds``, in that order."""
    check_pair_config(clip_s, cfg)
    for kind in kinds:
        kind_code(kind)
    if n_per_kind < 0:
        raise ValueError(f"n_per_kind must be >= 0, got {n_per_kind}")
    hosts = _host_table(kinds, spans, clip_s, cfg)
    return [
        _draw(rng, kind, spans, hosts[kind], clip_s, cfg)
        for kind in kinds
        for _ in range(n_per_kind)
    ]
