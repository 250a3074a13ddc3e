"""A synthetic audio-visual world where sounds are caused by what is seen.

Each video shows a few coloured shapes on a textured backdrop. A *sounding* object makes its
class sound exactly when it strikes the floor (``bounce``), hits a side wall (``wall``) or
pulses (``pulse``, grows and flashes); the sound onset is the contact frame's time. Contacts
happen at irregular, Poisson-like times, so different windows of one video differ. What keeps
synchronisation non-trivial: a silent *distractor* that slides and rotates (it may look like a
sounding class), *off-screen* sounds with nothing visible, stationary background noise at a
random SNR, and several objects at once.

``synthesize`` writes H.264/AAC ``.mp4`` files plus ``labels.csv`` (one row per video; ``label``
is the class of the video's main sound source) and ``events.csv`` (every sound event). Video
``i`` is drawn from ``np.random.default_rng([seed, i])``, so output is deterministic by seed and
independent of ``num_videos``.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np

from avts._atomic import atomic_path
from avts.media.write import write_av
from avts.synth.render import Sprite, background, draw_sprite
from avts.synth.sound import add_at, background_noise, class_sound


@dataclass(frozen=True)
class ObjectClass:
    name: str  # label written to the CSV files
    shape: str  # drawn shape (see render.py)
    colour_rgb: tuple[float, float, float]
    timbre: str  # sound (see sound.TIMBRES)
    half_width: float  # horizontal half-extent, in radii (for wall contacts)
    bottom: float  # extent below the centre, in radii (for floor contacts)


CLASSES: tuple[ObjectClass, ...] = (
    ObjectClass("circle", "circle", (225, 55, 45), "tone", 1.0, 1.0),
    ObjectClass("square", "square", (45, 85, 225), "thud", 1.0, 1.0),
    ObjectClass("triangle", "triangle", (55, 200, 70), "chirp", 1.04, 0.75),
    ObjectClass("bar", "bar", (240, 205, 35), "clicks", 1.3, 0.4),
    ObjectClass("diamond", "diamond", (210, 60, 210), "bell", 1.3, 1.3),
)
SOUNDING_KINDS = ("bounce", "wall", "pulse")


@dataclass(frozen=True)
class SynthConfig:
    """Size and content of the synthetic videos (defaults sized for a CPU demo)."""

    width_px: int = 96  # frame width; even, as H.264 needs
    height_px: int = 96  # frame height; even
    fps: float = 25.0  # video frame rate; contacts fall on frame times
    sr_hz: int = 16000  # audio sample rate, mono
    duration_s: float = 8.0  # length of every video
    main_rate_hz: float = 1.8  # mean contacts per second of the main (labelled) object
    extra_rate_hz: float = 0.35  # mean contacts per second of each extra sounding object
    max_extra_objects: int = 2  # extra sounding objects per video: uniform in 0..this
    distractor_prob: float = 0.6  # chance of one silent object that moves and rotates
    offscreen_rate_hz: float = 0.15  # mean off-screen sounds per second (no visual cause)
    min_gap_s: float = 0.25  # shortest time between two contacts of one object
    snr_db_range: tuple[float, float] = (5.0, 25.0)  # event-to-background-noise ratio, uniform
    radius_px_range: tuple[float, float] = (6.0, 9.0)  # object size, uniform
    floor_px: int = 8  # height of the floor band at the bottom of the frame
    wall_px: int = 4  # width of the wall bands at the left and right
    flash_decay_frames: float = 3.0  # contact flash decays by 1/e per this many frames
    frame_noise_std: float = 2.0  # per-frame sensor noise (grey levels) so no frame repeats

    @property
    def n_frames(self) -> int:
        return round(self.duration_s * self.fps)

    @property
    def n_samples(self) -> int:
        return round(self.duration_s * self.sr_hz)


@dataclass(frozen=True)
class SynthEvent:
    time_s: float  # sound onset = contact frame time
    class_name: str
    visible: bool  # False for off-screen sounds
    kind: str  # "bounce", "wall", "pulse" or "offscreen"


@dataclass(frozen=True)
class SynthVideo:
    frames: np.ndarray  # (T, H, W, 3) uint8
    audio: np.ndarray  # (n,) float32 in [-1, 1]
    label: str  # class of the main sound source
    events: list[SynthEvent]  # sorted by time
    snr_db: float


@dataclass(frozen=True)
class _Track:
    """One object's appearance and motion parameters for the whole video."""

    cls: ObjectClass
    kind: str  # a sounding kind, or "distractor"
    radius_px: float
    contact_frames: np.ndarray  # sorted; includes one contact before 0 and one after the end
    params: dict[str, float]


