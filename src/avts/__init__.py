"""avts: Audio-Visual Temporal Synchronization (Korbar, Tran, Torresani, NeurIPS 2018).

The public API lives in ``avts.api`` and is re-exported here lazily, so that importing the
package (and ``avts --help``) stays instant.
"""

from __future__ import annotations

__version__ = "0.1.0"

_API = ("probe", "synthesize", "load_config", "prepare_data", "train", "load_model",
        "evaluate_sync", "demo", "resume", "resume_config", "embed_file", "embed_audio",
        "embed_video", "embed_files", "probe_audio", "finetune_video", "detect_offset",
        "fix_offset", "bench_sync", "scan")

__all__ = [*_API, "LoadedModel", "__version__"]


def __getattr__(name: str):
    if name in _API:
        from avts import api

        return getattr(api, name)
    if name == "LoadedModel":  # the type load_model returns; importing it imports torch
        from avts.models.build import LoadedModel

        return LoadedModel
    raise AttributeError(f"module 'avts' has no attribute {name!r}")
