import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import write_bad_files

from avts.checkpoint import load_checkpoint
from avts.cli import main


def _one_line_error(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("avts: error:"), err
    return lines[0]


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "train", "eval-sync", "synth", "probe"):
        assert command in out


@pytest.mark.parametrize("kind", ["empty", "text", "truncated", "no_audio"])
def test_probe_bad_input_is_one_line_exit_2(synth_corpus, tmp_path, capsys, kind):
    bad = write_bad_files(tmp_path, next(iter(sorted(synth_corpus.glob("*.mp4")))))
    if kind == "no_audio":  # probing works; training refuses it, tested in test_trainer
        assert main(["probe", str(bad[kind])]) == 0
        return
    assert main(["probe", str(bad[kind])]) == 2
    assert bad[kind].name in _one_line_error(capsys)


def test_train_on_folder_of_only_bad_files_is_one_line_exit_2(synth_corpus, tmp_path, capsys):
    write_bad_files(tmp_path / "bad", next(iter(sorted(synth_corpus.glob("*.mp4")))))
    code = main(["train", "--data", str(tmp_path / "bad"), "--out", str(tmp_path / "run"),
                 "--preset", "tiny", f"data.cache_dir={tmp_path / 'cache'}"])
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "need at least 8 usable videos" in err


def test_missing_inputs_are_one_line_exit_2(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "r")]) == 2
    _one_line_error(capsys)
    assert main(["train", "--out", str(tmp_path / "r")]) == 2
    assert "--data is required" in _one_line_error(capsys)
    assert main(["train", "--out", str(tmp_path / "r"), "--resume"]) == 2
    assert "nothing to resume" in _one_line_error(capsys)
    assert main(["eval-sync", "--checkpoint", str(tmp_path / "x.pt"), "--data", "."]) == 2
    _one_line_error(capsys)
    assert main(["train", "--data", ".", "--out", str(tmp_path / "r"), "train.bogus=1"]) == 2
    assert "train.bogus" in _one_line_error(capsys)
    assert main(["train", "--data", ".", "--out", str(tmp_path / "r"), "model.pool=bogus"]) == 2
    assert "pool" in _one_line_error(capsys)
    assert main(["train", "--data", ".", "--out", str(tmp_path / "r"), "--preset", "tiny",
                 "--init", str(tmp_path / "x.pt")]) == 2
    assert "x.pt" in _one_line_error(capsys)


def test_unwritable_output_and_bad_counts_are_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["synth", str(tmp_path / "file" / "out"), "--num-videos", "1"]) == 2
    assert "file" in _one_line_error(capsys)
    assert main(["synth", str(tmp_path / "out"), "--num-videos", "0"]) == 2
    assert "at least 1" in _one_line_error(capsys)
    assert main(["synth", str(tmp_path / "out"), "--fps", "0"]) == 2
    assert "4-120 fps" in _one_line_error(capsys)
    assert not (tmp_path / "out").exists()


def test_synth_renders_at_the_asked_frame_rate_with_contacts_on_frames(tmp_path, capsys):
    import csv

    from avts.media import probe

    assert main(["synth", str(tmp_path / "v"), "--num-videos", "2", "--fps", "8"]) == 0
    for path in sorted((tmp_path / "v").glob("*.mp4")):
        assert probe(path).video_fps == pytest.approx(8.0)
    with open(tmp_path / "v" / "events.csv") as f:
        times = [float(row["time_s"]) for row in csv.DictReader(f)]
    assert times and all(abs(t * 8 - round(t * 8)) < 1e-3 for t in times)


def test_demo_refuses_to_overwrite_an_earlier_demo(tmp_path, capsys):
    (tmp_path / "demo" / "run").mkdir(parents=True)
    (tmp_path / "demo" / "run" / "last.pt").write_bytes(b"earlier run")
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 2
    assert "already holds a demo run" in _one_line_error(capsys)
    assert (tmp_path / "demo" / "run" / "last.pt").read_bytes() == b"earlier run"