# --- scheduling -------------------------------------------------------------------------------


def _contact_frames(rng: np.random.Generator, rate_hz: float, cfg: SynthConfig) -> np.ndarray:
    """Irregular contact frames: gaps are ``min_gap_s`` plus an exponential (never periodic)."""
    mean_extra_s = max(1.0 / rate_hz - cfg.min_gap_s, 0.05)
    t_s = -cfg.min_gap_s - rng.exponential(mean_extra_s)  # a virtual contact before the start
    times_s = [t_s]
    while t_s < cfg.duration_s:
        t_s += cfg.min_gap_s + rng.exponential(mean_extra_s)
        times_s.append(t_s)
    return np.ceil(np.asarray(times_s) * cfg.fps).astype(np.int64)


def _real_contacts(track: _Track, cfg: SynthConfig) -> np.ndarray:
    frames = track.contact_frames
    return frames[(frames >= 0) & (frames < cfg.n_frames)]


def _make_track(rng: np.random.Generator, cls: ObjectClass, kind: str, rate_hz: float,
                cfg: SynthConfig) -> _Track:
    r = float(rng.uniform(*cfg.radius_px_range))
    w, h = cfg.width_px, cfg.height_px
    inner_left, inner_right = cfg.wall_px + 1.3 * r, w - cfg.wall_px - 1.3 * r
    floor_y = h - cfg.floor_px
    params = {
        "x0": float(rng.uniform(inner_left + 6, inner_right - 6)),
        "y0": float(rng.uniform(1.3 * r + 2, floor_y - 1.3 * r - 2)),
        "drift_px": float(rng.uniform(0, 5)),
        "drift_hz": float(rng.uniform(0.05, 0.2)),
        "phase": float(rng.uniform(0, 2 * np.pi)),
        "first_dir": float(rng.choice([-1.0, 1.0])),
    }
    if kind == "distractor":
        params |= {
            "ax_px": float(rng.uniform(5, (inner_right - inner_left) / 2)),
            "ay_px": float(rng.uniform(3, 15)),
            "fx_hz": float(rng.uniform(0.1, 0.4)),
            "fy_hz": float(rng.uniform(0.1, 0.4)),
            "spin_rad_s": float(rng.uniform(1.0, 3.0) * rng.choice([-1.0, 1.0])),
        }
        contacts = np.array([-(10**6), 10**6], dtype=np.int64)
    else:
        contacts = _contact_frames(rng, rate_hz, cfg)
    return _Track(cls, kind, r, contacts, params)


def _make_tracks(rng: np.random.Generator, cfg: SynthConfig) -> list[_Track]:
    class_ids = rng.permutation(len(CLASSES))
    n_extra = int(rng.integers(0, cfg.max_extra_objects + 1))
    tracks = []
    if rng.random() < cfg.distractor_prob:  # drawn first so sounding objects are on top
        distractor_cls = CLASSES[int(rng.integers(len(CLASSES)))]  # may look like a sounding class
        tracks.append(_make_track(rng, distractor_cls, "distractor", 0.0, cfg))
    for k in range(1 + n_extra):
        kind = SOUNDING_KINDS[int(rng.integers(len(SOUNDING_KINDS)))]
        rate_hz = cfg.main_rate_hz if k == 0 else cfg.extra_rate_hz
        tracks.append(_make_track(rng, CLASSES[class_ids[k]], kind, rate_hz, cfg))
    return tracks


# --- motion -----------------------------------------------------------------------------------


def _segment(track: _Track, frame: int) -> tuple[int, int, int]:
    """Index of the last contact at or before ``frame``, that contact and the next one."""
    i = int(np.searchsorted(track.contact_frames, frame, side="right")) - 1
    return i, int(track.contact_frames[i]), int(track.contact_frames[i + 1])


def _distractor_sprite(track: _Track, t_s: float) -> Sprite:
    p = track.params
    x = p["x0"] + p["ax_px"] * np.sin(2 * np.pi * p["fx_hz"] * t_s + p["phase"])
    y = p["y0"] + p["ay_px"] * np.sin(2 * np.pi * p["fy_hz"] * t_s)
    return Sprite(track.cls.shape, track.cls.colour_rgb, float(x), float(y), track.radius_px,
                  angle_rad=p["spin_rad_s"] * t_s)


