"""Checkpoint files: plain data loaded with weights_only; every bad file is one clear line."""

import os
import random

import numpy as np
import pytest
import torch

from avts.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint
from avts.config import tiny
from avts.errors import CheckpointError
from avts.models.build import build_networks, load_model
from avts.train.checkpoint import random_states, restore_random_states


def _state(cfg=None):
    cfg = cfg or tiny()
    model, loss = build_networks(cfg)
    return {"config": cfg.to_dict(), "model": model.state_dict(), "loss": loss.state_dict(),
            "epoch": 3, "threshold": 0.25, "train_videos": ["/v/a.mp4", "/v/b.mp4"],
            "val_videos": ["/v/c.mp4"]}


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert message and "\n" not in message
    return message


def test_a_checkpoint_round_trips_and_rebuilds_the_model(tmp_path):
    path = save_checkpoint(tmp_path / "run" / "best.pt", _state())
    assert load_checkpoint(path)["format_version"] == FORMAT_VERSION
    loaded = load_model(path)
    assert loaded.config == tiny() and loaded.epoch == 3 and loaded.threshold == 0.25
    assert loaded.train_videos == ("/v/a.mp4", "/v/b.mp4") and loaded.val_videos == ("/v/c.mp4",)
    assert [p.name for p in tmp_path.joinpath("run").iterdir()] == ["best.pt"]  # no temp left


def test_random_states_survive_a_weights_only_round_trip(tmp_path):
    random.seed(5)
    np.random.seed(6)
    torch.manual_seed(7)
    np.random.normal()  # leaves a cached gaussian in numpy's legacy state
    path = save_checkpoint(tmp_path / "last.pt", {**_state(), "random_states": random_states()})
    expected = (random.random(), np.random.normal(), np.random.rand(), torch.rand(3))
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    restore_random_states(load_checkpoint(path)["random_states"])
    got = (random.random(), np.random.normal(), np.random.rand(), torch.rand(3))
    assert got[:3] == expected[:3] and torch.equal(got[3], expected[3])


def test_a_pickled_object_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({**_state(), "format_version": FORMAT_VERSION, "extra": Payload()}, path)
    for load in (load_checkpoint, load_model):
        with pytest.raises(CheckpointError) as err:
            load(path)
        assert "could run code" in _one_line(err) and "system" in str(err.value)
    assert not marker.exists()


def test_missing_corrupt_and_foreign_files_are_one_line_errors(tmp_path):
    good = save_checkpoint(tmp_path / "good.pt", _state())
    (tmp_path / "truncated.pt").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (tmp_path / "notes.pt").write_text("not a checkpoint\n")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "dict.pt")
    expected = {"missing.pt": "not found", "truncated.pt": "not a torch checkpoint|corrupt",
                "notes.pt": "not a torch checkpoint", "tensor.pt": "not an avts checkpoint",
                "dict.pt": "not an avts checkpoint"}
    for name, pattern in expected.items():
        with pytest.raises(CheckpointError, match=pattern) as err:
            load_model(tmp_path / name)
        assert name in _one_line(err)


def test_older_and_newer_formats_say_so(tmp_path):
    # Format 1 stored numpy's random state as an array, which weights_only refuses to load:
    # the version is read from the file's opcodes without unpickling it.
    torch.save({"format_version": 1, "random_states": {"numpy": np.random.get_state()}},
               tmp_path / "v1.pt")
    with pytest.raises(CheckpointError, match="format 1, from an older avts") as err:
        load_checkpoint(tmp_path / "v1.pt")
    _one_line(err)
    torch.save({"format_version": FORMAT_VERSION + 1}, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="update avts"):
        load_checkpoint(tmp_path / "future.pt")


def test_incomplete_checkpoints_and_mismatched_weights_are_refused(tmp_path):
    state = _state()
    del state["threshold"]
    save_checkpoint(tmp_path / "partial.pt", state)
    with pytest.raises(CheckpointError, match="no threshold"):
        load_model(tmp_path / "partial.pt")
    state = _state()
    state["config"]["model"]["embed_dim"] = 32  # the weights were built with 64
    save_checkpoint(tmp_path / "mismatch.pt", state)
    with pytest.raises(CheckpointError, match="weights do not fit its config") as err:
        load_model(tmp_path / "mismatch.pt")
    _one_line(err)
