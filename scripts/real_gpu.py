"""Larger multi-way runs of the frame-rate model on a GPU machine (issue 12, "where a GPU is
available"): several variants train at once on one GPU, each for the same wall time, with
snapshots at 1k, 2k, 4k, ... steps; every snapshot is then scored by the in-memory offset
search of scripts/real_lab.py on the validation clips (training-side groups held out of GPU
training, used to pick a snapshot) and on the evaluation clips (reported, never used to pick).

The machine has no PyAV: the data come as one pack (``.gpu/pack.npz``, see
``scripts/real_gpu_pack.py``): per clip the grey motion-region crop at 36 x 36 (32 + 4 jitter)
and the 16 kHz audio as 8-bit mu-law (its quantisation noise, about -38 dB, sits far below the
0.3 audio mix of training; the final evaluation reads the original files through ``avts``).

    python scripts/real_gpu.py --pack .gpu/pack.npz --out OUT --minutes 7
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F

from avts.config import MelConfig
from avts.data.multiway import MultiwaySpec, candidate_windows, cut_item, draw_items
from avts.features.audio import log_mel
from avts.losses import MultiwayLoss
from avts.models.framesync import FrameSync, video_input

MEL = MelConfig(n_mels=40)
SR, FRAME_MS, SEARCH = 16000, 40, 25
OFFSETS_MS = (-500, -200, -80, 0, 80, 200, 500)
STORED = 36  # pixels per side in the pack
BASE = dict(widths=(16, 32, 48, 64), embed_dim=64, batch=8, lr=1e-3, wd=1e-4, size=32,
            jitter=4, mix=0.3, frames=45, win=15, stride=5, max_shift=15, temperature=0.1)
VARIANTS = {
    # the CPU recipe (docs/real-footage.md r8) with more steps: does length alone help?
    "base": {},
    # batch 32: four times the items per step, same lr
    "b32": dict(batch=32),
    # candidates over +-1 s (the search range of `avts sync`), items long enough for them
    "shift25": dict(batch=32, max_shift=25),
    # wider nets, stronger weight decay against the overfitting the CPU runs showed
    "wide": dict(batch=32, widths=(32, 64, 96, 128), embed_dim=128, wd=5e-2),
    # more of another recording's sound underneath, more weight decay
    "mix5": dict(batch=32, mix=0.5, wd=1e-2),
    # the CPU recipe again with another seed (how much do seeds alone move the figures?)
    "base_s1": dict(seed=1),
}


def load_pack(path: str) -> dict[str, list[dict]]:
    z = np.load(path)
    sides: dict[str, list[dict]] = {}
    for key in z.files:
        if not key.startswith("g:"):
            continue
        name = key[2:]
        q = z["a:" + name].astype(np.float32) / 255.0 * 2.0 - 1.0
        audio = np.sign(q) * np.expm1(np.abs(q) * np.log1p(255.0)) / 255.0  # mu-law decode
        sides.setdefault(str(z["s:" + name]), []).append(
            {"name": name.replace("__", "."), "gray": z[key], "audio": audio.astype(np.float32)})
    return sides


def window_logits(v, a, spec, wspec, stride, loss_fn):
    out = []
    for w in range(0, spec.n_frames - wspec.n_frames + 1, stride):
        cand = candidate_windows(a[:, w:w + wspec.audio_frames], wspec)
        out.append(loss_fn.logits(FrameSync.window_embedding(v[:, w:w + wspec.n_frames]),
                                  FrameSync.window_embedding(cand)))
    return torch.cat(out)


def batch_of(clips, lengths, spec, p, rng, device):
    items = draw_items(rng, lengths, p["batch"], spec)
    cut = [cut_item(clips[c]["gray"], clips[c]["audio"], f0, spec) for c, f0 in items]
    video = np.stack([v for v, _ in cut])
    dy, dx = (int(x) for x in rng.integers(0, p["jitter"] + 1, size=2))
    video = torch.from_numpy(video[..., dy:dy + p["size"], dx:dx + p["size"]].copy())
    flip = torch.from_numpy(rng.random(p["batch"]) < 0.5)
    video[flip] = video[flip].flip(-1)
    audio = np.stack([a for _, a in cut])
    if p["mix"] > 0:
        others = draw_items(rng, lengths, p["batch"], spec)
        audio = audio + p["mix"] * np.stack(
            [cut_item(clips[c]["gray"], clips[c]["audio"], f0, spec)[1] for c, f0 in others])
    return video.to(device), torch.from_numpy(audio.astype(np.float32)).to(device)


def train_variant(name: str, pack: str, out: str, minutes: float, seed: int,
                  max_clips: int) -> None:
    p = {**BASE, **VARIANTS[name]}
    seed = seed + p.pop("seed", 0)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.set_num_threads(3)
    spec = MultiwaySpec(n_frames=p["frames"], max_shift=p["max_shift"])
    wspec = MultiwaySpec(n_frames=p["win"], max_shift=p["max_shift"], margin=spec.margin)
    clips = [c for c in load_pack(pack)["train"] if len(c["gray"]) >= spec.audio_frames]
    lengths = [len(c["gray"]) for c in clips]
    model = FrameSync(tuple(p["widths"]), p["embed_dim"]).to(device)
    loss_fn = MultiwayLoss(p["temperature"])
    opt = torch.optim.AdamW(model.parameters(), lr=p["lr"], weight_decay=p["wd"])
    t0, step, snap, log = time.perf_counter(), 0, 1000, []
    while time.perf_counter() - t0 < minutes * 60:
        video, audio = batch_of(clips, lengths, spec, p, rng, device)
        v = model.video_steps(video_input(video))[:, spec.margin:spec.margin + spec.n_frames]
        a = model.audio_steps(log_mel(audio, MEL).unsqueeze(1))[:, :spec.audio_frames]
        logits = window_logits(v, a, spec, wspec, p["stride"], loss_fn)
        target = torch.full((len(logits),), spec.max_shift, device=device)
        loss = F.cross_entropy(logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        log.append((float(loss.detach()), float((logits.argmax(1) == target).float().mean())))
        if step == snap:
            save(model, p, step, t0, log, Path(out) / f"{name}-{step}.pt")
            snap *= 2
    save(model, p, step, t0, log, Path(out) / f"{name}-final.pt")
    rows = evaluate(pack, Path(out), f"{name}-*.pt", max_clips)
    best = max(rows, key=lambda r: (r["val"]["all"]["within_1_frame"],
                                    r["val"]["all"]["sign_ge160"]))
    for row in rows:  # only the pick (by validation) and the last come back
        if row["snapshot"] not in (best["snapshot"], f"{name}-final.pt"):
            (Path(out) / row["snapshot"]).unlink()
    (Path(out) / f"{name}.json").write_text(json.dumps(rows))


def save(model, p, step, t0, log, path) -> None:
    recent = np.mean(log[-200:], axis=0)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"model": state, "params": p, "steps": step, "train_s": time.perf_counter() - t0,
                "train_loss": float(recent[0]), "train_top1": float(recent[1])}, path)


def shift_audio(audio: np.ndarray, offset_ms: int) -> np.ndarray:
    n = round(offset_ms * SR / 1000)
    if n >= 0:
        return np.concatenate([np.zeros(n, np.float32), audio[:len(audio) - n]])
    return np.concatenate([audio[-n:], np.zeros(-n, np.float32)])


def search_offset(v: torch.Tensor, a: torch.Tensor) -> int | None:
    """As real_lab.search_offset, vectorised: mean per-frame cosine for every lag."""
    n = min(len(v), len(a))
    if n - 2 * SEARCH < 10:
        return None
    inner = n - 2 * SEARCH
    lagged = a[:n].unfold(0, inner, 1)  # (2 * SEARCH + 1, D, inner): lag k - SEARCH
    scores = torch.einsum("kdt,td->k", lagged, v[SEARCH:n - SEARCH]) / inner
    return int(scores.argmax()) - SEARCH


TALKING = ("grid pcavs mer2023 lrs2 hdtf retalking autoavsr latentsync mimictalk edtalk dfrf "
           "wav2lip presenter mead dhlive humanomni iianet show crab aoc").split()


def is_talking(name: str) -> bool:
    return name.split("_")[0] in TALKING or name.startswith("salmonn_standup")


@torch.no_grad()
def score_side(model, clips, p, device) -> dict:
    """Offset accuracy over all clips and, separately, talking heads and other content."""
    out = {"all": score_clips(model, clips, p, device)}
    for part, keep in (("talking", True), ("other", False)):
        out[part] = score_clips(model, [c for c in clips if is_talking(c["name"]) == keep], p,
                                device)
    return out


def score_clips(model, clips, p, device) -> dict:
    h = p["jitter"] // 2
    right, sign, n, nbig = 0, 0, 0, 0
    for clip in clips:
        gray = torch.from_numpy(clip["gray"][:, h:h + p["size"], h:h + p["size"]].copy())
        v = model.video_steps(video_input(gray[None].to(device)))[0]
        for o in OFFSETS_MS:
            audio = torch.from_numpy(shift_audio(clip["audio"], o))[None].to(device)
            a = model.audio_steps(log_mel(audio, MEL).unsqueeze(1))[0]
            lag = search_offset(v, a)
            if lag is None:
                continue
            n += 1
            right += abs(lag * FRAME_MS - o) <= FRAME_MS
            if abs(o) >= 160:
                nbig += 1
                sign += np.sign(lag) == np.sign(o)
    return {"within_1_frame": right / max(n, 1), "sign_ge160": sign / max(nbig, 1), "n": n}


def evaluate(pack: str, out: Path, pattern: str, max_clips: int = 0) -> list[dict]:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sides = {k: v[:max_clips] if max_clips else v for k, v in load_pack(pack).items()}
    rows = []
    for path in sorted(out.glob(pattern)):
        saved = torch.load(path, weights_only=True)
        p = saved["params"]
        model = FrameSync(tuple(p["widths"]), p["embed_dim"]).to(device).eval()
        model.load_state_dict(saved["model"])
        rows.append({"snapshot": path.name, "steps": saved["steps"],
                     "train_s": round(saved["train_s"]), "train_top1": saved["train_top1"],
                     "val": score_side(model, sides["val"], p, device),
                     "eval": score_side(model, sides["eval"], p, device)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pack", default=".gpu/pack.npz")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=7.0)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-clips", type=int, default=0, help="evaluate on fewer clips (smoke)")
    args = ap.parse_args()
    out = Path(args.out) / "snaps"
    out.mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    names = args.variants.split(",")
    procs = [ctx.Process(target=train_variant, args=(v, args.pack, str(out), args.minutes,
                                                      args.seed, args.max_clips)) for v in names]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    rows = [row for v in names if (out / f"{v}.json").exists()
            for row in json.loads((out / f"{v}.json").read_text())]
    result = {"rows": rows,
              "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
              "torch": torch.__version__}
    (Path(args.out) / "results.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
