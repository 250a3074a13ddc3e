"""The linear-SVM audio probe: folders or an ESC-50 CSV, given or stratified folds, baselines,
and the bad input users have (silent, unreadable, too few examples, missing files)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from downstream_media import make_checkpoint, write_sound_set, write_wav

import avts
from avts.cli import main
from avts.errors import DatasetError


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt")


@pytest.fixture(scope="module")
def sounds(tmp_path_factory):
    root = tmp_path_factory.mktemp("sounds")
    return root, write_sound_set(root)


def test_probe_on_class_folders_beats_chance_and_reports_baselines(ckpt, sounds):
    root, _ = sounds
    result = avts.probe_audio(root, checkpoint=ckpt, n_folds=3)
    assert result.classes == ["clicks", "noise", "tone"] and result.n_clips == 18
    assert len(result.folds) == 3 and result.fold_source.startswith("stratified")
    assert set(result.baselines) == {"random_init", "log_mel_stats"}
    # tones, noise and clicks are far apart in any reasonable feature space
    assert result.baselines["log_mel_stats"].accuracy >= 0.9
    assert result.accuracy >= 0.8
    assert result.feature_dim == 64 and result.baselines["log_mel_stats"].feature_dim == 64
    again = avts.probe_audio(root, checkpoint=ckpt, n_folds=3)
    assert again.folds == result.folds  # seeded folds, deterministic SVM


def test_esc50_csv_gives_the_folds_and_a_class_filter(ckpt, sounds, tmp_path):
    root, paths = sounds
    meta = tmp_path / "esc50.csv"
    with open(meta, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["filename", "fold", "target", "category"])
        for target, (kind, files) in enumerate(sorted(paths.items())):
            for i, p in enumerate(files):
                w.writerow([p.relative_to(root).as_posix(), i % 2 + 1, target, kind])
    result = avts.probe_audio(root, meta=meta, checkpoint=ckpt, classes=["tone", "noise"])
    assert result.classes == ["noise", "tone"] and len(result.folds) == 2
    assert result.fold_source.startswith("given (2 folds")


def test_silent_and_unreadable_files_are_left_out_with_a_count(ckpt, sounds, tmp_path,
                                                                 capsys):
    import shutil

    root = tmp_path / "set"
    shutil.copytree(sounds[0], root)
    write_wav(root / "tone" / "silent.wav", np.zeros(4000), 8000)
    (root / "noise" / "broken.wav").write_bytes(b"RIFF\x00\x00not really")
    assert main(["probe-audio", str(root), "--checkpoint", str(ckpt), "--folds", "3",
                 "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert {"accuracy", "folds", "baselines"} <= set(out)
    assert set(out["baselines"]["log_mel_stats"]) >= {"accuracy", "folds"}
    assert out["n_clips"] == 18 and len(out["left_out"]) == 2
    reasons = {item["path"].rsplit("/", 1)[1]: item["reason"] for item in out["left_out"]}
    assert reasons["silent.wav"] == "silent" and reasons["broken.wav"].startswith("unreadable")
    assert "silent.wav" in captured.err and "Traceback" not in captured.err


def test_a_class_smaller_than_the_folds_is_named(ckpt, sounds, tmp_path, capsys):
    root = tmp_path / "few"
    write_sound_set(root, n_per_class=2, kinds=("tone",))
    write_sound_set(root, n_per_class=5, kinds=("noise",))
    with pytest.raises(DatasetError, match="class 'tone' has 2 usable examples"):
        avts.probe_audio(root, checkpoint=ckpt, n_folds=3)
    assert main(["probe-audio", str(root), "--checkpoint", "random", "--folds", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'tone'" in err[0]


def test_a_csv_naming_a_missing_file_names_it(sounds, tmp_path, capsys):
    root, paths = sounds
    meta = tmp_path / "meta.csv"
    meta.write_text("filename,fold,target,category\ntone/tone_0.wav,1,0,tone\n"
                    "tone/gone.wav,2,0,tone\n")
    assert main(["probe-audio", str(root), "--meta", str(meta), "--checkpoint", "random"]) == 2
    assert "names a missing file" in capsys.readouterr().err
    assert "gone.wav" in str(pytest.raises(DatasetError, avts.probe_audio, root, meta=meta,
                                           checkpoint="random").value)


def test_the_probe_needs_an_audio_layer(sounds):
    from avts.errors import ConfigError

    with pytest.raises(ConfigError, match="audio layer"):
        avts.probe_audio(sounds[0], checkpoint="random", layer="video.stage2")
