import dataclasses
import json
import math
import shutil

import numpy as np
import pytest
import torch

from avts import api
from avts.checkpoint import load_checkpoint
from avts.device import select_device
from avts.errors import ConfigError, EmptyEpochError, RunExistsError, TrainingDivergedError
from avts.models.build import build_networks


def _with_train(cfg, **changes):
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **changes))


def _with_epochs(cfg, epochs):
    return _with_train(cfg, epochs=epochs)


def test_two_step_run_writes_checkpoints_and_metrics(synth_corpus, quick_cfg, tmp_path):
    cfg = _with_epochs(quick_cfg, 1)  # 32 samples / batch 16 = 2 steps
    steps, estimates = [], []
    result = api.train(synth_corpus, tmp_path / "run", cfg, on_step=lambda *a: steps.append(a),
                       on_estimate=estimates.append)
    assert result.last_checkpoint.is_file() and result.best_checkpoint.is_file()
    state = load_checkpoint(result.last_checkpoint)
    assert state["epoch"] == 1 and state["config"]["train"]["epochs"] == 1
    for key in ("model", "optimizer", "scheduler", "random_states", "threshold", "loss"):
        assert key in state
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["epoch"] == 1
    assert (tmp_path / "run" / "curves.png").stat().st_size > 0
    assert list((tmp_path / "run" / "tb").iterdir())
    # The estimate comes once, after the steps of this short epoch, from the real step times.
    assert [s[1] for s in steps] == [1, 2] and len(estimates) == 1
    est = estimates[0]
    assert est.epoch == 1 and est.device == select_device("auto").type and est.clips_per_s > 0
    # training clips at the measured rate, plus validation (forward only) on top
    assert est.seconds_per_epoch > 32 / est.clips_per_s


def test_loaded_model_is_the_trained_one(synth_corpus, quick_cfg, tmp_path):
    cfg = _with_epochs(quick_cfg, 1)
    data = api.prepare_data(synth_corpus, cfg)
    result = api.train(synth_corpus, tmp_path / "run", cfg, data=data)
    loaded = api.load_model(result.best_checkpoint)
    assert loaded.config == cfg and loaded.epoch == 1 and loaded.path == result.best_checkpoint
    assert not loaded.model.training and not loaded.scorer.training
    assert all(p.device.type == "cpu" for p in loaded.model.parameters())
    assert loaded.threshold == result.epochs[0].threshold
    assert set(loaded.train_videos) == {str(v.path.resolve()) for v in data.train.videos}
    assert set(loaded.val_videos) == {str(v.path.resolve()) for v in data.val.videos}
    assert not set(loaded.train_videos) & set(loaded.val_videos)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.threshold = 0.0
    clip, mel = cfg.data.clip, cfg.data.mel
    video = torch.zeros(2, 3, clip.n_frames, clip.height, clip.width)
    audio = torch.zeros(2, 1, mel.n_mels, 101)
    with torch.no_grad():
        fv, fa = loaded.model(video, audio)
        assert loaded.scorer.pair_score(fv, fa).shape == (2,)


def test_every_checkpoint_holds_its_own_epochs_threshold(synth_corpus, quick_cfg, tmp_path):
    result = api.train(synth_corpus, tmp_path / "run", quick_cfg)  # 2 epochs
    by_epoch = {m.epoch: m.threshold for m in result.epochs}
    assert by_epoch[1] != by_epoch[2]  # else this test could not tell them apart
    last, best = load_checkpoint(result.last_checkpoint), load_checkpoint(result.best_checkpoint)
    assert last["epoch"] == 2 and last["threshold"] == by_epoch[2]
    assert best["threshold"] == by_epoch[best["epoch"]]
    assert api.load_model(result.last_checkpoint).threshold == by_epoch[2]


def test_a_new_run_never_overwrites_an_earlier_one(synth_corpus, quick_cfg, tmp_path):
    data = api.prepare_data(synth_corpus, quick_cfg)
    api.train(synth_corpus, tmp_path / "run", _with_epochs(quick_cfg, 1), data=data)
    before = (tmp_path / "run" / "last.pt").read_bytes()
    with pytest.raises(RunExistsError, match="--resume"):
        api.train(synth_corpus, tmp_path / "run", _with_epochs(quick_cfg, 1), data=data)
    assert (tmp_path / "run" / "last.pt").read_bytes() == before


def test_a_run_can_start_from_another_runs_weights(synth_corpus, quick_cfg, tmp_path):
    data = api.prepare_data(synth_corpus, quick_cfg)
    first = api.train(synth_corpus, tmp_path / "first", _with_epochs(quick_cfg, 1), data=data)
    # A rate too small to move any weight: what the second run ends with is what it began with.
    warm = _with_train(quick_cfg, epochs=1, lr=1e-12, init_from=str(first.last_checkpoint))
    second = api.train(synth_corpus, tmp_path / "second", warm, data=data)
    cold = api.train(synth_corpus, tmp_path / "cold", _with_train(warm, init_from=None),
                     data=data)
    start = dict(api.load_model(first.last_checkpoint).model.named_parameters())
    warmed = dict(api.load_model(second.last_checkpoint).model.named_parameters())
    scratch = dict(api.load_model(cold.last_checkpoint).model.named_parameters())
    for name, value in start.items():
        assert torch.allclose(warmed[name], value, atol=1e-8), name
    assert any(not torch.allclose(scratch[n], v, atol=1e-3) for n, v in start.items())
    assert api.load_model(second.last_checkpoint).config.train.init_from == warm.train.init_from