def test_synth_train_eval_through_the_cli(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "vids"), "--num-videos", "5", "--seed", "1"]) == 0
    groups = tmp_path / "groups.csv"  # synth_0000-0001 and synth_0002-0004: two sources
    groups.write_text("file,group\n" + "".join(f"synth_{i:04d}.mp4,{'ab'[i >= 2]}\n"
                                               for i in range(5)))
    args = ["train", "--data", str(tmp_path / "vids"), "--out", str(tmp_path / "run"),
            "--preset", "tiny", "train.epochs=1", "train.samples_per_epoch=32",
            "train.batch_size=16", "train.val_samples=16", "data.val_fraction=0.4",
            f"data.cache_dir={tmp_path / 'cache'}", "--group-by", str(groups)]
    assert main(args) == 0
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    sides = [{Path(f).name < "synth_0002" for f in state[k]} for k in ("train_videos",
                                                                         "val_videos")]
    assert sides in ([{True}, {False}], [{False}, {True}])  # each source on one side only
    # The expected time per epoch, measured over the first steps (no --preset tiny hint: it is).
    out = capsys.readouterr().out
    assert re.search(r"about \d+ s per epoch at [\d.]+ clips/s on cpu\n", out), out
    # A refused resume (a setting that would change the model) leaves the run's files alone.
    saved = (tmp_path / "run" / "config.yaml").read_bytes()
    assert main(["train", "--out", str(tmp_path / "run"), "--resume", "model.embed_dim=32"]) == 2
    assert "model.embed_dim" in _one_line_error(capsys)
    assert main(["train", "--out", str(tmp_path / "run"), "--resume", "--preset", "tiny"]) == 2
    assert "own config.yaml" in _one_line_error(capsys)
    assert (tmp_path / "run" / "config.yaml").read_bytes() == saved
    # Resuming needs only the run folder; an override extends the run by one epoch.
    assert main(["train", "--out", str(tmp_path / "run"), "--resume", "train.epochs=2"]) == 0
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 2
    assert main(["eval-sync", "--checkpoint", str(tmp_path / "run" / "best.pt"),
                 "--data", str(tmp_path / "vids"), "--pairs-per-kind", "8", "--json"]) == 0
    captured = capsys.readouterr()
    acc = json.loads(captured.out[captured.out.index("{"):])
    assert set(acc) >= {"easy", "hard", "superhard", "threshold"}
    # Evaluating on the training folder is allowed, but said loudly.
    assert "avts: warning: 5 of 5 evaluation videos were used by this checkpoint's run" \
        in captured.err
    assert len(acc["seen_in_training"]) + len(acc["seen_in_validation"]) == 5


def test_eval_sync_lists_skipped_files(tmp_path, capsys, synth_corpus):
    assert main(["synth", str(tmp_path / "vids"), "--num-videos", "5", "--seed", "1"]) == 0
    assert main(["train", "--data", str(tmp_path / "vids"), "--out", str(tmp_path / "run"),
                 "--preset", "tiny", "train.epochs=1", "train.samples_per_epoch=16",
                 "train.batch_size=16", "train.val_samples=8", "data.val_fraction=0.4",
                 "model.video_widths=[8]", "model.video_blocks=[1]", "model.audio_widths=[8]",
                 f"data.cache_dir={tmp_path / 'cache'}"]) == 0
    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    for p in sorted(synth_corpus.glob("*.mp4"))[:3]:
        shutil.copy(p, eval_dir / p.name)  # same names as training files, but other files
    (eval_dir / "notes.mp4").write_text("this is not a video\n")
    capsys.readouterr()
    assert main(["eval-sync", "--checkpoint", str(tmp_path / "run" / "last.pt"),
                 "--data", str(eval_dir), "--pairs-per-kind", "4"]) == 0
    err = capsys.readouterr().err
    assert f"skipped {eval_dir / 'notes.mp4'}:" in err
    assert "avts: warning" not in err  # other files than the run's, though named alike


