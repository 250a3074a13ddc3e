"""Multi-way training of the frame-rate model inside the real trainer (model.kind framesync),
its checkpoint, resume and eval-sync, on the synthetic corpus (sound caused by what is seen)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from avts import api
from avts.checkpoint import load_checkpoint
from avts.cli import main
from avts.config import load
from avts.data.multiway import MultiwaySpec
from avts.losses import MultiwayLoss
from avts.models.framesync import FrameSync
from avts.train.multiway import window_logits

REAL_YAML = Path(__file__).resolve().parents[1] / "configs" / "real.yaml"

# configs/real.yaml cut down to seconds: 0.6 s items, +-5 frames, 16 px crops, narrow nets.
SMALL = ["data.val_fraction=0.34", "data.multiway.n_frames=15", "data.multiway.win_frames=5",
         "data.multiway.max_shift=5", "data.multiway.margin=2", "data.multiway.size=16",
         "data.multiway.jitter=2", "data.pairs.superhard_min_shift_s=0.08",
         "data.pairs.superhard_max_shift_s=0.16", "model.framesync_widths=[8,8,8,8]",
         "model.embed_dim=16", "train.batch_size=8", "train.samples_per_epoch=32",
         "train.val_samples=16", "train.num_workers=0", "train.lr=0.003"]


@pytest.fixture
def fs_cfg(tmp_path):
    return load(REAL_YAML, SMALL + [f"data.cache_dir={tmp_path / 'cache'}", "train.epochs=3"])


@pytest.fixture(scope="module")
def fs_data(synth_corpus, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return api.prepare_data(synth_corpus, load(REAL_YAML, SMALL + [f"data.cache_dir={cache}"]))


def test_real_yaml_is_the_framesync_recipe():
    cfg = load(REAL_YAML)
    assert (cfg.model.kind, cfg.train.loss, cfg.data.clip.fps) == ("framesync", "multiway", 25.0)
    assert cfg.model.framesync_widths == (16, 32, 48, 64) and cfg.model.embed_dim == 64
    steps = cfg.train.epochs * (cfg.train.samples_per_epoch // cfg.train.batch_size)
    assert 1500 <= steps <= 2000


def test_window_logits_rank_the_true_shift_first_for_matching_features():
    spec = MultiwaySpec(n_frames=9, max_shift=3, margin=1)
    wspec = MultiwaySpec(n_frames=3, max_shift=3, margin=1)
    a = torch.nn.functional.normalize(torch.randn(2, spec.audio_frames, 4), dim=-1)
    v = a[:, spec.max_shift + spec.margin:][:, :spec.n_frames]  # in sync with the audio
    logits = window_logits(v, a, spec, wspec, 3, MultiwayLoss(0.1))
    assert logits.shape == (2 * 3, spec.n_candidates)
    assert (logits.argmax(1) == spec.max_shift).all()


def test_window_logits_leave_out_candidates_beyond_the_clip():
    spec = MultiwaySpec(n_frames=9, max_shift=3, margin=1, whole_clips=True)
    wspec = MultiwaySpec(n_frames=3, max_shift=3, margin=1, whole_clips=True)
    a = torch.nn.functional.normalize(torch.randn(2, spec.audio_frames, 4), dim=-1)
    v = a[:, spec.max_shift + spec.margin:][:, :spec.n_frames]
    bounds = torch.tensor([[0, spec.audio_frames], [4, spec.audio_frames]])  # 2nd: starts late
    logits = window_logits(v, a, spec, wspec, 3, MultiwayLoss(0.1), bounds)
    # item 1's first window: candidates 0-2 would score the padding before the clip
    assert torch.isinf(logits[1, :3]).all() and torch.isfinite(logits[1, 3:]).all()
    assert torch.isfinite(logits[0]).all()
    target = torch.full((len(logits),), spec.max_shift)
    assert math.isfinite(float(torch.nn.functional.cross_entropy(logits, target)))


def test_whole_clips_train_where_no_clip_holds_a_whole_item(synth_corpus, tmp_path):
    from avts.data.prepare import min_duration_s

    reach = SMALL + ["data.multiway.max_shift=92", f"data.cache_dir={tmp_path}", "train.epochs=1"]
    assert min_duration_s(load(REAL_YAML, reach)) > 8.0  # the synthetic clips last 8 s
    cfg = load(REAL_YAML, reach + ["data.multiway.whole_clips=true"])
    assert min_duration_s(cfg) == pytest.approx((15 + 2 * 2 + 92) / 25)
    losses = []
    result = api.train(synth_corpus, tmp_path / "run", cfg,
                       on_step=lambda _e, _s, _n, value, _r: losses.append(value))
    assert len(losses) == 4 and all(math.isfinite(v) for v in losses)
    assert 0 <= result.epochs[0].val_top1 <= 1


def test_multiway_run_learns_and_its_checkpoint_loads_as_framesync(synth_corpus, fs_cfg,
                                                                    fs_data, tmp_path):
    losses = []
    result = api.train(synth_corpus, tmp_path / "run", fs_cfg, data=fs_data,
                       on_step=lambda _e, _s, _n, value, _r: losses.append(value))
    assert len(losses) == 3 * 4 and all(math.isfinite(v) for v in losses)
    epochs = result.epochs
    assert epochs[-1].train_loss < epochs[0].train_loss  # chance is log(11) = 2.40
    assert all(m.val_top1 is not None and 0 <= m.val_top1 <= 1 for m in epochs)
    assert all(0 <= m.val_offset_within1 <= 1 and 0 <= m.val_offset_sign <= 1 for m in epochs)
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [x["val_top1"] for x in lines] == [m.val_top1 for m in epochs]
    best = load_checkpoint(result.best_checkpoint)
    top1 = [m.val_top1 for m in epochs]
    assert best["epoch"] == 1 + top1.index(max(top1)) and best["best_metric"] == max(top1)
    loaded = api.load_model(result.best_checkpoint)
    assert isinstance(loaded.model, FrameSync) and not loaded.model.training
    assert loaded.threshold == epochs[best["epoch"] - 1].threshold
    assert set(loaded.train_videos) == {str(v.path.resolve()) for v in fs_data.train.videos}
    assert (tmp_path / "run" / "curves.png").stat().st_size > 0


def test_select_by_offset_keeps_the_epoch_of_the_best_whole_clip_search(synth_corpus,
                                                                           fs_data, tmp_path):
    cfg = load(REAL_YAML, SMALL + [f"data.cache_dir={tmp_path}", "train.epochs=3",
                                   "train.select_by=offset"])
    epochs = api.train(synth_corpus, tmp_path / "run", cfg, data=fs_data).epochs
    scores = [(m.val_offset_within1 + m.val_offset_sign) / 2 for m in epochs]
    best = load_checkpoint(tmp_path / "run" / "best.pt")
    assert best["epoch"] == 1 + scores.index(max(scores)) and best["best_metric"] == max(scores)


def test_select_by_offset_falls_back_to_the_top1_without_searchable_clips():
    from avts.train.trainer import selection_score
    from avts.types import EpochMetrics

    m = EpochMetrics(epoch=1, train_loss=1.0, val_loss=1.0, val_accuracy=0.5,
                     val_accuracy_easy=0.5, val_accuracy_hard=0.5, threshold=0.0, lr=1e-3,
                     clips_per_s=1.0, hard_fraction=0.0, skipped_samples=0, train_top1=0.2,
                     val_top1=0.1, val_offset_within1=math.nan, val_offset_sign=math.nan)
    assert selection_score(m, "offset") == selection_score(m, "top1") == 0.1


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(synth_corpus, fs_cfg, fs_data,
                                                                tmp_path):
    cfg = load(REAL_YAML, SMALL + [f"data.cache_dir={tmp_path}", "train.epochs=2"])
    full = api.train(synth_corpus, tmp_path / "full", cfg, data=fs_data)
    part = load(REAL_YAML, SMALL + [f"data.cache_dir={tmp_path}", "train.epochs=1"])
    api.train(synth_corpus, tmp_path / "part", part, data=fs_data)
    resumed = api.train(synth_corpus, tmp_path / "part", cfg, resume=True, data=fs_data)
    a, b = load_checkpoint(full.last_checkpoint), load_checkpoint(resumed.last_checkpoint)
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert full.epochs[-1].val_top1 == resumed.epochs[-1].val_top1
    assert [m.train_loss for m in full.epochs] == [m.train_loss for m in resumed.epochs]


def test_eval_sync_scores_a_framesync_checkpoint(synth_corpus, fs_data, tmp_path, capsys):
    cfg = load(REAL_YAML, SMALL + [f"data.cache_dir={tmp_path}", "train.epochs=1"])
    result = api.train(synth_corpus, tmp_path / "run", cfg, data=fs_data)
    status = main(["eval-sync", "--checkpoint", str(result.best_checkpoint), "--data",
                   str(synth_corpus), "--pairs-per-kind", "8", "--json"])
    assert status == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_pairs"] == {"positive": 8, "easy": 8, "hard": 8, "superhard": 8}
    for kind in ("easy", "hard", "superhard"):
        assert 0.0 <= out[kind] <= 1.0
    assert out["threshold"] == api.load_model(result.best_checkpoint).threshold


@pytest.mark.parametrize("overrides,message", [
    (["model.kind=twostream"], "train.loss must be multiway exactly when model.kind is framesync"),
    (["train.loss=contrastive"], "train.loss must be multiway exactly when"),
    (["data.clip.fps=12"], "data.clip.fps must be sr_hz / (4 * hop_samples) = 25"),
    (["data.multiway.win_frames=60"], "data.multiway.win_frames must be <= data.multiway.n_frames"),
    (["data.multiway.crop_scale=0.9"], "data.multiway.crop_scale must be in [0, 0.5]"),
    (["model.framesync_video_dilations=[1,0]"],
     "model.framesync_video_dilations must be a list of integers >= 1"),
])
def test_config_errors_exit_2_before_any_decoding(synth_corpus, tmp_path, capsys, overrides,
                                                  message):
    status = main(["train", "--config", str(REAL_YAML), "--data", str(synth_corpus), "--out",
                   str(tmp_path / "run"), *overrides])
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("extra", [[], ["data.multiway.speed=0.1"]], ids=["plain", "speed"])
def test_seeded_runs_agree(synth_corpus, fs_data, tmp_path, extra):
    cfg = load(REAL_YAML, SMALL + [f"data.cache_dir={tmp_path}", "train.epochs=1"] + extra)
    runs = [api.train(synth_corpus, tmp_path / name, cfg, data=fs_data) for name in "ab"]
    a, b = (load_checkpoint(r.last_checkpoint)["model"] for r in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert math.isfinite(runs[0].epochs[0].train_loss)
    assert np.isclose(runs[0].epochs[0].train_loss, runs[1].epochs[0].train_loss, rtol=0, atol=0)


def test_training_needs_room_for_an_item_evaluation_only_for_pairs():
    from avts.data.prepare import min_duration_s, pair_window_s

    cfg = load(REAL_YAML)
    assert pair_window_s(cfg) == pytest.approx(0.6)  # win_frames 15 at 25 fps
    assert min_duration_s(cfg) == pytest.approx((45 + 2 * (15 + 4)) / 25)  # one 83-frame item
    assert min_duration_s(cfg, training=False) == pytest.approx(1.2)  # a window + a hard shift


def test_a_too_short_clip_is_told_what_would_let_it_train(synth_corpus, tmp_path):
    from avts.data.prepare import index_for, too_short_remedy

    reach = SMALL + ["data.multiway.max_shift=92", f"data.cache_dir={tmp_path}"]
    index = index_for(synth_corpus, load(REAL_YAML, reach))
    assert not index.videos and len(index.skipped) == 6  # 8 s clips, 8.28 s needed
    assert all("data.multiway.whole_clips=true to train on clips of 4.44 s" in f.reason
               for f in index.skipped)
    whole = load(REAL_YAML, reach + ["data.multiway.whole_clips=true"])
    assert "data.multiway.max_shift" in too_short_remedy(whole)
    assert too_short_remedy(load(REAL_YAML), training=False) is None


def test_avts_train_cli_runs_the_recipe(synth_corpus, tmp_path, capsys):
    status = main(["train", "--config", str(REAL_YAML), "--data", str(synth_corpus), "--out",
                   str(tmp_path / "run"), *SMALL, f"data.cache_dir={tmp_path}", "train.epochs=1"])
    assert status == 0
    out = capsys.readouterr().out
    assert "model: framesync" in out and "top-1 train" in out
    assert isinstance(api.load_model(tmp_path / "run" / "best.pt").model, FrameSync)
