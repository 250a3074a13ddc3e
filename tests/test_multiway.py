import numpy as np
import torch

from avts.data.multiway import (
    MultiwaySpec,
    audio_bounds,
    candidate_mask,
    candidate_windows,
    cut_item,
    cut_item_at_speed,
    draw_items,
)
from avts.losses import MultiwayLoss
from avts.models.framesync import FrameSync, video_input


def test_items_fit_and_true_candidate_is_the_aligned_audio():
    spec = MultiwaySpec(n_frames=5, max_shift=3, margin=1, samples_per_frame=4)
    rng = np.random.default_rng(0)
    items = draw_items(rng, [40, 12, 20], 50, spec)
    assert all(c != 1 for c, _ in items)  # 12 frames < the 13 an item needs
    frames = np.arange(40)[:, None]  # frame i holds i
    audio = np.repeat(np.arange(40), 4).astype(np.float32)  # samples of frame i hold i
    for clip, f0 in items:
        if clip != 0:
            continue
        video, piece = cut_item(frames, audio, f0, spec)
        assert video.shape[0] == spec.video_frames and video[spec.margin, 0] == f0
        feats = torch.from_numpy(piece.reshape(-1, 4)[:, :1])[None]  # (1, audio_frames, 1)
        windows = candidate_windows(feats, spec)  # (1, K, n_frames, 1)
        assert windows.shape == (1, spec.n_candidates, 5, 1)
        assert windows[0, spec.max_shift, 0, 0] == f0  # shift 0 starts where the video does
        assert windows[0, 0, 0, 0] == f0 - spec.max_shift


def test_multiway_loss_prefers_the_matching_candidate():
    fv = torch.tensor([[1.0, 0.0]])
    good = torch.tensor([[[0.0, 1.0], [1.0, 0.0], [0.0, -1.0]]])  # true index 1 matches
    bad = good[:, [1, 0, 2]]
    loss = MultiwayLoss(0.1)
    target = torch.tensor([1])
    assert loss(fv, good, target) < 0.01 < loss(fv, bad, target)


def test_framesync_keeps_the_frame_rate():
    torch.manual_seed(0)
    model = FrameSync(widths=(4, 4, 4, 4), embed_dim=8).eval()
    video = video_input(torch.randint(0, 255, (2, 9, 48, 48)))
    v = model.video_steps(video)
    a = model.audio_steps(torch.randn(2, 1, 40, 36))
    assert v.shape == (2, 9, 8) and a.shape == (2, 9, 8)
    w = FrameSync.window_embedding(v)
    assert torch.allclose(w.norm(dim=1), torch.ones(2))


def test_whole_clips_items_reach_the_clip_ends_and_short_clips():
    spec = MultiwaySpec(n_frames=5, max_shift=3, margin=1, samples_per_frame=4, whole_clips=True)
    items = draw_items(np.random.default_rng(0), [40, 10, 9], 400, spec)
    # 10 frames = video_frames 7 + max_shift 3: the shortest clip that trains; 9 does not
    assert {c for c, _ in items} == {0, 1}
    starts = [f0 for c, f0 in items if c == 0]
    assert min(starts) == spec.margin and max(starts) == 40 - spec.n_frames - spec.margin
    frames = np.arange(10)[:, None]
    audio = np.repeat(np.arange(1, 11), 4).astype(np.float32)  # frame i holds i + 1, 0 = pad
    video, piece = cut_item(frames, audio, spec.margin, spec)
    feats = piece.reshape(-1, 4)[:, 0]
    lo, hi = audio_bounds(spec.margin, len(audio), spec)
    assert video[spec.margin, 0] == spec.margin  # the video starts where the item says
    assert (feats[:lo] == 0).all() and (feats[hi:] == 0).all() and (feats[lo:hi] > 0).all()
    assert feats[spec.max_shift + spec.margin] == spec.margin + 1  # shift 0: the video's audio