def _sounding_sprite(track: _Track, frame: int, cfg: SynthConfig) -> Sprite:
    i, start, end = _segment(track, frame)
    since = frame - start  # frames since the last contact (0 on the contact frame)
    progress = since / (end - start)  # 0 at a contact, towards 1 just before the next one
    impact = float(np.exp(-since / cfg.flash_decay_frames))  # 1 on the contact frame
    p, r, cls = track.params, track.radius_px, track.cls
    t_s = frame / cfg.fps
    drift = p["drift_px"] * np.sin(2 * np.pi * p["drift_hz"] * t_s + p["phase"])
    x, y, sx, sy = p["x0"] + drift, p["y0"], 1.0, 1.0
    if track.kind == "bounce":
        # A ballistic hop between two floor contacts: apex height grows with the hop's duration.
        floor_y = cfg.height_px - cfg.floor_px - cls.bottom * r
        hop_s = (end - start) / cfg.fps
        apex_px = min(250.0 * hop_s**2, floor_y - 1.5 * r)
        squash = 0.3 * impact
        sx, sy = 1 + squash, 1 - squash
        y = floor_y - 4 * apex_px * progress * (1 - progress) + cls.bottom * r * squash
    elif track.kind == "wall":
        # Slides from one wall to the other between contacts, touching a wall at each contact.
        left = cfg.wall_px + cls.half_width * r
        right = cfg.width_px - cfg.wall_px - cls.half_width * r
        rightwards = (i % 2 == 0) == (p["first_dir"] > 0)
        x = left + (right - left) * (progress if rightwards else 1 - progress)
        squash = 0.3 * impact
        sx, sy = 1 - squash, 1 + squash
        x += (cls.half_width * r * squash) * (-1 if rightwards else 1)
        y = p["y0"] + drift
    else:  # pulse: stays put and swells at each contact
        sx = sy = 1 + 0.5 * impact
    return Sprite(cls.shape, cls.colour_rgb, float(x), float(y), r, scale_x=sx, scale_y=sy,
                  flash=0.85 * impact)


def _render_frames(rng: np.random.Generator, tracks: list[_Track], cfg: SynthConfig) -> np.ndarray:
    backdrop = background(rng, cfg.height_px, cfg.width_px, cfg.floor_px, cfg.wall_px)
    frames = np.empty((cfg.n_frames, cfg.height_px, cfg.width_px, 3), dtype=np.uint8)
    for f in range(cfg.n_frames):
        frame = backdrop.copy()
        for track in tracks:
            if track.kind == "distractor":
                sprite = _distractor_sprite(track, f / cfg.fps)
            else:
                sprite = _sounding_sprite(track, f, cfg)
            draw_sprite(frame, sprite)
        frame += rng.standard_normal(frame.shape, dtype=np.float32) * cfg.frame_noise_std
        np.clip(frame, 0, 255, out=frame)
        frames[f] = frame
    return frames


# --- sound ------------------------------------------------------------------------------------


def _schedule_events(rng: np.random.Generator, tracks: list[_Track],
                     cfg: SynthConfig) -> list[SynthEvent]:
    events = [
        SynthEvent(int(f) / cfg.fps, track.cls.name, True, track.kind)
        for track in tracks if track.kind != "distractor"
        for f in _real_contacts(track, cfg)
    ]
    n_offscreen = int(rng.poisson(cfg.offscreen_rate_hz * cfg.duration_s))
    for f in rng.integers(0, cfg.n_frames, size=n_offscreen):
        cls = CLASSES[int(rng.integers(len(CLASSES)))]
        events.append(SynthEvent(int(f) / cfg.fps, cls.name, False, "offscreen"))
    return sorted(events, key=lambda e: (e.time_s, e.class_name, e.kind))


def _mix_audio(rng: np.random.Generator, events: list[SynthEvent],
               cfg: SynthConfig) -> tuple[np.ndarray, float]:
    timbre = {cls.name: cls.timbre for cls in CLASSES}
    signal = np.zeros(cfg.n_samples)
    for event in events:
        # Off-screen sources are quieter, as if farther away.
        gain = rng.uniform(0.5, 1.0) if event.visible else rng.uniform(0.3, 0.6)
        sound = class_sound(timbre[event.class_name], rng, cfg.sr_hz)
        add_at(signal, gain * sound, round(event.time_s * cfg.sr_hz))
    snr_db = float(rng.uniform(*cfg.snr_db_range))
    signal_rms = float(np.sqrt(np.mean(signal**2))) if events else 0.05
    noise = background_noise(rng, cfg.n_samples) * signal_rms / 10 ** (snr_db / 20)
    mix = signal + noise
    peak = float(np.abs(mix).max())
    mix *= 0.9 / peak if peak > 0.9 else 1.0  # the codec clips at 1
    return mix.astype(np.float32), snr_db


