"""The paper's audio protocol (Korbar et al. 2018, Sec. 4.4, ESC-50 and DCASE2014): features of
fixed-length windows from one layer of the audio network, a linear SVM trained on the windows
of the training clips, a clip's class the argmax of its windows' mean decision scores, and
cross-validation over folds. Plain log-mel statistics are the reference any learned feature
has to beat."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch

from avts.config import Config
from avts.downstream.embed import audio_window_features
from avts.downstream.labelled import LabelledItem, LabelledSet
from avts.downstream.layers import LayerSpec
from avts.downstream.windows import audio_windows
from avts.errors import DatasetError, MediaError
from avts.features.audio import log_mel
from avts.media import probe, read_audio
from avts.types import ProbeScore, SkippedFile

SILENT_PEAK = 1e-5  # below -100 dBFS everywhere: digital silence, nothing to classify
SVM_C = 1.0  # LinearSVC regularisation on standardised features

Progress = Callable[[int, int], None]
ClipFeatures = list[np.ndarray]  # one (n_windows, D) array per clip


def read_clips(items: Sequence[LabelledItem], sr_hz: int, progress: Progress | None = None
               ) -> tuple[list[LabelledItem], list[np.ndarray], list[SkippedFile]]:
    """Mono audio of every item at ``sr_hz``; unreadable and silent files are left out."""
    kept, waves, left_out = [], [], []
    for n, item in enumerate(items, start=1):
        try:
            info = probe(item.path)
            if not info.has_audio:
                raise MediaError("no audio stream")
            wave = read_audio(item.path, info.start_s, None, sr_hz, info=info)
        except MediaError as err:
            left_out.append(SkippedFile(item.path, f"unreadable: {err}"))
        else:
            if wave.size == 0 or float(np.abs(wave).max()) < SILENT_PEAK:
                left_out.append(SkippedFile(item.path, "silent"))
            else:
                kept.append(item)
                waves.append(wave)
        if progress is not None:
            progress(n, len(items))
    return kept, waves, left_out


def network_features(model: torch.nn.Module, cfg: Config, waves: Sequence[np.ndarray],
                     spec: LayerSpec, hop_s: float) -> ClipFeatures:
    model.eval()
    return [audio_window_features(model, cfg, w, spec, hop_s)[0] for w in waves]


def log_mel_stats(cfg: Config, waves: Sequence[np.ndarray], hop_s: float) -> ClipFeatures:
    """Mean and standard deviation of each mel band over each window: (n_windows, 2 n_mels)."""
    out = []
    for wave in waves:
        windows, _ = audio_windows(wave, cfg.data.mel.sr_hz, cfg.data.clip.duration_s, hop_s)
        mel = log_mel(torch.from_numpy(windows), cfg.data.mel)  # (n_windows, n_mels, n_frames)
        out.append(torch.cat([mel.mean(dim=2), mel.std(dim=2)], dim=1).numpy())
    return out


def assign_folds(data: LabelledSet, items: Sequence[LabelledItem], n_folds: int, seed: int
                 ) -> tuple[np.ndarray, str]:
    """Fold of each item (the CSV's, else stratified and seeded) and a description."""
    labels = [i.label for i in items]
    given = data.has_folds
    k = len({i.fold for i in items}) if given else n_folds
    if k < 2:
        raise DatasetError(f"cross-validation needs at least 2 folds, got {k}")
    counts = {c: labels.count(c) for c in sorted(set(labels))}
    small = [c for c, n in counts.items() if n < k]
    if small:
        raise DatasetError(f"class {small[0]!r} has {counts[small[0]]} usable examples, fewer "
                           f"than the {k} folds (each fold needs one to test)")
    if given:
        return np.array([i.fold for i in items]), f"given ({k} folds from {data.source})"
    from sklearn.model_selection import StratifiedKFold

    folds = np.zeros(len(items), dtype=int)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for fold, (_, test) in enumerate(splitter.split(np.zeros(len(labels)), labels), start=1):
        folds[test] = fold
    return folds, f"stratified ({k} folds, seed {seed})"


def cross_validate(features: ClipFeatures, y: np.ndarray, folds: np.ndarray) -> ProbeScore:
    """Leave-one-fold-out accuracy of a linear SVM on window features, scored per clip."""
    accs = [_fold_accuracy(features, y, folds != f, folds == f) for f in np.unique(folds)]
    return ProbeScore(accuracy=float(np.mean(accs)), folds=[float(a) for a in accs],
                      feature_dim=int(features[0].shape[1]))


def _fold_accuracy(features: ClipFeatures, y: np.ndarray, train: np.ndarray,
                   test: np.ndarray) -> float:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    train_idx, test_idx = np.flatnonzero(train), np.flatnonzero(test)
    x_train = np.concatenate([features[i] for i in train_idx])
    y_train = np.concatenate([np.full(len(features[i]), y[i]) for i in train_idx])
    svm = make_pipeline(StandardScaler(), LinearSVC(C=SVM_C, max_iter=5000, random_state=0))
    with warnings.catch_warnings():  # a fold that does not fully converge still scores
        warnings.simplefilter("ignore")
        svm.fit(x_train, y_train)
    correct = 0
    for i in test_idx:
        scores = svm.decision_function(features[i])  # (n_windows,) or (n_windows, n_classes)
        if scores.ndim == 1:  # two classes: one score, positive means classes_[1]
            scores = np.stack([-scores, scores], axis=1)
        pred = svm.classes_[int(np.argmax(scores.mean(axis=0)))]
        correct += int(pred == y[i])
    return correct / len(test_idx)
