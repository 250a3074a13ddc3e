"""RegionStore (decoded grey region crops) and the multi-way item dataset, on small videos
written in tmp_path: a bright block that moves in the lower right quadrant, clicks in time."""

import dataclasses

import numpy as np
import pytest

import avts.data.regionstore as regionstore
from avts.config import ClipConfig, MultiwayConfig
from avts.data.multiway import MultiwaySpec, cut_item
from avts.data.multiway_items import MultiwayDataset
from avts.data.regionstore import RegionStore
from avts.features.region import center_crop
from avts.media import probe
from avts.media.write import write_av

FPS, SR = 25, 16000
H, W = 96, 128  # decoded at a 48-pixel short side: 48 x 64


def _moving_block(path, seconds=3.0, seed=0):
    rng = np.random.default_rng(seed)
    n = round(seconds * FPS)
    frames = np.full((n, H, W, 3), 40, np.uint8)
    audio = np.zeros(round(seconds * SR), np.float32)
    for t in range(n):
        y, x = 56 + int(rng.integers(0, 16)), 80 + int(rng.integers(0, 24))
        frames[t, y:y + 16, x:x + 16] = 230
        audio[t * 640:t * 640 + 80] = 0.5 * np.sin(np.arange(80) * 0.9)
    return write_av(path, frames, FPS, audio, SR)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("blocks")
    return [probe(_moving_block(folder / f"b{i}.mp4", seed=i)) for i in range(2)]


MW = MultiwayConfig(region_short_side=48, size=12, jitter=2, box_fraction=0.5)


def test_store_keeps_the_grey_motion_crop_and_the_audio(videos):
    store = RegionStore(videos, ClipConfig(fps=FPS), SR, MW)
    assert len(store.tracks) == 2 and not store.failed
    track = store.tracks[0]
    assert track.gray.dtype == np.uint8 and track.gray.shape == (75, 14, 14)
    assert len(track.audio) == 75 * 640
    box = track.box  # on 48 x 64 frames, the block moves in rows 28-43, columns 40-63
    assert box.height == 24 and box.top >= 16 and box.left >= 32
    assert store.spans == [(videos[0].start_s, 3.0), (videos[1].start_s, 3.0)]
    assert center_crop(track.gray, MW.size).shape == (75, 12, 12)


def test_threads_do_not_change_the_result_and_bad_files_are_listed(videos, tmp_path):
    bad = dataclasses.replace(videos[0], path=tmp_path / "gone.mp4")
    one = RegionStore([videos[0], bad, videos[1]], ClipConfig(fps=FPS), SR, MW, workers=1)
    two = RegionStore([videos[0], bad, videos[1]], ClipConfig(fps=FPS), SR, MW, workers=2)
    assert [f.path.name for f in one.failed] == ["gone.mp4"] == [f.path.name for f in two.failed]
    for a, b in zip(one.tracks, two.tracks, strict=True):
        assert np.array_equal(a.gray, b.gray) and np.array_equal(a.audio, b.audio)


def test_long_files_are_capped(videos, monkeypatch):
    monkeypatch.setattr(regionstore, "MAX_DECODE_S", 1.0)
    store = RegionStore(videos[:1], ClipConfig(fps=FPS), SR, MW)
    assert store.frame_counts == [25] and len(store.tracks[0].audio) == 25 * 640


def test_region_follows_the_config(videos):
    def box(region):
        mw = dataclasses.replace(MW, region=region)
        return RegionStore(videos[:1], ClipConfig(fps=FPS), SR, mw).tracks[0].box

    assert (box("full").height, box("full").width) == (48, 64)
    assert box("face") == box("motion")  # no face in these frames: the motion region


