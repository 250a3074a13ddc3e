"""Decoded clips for the frame-rate model (``model.kind: framesync``).

Each file is decoded once at ``data.clip.fps`` with a ``data.multiway.region_short_side``-pixel
short side (aspect kept); ``avts.features.region.find_region`` finds ``data.multiway.region``
over the whole decoded clip (face: the mouth, else motion; motion; full), and only its grey
crop resized (area) to
``size + jitter`` pixels is kept, as uint8 ``(T, S, S)``, beside the mono audio at ``sr_hz``.
The same region call runs at inference (``avts sync``), so training and search see the same
kind of crop. Files decode in a thread pool (PyAV and numpy release the GIL for most of the
work); the result does not depend on the number of threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from avts.config import ClipConfig, MultiwayConfig
from avts.errors import AvtsError
from avts.features.region import Box, find_region, frame_size, grey_square
from avts.media import read_audio, read_video
from avts.types import MediaInfo, SkippedFile

log = logging.getLogger(__name__)

# Longer files are cut to their first minute: a minute already gives ~1,500 frames (hundreds of
# distinct items), the 160-pixel RGB frames the region search needs (~200 MB a minute) stay in
# memory, and one long file cannot dominate the decoding time of a run.
MAX_DECODE_S = 60.0


@dataclass
class RegionTrack:
    """One file as the frame-rate model sees it."""

    start_s: float  # time of gray[0] and audio[0] on the file's timeline
    gray: np.ndarray  # (T, S, S) uint8 grey crop of the region, S = size + jitter
    audio: np.ndarray  # (n,) float32 mono at sr_hz, from the same start
    box: Box  # the region on the decoded frames (region_short_side pixels on the short side)


def decode_region_track(info: MediaInfo, fps: float, sr_hz: int,
                        multiway: MultiwayConfig, audio_delay_s: float = 0.0) -> RegionTrack:
    """Decode one file (its first MAX_DECODE_S seconds) into a ``RegionTrack``; a known
    offset ``audio_delay_s`` (positive: audio late) is undone by reading the audio that much
    later."""
    if not info.height or not info.width:
        raise AvtsError(f"{info.path}: no frame size known")
    hw = frame_size(info.height, info.width, multiway.region_short_side)
    duration_s = min(info.duration_s, MAX_DECODE_S)
    frames = read_video(info.path, info.start_s, duration_s, fps, hw, info=info)
    audio = read_audio(info.path, info.start_s + audio_delay_s, len(frames) / fps, sr_hz,
                       info=info)
    box = find_region(frames, multiway.region, multiway.box_fraction)
    gray = grey_square(box.crop(frames), multiway.size + multiway.jitter)
    return RegionTrack(info.start_s, gray, audio.astype(np.float32), box)


class RegionStore:
    """Every usable file of one side, decoded up front (``data.preload`` does not apply: the
    region is found over the whole clip). Files that fail to decode are dropped and listed in
    ``failed``; ``videos`` and ``tracks`` are the kept ones, in order. ``audio_delays``: each
    file's known offset in seconds (``avts.data.offsets``), undone when it is decoded."""

    def __init__(self, videos: Sequence[MediaInfo], clip: ClipConfig, sr_hz: int,
                 multiway: MultiwayConfig, workers: int = 1,
                 progress: Callable[[int, int], None] | None = None,
                 audio_delays: Sequence[float] | None = None) -> None:
        self.fps = clip.fps
        self.sr_hz = sr_hz
        self.multiway = multiway
        self.failed: list[SkippedFile] = []
        self.videos: list[MediaInfo] = []
        self.tracks: list[RegionTrack] = []
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            delays = list(audio_delays) if audio_delays is not None else [0.0] * len(videos)
            futures = [pool.submit(decode_region_track, info, clip.fps, sr_hz, multiway, delay)
                       for info, delay in zip(videos, delays, strict=True)]
            for i, (info, future) in enumerate(zip(videos, futures, strict=True)):
                self._keep(info, future)
                if progress is not None:
                    progress(i + 1, len(videos))

    def _keep(self, info: MediaInfo, future) -> None:
        try:
            track = future.result()
        except AvtsError as err:
            log.warning("skipping %s: %s", info.path, err)
            self.failed.append(SkippedFile(info.path, str(err)))
            return
        self.videos.append(info)
        self.tracks.append(track)

    @property
    def frame_counts(self) -> list[int]:
        """Decoded frames per kept file (what ``multiway.draw_items`` takes)."""
        return [len(t.gray) for t in self.tracks]

    @property
    def spans(self) -> list[tuple[float, float]]:
        """(start_s, duration_s) of what was decoded (long files are capped), for pairs."""
        return [(t.start_s, len(t.gray) / self.fps) for t in self.tracks]

    def frame_index(self, index: int, time_s: float, n_frames: int) -> int:
        """First frame of the ``n_frames`` window of file ``index`` starting nearest ``time_s``
        (clamped inside the decoded frames)."""
        track = self.tracks[index]
        j = round((time_s - track.start_s) * self.fps)
        return min(max(j, 0), max(len(track.gray) - n_frames, 0))
