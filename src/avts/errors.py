"""Error classes. Every user-facing failure is an ``AvtsError`` with a one-line message."""

from __future__ import annotations


class AvtsError(Exception):
    """Base class: the CLI prints ``str(err)`` on one line and exits with status 2."""


class MediaError(AvtsError):
    """A media file cannot be used."""


class UnreadableMediaError(MediaError):
    """The file is missing, empty, not a media container, or fails to decode."""


class NoAudioStreamError(MediaError):
    """The file has no audio stream."""


class NoVideoStreamError(MediaError):
    """The file has no video stream."""


class MediaTooShortError(MediaError):
    """The file (or the requested window) is shorter than needed."""


class ConfigError(AvtsError):
    """A configuration file or override is invalid (unknown key, wrong type, bad value)."""


class DatasetError(AvtsError):
    """A corpus has too few usable videos for the requested job."""


class CheckpointError(AvtsError):
    """A checkpoint is missing, corrupt, or from an incompatible format."""


class RunExistsError(AvtsError):
    """A new training run would overwrite the checkpoints of an earlier one."""


class TrainingDivergedError(AvtsError):
    """The loss became non-finite; the last good checkpoint is kept."""


class EmptyEpochError(AvtsError):
    """An epoch would train on nothing (no full batch, or no window decoded)."""


class OutputPathError(AvtsError):
    """An output path cannot be used: it is the input itself, a folder, or has no folder."""


class InconclusiveOffsetError(AvtsError):
    """An offset was needed (``fix --auto``) but the measurement found too little signal."""
