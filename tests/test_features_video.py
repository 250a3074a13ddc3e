import numpy as np
import pytest
import torch

from avts.features.video import KINETICS_MEAN, KINETICS_STD, frames_to_tensor


def test_single_clip_layout_and_values() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(4, 6, 8, 3), dtype=np.uint8)
    x = frames_to_tensor(frames)
    assert x.shape == (3, 4, 6, 8) and x.dtype == torch.float32
    for c in range(3):
        expected = (frames[..., c] / 255.0 - KINETICS_MEAN[c]) / KINETICS_STD[c]
        np.testing.assert_allclose(x[c].numpy(), expected, rtol=1e-5, atol=1e-5)


def test_batched_and_tensor_input() -> None:
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, size=(2, 3, 5, 5, 3), dtype=np.uint8)
    x = frames_to_tensor(torch.from_numpy(frames))
    assert x.shape == (2, 3, 3, 5, 5)
    torch.testing.assert_close(x[1], frames_to_tensor(frames[1]))


def test_read_only_input_and_mean_pixel() -> None:
    mean_pixel = np.round(np.array(KINETICS_MEAN) * 255).astype(np.uint8)
    frames = np.broadcast_to(mean_pixel, (2, 4, 4, 3))  # read-only view
    x = frames_to_tensor(frames)
    assert x.abs().max() < 0.01


def test_bad_shape_raises() -> None:
    with pytest.raises(ValueError):
        frames_to_tensor(np.zeros((4, 6, 8), dtype=np.uint8))


def test_input_is_never_written() -> None:
    # The conversion works in place on its own copy, whatever the input's type.
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 256, size=(3, 4, 4, 3), dtype=np.uint8)
    as_float = torch.from_numpy(frames.astype(np.float32))
    before_u8, before_f = frames.copy(), as_float.clone()
    a, b = frames_to_tensor(frames), frames_to_tensor(as_float)
    np.testing.assert_array_equal(frames, before_u8)
    torch.testing.assert_close(as_float, before_f, rtol=0, atol=0)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_flipped_view_is_converted_like_a_copy() -> None:
    frames = np.random.default_rng(3).integers(0, 256, size=(2, 4, 5, 3), dtype=np.uint8)
    flipped = frames[:, :, ::-1]  # negative stride
    torch.testing.assert_close(frames_to_tensor(flipped), frames_to_tensor(flipped.copy()),
                               rtol=0, atol=0)
