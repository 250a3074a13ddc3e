import numpy as np
import pytest

from avts.features.region import Box, find_region, motion_energy_map, motion_region, mouth_region


def _clip_with_moving_square(top: int, left: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    frames = np.full((10, 120, 160, 3), 90, dtype=np.uint8)
    frames += rng.integers(0, 3, size=frames.shape, dtype=np.uint8)  # sensor noise
    for t in range(10):
        value = 250 if t % 2 else 20  # a flashing, "talking" patch
        frames[t, top:top + 20, left:left + 20] = value
    return frames


def test_box_covers_the_moving_patch():
    box = motion_region(_clip_with_moving_square(70, 110), box_fraction=0.5)
    assert box.height == box.width == 60
    assert box.top <= 70 and box.top + box.height >= 90
    assert box.left <= 110 and box.left + box.width >= 130
    crop = box.crop(_clip_with_moving_square(70, 110))
    assert crop.shape == (10, 60, 60, 3)


def test_static_or_global_motion_falls_back_to_the_whole_frame():
    static = np.full((6, 50, 80, 3), 128, dtype=np.uint8)
    assert motion_region(static) == Box(0, 0, 50, 80)
    flicker = np.stack([np.full((50, 80, 3), v, dtype=np.uint8) for v in (0, 200) * 3])
    assert motion_region(flicker) == Box(0, 0, 50, 80)


def test_energy_map_shape_and_bad_fraction():
    frames = _clip_with_moving_square(10, 10)
    energy = motion_energy_map(frames)
    assert energy.shape == (120, 160)
    assert energy[15, 15] > 100 > energy[100, 100]
    with pytest.raises(ValueError):
        motion_region(frames, box_fraction=0.0)


def test_no_face_falls_back_to_the_motion_region():
    frames = _clip_with_moving_square(70, 110)
    assert mouth_region(frames, every=2) is None
    assert find_region(frames, "face") == motion_region(frames)
    assert not find_region(frames, "face").face
    assert find_region(frames, "full") == Box(0, 0, 120, 160)
    with pytest.raises(ValueError):
        find_region(frames, "mouth")


def test_mouth_of_a_real_talking_head(shared_av_sync):
    from avts.media.probe import probe
    from avts.media.read import read_video

    path = shared_av_sync / "grid_bbaf2n.mpg"  # one speaker, frontal, face in the centre
    info = probe(path)
    frames = read_video(path, info.start_s, 2.0, 25.0, (160, 200), info=info)
    box = mouth_region(frames)
    assert box is not None and box.face and find_region(frames, "face") == box
    # the speaker's face fills the middle of the frame: the mouth square lies in its lower
    # half, horizontally central, a fraction of the frame
    assert 20 <= box.height == box.width <= 80
    assert box.top + box.height / 2 > 80
    assert 60 < box.left + box.width / 2 < 140