BAD_SETTINGS = [
    (["train.device=gpu"], "train.device must be one of auto, cpu, cuda, cuda:N, mps; got 'gpu'"),
    (["data.mel.win_samples=600"], "data.mel.win_samples must be <= data.mel.n_fft (512)"),
    (["train.optimizer=adma"], "train.optimizer must be one of sgd, adamw; got 'adma'"),
    (["train.loss=triplet"], "train.loss must be one of contrastive, cross_entropy, infonce"),
    (["model.video_arch=r2d"], "model.video_arch must be one of mc3, r3d"),
    (["train.batch_size=0"], "train.batch_size must be >= 1; got 0"),
    (["train.epochs=0"], "train.epochs must be >= 1; got 0"),
    (["train.samples_per_epoch=4"], "train.samples_per_epoch must be >= train.batch_size (8)"),
    (["data.pairs.positive_fraction=2"], "data.pairs.positive_fraction must be in [0, 1]"),
    (["data.val_fraction=1"], "data.val_fraction must be in (0, 1)"),
    (["--group-by", "(unclosed"], "data.group_by must be a valid regex over the file name"),
    (["--group-by", "nowhere/groups.csv"], "data.group_by: group file nowhere/groups.csv"),
]


@pytest.mark.parametrize("extra,message", BAD_SETTINGS, ids=[" ".join(b[0]) for b in BAD_SETTINGS])
def test_bad_settings_fail_in_one_line_before_any_decoding(synth_corpus, tmp_path, capsys,
                                                          no_decode, extra, message):
    argv = ["train", "--data", str(synth_corpus), "--out", str(tmp_path / "run"), "--preset",
            "tiny", f"data.cache_dir={tmp_path / 'cache'}", *extra]
    assert main(argv) == 2
    assert message in _one_line_error(capsys)
    assert not (tmp_path / "run").exists()


def test_too_small_folder_says_how_many_videos_it_needs(synth_corpus, tmp_path, capsys,
                                                       no_decode):
    argv = ["train", "--data", str(synth_corpus), "--out", str(tmp_path / "run"), "--preset",
            "tiny", f"data.cache_dir={tmp_path / 'cache'}"]
    assert main(argv) == 2
    assert "need at least 8 usable videos at data.val_fraction=0.2 (found 6;" \
        in _one_line_error(capsys)
    argv[-1:] = [*argv[-1:], "data.val_fraction=0.34", "--group-by", "^synth"]
    assert main(argv) == 2
    assert "data.group_by='^synth': need at least 2 videos" in _one_line_error(capsys)


def test_overrides_may_follow_options(synth_corpus, tmp_path, capsys, no_decode):
    argv = ["train", "--data", str(synth_corpus), "--out", str(tmp_path / "run"),
            f"data.cache_dir={tmp_path / 'cache'}", "--preset", "tiny", "--group-by", "^synth",
            "data.val_fraction=0.34"]
    assert main(argv) == 2  # the split error shows that the last override was applied
    assert "data.group_by='^synth': need at least 2 videos" in _one_line_error(capsys)
    for stray in (["--no-such-option"], ["stray"]):
        with pytest.raises(SystemExit) as exc:
            main([*argv, *stray])
        assert exc.value.code == 2
        assert f"unrecognized arguments: {stray[0]}" in capsys.readouterr().err


def test_a_slow_cpu_epoch_points_to_the_tiny_preset(capsys):
    from avts.cli import _TrainProgress
    from avts.types import EpochEstimate

    progress = _TrainProgress()
    progress.on_estimate(EpochEstimate(epoch=1, steps_timed=3, clips_per_s=0.31,
                                       seconds_per_epoch=17.2 * 3600, device="cpu"))
    progress.on_estimate(EpochEstimate(epoch=1, steps_timed=3, clips_per_s=900.0,
                                       seconds_per_epoch=5400.0, device="cuda"))
    assert capsys.readouterr().out.splitlines() == [
        "about 17 h per epoch at 0.31 clips/s on cpu; for a CPU try --preset tiny",
        "about 1.5 h per epoch at 900 clips/s on cuda"]


def test_a_device_this_machine_lacks_fails_before_any_decoding(synth_corpus, tmp_path, capsys,
                                                               no_decode):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    argv = ["train", "--data", str(synth_corpus), "--out", str(tmp_path / "run"), "--preset",
            "tiny", f"data.cache_dir={tmp_path / 'cache'}", "train.device=cuda"]
    assert main(argv) == 2
    assert "CUDA is not available on this machine" in _one_line_error(capsys)
    assert not (tmp_path / "run" / "last.pt").exists()




