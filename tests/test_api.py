"""The public API's run handling: resume refuses what would train something else, and a refused
resume leaves every run file as it was."""

import dataclasses
import shutil

import pytest

from avts import api
from avts.errors import CheckpointError, ConfigError, DatasetError

RUN_FILES = ("config.yaml", "skipped.json", "last.pt", "best.pt", "curves.png", "metrics.jsonl")


def _snapshot(run):
    return {name: (run / name).read_bytes() for name in RUN_FILES}


def test_resume_refuses_a_changed_folder_then_continues_once_restored(synth_corpus, quick_cfg,
                                                                      tmp_path):
    videos, run = tmp_path / "videos", tmp_path / "run"
    shutil.copytree(synth_corpus, videos)
    cfg = dataclasses.replace(quick_cfg, train=dataclasses.replace(quick_cfg.train, epochs=1))
    data = api.prepare_data(videos, cfg)
    api.train(videos, run, cfg, data=data)
    before = _snapshot(run)

    gone = data.train.videos[0].path
    kept = gone.read_bytes()
    gone.unlink()
    shutil.copy(data.val.videos[0].path, videos / "new_a.mp4")
    shutil.copy(data.val.videos[0].path, videos / "new_b.mp4")
    with pytest.raises(DatasetError, match=rf"1 training file is gone \({gone.name}\).*2 new"):
        api.resume(run, ["train.epochs=2"])
    with pytest.raises(ConfigError, match="differs from the checkpoint's in train.lr"):
        api.resume(run, ["train.epochs=2", "train.lr=0.5"])
    assert _snapshot(run) == before  # config.yaml and the rest: byte for byte

    (videos / "new_a.mp4").unlink()
    (videos / "new_b.mp4").unlink()
    gone.write_bytes(kept)
    result = api.resume(run, ["train.epochs=2"])  # the data folder comes from the checkpoint
    assert [m.epoch for m in result.epochs] == [1, 2]
    assert api.load_config(run / "config.yaml").train.epochs == 2


def test_resume_needs_a_run(tmp_path):
    with pytest.raises(CheckpointError, match="nothing to resume.*config.yaml"):
        api.resume(tmp_path)
    (tmp_path / "config.yaml").write_text("preset: tiny\n")
    with pytest.raises(CheckpointError, match="nothing to resume.*last.pt"):
        api.resume(tmp_path)


def test_the_packaged_model_is_package_data_where_the_api_looks_for_it():
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())
    globs = project["tool"]["setuptools"]["package-data"]["avts"]
    assert "assets/*.pt" in globs
    import avts

    # resolve_checkpoint's default (the conftest points tests elsewhere; the module's own path)
    assert (Path(avts.__file__).parent / "assets" / "default.pt").relative_to(
        root / "src" / "avts").as_posix() in [g.replace("*.pt", "default.pt") for g in globs]


def test_no_checkpoint_anywhere_names_every_way_to_give_one(monkeypatch):
    monkeypatch.delenv("AVTS_CHECKPOINT", raising=False)
    with pytest.raises(CheckpointError, match="AVTS_CHECKPOINT"):
        api.resolve_checkpoint(None, for_sync=True)
