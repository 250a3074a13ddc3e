import dataclasses
import json

import pytest
import torch

from avts import api
from avts.errors import RunExistsError, TrainingDivergedError
from avts.train.checkpoint import load_checkpoint
from avts.train.trainer import Trainer


def _with_epochs(cfg, epochs):
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=epochs))


def test_two_step_run_writes_checkpoints_and_metrics(synth_corpus, quick_cfg, tmp_path):
    cfg = _with_epochs(quick_cfg, 1)  # 32 samples / batch 16 = 2 steps
    result = api.train(synth_corpus, tmp_path / "run", cfg)
    assert result.last_checkpoint.is_file() and result.best_checkpoint.is_file()
    state = load_checkpoint(result.last_checkpoint)
    assert state["epoch"] == 1 and state["config"]["train"]["epochs"] == 1
    for key in ("model", "optimizer", "scheduler", "random_states", "threshold", "loss"):
        assert key in state
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["epoch"] == 1
    assert (tmp_path / "run" / "curves.png").stat().st_size > 0
    assert list((tmp_path / "run" / "tb").iterdir())
    model, _, cfg_loaded, _ = api.load_model(result.best_checkpoint)
    assert cfg_loaded == cfg


def test_a_new_run_never_overwrites_an_earlier_one(synth_corpus, quick_cfg, tmp_path):
    data = api.prepare_data(synth_corpus, quick_cfg)
    api.train(synth_corpus, tmp_path / "run", _with_epochs(quick_cfg, 1), data=data)
    before = (tmp_path / "run" / "last.pt").read_bytes()
    with pytest.raises(RunExistsError, match="--resume"):
        api.train(synth_corpus, tmp_path / "run", _with_epochs(quick_cfg, 1), data=data)
    assert (tmp_path / "run" / "last.pt").read_bytes() == before


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(synth_corpus, quick_cfg, tmp_path):
    data = api.prepare_data(synth_corpus, quick_cfg)
    full = api.train(synth_corpus, tmp_path / "full", quick_cfg, data=data)
    api.train(synth_corpus, tmp_path / "part", _with_epochs(quick_cfg, 1), data=data)
    resumed = api.train(synth_corpus, tmp_path / "part", quick_cfg, resume=True, data=data)
    a = load_checkpoint(full.last_checkpoint)
    b = load_checkpoint(resumed.last_checkpoint)
    assert b["epoch"] == 2
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert [m.train_loss for m in full.epochs] == [m.train_loss for m in resumed.epochs]


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(synth_corpus, quick_cfg, tmp_path,
                                                              monkeypatch):
    data = api.prepare_data(synth_corpus, quick_cfg)
    api.train(synth_corpus, tmp_path / "run", _with_epochs(quick_cfg, 1), data=data)
    before = (tmp_path / "run" / "last.pt").read_bytes()
    monkeypatch.setattr(Trainer, "_step", lambda self, batch: float("nan"))
    with pytest.raises(TrainingDivergedError, match="non-finite.*last good checkpoint"):
        api.train(synth_corpus, tmp_path / "run", quick_cfg, resume=True, data=data)
    assert (tmp_path / "run" / "last.pt").read_bytes() == before


def test_training_over_bad_files_trains_on_the_good_ones(corpus_with_bad_files, quick_cfg,
                                                         tmp_path):
    folder, bad = corpus_with_bad_files
    result = api.train(folder, tmp_path / "run", _with_epochs(quick_cfg, 1))
    skipped = {s.path.name: s.reason for s in result.skipped_files}
    assert set(skipped) == {p.name for p in bad.values()}
    assert all(reason and "\n" not in reason for reason in skipped.values())
    report = json.loads((tmp_path / "run" / "skipped.json").read_text())
    assert len(report) == len(bad)
    assert result.last_checkpoint.is_file()