def test_a_warm_start_that_does_not_fit_is_refused_before_decoding(synth_corpus, quick_cfg,
                                                                    tmp_path):
    from avts.errors import CheckpointError

    run = api.train(synth_corpus, tmp_path / "run", _with_epochs(quick_cfg, 1))
    wider = dataclasses.replace(quick_cfg, model=dataclasses.replace(
        quick_cfg.model, embed_dim=quick_cfg.model.embed_dim * 2))
    wider = _with_train(wider, init_from=str(run.last_checkpoint))
    nowhere = tmp_path / "no-such-folder"  # decoding it would be a DatasetError
    with pytest.raises(ConfigError, match="train.init_from: the networks of .* do not fit"):
        api.train(nowhere, tmp_path / "wider", wider)
    with pytest.raises(CheckpointError):
        api.train(nowhere, tmp_path / "missing",
                  _with_train(quick_cfg, init_from=str(tmp_path / "missing.pt")))
    assert not (tmp_path / "wider").exists() and not (tmp_path / "missing").exists()


@pytest.mark.parametrize("schedule", ["plateau", "cosine"])
def test_resume_gives_the_same_weights_as_an_uninterrupted_run(synth_corpus, quick_cfg, tmp_path,
                                                               schedule):
    quick_cfg = _with_train(quick_cfg, lr_schedule=schedule)
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
    lrs = [m.lr for m in resumed.epochs]
    if schedule == "cosine":  # (1 + cos(pi * e / 2)) / 2 of the base rate in epoch e + 1
        assert lrs == pytest.approx([quick_cfg.train.lr, quick_cfg.train.lr / 2])


@pytest.mark.parametrize("loss", ["cross_entropy", "infonce"])
def test_other_losses_train_two_steps(synth_corpus, quick_cfg, tmp_path, loss):
    cfg = _with_train(quick_cfg, epochs=1, loss=loss)
    losses = []
    result = api.train(synth_corpus, tmp_path / "run", cfg,
                       on_step=lambda _e, _s, _n, value, _r: losses.append(value))
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert math.isfinite(result.epochs[0].val_loss)
    loaded = api.load_model(result.last_checkpoint)
    assert loaded.config.train.loss == loss
    trained = loaded.model.state_dict()
    torch.manual_seed(cfg.train.seed)  # the trainer's initial weights, rebuilt
    fresh = build_networks(cfg)[0].state_dict()
    assert any(not torch.equal(fresh[k], trained[k]) for k in fresh)


def test_a_huge_learning_rate_stops_training_before_any_checkpoint(synth_corpus, quick_cfg,
                                                                    tmp_path):
    cfg = _with_train(quick_cfg, epochs=1, lr=1e30, grad_clip_norm=1e30)
    with pytest.raises(TrainingDivergedError, match="non-finite.*none yet"):
        api.train(synth_corpus, tmp_path / "run", cfg)
    assert not (tmp_path / "run" / "last.pt").exists()


def test_non_finite_input_stops_and_keeps_last_good_checkpoint(synth_corpus, quick_cfg,
                                                               tmp_path):
    data = api.prepare_data(synth_corpus, quick_cfg)
    api.train(synth_corpus, tmp_path / "run", _with_epochs(quick_cfg, 1), data=data)
    before = (tmp_path / "run" / "last.pt").read_bytes()
    for track in data.train._tracks:  # decoded audio turned infinite: the loss cannot be finite
        track.audio[:] = np.inf
    with pytest.raises(TrainingDivergedError, match="non-finite.*last good checkpoint.*last.pt"):
        api.train(synth_corpus, tmp_path / "run", quick_cfg, resume=True, data=data)
    assert (tmp_path / "run" / "last.pt").read_bytes() == before


def test_an_epoch_without_a_full_batch_is_an_error(synth_corpus, quick_cfg, tmp_path):
    cfg = _with_train(quick_cfg, samples_per_epoch=8, batch_size=16)
    # The config check refuses it before any decoding ...
    with pytest.raises(ConfigError, match="samples_per_epoch must be >= train.batch_size"):
        api.train(synth_corpus, tmp_path / "run", cfg)
    # ... and the trainer itself still never saves an epoch without a step.
    data = api.prepare_data(synth_corpus, quick_cfg)
    with pytest.raises(EmptyEpochError, match="no training step.*8 samples.*batch of 16"):
        api.train(synth_corpus, tmp_path / "run", cfg, data=data)
    assert not (tmp_path / "run" / "last.pt").exists()


def test_an_epoch_whose_windows_all_fail_to_decode_is_an_error(synth_corpus, quick_cfg,
                                                               tmp_path):
    folder = tmp_path / "videos"
    shutil.copytree(synth_corpus, folder)
    cfg = dataclasses.replace(quick_cfg, data=dataclasses.replace(quick_cfg.data, preload=False))
    data = api.prepare_data(folder, cfg)
    for info in data.train.videos:  # the files vanish after indexing, before training
        info.path.unlink()
    with pytest.raises(EmptyEpochError, match="all 32 training windows failed to decode"):
        api.train(folder, tmp_path / "run", cfg, data=data)
    assert not (tmp_path / "run" / "last.pt").exists()


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
