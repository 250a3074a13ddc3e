import numpy as np
import pytest
from sync_media import write_audio_only, write_flash_click_offset

from avts.errors import NoAudioStreamError, NoVideoStreamError
from avts.media.read import read_audio, read_video
from avts.media.stream import stream_windows


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_flash_click_offset(tmp_path_factory.mktemp("stream") / "c.mp4", 0.0)


def test_one_pass_matches_window_by_window_reading(clip):
    starts = np.array([1.0, 1.5, 4.0])  # overlapping windows too
    seen = []
    windows = list(stream_windows(clip, starts, 2.0, 25.0, (24, 32), 16000, 0.5,
                                  progress=lambda d, t: seen.append((d, t))))
    assert [w.start_s for w in windows] == list(starts)
    assert seen[-1] == (3, 3)
    for w in windows:
        frames = read_video(clip, w.start_s, 2.0, 25.0, (24, 32))
        audio = read_audio(clip, w.start_s - 0.5, 3.0, 16000)
        np.testing.assert_array_equal(w.frames, frames)
        assert w.audio.shape == audio.shape
        assert np.corrcoef(w.audio, audio)[0, 1] > 0.999


def test_missing_streams_raise(tmp_path):
    from media_synth import write_video_only

    video_only = write_video_only(tmp_path / "v.mp4", n_frames=50)
    with pytest.raises(NoAudioStreamError):
        list(stream_windows(video_only, np.array([0.0]), 1.0, 25.0, (8, 8), 16000, 0.1))
    audio_only = write_audio_only(tmp_path / "a.mp4")
    with pytest.raises(NoVideoStreamError):
        list(stream_windows(audio_only, np.array([0.0]), 1.0, 25.0, (8, 8), 16000, 0.1))
