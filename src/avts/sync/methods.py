"""The learned offset method a checkpoint calls for, set up for one file.

``model.kind: twostream`` gives ``LearnedMethod`` (window embeddings); ``framesync`` gives
``FrameSyncMethod`` (per-frame features), which decodes frames at the file's aspect and so is
built per file. A calibration stored in the checkpoint replaces the method's default.
"""

from __future__ import annotations

from avts.features.region import frame_size
from avts.models.build import LoadedModel
from avts.sync.curves import Calibration
from avts.sync.framesync import FrameSyncMethod
from avts.sync.learned import LearnedMethod
from avts.types import MediaInfo


def checkpoint_calibration(loaded: LoadedModel) -> Calibration | None:
    """The checkpoint's own confidence map, or None (the method keeps its default)."""
    if loaded.calibration is None:
        return None
    return Calibration(slope=loaded.calibration["slope"],
                       midpoint=loaded.calibration["midpoint"],
                       face_slope=loaded.calibration.get("face_slope", 0.0))


def learned_method(loaded: LoadedModel, info: MediaInfo) -> FrameSyncMethod | LearnedMethod:
    cfg = loaded.config
    calibration = checkpoint_calibration(loaded)
    if cfg.model.kind == "framesync":
        spec = cfg.data.multiway
        hw = frame_size(info.height or spec.region_short_side,
                        info.width or spec.region_short_side, spec.region_short_side)
        return FrameSyncMethod(loaded.model, spec, cfg.data.mel, cfg.data.clip.fps, hw,
                               calibration)
    method = LearnedMethod(loaded.model, loaded.scorer, cfg.data.clip, cfg.data.mel)
    if calibration is not None:
        method.calibration = calibration
    return method
