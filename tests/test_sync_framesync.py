"""The frame-rate method: region input, the shift grid (coarse and sub-frame), and detection
end to end with a tiny random FrameSync checkpoint (structure, not accuracy: an untrained
model finds no offset, so these tests pin the plumbing that a trained one relies on)."""

import math

import numpy as np
import pytest
import torch
from sync_media import make_framesync_checkpoint, write_flash_click_offset

import avts
from avts.config import MultiwayConfig
from avts.features.region import frame_size, motion_region
from avts.media.probe import probe
from avts.media.stream import stream_windows
from avts.models.build import load_model
from avts.sync.framesync import WINDOW_S, FrameSyncMethod, _State, region_input
from avts.sync.learned import LEARNED_CALIBRATION
from avts.sync.methods import learned_method


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_flash_click_offset(tmp_path_factory.mktemp("fs") / "late.mp4", 200)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_framesync_checkpoint(tmp_path_factory.mktemp("fsckpt") / "fs.pt")


def test_frame_size_keeps_the_aspect_with_the_short_side_given():
    assert frame_size(720, 1280, 160) == (160, 284)
    assert frame_size(1138, 640, 160) == (284, 160)
    assert frame_size(160, 160, 160) == (160, 160)


def _moving_corner(n=20, h=48, w=72):
    """A static horizontal ramp; only a bright bar in the bottom-right square moves."""
    frames = np.tile(np.linspace(0, 120, w, dtype=np.uint8)[None, None, :, None], (n, h, 1, 3))
    for i in range(n):
        frames[i, 30 + i % 10: 34 + i % 10, 50:70] = 250
    return frames


def test_region_input_is_the_motion_square_in_grey_centre_cropped():
    frames = _moving_corner()
    spec = MultiwayConfig(size=8, jitter=4, box_fraction=0.5)
    out, face = region_input(frames, spec)
    assert out.shape == (20, 8, 8) and out.dtype == np.uint8 and not face
    # the box (24 px square) sits on the moving bar: its frames change, a ramp column does not
    assert np.abs(np.diff(out.astype(int), axis=0)).max() > 50
    # the same crop resized to size + jitter, then its centre: what training sees unaugmented
    box = motion_region(frames, 0.5)  # the call training makes
    assert box.height == box.width == 24 and box.top <= 30 and box.top + 24 >= 43
    assert box.left <= 50 and box.left + 24 >= 70  # it holds the bar's whole path
    grey = torch.from_numpy(box.crop(frames).mean(axis=3, dtype=np.float32))
    full = torch.nn.functional.interpolate(grey[None], size=(12, 12), mode="area")[0]
    expected = full[:, 2:10, 2:10].round().to(torch.uint8).numpy()
    assert np.array_equal(out, expected)
    whole, face = region_input(frames, MultiwayConfig(size=8, jitter=0, region="full"))
    assert not face and whole.shape == (20, 8, 8) and not np.array_equal(whole, out)


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_curves_slide_features_on_the_hop_grid_with_the_sign_convention(checkpoint):
    loaded = load_model(checkpoint)
    method = learned_method(loaded, probe_like(64, 48))
    assert (method.step_ms, method.fine_ms, method.phases) == (40.0, 10.0, 4)
    rng = np.random.default_rng(0)
    n, d, pad_s = 50, 8, 0.5
    video = _unit(rng.standard_normal((n, d)))
    audio = [_unit(rng.standard_normal((76, d))) for _ in range(4)]  # 3 s of audio
    # audio late by 120 ms: video frame i is heard at (t - pad) + 62 hops + i frames, i.e.
    # phase 62 % 4 = 2, feature 62 // 4 + i = 15 + i
    audio[2][15:15 + n] = video
    shifts = np.arange(-500, 501, 10.0)
    curve = method.curves([_State(video, audio, False)], shifts, pad_s)[0]
    assert curve.shape == shifts.shape and np.all(np.isfinite(curve))
    assert shifts[np.argmax(curve)] == 120 and curve.max() == pytest.approx(1.0)
    # one frame further on the same phase is a different pairing, not a near-copy
    assert curve[shifts == 160][0] < 0.9


def probe_like(width, height):
    from avts.types import MediaInfo

    return MediaInfo(path=None, duration_s=8.0, container="mp4", has_video=True,
                     has_audio=True, video_fps=25.0, width=width, height=height)