# --- fix and bench-sync ---------------------------------------------------------------------

_FLASHES = [10, 27, 41, 66, 80, 101, 119, 133]  # irregular, so no offset aliases another


def _flash_clip(path, fps=25):
    from media_synth import write_flash_click_at

    return write_flash_click_at(path, fps, 16000, _FLASHES, 6.0)


def _click_minus_flash_s(path, fps=25):
    """Model-free offset: median time from each flash to the nearest click."""
    import numpy as np
    from media_synth import click_onsets_s, flash_instants_s

    from avts.media import probe, read_audio, read_video

    info = probe(path)
    flashes = flash_instants_s(read_video(path, info.start_s, info.duration_s, fps, (48, 64)),
                               fps, info.start_s)
    clicks = np.array(click_onsets_s(read_audio(path, info.start_s, info.duration_s, 16000),
                                     16000, info.start_s))
    return float(np.median([clicks[np.argmin(np.abs(clicks - t))] - t for t in flashes]))


@pytest.mark.parametrize("offset_ms", [200, -200])
def test_fix_with_known_offset_lines_events_up(tmp_path, capsys, offset_ms):
    from avts.media.remux import make_shifted_copy, video_packets_identical

    clip = _flash_clip(tmp_path / "clip.mp4")
    shifted = make_shifted_copy(clip, tmp_path / "shifted.mp4", offset_ms)
    before = shifted.read_bytes()
    fixed = tmp_path / "fixed.mp4"
    assert main(["fix", str(shifted), "--out", str(fixed), "--offset-ms", str(offset_ms),
                 "--method", "baseline"]) == 0
    out = capsys.readouterr().out
    moved = "advanced" if offset_ms > 0 else "delayed"
    assert f"audio {moved} by 200.0 ms" in out
    assert "byte-identical to the input: yes" in out and "residual offset:" in out
    assert abs(_click_minus_flash_s(shifted) - offset_ms / 1000) < 0.002
    assert abs(_click_minus_flash_s(fixed)) < 1 / 25
    assert video_packets_identical(clip, fixed) and shifted.read_bytes() == before


