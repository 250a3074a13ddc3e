import csv
import dataclasses
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest

from avts.synth.sound import spectral_centroid_hz
from avts.synth.world import (
    CLASSES,
    SOUNDING_KINDS,
    SynthConfig,
    render_video,
    synthesize,
)

CFG = SynthConfig()
SEED = 7
N_VIDEOS = 3


def _decode(path: Path) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Frames (T, H, W, 3), mono audio, and the video and audio stream durations in seconds."""
    with av.open(str(path)) as container:
        vstream, astream = container.streams.video[0], container.streams.audio[0]
        video_s = float(vstream.duration * vstream.time_base)
        audio_s = float(astream.duration * astream.time_base)
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
        container.seek(0)
        audio = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    return frames, audio, video_s, audio_s


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], list[int]]:
    out = tmp_path_factory.mktemp("synth")
    calls: list[int] = []
    paths = synthesize(out, N_VIDEOS, SEED, progress=lambda done, total: calls.append(done))
    return out, paths, calls


def test_files_decode_with_both_streams(corpus) -> None:
    out, paths, calls = corpus
    assert [p.name for p in paths] == [f"synth_{i:04d}.mp4" for i in range(N_VIDEOS)]
    assert calls == list(range(1, N_VIDEOS + 1))
    frames, audio, video_s, audio_s = _decode(paths[0])
    assert frames.shape == (CFG.n_frames, CFG.height_px, CFG.width_px, 3)
    assert video_s == pytest.approx(CFG.duration_s, abs=1 / CFG.fps)
    assert audio_s == pytest.approx(CFG.duration_s, abs=0.07)
    assert audio.shape[0] == pytest.approx(CFG.n_samples, abs=1100)
    assert np.abs(audio).max() <= 1.0 and audio.std() > 0.01


def test_csv_files_are_consistent(corpus) -> None:
    out, paths, _ = corpus
    labels = _read_csv(out / "labels.csv")
    events = _read_csv(out / "events.csv")
    assert [row["file"] for row in labels] == [p.name for p in paths]
    per_file = Counter(row["file"] for row in events)
    class_names = {c.name for c in CLASSES}
    for row in labels:
        assert row["label"] in class_names
        assert float(row["duration_s"]) == CFG.duration_s
        assert int(row["n_events"]) == per_file[row["file"]] > 0
        mine = [e for e in events if e["file"] == row["file"]]
        visible = [e for e in mine if e["visible"] == "1"]
        assert int(row["n_visible_events"]) == len(visible)
        # The labelled class is the main visible sound source.
        assert Counter(e["class"] for e in visible).most_common(1)[0][0] == row["label"]
    for e in events:
        assert e["class"] in class_names
        assert 0.0 <= float(e["time_s"]) < CFG.duration_s
        assert (e["kind"] in SOUNDING_KINDS) if e["visible"] == "1" else e["kind"] == "offscreen"
        frame = float(e["time_s"]) * CFG.fps
        assert frame == pytest.approx(round(frame), abs=1e-3)  # onsets fall on frame times


def test_determinism(corpus, tmp_path: Path) -> None:
    out, paths, _ = corpus
    again = synthesize(tmp_path / "again", 2, SEED)
    other = synthesize(tmp_path / "other", 1, SEED + 1)
    assert (tmp_path / "again" / "labels.csv").read_text().splitlines() == (
        (out / "labels.csv").read_text().splitlines()[:3])
    # The same seed gives the same files, byte for byte (write_av avoids x264's lookahead).
    for first, second in zip(paths[:2], again, strict=True):
        assert first.read_bytes() == second.read_bytes()
    other_frames, *_ = _decode(other[0])
    assert not np.array_equal(_decode(paths[0])[0][0], other_frames[0])
    a, b = render_video(np.random.default_rng([3, 1])), render_video(np.random.default_rng([3, 1]))
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.audio, b.audio)
    assert a.events == b.events


def test_processes_give_the_same_files(corpus, tmp_path: Path) -> None:
    out, paths, _ = corpus
    parallel = synthesize(tmp_path / "par", 2, SEED, processes=2)
    for first, second in zip(paths[:2], parallel, strict=True):
        assert first.read_bytes() == second.read_bytes()
    for name, n_lines in (("labels.csv", 3), ("events.csv", None)):
        ours = (tmp_path / "par" / name).read_text().splitlines()
        theirs = [line for line in (out / name).read_text().splitlines()
                  if not line.startswith("synth_0002")]
        assert ours == theirs[:n_lines]


def _isolated(times_s: list[float], t_s: float, min_sep_s: float) -> bool:
    return all(abs(u - t_s) >= min_sep_s for u in times_s if u != t_s)


def _visual_peak_frame(frames: np.ndarray, frame: int) -> int:
    diff = np.abs(np.diff(frames.astype(np.float32), axis=0)).mean(axis=(1, 2, 3))
    window = np.arange(frame - 3, frame + 4)  # diff[j - 1] is the change into frame j
    return int(window[np.argmax(diff[window - 1])])


def _audio_onset_s(audio: np.ndarray, t_s: float, sr_hz: int) -> float:
    hop = int(0.005 * sr_hz)
    start = int((t_s - 0.1) * sr_hz)
    energy = np.array([np.sum(audio[start + k * hop : start + (k + 1) * hop] ** 2)
                       for k in range(int(0.2 * sr_hz) // hop)])
    rise = np.diff(np.log(energy + 1e-9))
    return (start + (int(np.argmax(rise)) + 1) * hop) / sr_hz


def test_sound_onsets_coincide_with_visual_events(corpus) -> None:
    out, paths, _ = corpus
    events = _read_csv(out / "events.csv")
    checked = visual_ok = audio_ok = 0
    for path in paths:
        frames, audio, *_ = _decode(path)
        mine = [e for e in events if e["file"] == path.name]
        all_times = [float(e["time_s"]) for e in mine]
        visible_times = [float(e["time_s"]) for e in mine if e["visible"] == "1"]
        for t_s in visible_times:
            frame = round(t_s * CFG.fps)
            if not (4 <= frame < CFG.n_frames - 4 and _isolated(all_times, t_s, 0.2)):
                continue
            checked += 1
            visual_ok += abs(_visual_peak_frame(frames, frame) - frame) <= 1
            audio_ok += abs(_audio_onset_s(audio, t_s, CFG.sr_hz) - t_s) <= 1 / CFG.fps
    assert checked >= 10
    assert visual_ok / checked >= 0.85, (visual_ok, checked)
    assert audio_ok / checked >= 0.9, (audio_ok, checked)


def test_rendered_events_carry_their_class_timbre() -> None:
    cfg = dataclasses.replace(CFG, duration_s=4.0, max_extra_objects=0, offscreen_rate_hz=0.0,
                              snr_db_range=(30.0, 30.0))
    timbre_rank = {"thud": 0, "tone": 1, "chirp": 2, "bell": 3, "clicks": 4}
    by_class: dict[str, list[float]] = {}
    seed = 0
    while len(by_class) < len(CLASSES) and seed < 60:
        video = render_video(np.random.default_rng([11, seed]), cfg)
        seed += 1
        times = [e.time_s for e in video.events]
        for t_s in times:
            if _isolated(times, t_s, 0.4) and t_s < cfg.duration_s - 0.2:
                start = round(t_s * cfg.sr_hz)
                window = video.audio[start : start + int(0.15 * cfg.sr_hz)]
                by_class.setdefault(video.label, []).append(
                    spectral_centroid_hz(window, cfg.sr_hz))
    assert len(by_class) == len(CLASSES)
    ranked = sorted(by_class, key=lambda name: np.median(by_class[name]))
    timbre = {c.name: c.timbre for c in CLASSES}
    assert [timbre_rank[timbre[name]] for name in ranked] == list(range(len(CLASSES)))


def test_odd_frame_size_is_rejected() -> None:
    with pytest.raises(ValueError):
        render_video(np.random.default_rng(0), dataclasses.replace(CFG, width_px=95))