def test_candidate_mask_keeps_exactly_the_candidates_inside_the_clip():
    item = MultiwaySpec(n_frames=5, max_shift=3, margin=1, whole_clips=True)
    window = MultiwaySpec(n_frames=3, max_shift=3, margin=1, whole_clips=True)
    bounds = torch.tensor([[0, item.audio_frames], [3, 11]])  # a long clip; one cut on both ends
    keep = candidate_mask(bounds, item, window, stride=2)  # windows at 0 and 2, window-major
    assert keep.shape == (2 * 2, item.n_candidates)
    assert keep[0].all() and keep[2].all()  # nothing masked where the audio is all there
    # item 1, window 0: candidate k scores segment frames [1 + k, 4 + k): inside [3, 11)
    assert keep[1].tolist() == [False, False, True, True, True, True, True]
    assert keep[3].tolist() == [True, True, True, True, True, True, False]  # [3 + k, 6 + k)
    assert keep[:, item.max_shift].all()  # the true shift always competes


def _ramp(n_frames, spf):
    """Frames holding their index, audio samples holding the time in frames (-0.5 at the
    first frame's centre): a stream's value says which instant of the recording it shows."""
    frames = np.repeat(np.arange(n_frames, dtype=np.uint8)[:, None], 2, axis=1)
    audio = ((np.arange(n_frames * spf) + 0.5) / spf - 0.5).astype(np.float32)
    return frames, audio


def test_speed_one_is_the_plain_cut():
    spec = MultiwaySpec(n_frames=6, max_shift=3, margin=1, samples_per_frame=8)
    frames, audio = _ramp(60, 8)
    video, piece = cut_item_at_speed(frames, audio, 20, spec, 1.0)
    plain_video, plain_piece = cut_item(frames, audio, 20, spec)
    assert np.array_equal(video, plain_video) and np.allclose(piece, plain_piece)


def test_speed_changes_tempo_and_keeps_both_streams_on_one_clock():
    spec = MultiwaySpec(n_frames=10, max_shift=4, margin=2, samples_per_frame=8)
    frames, audio = _ramp(120, 8)
    for speed in (0.8, 1.25):
        video, piece = cut_item_at_speed(frames, audio, 40, spec, speed)
        assert video.shape == (spec.video_frames, 2) and video.dtype == np.uint8
        assert piece.shape == (spec.audio_frames * 8,) and piece.dtype == np.float32
        steps = np.diff(video[:, 0].astype(float))
        assert abs(steps.mean() - speed) < 0.1  # the recording runs `speed` frames per frame
        # shift 0: output video frame v and the audio of its frame show the same instant
        per_frame = piece.reshape(-1, 8).mean(axis=1)
        for v in range(spec.video_frames):
            assert abs(per_frame[v + spec.max_shift] - float(video[v, 0])) <= 0.5 + 1e-4


def test_speed_stays_inside_short_clips():
    spec = MultiwaySpec(n_frames=10, max_shift=4, margin=2, samples_per_frame=8)
    frames, audio = _ramp(spec.audio_frames, 8)  # exactly one item long
    f0 = spec.max_shift + spec.margin
    video, piece = cut_item_at_speed(frames, audio, f0, spec, 1.3)  # no room: speed 1
    assert np.array_equal(video, cut_item(frames, audio, f0, spec)[0])
    assert np.allclose(piece, cut_item(frames, audio, f0, spec)[1])
    frames, audio = _ramp(40, 8)  # room for 1.3 only with the centre moved inward
    video, piece = cut_item_at_speed(frames, audio, f0, spec, 1.3)
    assert piece.min() >= -0.5 and piece.max() <= 39.5  # never past the clip's audio
    per_frame = piece.reshape(-1, 8).mean(axis=1)
    assert abs(per_frame[spec.max_shift] - float(video[0, 0])) <= 0.5 + 1e-4