def test_fix_auto_measures_then_fixes_and_prints_json(tmp_path, capsys, monkeypatch):
    from avts.media.remux import make_shifted_copy

    clip = _flash_clip(tmp_path / "clip.mp4")
    shifted = make_shifted_copy(clip, tmp_path / "shifted.mp4", 200)
    fixed = tmp_path / "fixed.mkv"
    assert main(["fix", str(shifted), "--out", str(fixed), "--auto", "--method", "baseline",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {"src", "dst", "applied_offset_ms", "measured_before",
                           "measured_after", "residual_offset_ms", "video_packets_identical"}
    assert abs(result["applied_offset_ms"] - 200) < 40
    assert result["measured_before"]["method"] == "baseline"
    assert abs(result["residual_offset_ms"]) < 40 and result["video_packets_identical"]
    assert abs(_click_minus_flash_s(fixed)) < 1 / 25


def test_fix_without_a_model_stops_before_writing(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AVTS_CHECKPOINT", raising=False)
    clip = _flash_clip(tmp_path / "clip.mp4")
    assert main(["fix", str(clip), "--out", str(tmp_path / "out.mp4"), "--auto"]) == 2
    assert "checkpoint" in _one_line_error(capsys)
    assert main(["fix", str(clip), "--out", str(tmp_path / "out.mp4"), "--offset-ms", "80"]) == 2
    assert "--no-measure" in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
    assert main(["fix", str(clip), "--out", str(tmp_path / "out.mp4"), "--offset-ms", "80",
                 "--no-measure"]) == 0
    assert "residual" not in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["empty", "text", "truncated", "no_audio", "short"])
def test_fix_bad_input_is_one_line_exit_2_and_leaves_no_file(tmp_path, capsys, kind):
    clip = _flash_clip(tmp_path / "clip.mp4")
    bad = write_bad_files(tmp_path / "bad", clip)[kind]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code = main(["fix", str(bad), "--out", str(out_dir / "fixed.mp4"), "--offset-ms", "-120",
                 "--method", "baseline"])
    if kind == "short":  # 0.4 s: shifting works; measuring the result cannot, and says so
        assert code == 0 and [p.name for p in out_dir.iterdir()] == ["fixed.mp4"]
        assert "residual offset: not measured; the corrected file could not be measured" \
            in capsys.readouterr().out
        return
    assert code == 2
    assert bad.name in _one_line_error(capsys)
    assert list(out_dir.iterdir()) == []


def test_fix_refuses_its_input_and_needs_an_offset(tmp_path, capsys):
    clip = _flash_clip(tmp_path / "clip.mp4")
    before = clip.read_bytes()
    assert main(["fix", str(clip), "--out", str(clip), "--offset-ms", "40"]) == 2
    assert "refusing to overwrite the input" in _one_line_error(capsys)
    assert clip.read_bytes() == before
    with pytest.raises(SystemExit) as exit_:
        main(["fix", str(clip), "--out", str(tmp_path / "o.mp4")])
    assert exit_.value.code == 2


def test_bench_sync_baseline_on_flash_clips(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AVTS_CHECKPOINT", raising=False)
    (tmp_path / "vids").mkdir()
    _flash_clip(tmp_path / "vids" / "a.mp4")
    _flash_clip(tmp_path / "vids" / "b.mp4", fps=30)
    args = ["bench-sync", str(tmp_path / "vids"), "--offsets", "-200,0,120",
            "--out", str(tmp_path / "copies")]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["methods"] == ["baseline"] and "left out" in result["notes"][0]
    assert len(result["cases"]) == 6 and len(list((tmp_path / "copies").rglob("*.mp4"))) == 6
    assert set(result["per_offset"]["baseline"]) == {"-200", "0", "+120"}
    overall = result["overall"]["baseline"]
    assert overall["within_2_frames"] >= 5 / 6 and overall["sign_accuracy"] == 1.0
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "baseline" in out and "all" in out and "note:" in out and "+120" in out


def test_bench_sync_bad_requests_are_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AVTS_CHECKPOINT", raising=False)
    (tmp_path / "empty").mkdir()
    assert main(["bench-sync", str(tmp_path / "empty"), "--methods", "baseline"]) == 2
    assert "no video files" in _one_line_error(capsys)
    _flash_clip(tmp_path / "a.mp4")
    assert main(["bench-sync", str(tmp_path / "a.mp4"), "--methods", "baseline,magic"]) == 2
    assert "magic" in _one_line_error(capsys)
    assert main(["bench-sync", str(tmp_path / "a.mp4"), "--methods", "avts"]) == 2
    assert "--checkpoint" in _one_line_error(capsys)
    assert main(["bench-sync", str(tmp_path / "a.mp4"), "--methods", "baseline",
                 "--jobs", "0"]) == 2
    assert "--jobs must be >= 1" in _one_line_error(capsys)
    assert main(["bench-sync", str(tmp_path / "a.mp4"), "--methods", "baseline",
                 "--search-ms", "0"]) == 2  # checked once, not a miss per copy
    assert "search range" in _one_line_error(capsys)
    assert main(["bench-sync", str(tmp_path / "a.mp4"), "--checkpoint",
                 str(tmp_path / "nope.pt")]) == 2  # not a failed measurement per copy
    assert "checkpoint not found" in _one_line_error(capsys)


def test_fix_auto_refuses_an_inconclusive_measurement(tmp_path, capsys):
    import numpy as np

    from avts.media.write import write_av

    still = write_av(tmp_path / "still.mp4", np.full((150, 48, 64, 3), 90, np.uint8), 25,
                     np.zeros(96000, np.float32), 16000)
    assert main(["fix", str(still), "--out", str(tmp_path / "out.mp4"), "--auto",
                 "--method", "baseline"]) == 2
    assert "inconclusive" in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["still.mp4"]
