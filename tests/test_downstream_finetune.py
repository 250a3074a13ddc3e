"""Video fine-tuning: class folders with a seeded split or official split files, checkpoints,
metrics, exact resume, and the CLI's errors."""

from __future__ import annotations

import json

import pytest
import torch
from downstream_media import make_checkpoint, write_action_set

import avts
from avts.cli import main


@pytest.fixture(scope="module")
def actions(tmp_path_factory):
    root = tmp_path_factory.mktemp("actions")
    return root, write_action_set(root)


def test_finetune_from_scratch_writes_checkpoints_metrics_and_resumes_exactly(actions,
                                                                             tmp_path):
    root, _ = actions
    full = avts.finetune_video(root, tmp_path / "full", epochs=2, batch_size=4)
    assert full.split.startswith("stratified") and full.classes == ["blinking", "moving"]
    assert (full.n_train_videos, full.n_test_videos) == (4, 2)
    assert 0.0 <= full.clip_accuracy <= 1.0 and full.video_accuracy in (0.0, 0.5, 1.0)
    lines = (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    assert (tmp_path / "full" / "best.pt").is_file()
    avts.finetune_video(root, tmp_path / "cut", epochs=1, batch_size=4)
    resumed = avts.finetune_video(root, tmp_path / "cut", epochs=2, batch_size=4, resume=True)
    assert [e.epoch for e in resumed.epochs] == [1, 2]
    a = torch.load(tmp_path / "full" / "last.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "cut" / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_official_ucf_split_files_decide_train_and_test(actions, tmp_path):
    root, paths = actions
    rel = {k: [p.relative_to(root).as_posix() for p in v] for k, v in paths.items()}
    (root / "trainlist01.txt").write_text("".join(
        f"{r} {c}\n" for c, k in enumerate(sorted(rel), start=1) for r in rel[k][:2]))
    (root / "testlist01.txt").write_text("".join(f"{rel[k][2]}\n" for k in sorted(rel)))
    try:
        result = avts.finetune_video(root, tmp_path / "run", epochs=1, batch_size=4)
    finally:
        (root / "trainlist01.txt").unlink()
        (root / "testlist01.txt").unlink()
    assert result.split.startswith("official split 1")
    assert (result.n_train_videos, result.n_test_videos) == (4, 2)


def test_hmdb_split_files_and_an_avts_checkpoint_as_init(actions, tmp_path):
    root, paths = actions
    for kind, files in paths.items():  # HMDB51: 1 = train, 2 = test, 0 = unused
        (root / f"{kind}_test_split1.txt").write_text(
            "".join(f"{p.name} {2 if i == 0 else 1}\n" for i, p in enumerate(files)))
    try:
        ckpt = make_checkpoint(tmp_path / "avts.pt")
        result = avts.finetune_video(root, tmp_path / "run", init=ckpt, epochs=1, batch_size=4)
    finally:
        for f in root.glob("*_test_split1.txt"):
            f.unlink()
    assert result.split.startswith("official split 1 (2 ")
    assert (result.n_train_videos, result.n_test_videos) == (4, 2)
    assert result.init == str(ckpt)
    from avts.errors import ConfigError

    with pytest.raises(ConfigError, match="brings its own config"):
        avts.finetune_video(root, tmp_path / "r2", init=ckpt, overrides=["data.clip.fps=6"])


def test_cli_finetune_and_its_errors(actions, tmp_path, capsys):
    root, _ = actions
    run = tmp_path / "run"
    argv = ["finetune-video", str(root), "--out", str(run), "--epochs", "1", "--batch-size",
            "4", "--json", "--set", "data.clip.fps=6"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"clip_accuracy", "video_accuracy", "epochs", "split"} <= set(out)
    assert main(argv) == 2  # the run exists: never overwritten without --resume
    assert "--resume" in capsys.readouterr().err
    lone = tmp_path / "lone"
    write_action_set(lone, n_per_class=1)
    assert main(["finetune-video", str(lone), "--out", str(tmp_path / "r2")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs at least 2 per class" in err[0]
