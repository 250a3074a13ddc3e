"""Shared fixtures: a small synthetic corpus, a CPU-sized config, and broken media files."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from avts.config import tiny

_SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _no_packaged_model(monkeypatch, tmp_path_factory):
    """Tests never depend on the model the package may ship (src/avts/assets/default.pt):
    "no checkpoint anywhere" stays reachable; tests of the default point it at their own."""
    import avts.api

    missing = tmp_path_factory.getbasetemp() / "no-packaged-model" / "default.pt"
    monkeypatch.setattr(avts.api, "DEFAULT_CHECKPOINT", missing)


@pytest.fixture(scope="session")
def shared_av_sync() -> Path:
    """The real test videos in ``shared/data/av-sync`` beside the repository, or skip."""
    folder = _SHARED_DATA / "av-sync"
    if not folder.is_dir():
        pytest.skip(f"shared test videos not found at {folder}")
    return folder


@pytest.fixture(scope="session")
def synth_corpus(tmp_path_factory) -> Path:
    """Six synthetic videos (real H.264/AAC files) with sound caused by what is seen."""
    from avts.synth import synthesize

    out = tmp_path_factory.mktemp("synth")
    synthesize(out, 6, seed=3)
    return out


@pytest.fixture
def quick_cfg(tmp_path):
    """The tiny preset cut down to a few steps per epoch, with a private probe cache."""
    cfg = tiny()
    return dataclasses.replace(
        cfg,
        data=dataclasses.replace(cfg.data, cache_dir=str(tmp_path / "cache"), val_fraction=0.34),
        train=dataclasses.replace(cfg.train, epochs=2, samples_per_epoch=32, val_samples=32,
                                  batch_size=16, num_workers=0),
    )


def write_bad_files(folder: Path, good_video: Path) -> dict[str, Path]:
    """The broken inputs users really have: empty, not media, truncated, silent-less, too short."""
    from media_synth import write_video_only

    from avts.media.write import write_av

    folder.mkdir(parents=True, exist_ok=True)
    files = {"empty": folder / "empty.mp4", "text": folder / "notes.mp4",
             "truncated": folder / "truncated.mp4", "no_audio": folder / "no_audio.mp4",
             "short": folder / "short.mp4"}
    files["empty"].write_bytes(b"")
    files["text"].write_text("this is not a video\n")
    data = good_video.read_bytes()
    files["truncated"].write_bytes(data[: len(data) // 3])
    write_video_only(files["no_audio"], n_frames=75, size_px=64)
    frames = np.zeros((10, 64, 64, 3), np.uint8)
    write_av(files["short"], frames, 25, np.zeros(6400, np.float32), 16000)
    return files


@pytest.fixture
def corpus_with_bad_files(synth_corpus, tmp_path) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path / "mixed"
    shutil.copytree(synth_corpus, folder)
    bad = write_bad_files(folder / "broken", next(iter(sorted(synth_corpus.glob("*.mp4")))))
    return folder, bad


@pytest.fixture
def no_decode(monkeypatch):
    """Fail the test if any audio or video is decoded (probing a file is allowed)."""
    import avts.data.dataset
    import avts.media
    import avts.media.read

    def refuse(*args, **kwargs):
        raise AssertionError(f"a file was decoded: {args[:1]}")

    for module in (avts.data.dataset, avts.media, avts.media.read):
        monkeypatch.setattr(module, "read_video", refuse)
        monkeypatch.setattr(module, "read_audio", refuse)


@pytest.fixture(scope="session")
def random_checkpoint(tmp_path_factory) -> Path:
    """A tiny two-stream checkpoint with seeded random weights (structure tests, not accuracy)."""
    from downstream_media import make_checkpoint

    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "random.pt", seed=0)
