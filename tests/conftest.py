"""Shared fixtures. Names are specific so that they do not clash with other modules' helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

_SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_av_sync() -> Path:
    """The real test videos in ``shared/data/av-sync`` beside the repository, or skip."""
    folder = _SHARED_DATA / "av-sync"
    if not folder.is_dir():
        pytest.skip(f"shared test videos not found at {folder}")
    return folder
