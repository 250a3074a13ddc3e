import dataclasses
import shutil

import numpy as np
import torch
from torch.utils.data import DataLoader

from avts.config import tiny
from avts.data.corpus import index_corpus
from avts.data.curriculum import NegativeMix
from avts.data.dataset import ClipStore, PairDataset, collate_pairs
from avts.data.pairs import KINDS, PairSpec, draw_pairs, kind_code


def _store(folder, tmp_path, preload):
    clip = tiny().data.clip
    index = index_corpus(folder, 2.0, cache_dir=tmp_path / "cache")
    return ClipStore(index.videos, clip, 16000, preload=preload)


def test_preloaded_and_on_demand_windows_agree(synth_corpus, tmp_path):
    pre, lazy = _store(synth_corpus, tmp_path, True), _store(synth_corpus, tmp_path, False)
    start_s = 2.0 + 1.0 / pre.clip.fps  # on the frame grid, so no snapping is needed
    frames_pre, snap_s = pre.video(1, start_s)
    frames_lazy, _ = lazy.video(1, start_s)
    assert abs(snap_s) < 1e-9
    assert frames_pre.shape == frames_lazy.shape == (pre.clip.n_frames, 40, 40, 3)
    assert np.abs(frames_pre.astype(int) - frames_lazy.astype(int)).mean() < 2.0
    np.testing.assert_allclose(pre.audio(1, start_s), lazy.audio(1, start_s), atol=2e-3)


def test_items_have_the_model_input_shapes_and_kind_codes(synth_corpus, tmp_path):
    cfg = tiny()
    index = index_corpus(synth_corpus, 2.0, cache_dir=tmp_path / "cache")
    store = ClipStore(index.videos, cfg.data.clip, cfg.data.mel.sr_hz)
    assert store.spans == index.spans  # both come from corpus.usable_spans
    pairs = [PairSpec(kind, 0, 1.0, int(kind == "easy"), 2.0, int(kind == "positive"))
             for kind in KINDS]
    dataset = PairDataset(store, pairs, cfg.data.mel)
    n_samples = round(cfg.data.clip.duration_s * cfg.data.mel.sr_hz)
    for i, pair in enumerate(pairs):
        item = dataset[i]
        assert int(item["kind"]) == kind_code(pair.kind) == i
        assert item["video"].shape == (3, cfg.data.clip.n_frames, cfg.data.clip.height,
                                      cfg.data.clip.width)
        assert item["audio"].shape == (1, cfg.data.mel.n_mels, cfg.data.mel.n_frames(n_samples))


def test_video_snap_moves_audio_by_the_same_amount(synth_corpus, tmp_path):
    store = _store(synth_corpus, tmp_path, True)
    mel = tiny().data.mel
    off_grid = PairSpec("positive", 0, 3.03, 0, 3.03, 1)
    item = PairDataset(store, [off_grid], mel)[0]
    _, snap_s = store.video(0, 3.03)
    on_grid = PairSpec("positive", 0, 3.03 + snap_s, 0, 3.03 + snap_s, 1)
    assert abs(snap_s) > 0
    torch.testing.assert_close(item["audio"], PairDataset(store, [on_grid], mel)[0]["audio"])


def test_window_that_fails_to_decode_is_skipped_and_counted(synth_corpus, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(synth_corpus, folder)
    store = _store(folder, tmp_path, preload=False)
    store.videos[0].path.write_bytes(b"garbage after indexing")  # the file broke meanwhile
    pairs = [PairSpec("positive", i % 2, 1.0, i % 2, 1.0, 1) for i in range(4)]
    batch = collate_pairs([PairDataset(store, pairs, tiny().data.mel)[i] for i in range(4)])
    assert int(batch["skipped"]) == 2 and len(batch["label"]) == 2


def test_multi_worker_loading_gives_the_same_batches(synth_corpus, tmp_path):
    cfg = tiny()
    store = _store(synth_corpus, tmp_path, True)
    pairs = draw_pairs(np.random.default_rng(0), store.spans, 24, NegativeMix(0.5, 0.5, 0.0), 0.5,
                       cfg.data.clip.duration_s, dataclasses.replace(cfg.data.pairs))
    dataset = PairDataset(store, pairs, cfg.data.mel)

    def batches(workers):
        loader = DataLoader(dataset, batch_size=8, num_workers=workers, collate_fn=collate_pairs)
        return list(loader)

    for a, b in zip(batches(0), batches(2), strict=True):
        for key in ("video", "audio", "label", "kind", "video_index"):
            torch.testing.assert_close(a[key], b[key])


def test_augmented_items_are_reproducible_and_differ_from_plain(synth_corpus, tmp_path):
    store = _store(synth_corpus, tmp_path, True)
    mel = tiny().data.mel
    pairs = [PairSpec("positive", 0, 2.0, 0, 2.0, 1)]
    plain = PairDataset(store, pairs, mel)[0]
    first = PairDataset(store, pairs, mel, augment_seed=5)[0]
    second = PairDataset(store, pairs, mel, augment_seed=5)[0]
    torch.testing.assert_close(first["video"], second["video"])
    torch.testing.assert_close(first["audio"], second["audio"])
    assert not torch.equal(first["video"], plain["video"])
