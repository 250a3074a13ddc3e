"""Multi-way matching items from a ``RegionStore`` as a torch dataset.

An item (``avts.data.multiway``) is one video segment of the grey region crop and the audio
around it. Training augmentation keeps sync exactly: a random ``size`` crop of the
``size + jitter`` frames (with ``crop_scale``, of a square a little larger or smaller, resized
to ``size``), a horizontal flip, and another item's audio mixed in underneath at
``audio_mix`` (sync must survive a second sound); validation takes the central crop, nothing
else. Item ``i`` draws its augmentation from a generator seeded by ``(augment_seed, i)``, so the
result is the same on any number of loader workers. With ``speed``, the item is first cut from
the recording played a little faster or slower (``cut_item_at_speed``), both streams alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from avts.config import Config, MultiwayConfig
from avts.data.multiway import MultiwaySpec, audio_bounds, cut_item, cut_item_at_speed, draw_items
from avts.data.regionstore import RegionStore
from avts.errors import DatasetError
from avts.features.region import center_crop

Item = tuple[int, int]  # (clip index, first scored frame f0)


def item_spec(cfg: Config) -> MultiwaySpec:
    """The item layout that ``data.multiway`` and the frame grid of ``cfg`` describe."""
    mw = cfg.data.multiway
    return MultiwaySpec(n_frames=mw.n_frames, max_shift=mw.max_shift, margin=mw.margin,
                        samples_per_frame=round(cfg.data.mel.sr_hz / cfg.data.clip.fps),
                        whole_clips=mw.whole_clips)


def window_spec(cfg: Config) -> MultiwaySpec:
    """The layout of one scoring window (``win_frames``) inside an item."""
    spec = item_spec(cfg)
    return MultiwaySpec(n_frames=cfg.data.multiway.win_frames, max_shift=spec.max_shift,
                        margin=spec.margin, samples_per_frame=spec.samples_per_frame,
                        whole_clips=spec.whole_clips)


def draw(rng: np.random.Generator, store: RegionStore, n: int, spec: MultiwaySpec) -> list[Item]:
    """``n`` items from ``store``, clips in proportion to their usable length."""
    try:
        return draw_items(rng, store.frame_counts, n, spec)
    except ValueError as err:  # no clip long enough: the index keeps only long enough files
        raise DatasetError(f"no multi-way items: {err}") from err


class MultiwayDataset(Dataset):
    """Yields ``{"video": (V, S, S) uint8, "audio": (n,) float32, "bounds": (2,) int64}`` for
    each item, V = ``spec.video_frames``, n = ``spec.audio_frames * spec.samples_per_frame``,
    bounds: the audio frames that are the clip's own (``multiway.audio_bounds``)."""

    def __init__(self, store: RegionStore, items: Sequence[Item], spec: MultiwaySpec,
                 multiway: MultiwayConfig, augment_seed: int | None = None,
                 partners: Sequence[Item] = ()) -> None:
        self.store = store
        self.items = list(items)
        self.spec = spec
        self.multiway = multiway
        self.augment_seed = augment_seed  # None: central crop, no augmentation
        self.partners = list(partners)  # item i mixes in the audio of partners[i]

    def __len__(self) -> int:
        return len(self.items)

    def _cut(self, item: Item, speed: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        track = self.store.tracks[item[0]]
        if speed != 1.0:
            return cut_item_at_speed(track.gray, track.audio, item[1], self.spec, speed)
        return cut_item(track.gray, track.audio, item[1], self.spec)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        clip, f0 = self.items[i]
        bounds = audio_bounds(f0, len(self.store.tracks[clip].audio), self.spec)
        if self.augment_seed is None:
            video, audio = self._cut(self.items[i])
            video = center_crop(video, self.multiway.size)
        else:
            gen = np.random.default_rng([self.augment_seed, i])
            speed = self.multiway.speed
            # drawn only when asked, so that items without it stay as they were
            factor = float(gen.uniform(1.0 - speed, 1.0 + speed)) if speed > 0 else 1.0
            video, audio = self._augment(gen, i, *self._cut(self.items[i], factor))
        return {"video": torch.from_numpy(np.ascontiguousarray(video)),
                "audio": torch.from_numpy(np.asarray(audio, dtype=np.float32)),
                "bounds": torch.tensor(bounds, dtype=torch.int64)}

    def _augment(self, gen: np.random.Generator, i: int, video: np.ndarray, audio: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        mw = self.multiway
        if mw.crop_scale > 0:
            video = _scaled_crop(gen, video, mw)
        else:
            dy, dx = (int(x) for x in gen.integers(0, mw.jitter + 1, size=2))
            video = video[:, dy:dy + mw.size, dx:dx + mw.size]
        if mw.flip and gen.random() < 0.5:
            video = video[:, :, ::-1]
        if mw.audio_mix > 0 and self.partners:
            audio = audio + mw.audio_mix * self._cut(self.partners[i])[1]
        return video, audio


def _scaled_crop(gen: np.random.Generator, video: np.ndarray, mw: MultiwayConfig) -> np.ndarray:
    """A random square of ``size * (1 +- crop_scale)`` pixels (at most the stored
    ``size + jitter``) anywhere in the frames, resized to ``size``: the region's box at test
    time, found per window, moves and changes size a little; the network should not care."""
    full = video.shape[-1]
    lo = max(2, round(mw.size * (1.0 - mw.crop_scale)))
    side = int(gen.integers(lo, min(full, round(mw.size * (1.0 + mw.crop_scale))) + 1))
    dy, dx = (int(x) for x in gen.integers(0, full - side + 1, size=2))
    crop = torch.from_numpy(np.ascontiguousarray(video[:, dy:dy + side, dx:dx + side]))
    if side == mw.size:
        return crop.numpy()
    small = F.interpolate(crop[None].float(), size=(mw.size, mw.size), mode="bilinear",
                          align_corners=False, antialias=side > mw.size)[0]
    return small.round().clamp(0, 255).to(torch.uint8).numpy()