def test_items_keep_sync_under_augmentation(videos):
    store = RegionStore(videos, ClipConfig(fps=FPS), SR, MW)
    spec = MultiwaySpec(n_frames=10, max_shift=5, margin=2)
    items = [(0, 7), (1, 30)]
    plain = MultiwayDataset(store, items, spec, MW)
    video, audio = cut_item(store.tracks[1].gray, store.tracks[1].audio, 30, spec)
    got = plain[1]
    assert np.array_equal(got["video"].numpy(), center_crop(video, MW.size))
    assert np.array_equal(got["audio"].numpy(), audio)
    aug = MultiwayDataset(store, items, spec, MW, augment_seed=3, partners=[(1, 20), (0, 9)])
    again = MultiwayDataset(store, items, spec, MW, augment_seed=3, partners=[(1, 20), (0, 9)])
    got = aug[1]
    assert np.array_equal(got["video"].numpy(), again[1]["video"].numpy())  # seeded
    assert got["video"].shape == (spec.video_frames, 12, 12)
    # the crop moves and flips in space only: every frame is a crop of the same frame
    frames = video if got["video"][0].numpy().tobytes() in _crops(video[0]) else video[:, :, ::-1]
    for t in range(spec.video_frames):
        assert got["video"][t].numpy().tobytes() in _crops(frames[t])
    partner = cut_item(store.tracks[0].gray, store.tracks[0].audio, 9, spec)[1]
    assert np.allclose(got["audio"].numpy(), audio + MW.audio_mix * partner)


def test_speed_items_are_seeded_and_keep_the_plain_items_unchanged(videos):
    store = RegionStore(videos, ClipConfig(fps=FPS), SR, MW)
    spec = MultiwaySpec(n_frames=10, max_shift=5, margin=2)
    items = [(0, 7), (1, 30)]
    fast = dataclasses.replace(MW, speed=0.2, audio_mix=0.0, jitter=0, flip=False)
    got = MultiwayDataset(store, items, spec, fast, augment_seed=3)[1]
    again = MultiwayDataset(store, items, spec, fast, augment_seed=3)[1]
    assert np.array_equal(got["video"].numpy(), again["video"].numpy())
    assert np.array_equal(got["audio"].numpy(), again["audio"].numpy())
    assert got["video"].shape == (spec.video_frames, 12, 12)
    assert got["audio"].shape == (spec.audio_frames * spec.samples_per_frame,)
    plain = cut_item(store.tracks[1].gray, store.tracks[1].audio, 30, spec)[1]
    assert not np.allclose(got["audio"].numpy(), plain)  # another tempo
    still = dataclasses.replace(fast, speed=0.0)  # speed 0 draws nothing: the plain crop
    got = MultiwayDataset(store, items, spec, still, augment_seed=3)[1]
    assert np.array_equal(got["audio"].numpy(), plain)


def _crops(frame):
    return {np.ascontiguousarray(f[dy:dy + 12, dx:dx + 12]).tobytes()
            for f in (frame, frame[:, ::-1]) for dy in range(3) for dx in range(3)}


def test_scaled_crops_zoom_in_and_out_around_the_test_view():
    from avts.data.multiway_items import _scaled_crop

    # A frame whose grey level is its column index: a crop's column range shows its scale.
    mw = MultiwayConfig(size=32, jitter=8, crop_scale=0.125)
    video = np.broadcast_to(np.arange(40, dtype=np.uint8), (3, 40, 40)).copy()
    spans = []
    for seed in range(60):
        out = _scaled_crop(np.random.default_rng(seed), video, mw)
        assert out.shape == (3, 32, 32) and out.dtype == np.uint8
        assert np.array_equal(out[0], out[2])  # the same crop on every frame: sync kept
        spans.append(int(out[0, 0, -1]) - int(out[0, 0, 0]))
    # 28..36 source columns squeezed into 32: spans of about 27..35 pixels, both sides of 31
    assert min(spans) < 31 < max(spans) and 25 <= min(spans) and max(spans) <= 36
    again = _scaled_crop(np.random.default_rng(7), video, mw)
    assert np.array_equal(again, _scaled_crop(np.random.default_rng(7), video, mw))
