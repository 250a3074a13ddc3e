"""Atomic file output: write to a temporary name beside the target, then rename, so that a
crash never leaves a truncated file under the final name and an existing file is replaced
only by a complete one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success it becomes ``path`` (with the
    usual permissions, not mkstemp's 0600), on failure it is removed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> Path:
    """``Path(path).write_text(text)``, but a reader never sees a half-written file."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path
