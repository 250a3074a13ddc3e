"""Opening media files with PyAV and turning FFmpeg failures into one-line ``AvtsError``s."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av

from avts.errors import UnreadableMediaError


def one_line(err: BaseException) -> str:
    """The first line of ``err``'s message, so that CLI output stays on one line."""
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def check_file(path: Path) -> None:
    """Reject paths that cannot hold media before FFmpeg gives a vaguer error."""
    if not path.exists():
        raise UnreadableMediaError(f"cannot read media file {path}: no such file")
    if not path.is_file():
        raise UnreadableMediaError(f"cannot read media file {path}: not a regular file")
    if path.stat().st_size == 0:
        raise UnreadableMediaError(f"cannot read media file {path}: the file is empty (0 bytes)")


@contextmanager
def open_input(path: Path) -> Iterator[av.container.InputContainer]:
    """Open ``path`` for reading; FFmpeg errors inside the block become UnreadableMediaError."""
    check_file(path)
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as err:
        raise UnreadableMediaError(
            f"cannot read media file {path}: not a media file FFmpeg can open ({one_line(err)})"
        ) from err
    try:
        with container:
            yield container
    except (av.FFmpegError, EOFError) as err:
        raise UnreadableMediaError(
            f"cannot read media file {path}: decoding failed ({one_line(err)})"
        ) from err


def seconds(pts: int | None, time_base) -> float | None:
    """Presentation time in seconds, or None when FFmpeg has no timestamp."""
    if pts is None or time_base is None:
        return None
    return float(pts * time_base)


def display_rotation_deg(frame) -> int:
    """Counter-clockwise quarter turn (0, 90, 180 or -90) that shows ``frame`` upright.

    From the frame's display matrix (phones store portrait video on its side with -90); other
    angles are rounded to the nearest quarter turn, mirroring is not applied.
    """
    quarter_turns = round(float(frame.rotation) / 90.0) % 4
    return (0, 90, 180, -90)[quarter_turns]
