"""Embeddings of files and arrays: windows, timestamps, layers, the pinned numbers of a tiny
seeded checkpoint, and ``avts embed`` (parallel, resumable, bad files)."""

from __future__ import annotations

import numpy as np
import pytest
from downstream_media import clip_arrays, make_checkpoint, write_wav

import avts
from avts.cli import main
from avts.downstream.windows import conform_frames, window_starts_s
from avts.errors import ConfigError, NoVideoStreamError
from avts.media.write import write_av


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt")


@pytest.fixture(scope="module")
def lossless_clip(tmp_path_factory):
    """FFV1 + FLAC in Matroska: decoding gives back exactly what was written."""
    frames, fps, audio, sr = clip_arrays()
    path = tmp_path_factory.mktemp("clip") / "clip.mkv"
    return write_av(path, frames, fps, audio, sr, video_codec="ffv1", audio_codec="flac",
                    audio_bitrate=0)


def test_window_starts_cover_the_input_and_keep_one_window_for_short_input():
    assert window_starts_s(3.0, 1.0, 0.5).tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert window_starts_s(0.3, 1.0, 0.5).tolist() == [0.0]


def test_conform_frames_picks_frames_by_time_and_resizes():
    frames = np.stack([np.full((10, 20, 3), v, np.uint8) for v in range(0, 250, 10)])  # 25
    out = conform_frames(frames, 25.0, 12.0, (8, 8))  # 1 s at 25 fps -> 12 frames at 12 fps
    assert out.shape == (12, 8, 8, 3)
    # frame shown at i/12 s is floor(i * 25 / 12)
    assert out[:, 0, 0, 0].tolist() == [10 * int(i * 25 / 12) for i in range(12)]


