"""Media I/O with PyAV: probe files, read clips by presentation time, write test media."""

from avts.media.probe import probe, require_av
from avts.media.read import read_audio, read_clip, read_video, resample_mono, sample_window
from avts.media.write import write_av

__all__ = ["probe", "read_audio", "read_clip", "read_video", "require_av", "resample_mono",
           "sample_window", "write_av"]
