"""Networks from a config or from a checkpoint: the one place that turns settings into modules,
used by the trainer, by evaluation and by every tool that loads a trained model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from avts.checkpoint import checkpoint_config, load_checkpoint
from avts.config import Config
from avts.errors import CheckpointError, ConfigError
from avts.losses import MultiwayLoss, build_loss
from avts.models.framesync import FrameSync, FrameSyncEnsemble
from avts.models.twostream import TwoStream, build_model

SyncModel = TwoStream | FrameSync | FrameSyncEnsemble


def build_networks(cfg: Config) -> tuple[SyncModel, nn.Module]:
    """The model and the loss that ``cfg`` describes; a bad setting is a ConfigError.
    ``model.kind: framesync`` gives the frame-rate model and its multi-way loss."""
    if cfg.model.kind == "framesync":
        m = cfg.model
        reach = (m.framesync_video_dilations, m.framesync_audio_dilations)
        model = (FrameSync(m.framesync_widths, m.embed_dim, cfg.data.mel.n_mels, *reach)
                 if m.framesync_members == 1 else
                 FrameSyncEnsemble(m.framesync_members, m.framesync_widths, m.embed_dim,
                                   cfg.data.mel.n_mels, *reach))
        return model, MultiwayLoss(cfg.train.temperature)
    try:
        model = build_model(cfg.model)
        loss_fn = build_loss(cfg.train.loss, cfg.train.margin, cfg.model.embed_dim,
                             in_batch_negatives=cfg.train.in_batch_negatives)
    except ValueError as err:  # twostream.py and losses.py know nothing of avts errors
        raise ConfigError(f"invalid model or loss setting: {err}") from err
    return model, loss_fn


@dataclass(frozen=True)
class LoadedModel:
    """A trained model as a checkpoint describes it, ready for inference on the CPU."""

    model: SyncModel  # both networks, eval mode, on the CPU (config.model.kind)
    scorer: nn.Module  # the training loss; scorer.pair_score(fv, fa) -> (B,), higher = in sync
    config: Config  # the full config the model was trained with
    threshold: float  # pair-score decision threshold chosen on validation at this epoch
    train_videos: tuple[str, ...]  # files the model was trained on (absolute paths)
    val_videos: tuple[str, ...]  # files its threshold was chosen on (absolute paths)
    epoch: int  # the epoch this checkpoint was written after (1-based)
    path: Path  # the checkpoint file
    # The offset search's confidence map stored with the model ({"slope", "midpoint"}: the
    # logistic P(|error| <= 1 frame) of the peak prominence), or None: the method's default.
    calibration: dict[str, float] | None = None


def load_model(path: str | Path) -> LoadedModel:
    """Rebuild the networks of a checkpoint (``best.pt``, ``last.pt``) without any training code."""
    path = Path(path)
    state = load_checkpoint(path)
    cfg = checkpoint_config(state, path)
    model, scorer = build_networks(cfg)
    try:
        model.load_state_dict(state["model"])
        scorer.load_state_dict(state["loss"])
    except (RuntimeError, TypeError) as err:  # shapes or names that do not match the config
        raise CheckpointError(f"{path}: weights do not fit its config: "
                              f"{_first_detail(err)}") from err
    return LoadedModel(
        model=model.eval(), scorer=scorer.eval(), config=cfg,
        threshold=float(state["threshold"]),
        train_videos=tuple(str(p) for p in state["train_videos"]),
        val_videos=tuple(str(p) for p in state["val_videos"]),
        epoch=int(state["epoch"]), path=path,
        calibration=_calibration(state.get("calibration"), path))


def initial_weights(cfg: Config) -> dict[str, torch.Tensor] | None:
    """The network weights a new run starts from: those of ``train.init_from``, checked to fit
    ``cfg``'s model (so a mismatch is refused before any data is decoded); None without it."""
    if cfg.train.init_from is None:
        return None
    path = Path(cfg.train.init_from)
    weights = load_model(path).model.state_dict()
    try:
        build_networks(cfg)[0].load_state_dict(weights)
    except RuntimeError as err:
        raise ConfigError(f"train.init_from: the networks of {path} do not fit this config's "
                          f"model: {_first_detail(err)}") from err
    return weights


def _first_detail(err: Exception) -> str:
    """The first specific line of a ``load_state_dict`` error (the first only names the class)."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    return lines[1] if len(lines) > 1 else lines[0] if lines else type(err).__name__


def _calibration(value, path: Path) -> dict[str, float] | None:
    """The checkpoint's ``calibration`` entry, checked: finite numbers, slope > 0, and an
    optional ``face_slope`` (absent in older checkpoints: 0)."""
    if value is None:
        return None
    try:
        slope, midpoint = float(value["slope"]), float(value["midpoint"])
        face_slope = float(value.get("face_slope", 0.0))
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: its calibration is not {{slope, midpoint}}") from err
    if not (0 < slope < float("inf") and abs(midpoint) < float("inf")
            and abs(face_slope) < float("inf")):  # NaN fails too
        raise CheckpointError(f"{path}: its calibration needs a finite slope > 0, midpoint "
                              "and face_slope")
    return {"slope": slope, "midpoint": midpoint, "face_slope": face_slope}