def test_embed_file_pins_the_embeddings_of_a_seeded_tiny_checkpoint(ckpt, lossless_clip):
    emb = avts.embed_file(lossless_clip, checkpoint=ckpt, hop_s=0.5)
    assert emb.audio.shape == (3, 64) and emb.video.shape == (3, 64)
    np.testing.assert_allclose(emb.audio_ts, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(emb.video_ts, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(np.linalg.norm(emb.audio, axis=1), 1.0, atol=1e-5)
    # Pinned: a change in decoding, resampling, log-mel, frame scaling or normalisation moves
    # these numbers. Update them only for an intended preprocessing change.
    np.testing.assert_allclose(emb.audio[0, :8], AUDIO_FIRST8, atol=1e-3)
    np.testing.assert_allclose(emb.video[0, :8], VIDEO_FIRST8, atol=1e-3)
    # Embeddings have unit norm; the backbone's and conv5's norms pin the input scale too.
    backbone = avts.embed_file(lossless_clip, checkpoint=ckpt, hop_s=0.5, layer="backbone")
    assert float(np.linalg.norm(backbone.audio[0])) == pytest.approx(1.0189, abs=1e-3)
    assert float(np.linalg.norm(backbone.video[0])) == pytest.approx(0.9120, abs=1e-3)
    conv5 = avts.embed_file(lossless_clip, checkpoint=ckpt, hop_s=0.5, layer="audio.conv5")
    assert conv5.video.shape == (0, 0) and conv5.audio.shape == (3, 64)
    assert float(np.linalg.norm(conv5.audio[0])) == pytest.approx(0.5077, abs=1e-3)


AUDIO_FIRST8 = [0.2192, 0.0153, 0.1103, 0.0818, -0.0782, -0.0784, 0.3396, -0.1635]
VIDEO_FIRST8 = [0.0444, -0.0681, 0.0387, 0.1862, 0.0229, -0.0766, 0.0626, -0.0192]


def test_arrays_in_memory_match_the_file(ckpt, lossless_clip):
    frames, fps, audio, sr = clip_arrays()
    from_file = avts.embed_file(lossless_clip, checkpoint=ckpt)
    a = avts.embed_audio(audio, sr, checkpoint=ckpt)
    v = avts.embed_video(frames, fps, checkpoint=ckpt)
    np.testing.assert_allclose(a.audio, from_file.audio, atol=1e-3)
    np.testing.assert_allclose(v.video, from_file.video, atol=2e-2)
    # another rate and a stereo layout give nearly the same audio embedding
    audio_48k = np.repeat(np.interp(np.arange(len(audio) * 3) / 3, np.arange(len(audio)),
                                    audio)[:, None], 2, axis=1).astype(np.float32)
    a48 = avts.embed_audio(audio_48k, 48000, checkpoint=ckpt)
    assert a48.audio.shape == a.audio.shape
    assert float(np.mean(np.sum(a48.audio * a.audio, axis=1))) > 0.98


def test_layers_and_a_bad_layer(ckpt, lossless_clip):
    emb = avts.embed_file(lossless_clip, checkpoint=ckpt, layer="stage2")
    assert emb.audio.shape[1] == 32 and emb.video.shape[1] == 32
    assert avts.embed_file(lossless_clip, checkpoint=ckpt, layer="video.backbone").video.shape[
        1] == 64 * 4  # tiny pools time into 4 steps
    with pytest.raises(ConfigError, match="stages 1 to 3"):
        avts.embed_file(lossless_clip, checkpoint=ckpt, layer="stage9")
    with pytest.raises(ConfigError, match="unknown layer"):
        avts.embed_file(lossless_clip, checkpoint=ckpt, layer="fc7")
    with pytest.raises(ConfigError, match="needs video input"):
        avts.embed_audio(np.zeros(16000, np.float32), 16000, checkpoint=ckpt,
                         layer="video.stage1")


def test_a_sound_file_embeds_audio_and_a_video_layer_needs_video(ckpt, tmp_path):
    _, _, audio, sr = clip_arrays()
    wav = write_wav(tmp_path / "tone.wav", audio[::2], sr // 2)
    emb = avts.embed_file(wav, checkpoint=ckpt)
    assert emb.audio.shape == (3, 64) and emb.video.shape == (0, 0)
    with pytest.raises(NoVideoStreamError, match="no video stream"):
        avts.embed_file(wav, checkpoint=ckpt, layer="video.embedding")


def test_default_checkpoint_comes_from_the_environment(ckpt, lossless_clip, monkeypatch):
    monkeypatch.setenv("AVTS_CHECKPOINT", str(ckpt))
    assert avts.embed_file(lossless_clip).audio.shape == (3, 64)
    monkeypatch.delenv("AVTS_CHECKPOINT")
    from avts.errors import CheckpointError

    with pytest.raises(CheckpointError, match="avts demo"):
        avts.embed_file(lossless_clip)


def test_cli_embed_writes_npz_in_parallel_resumes_and_reports_bad_files(
        ckpt, lossless_clip, tmp_path, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    frames, fps, audio, sr = clip_arrays(1.5)
    write_av(src / "a.mp4", frames, fps, audio, sr)
    write_av(src / "sub" / "b.mp4", frames[::-1], fps, audio[::-1].copy(), sr)
    (src / "broken.mp4").write_text("not a video")
    out = tmp_path / "out"
    argv = ["embed", str(src), "--out", str(out), "--checkpoint", str(ckpt), "--jobs", "2"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "broken.mp4" in err and "Traceback" not in err
    with np.load(out / "a.npz") as z:
        assert set(z.files) == {"audio", "video", "audio_ts", "video_ts"}
        assert z["audio"].shape == (2, 64) and z["video_ts"].tolist() == [0.0, 0.5]
    assert (out / "sub" / "b.npz").is_file() and not (out / "broken.npz").exists()
    before = (out / "a.npz").stat().st_mtime_ns
    assert main(argv[:-2]) == 0  # resumed: existing outputs are kept, not rewritten
    assert "2 already there" in capsys.readouterr().out
    assert (out / "a.npz").stat().st_mtime_ns == before
    assert main(["embed", str(src / "broken.mp4"), "--out", str(out),
                 "--checkpoint", str(ckpt)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("avts: error:")


def test_two_inputs_for_one_output_are_refused_before_any_work(ckpt, tmp_path, capsys):
    frames, fps, audio, sr = clip_arrays(1.0)
    a = write_av(tmp_path / "x.mp4", frames, fps, audio, sr)
    b = write_av(tmp_path / "x.mkv", frames, fps, audio, sr)
    assert main(["embed", str(a), str(b), "--out", str(tmp_path / "out"),
                 "--checkpoint", str(ckpt)]) == 2
    assert "would both write" in capsys.readouterr().err
    assert not (tmp_path / "out" / "x.npz").exists()


def test_a_frame_rate_sync_checkpoint_is_refused_in_one_line(tmp_path, capsys):
    from sync_media import make_framesync_checkpoint

    frames, fps, audio, sr = clip_arrays(1.0)
    clip = write_av(tmp_path / "x.mp4", frames, fps, audio, sr)
    fs = make_framesync_checkpoint(tmp_path / "fs.pt")
    assert main(["embed", str(clip), "--out", str(tmp_path / "out"),
                 "--checkpoint", str(fs)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "frame-rate sync model" in err[0] and "two-stream" in err[0]
    assert not (tmp_path / "out" / "x.npz").exists()