def render_video(rng: np.random.Generator, cfg: SynthConfig = SynthConfig()) -> SynthVideo:
    """Draw one video's content (frames, audio, events) from ``rng``; pure, nothing written."""
    if cfg.width_px % 2 or cfg.height_px % 2:
        raise ValueError("synthetic frame width and height must be even (H.264)")
    tracks = _make_tracks(rng, cfg)
    label = next(t.cls.name for t in tracks if t.kind != "distractor")
    events = _schedule_events(rng, tracks, cfg)
    frames = _render_frames(rng, tracks, cfg)
    audio, snr_db = _mix_audio(rng, events, cfg)
    return SynthVideo(frames, audio, label, events, snr_db)


# --- files ------------------------------------------------------------------------------------

LABEL_COLUMNS = ("file", "label", "n_events", "n_visible_events", "duration_s", "snr_db")
EVENT_COLUMNS = ("file", "time_s", "class", "visible", "kind")


def synthesize(out_dir: str | Path, num_videos: int, seed: int, cfg: SynthConfig = SynthConfig(),
               progress: Callable[[int, int], None] | None = None,
               processes: int | None = None) -> list[Path]:
    """Write ``num_videos`` videos ``synth_XXXX.mp4`` plus ``labels.csv`` and ``events.csv``.

    ``progress(done, total)`` is called after each video. Returns the video paths in order.
    ``processes``: how many processes render and encode on Linux (None: one per CPU core, but
    at least 8 videos each; elsewhere one); the files are the same whatever the number.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, label_rows, event_rows = [], [], []
    written = _write_all(out_dir, num_videos, seed, cfg, processes)
    for i, (path, label_row, rows) in enumerate(written):
        paths.append(path)
        label_rows.append(label_row)
        event_rows.extend(rows)
        if progress is not None:
            progress(i + 1, num_videos)
    _write_csv(out_dir / "labels.csv", LABEL_COLUMNS, label_rows)
    _write_csv(out_dir / "events.csv", EVENT_COLUMNS, event_rows)
    return paths


_Written = tuple[Path, dict[str, object], list[dict[str, object]]]
_MIN_VIDEOS_PER_PROCESS = 8  # below this, starting processes costs more than it saves


def _write_one(out_dir: Path, seed: int, i: int, cfg: SynthConfig) -> _Written:
    video = render_video(np.random.default_rng([seed, i]), cfg)
    path = write_av(out_dir / f"synth_{i:04d}.mp4", video.frames, cfg.fps, video.audio, cfg.sr_hz)
    return path, _label_row(path.name, video, cfg), [_event_row(path.name, e) for e in video.events]


def _write_all(out_dir: Path, num_videos: int, seed: int, cfg: SynthConfig,
               processes: int | None) -> Iterator[_Written]:
    """Videos in index order, rendered and encoded by ``processes`` processes (each video
    depends only on ``(seed, i)``, so the files are the same as from one process)."""
    n_procs = processes if processes is not None else min(
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
        num_videos // _MIN_VIDEOS_PER_PROCESS)
    if min(n_procs, num_videos) < 2 or sys.platform != "linux":
        yield from (_write_one(out_dir, seed, i, cfg) for i in range(num_videos))
        return
    # "fork" (Linux only; unsafe on macOS): unlike "spawn", children never re-run the caller's
    # script, which breaks one without an ``if __name__ == "__main__"`` guard. They run numpy
    # and PyAV only, never the torch thread pools the parent may hold.
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(min(n_procs, num_videos), mp_context=ctx) as pool:
        yield from pool.map(_write_one, repeat(out_dir), repeat(seed), range(num_videos),
                            repeat(cfg))


def _label_row(name: str, video: SynthVideo, cfg: SynthConfig) -> dict[str, object]:
    n_visible = sum(e.visible for e in video.events)
    return {"file": name, "label": video.label, "n_events": len(video.events),
            "n_visible_events": n_visible, "duration_s": f"{cfg.duration_s:.3f}",
            "snr_db": f"{video.snr_db:.2f}"}


def _event_row(name: str, event: SynthEvent) -> dict[str, object]:
    return {"file": name, "time_s": f"{event.time_s:.4f}", "class": event.class_name,
            "visible": int(event.visible), "kind": event.kind}


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, object]]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
