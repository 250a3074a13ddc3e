"""Training curves as a PNG (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from avts.types import EpochMetrics


def plot_training(history: Sequence[EpochMetrics], path: str | Path) -> Path:
    """Loss (train, val) and validation sync accuracy (easy, hard; multi-way top-1 for the
    frame-rate model) per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [m.epoch for m in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [m.train_loss for m in history], "o-", label="train")
    ax_loss.plot(epochs, [m.val_loss for m in history], "s-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax_acc.plot(epochs, [m.val_accuracy_easy for m in history], "o-", label="vs. easy negatives")
    ax_acc.plot(epochs, [m.val_accuracy_hard for m in history], "s-", label="vs. hard negatives")
    low = 0.4
    if any(m.val_top1 is not None for m in history):  # framesync: multi-way top-1 from ~1/31
        ax_acc.plot(epochs, [m.val_top1 for m in history], "^-", label="multi-way top-1")
        low = 0.0
    if any(m.val_offset_within1 is not None for m in history):  # whole-clip offset search
        ax_acc.plot(epochs, [m.val_offset_within1 for m in history], "v-",
                    label="clip offset within 1 frame")
        ax_acc.plot(epochs, [m.val_offset_sign for m in history], "d-",
                    label="clip offset sign")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", ylim=(low, 1.0), title="Validation sync accuracy")
    hard_start = next((m.epoch for m in history if m.hard_fraction > 0), None)
    for ax in (ax_loss, ax_acc):
        if hard_start is not None:
            ax.axvline(hard_start - 0.5, color="grey", linestyle=":", label="hard negatives start")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