def test_prepare_gives_per_frame_features_and_four_audio_phases(clip, checkpoint):
    loaded = load_model(checkpoint)
    info = probe(clip)
    method = learned_method(loaded, info)
    assert isinstance(method, FrameSyncMethod) and method.size_hw == (48, 64)
    assert method.clip_s == WINDOW_S and method.calibration == LEARNED_CALIBRATION
    pad_s = 0.5
    windows = list(stream_windows(clip, np.array([1.0, 3.0]), method.clip_s, method.fps,
                                  method.size_hw, method.sr_hz, pad_s))
    states = method.prepare(windows, pad_s)
    n_frames = round(WINDOW_S * 25)
    assert [s.video.shape for s in states] == [(n_frames, 8)] * 2
    lengths = [len(a) for a in states[0].audio]
    assert len(lengths) == 4 and lengths == sorted(lengths, reverse=True)
    assert lengths[0] >= n_frames + 2 * pad_s * 25
    # the sub-frame grid around a coarse shift: every 10 ms shift scores, nothing is NaN
    fine = np.arange(-40.0, 41.0, 10.0)
    curves = method.curves(states, fine, pad_s)
    assert curves.shape == (2, 9) and np.all(np.abs(curves) <= 1.0 + 1e-5)
    assert len(np.unique(np.round(curves[0], 6))) > 4  # the phases are not copies of each other


def test_detect_with_a_framesync_checkpoint_is_well_formed(clip, checkpoint, monkeypatch):
    monkeypatch.setenv("AVTS_CHECKPOINT", str(checkpoint))
    result = avts.detect_offset(clip, search_ms=600)
    assert result.method == "avts" and result.fps == 25.0
    assert -600 <= result.offset_ms <= 600 and math.isfinite(result.score)
    assert 0.0 <= result.confidence <= 1.0
    assert result.n_windows > 0 and result.timeline
    assert all(w.end_s - w.start_s >= WINDOW_S for w in result.timeline)


@pytest.mark.parametrize("midpoint, verdicts", [(50.0, {"inconclusive"}),
                                                (-50.0, {"in-sync", "out-of-sync"})])
def test_the_checkpoint_calibration_sets_the_confidence(clip, tmp_path, midpoint, verdicts):
    path = make_framesync_checkpoint(tmp_path / "cal.pt",
                                     calibration={"slope": 1.0, "midpoint": midpoint})
    assert load_model(path).calibration == {"slope": 1.0, "midpoint": midpoint,
                                            "face_slope": 0.0}
    result = avts.detect_offset(clip, checkpoint=path, search_ms=600)
    assert result.verdict in verdicts
    if midpoint > 0:  # a score far below the midpoint: no confidence, no verdict
        assert result.confidence < 1e-6 and "confidence" in result.reason
    else:  # far above: certain, or half that when the peak sits on the range's edge
        assert result.confidence in (pytest.approx(1.0), pytest.approx(0.5))


def test_a_bad_calibration_in_a_checkpoint_is_a_one_line_error(tmp_path):
    from avts.errors import CheckpointError

    path = make_framesync_checkpoint(tmp_path / "bad.pt", calibration={"slope": -1.0,
                                                                        "midpoint": 0.0})
    with pytest.raises(CheckpointError, match="calibration"):
        load_model(path)


def test_an_ensemble_checkpoint_loads_and_measures(clip, tmp_path):
    from avts.models.framesync import FrameSyncEnsemble

    path = make_framesync_checkpoint(tmp_path / "ensemble.pt", members=2)
    loaded = avts.load_model(path)
    assert isinstance(loaded.model, FrameSyncEnsemble) and len(loaded.model.members) == 2
    result = avts.detect_offset(clip, checkpoint=path, search_ms=600)
    assert -600 <= result.offset_ms <= 600 and math.isfinite(result.score)


def test_the_face_share_is_measured_and_moves_the_confidence(shared_av_sync, tmp_path):
    talking = shared_av_sync / "grid_bbaf2n.mpg"  # one frontal speaker throughout
    calibration = {"slope": 1.0, "midpoint": 3.0}
    plain = make_framesync_checkpoint(tmp_path / "plain.pt", calibration=calibration,
                                      region="face", region_short_side=160)
    faced = make_framesync_checkpoint(tmp_path / "faced.pt", region="face",
                                      region_short_side=160,
                                      calibration={**calibration, "face_slope": 2.0})
    a = avts.detect_offset(talking, checkpoint=plain, search_ms=300)
    b = avts.detect_offset(talking, checkpoint=faced, search_ms=300)
    assert a.face_share == b.face_share and a.face_share > 0.5
    assert a.score == b.score and a.offset_ms == b.offset_ms
    logit = math.log(a.confidence / (1 - a.confidence))
    assert math.log(b.confidence / (1 - b.confidence)) == pytest.approx(
        logit + 2.0 * a.face_share, abs=1e-6)


def test_a_clip_without_a_face_has_face_share_zero(clip, checkpoint):
    result = avts.detect_offset(clip, checkpoint=checkpoint, search_ms=600)
    assert result.face_share == 0.0
    assert "face_share" in result.to_dict()
