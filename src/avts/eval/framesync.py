"""Pair scores of the frame-rate model (``model.kind: framesync``) on a ``RegionStore``.

Each clip is run through the networks once (grey central crop -> ``video_steps``, audio ->
log-mel -> ``audio_steps``: one unit vector per frame for each stream), and a pair's score is
the cosine of the two windows' ``FrameSync.window_embedding`` (the mean per-frame cosine), with
windows of ``data.multiway.win_frames`` frames: the windows the model was trained to rank.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from avts.config import MelConfig
from avts.data.pairs import PairSpec, kind_code
from avts.data.regionstore import RegionStore
from avts.features.audio import log_mel
from avts.features.region import center_crop
from avts.models.framesync import FrameSync, video_input


@torch.no_grad()
def clip_steps(model: FrameSync, gray: np.ndarray, audio: np.ndarray, mel: MelConfig,
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame features of one clip: video (T, D) and audio (about T, D), on the CPU."""
    video = torch.from_numpy(np.ascontiguousarray(gray))[None].to(device)  # (1, T, S, S)
    v = model.video_steps(video_input(video))[0]
    wave = torch.from_numpy(audio)[None].to(device)  # (1, n)
    a = model.audio_steps(log_mel(wave, mel).unsqueeze(1))[0]
    return v.float().cpu(), a.float().cpu()


def _window(steps: torch.Tensor, j: int, n: int) -> torch.Tensor:
    j = min(max(j, 0), max(len(steps) - n, 0))
    return FrameSync.window_embedding(steps[j:j + n])


@torch.no_grad()
def score_window_pairs(model: FrameSync, store: RegionStore, pairs: Sequence[PairSpec],
                       mel: MelConfig, device: torch.device) -> dict[str, np.ndarray]:
    """What ``avts.eval.sync.score_pairs`` returns, for the frame-rate model; there is no pair
    loss for it (its loss is multi-way), so ``loss`` is NaN."""
    model.eval()
    n = store.multiway.win_frames
    needed = sorted({p.video_index for p in pairs} | {p.audio_index for p in pairs})
    steps = {i: clip_steps(model, center_crop(store.tracks[i].gray, store.multiway.size),
                           store.tracks[i].audio, mel, device) for i in needed}
    scores = []
    for p in pairs:
        jv = store.frame_index(p.video_index, p.video_start_s, n)
        ja = store.frame_index(p.audio_index, p.audio_start_s, n)
        fv = _window(steps[p.video_index][0], jv, n)
        fa = _window(steps[p.audio_index][1], ja, n)
        scores.append(float((fv * fa).sum()))
    return {
        "score": np.array(scores, dtype=np.float64),
        "label": np.array([float(p.label) for p in pairs]),
        "kind": np.array([kind_code(p.kind) for p in pairs], dtype=int),
        "loss": np.array(float("nan")),
    }


@dataclass(frozen=True)
class ClipOffsets:
    """Whole-clip offset search on in-memory shifted copies (what ``avts sync`` is for); NaN
    shares when no clip is long enough to search."""

    within_1_frame: float  # share of (clip, offset) cases whose best shift is within one frame
    sign: float  # share of the nonzero offsets whose best shift has the right sign
    n_clips: int  # clips long enough for the search


VAL_OFFSETS_S = (-0.48, -0.16, 0.0, 0.16, 0.48)


@torch.no_grad()
def clip_offsets(model: FrameSync, store: RegionStore, mel: MelConfig, device: torch.device,
                 search_s: float, offsets_s: Sequence[float] = VAL_OFFSETS_S) -> ClipOffsets:
    """For each clip of ``store`` (central crop) and each offset (audio late by it), the shift
    within +-``search_s`` that maximises the mean per-frame cosine over the clip, found on the
    audio features delayed by the offset: the search ``avts sync`` makes, over the whole clip
    at once, on the frame grid. Clips too short to search around every offset are left out."""
    model.eval()
    search = round(search_s * store.fps)
    offsets = [round(o * store.fps) for o in offsets_s]
    widest = max(abs(o) for o in offsets)
    hits, signs, n_signed, n_clips = 0, 0, 0, 0
    for track in store.tracks:
        v, a = clip_steps(model, center_crop(track.gray, store.multiway.size), track.audio,
                          mel, device)
        n = min(len(v), len(a))
        if n - 2 * (search + widest) < store.multiway.win_frames:
            continue
        n_clips += 1
        sims = v[:n] @ a[:n].T  # (video frame, audio frame) cosines
        t = torch.arange(search + widest, n - search - widest)  # the same frames for every case
        reach = search + widest
        lags = torch.stack([sims[t, t + d].mean() for d in range(-reach, reach + 1)])
        for o in offsets:
            # audio delayed by o: video frame t meets original audio frame t + s - o at shift s,
            # so the curve over s is the lag curve read from s - o
            curve = lags[reach - search - o:reach + search - o + 1]
            best = int(curve.argmax()) - search
            hits += abs(best - o) <= 1
            if o:
                n_signed += 1
                signs += best != 0 and (best > 0) == (o > 0)
    cases = n_clips * len(offsets)
    return ClipOffsets(within_1_frame=hits / cases if cases else math.nan,
                       sign=signs / n_signed if n_signed else math.nan, n_clips=n_clips)
