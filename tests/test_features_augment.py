import torch

from avts.features.augment import MAX_GAIN_DB, augment_audio, augment_video


def test_video_augmentation_keeps_shape_and_time_order():
    # Each frame is a constant image whose value encodes its time index.
    video = torch.arange(8, dtype=torch.float32).view(1, 8, 1, 1).expand(3, 8, 16, 16).clone()
    out = augment_video(video, torch.Generator().manual_seed(0))
    assert out.shape == video.shape
    torch.testing.assert_close(out.mean(dim=(0, 2, 3)), torch.arange(8, dtype=torch.float32))


def test_video_augmentation_flips_and_crops_deterministically():
    video = torch.linspace(0, 1, 16).view(1, 1, 1, 16).expand(3, 4, 16, 16).clone()
    outs = [augment_video(video, torch.Generator().manual_seed(s)) for s in range(20)]
    flipped = [o[0, 0, 0, 0] > o[0, 0, 0, -1] for o in outs]
    assert any(flipped) and not all(flipped)
    again = augment_video(video, torch.Generator().manual_seed(3))
    torch.testing.assert_close(again, outs[3])


def test_audio_gain_is_bounded_and_never_shifts_time():
    wave = torch.zeros(1000)
    wave[500] = 0.5
    for seed in range(20):
        out = augment_audio(wave, torch.Generator().manual_seed(seed))
        assert int(out.abs().argmax()) == 500
        gain_db = 20 * torch.log10(out[500] / 0.5)
        assert -MAX_GAIN_DB - 1e-4 <= gain_db <= MAX_GAIN_DB + 1e-4
