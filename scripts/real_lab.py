"""Research loop on the decoded cache (scripts/real_cache.py): multi-way sync training of the
frame-rate model and the in-memory evaluation of docs/real-footage.md.

    python scripts/real_lab.py train --cache DIR --split configs/real-split.csv --out RUN
        [--minutes 20] [--batch 16] [--input crop|full] ...
    python scripts/real_lab.py eval --cache DIR --split configs/real-split.csv --ckpt RUN/model.pt
    python scripts/real_lab.py baseline --cache DIR --split configs/real-split.csv

Evaluation per held-out clip: the audio is shifted in memory by each of OFFSETS_MS (zeros fill
the gap), the offset is searched over +-1 s in 40 ms steps by the mean per-frame cosine between
video and shifted audio features (SyncNet-style aggregation over the whole clip), and counted
right when |error| <= 40 ms (one frame at 25 fps). eval-sync-style pair accuracy uses 0.6 s
windows and a threshold chosen on training clips (as `avts eval-sync` takes it from validation).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from avts.config import MelConfig
from avts.data.heldout import read_split
from avts.data.multiway import MultiwaySpec, candidate_windows, cut_item, draw_items
from avts.eval.sync import accuracy_by_kind, choose_threshold
from avts.features.audio import log_mel
from avts.losses import MultiwayLoss
from avts.models.framesync import FrameSync, video_input

OFFSETS_MS = (-500, -200, -80, 0, 80, 200, 500)
SEARCH = 25  # +-25 frames = +-1 s
FRAME_MS = 40
SR = 16000
MEL = MelConfig(n_mels=40)
TALKING = ("grid pcavs mer2023 lrs2 hdtf retalking autoavsr latentsync mimictalk edtalk dfrf "
           "wav2lip presenter mead dhlive humanomni iianet show crab aoc").split()


def is_talking(name: str) -> bool:
    return name.split("_")[0] in TALKING or name.startswith("salmonn_standup")


def load_side(cache: Path, split_csv: str, side: str, key: str, size: int = 0) -> list[dict]:
    clips = []
    for name, s in sorted(read_split(split_csv).items()):
        f = cache / (name + ".npz")
        if s != side or not f.exists():
            continue
        z = np.load(f)
        gray = torch.from_numpy(z[key].astype(np.float32).mean(axis=3))  # (T, S, S)
        if size and size != gray.shape[-1]:
            gray = torch.nn.functional.interpolate(gray[None], size=(size, size), mode="area")[0]
        gray = gray.round().to(torch.uint8).numpy()
        clips.append({"name": name, "gray": gray, "audio": z["audio"]})
    return clips


def mel_of(audio: torch.Tensor) -> torch.Tensor:
    return log_mel(audio, MEL).unsqueeze(1)  # (B, 1, M, F)


def train(args: argparse.Namespace) -> None:
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    spec = MultiwaySpec(n_frames=args.frames, max_shift=args.max_shift)
    size = args.size + args.jitter if args.size else 0
    clips = load_side(Path(args.cache), args.split, "train", args.input, size)
    clips = [c for c in clips if len(c["gray"]) >= spec.audio_frames]
    model = FrameSync(tuple(args.widths), args.embed_dim)
    if args.init:
        model.load_state_dict(torch.load(args.init, weights_only=True)["model"])
    loss_fn = MultiwayLoss(args.temperature)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0, step, log = time.perf_counter(), 0, []
    lengths = [len(c["gray"]) for c in clips]
    target = torch.full((args.batch,), spec.max_shift)
    wspec = MultiwaySpec(n_frames=args.win or args.frames, max_shift=args.max_shift,
                         margin=spec.margin)
    while time.perf_counter() - t0 < args.minutes * 60:
        items = draw_items(rng, lengths, args.batch, spec)
        cut = [cut_item(clips[c]["gray"], clips[c]["audio"], f0, spec) for c, f0 in items]
        video = torch.from_numpy(np.stack([v for v, _ in cut]))
        if args.jitter:  # random crop of `size` from the `size + jitter` frames
            dy, dx = (int(x) for x in rng.integers(0, args.jitter + 1, size=2))
            video = video[..., dy:dy + args.size, dx:dx + args.size]
        if args.mix > 0:  # another recording's sound underneath: sync must survive noise
            others = draw_items(rng, lengths, args.batch, spec)
            noise = [cut_item(clips[c]["gray"], clips[c]["audio"], f0, spec)[1] for c, f0 in others]
            audio_mix = args.mix * np.stack(noise)
        else:
            audio_mix = 0.0
        if args.flip:
            flip = torch.from_numpy(rng.random(args.batch) < 0.5)
            video[flip] = video[flip].flip(-1)
        audio = torch.from_numpy((np.stack([a for _, a in cut]) + audio_mix).astype(np.float32))
        v = model.video_steps(video_input(video))[:, spec.margin:spec.margin + spec.n_frames]
        a = model.audio_steps(mel_of(audio))[:, :spec.audio_frames]
        logits = window_logits(v, a, spec, wspec, args.win_stride, loss_fn)
        loss = torch.nn.functional.cross_entropy(logits, target[:1].expand(len(logits)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        top1 = (logits.argmax(1) == spec.max_shift).float().mean()
        log.append((float(loss.detach()), float(top1)))
        if step % 25 == 0:
            recent = np.mean(log[-25:], axis=0)
            print(json.dumps({"step": step, "s": round(time.perf_counter() - t0),
                              "loss": round(recent[0], 3), "top1": round(recent[1], 3)}),
                  flush=True)
    torch.save({"model": model.state_dict(), "args": vars(args), "steps": step,
                "train_s": time.perf_counter() - t0}, out / "model.pt")


def window_logits(v: torch.Tensor, a: torch.Tensor, spec: MultiwaySpec, wspec: MultiwaySpec,
                  stride: int, loss_fn: MultiwayLoss) -> torch.Tensor:
    """Multi-way logits for every scoring window of ``wspec.n_frames`` frames (every
    ``stride`` frames) inside the item's ``spec.n_frames``: (B * n_windows, K)."""
    out = []
    for w in range(0, spec.n_frames - wspec.n_frames + 1, stride):
        vw = v[:, w:w + wspec.n_frames]
        aw = a[:, w:w + wspec.audio_frames]  # the audio frames this window's candidates need
        cand = candidate_windows(aw, wspec)
        out.append(loss_fn.logits(FrameSync.window_embedding(vw), FrameSync.window_embedding(cand)))
    return torch.cat(out)


@torch.no_grad()
def clip_steps(model: FrameSync, gray: np.ndarray, audio: np.ndarray) -> tuple:
    v = model.video_steps(video_input(torch.from_numpy(gray)[None]))[0]  # (T, D)
    a = model.audio_steps(mel_of(torch.from_numpy(audio)[None]))[0][:len(v)]
    return v, a


def shift_audio(audio: np.ndarray, offset_ms: int) -> np.ndarray:
    """Delay (offset > 0) or advance the audio by offset_ms, zero-filled, same length."""
    n = round(offset_ms * SR / 1000)
    if n >= 0:
        return np.concatenate([np.zeros(n, np.float32), audio[:len(audio) - n]])
    return np.concatenate([audio[-n:], np.zeros(-n, np.float32)])


def search_offset(v: torch.Tensor | np.ndarray, a: torch.Tensor | np.ndarray) -> int | None:
    """Best lag in frames (audio later = positive) by mean similarity over the clip."""
    v, a = torch.as_tensor(v), torch.as_tensor(a)
    n = min(len(v), len(a))
    if n - 2 * SEARCH < 10:
        return None
    idx = torch.arange(SEARCH, n - SEARCH)
    scores = [(v[idx] * a[idx + s]).sum(-1).mean() for s in range(-SEARCH, SEARCH + 1)]
    return int(torch.stack(scores).argmax()) - SEARCH


def offset_table(results: list[tuple[str, int, int]]) -> dict:
    """results: (clip, true offset ms, estimated lag frames) -> the summary numbers."""
    def summary(rows):
        if not rows:
            return {}
        err = np.array([lag * FRAME_MS - o for _, o, lag in rows])
        big = [(o, lag) for _, o, lag in rows if abs(o) >= 160]
        per = {o: float(np.mean([abs(lag * FRAME_MS - oo) <= FRAME_MS for _, oo, lag in rows
                                 if oo == o])) for o in OFFSETS_MS}
        return {"within_1_frame": float(np.mean(np.abs(err) <= FRAME_MS)),
                "sign_ok_ge160": float(np.mean([np.sign(lag) == np.sign(o) for o, lag in big])),
                "per_offset": per, "n": len(rows)}
    talk = [r for r in results if is_talking(r[0])]
    other = [r for r in results if not is_talking(r[0])]
    return {"all": summary(results), "talking": summary(talk), "other": summary(other)}


def pair_scores(steps: list[tuple], rng: np.random.Generator, n_each: int = 8,
                win: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """eval-sync-style pairs on 0.6 s windows: kinds 0 pos, 1 easy, 2 hard, 3 super-hard."""
    scores, kinds = [], []

    def emb(x, t):
        return FrameSync.window_embedding(torch.as_tensor(x[t:t + win]))

    for i, (v, a) in enumerate(steps):
        n = min(len(v), len(a))
        if n < 3 * win:
            continue
        for _ in range(n_each):
            t = int(rng.integers(0, n - win))
            j = int(rng.choice([k for k in range(len(steps)) if k != i]))
            u = int(rng.integers(0, min(len(steps[j][0]), len(steps[j][1])) - win))
            far = [s for s in range(0, n - win) if abs(s - t) >= win]
            sh = int(rng.integers(7, 13)) * (1 if t + 13 + win <= n else -1)
            for kind, other in ((0, emb(a, t)), (1, emb(steps[j][1], u)),
                                (2, emb(a, int(rng.choice(far)))), (3, emb(a, t + sh))):
                scores.append(float((emb(v, t) * other).sum()))
                kinds.append(kind)
    return np.array(scores), np.array(kinds)


def eval_clips(cache: Path, split: str, side: str, key: str, size: int, jitter: int) -> list:
    """Clips as training saw them; with jitter, the centre crop of the jittered frames."""
    clips = load_side(cache, split, side, key, size + jitter if size else 0)
    h = jitter // 2
    for clip in clips if jitter else ():
        clip["gray"] = clip["gray"][:, h:h + size, h:h + size]
    return clips


def pair_auc(scores: np.ndarray, kinds: np.ndarray) -> dict:
    """Threshold-free: P(score of a positive > score of a negative), per negative kind."""
    pos = scores[kinds == 0]
    return {name: float((pos[:, None] > scores[kinds == k][None, :]).mean())
            for k, name in ((1, "easy"), (2, "hard"), (3, "superhard"))}


def evaluate(args: argparse.Namespace) -> None:
    saved = torch.load(args.ckpt, weights_only=True)
    targs = saved.get("args", {})
    model = FrameSync(tuple(targs.get("widths", (24, 48, 64, 96))), targs.get("embed_dim", 64))
    model.load_state_dict(saved["model"])
    model.eval()
    key, size = targs.get("input", "crop"), targs.get("size", 0)
    jitter = targs.get("jitter", 0)
    cache = Path(args.cache)
    rng = np.random.default_rng(0)
    results, steps = [], []
    for clip in eval_clips(cache, args.split, args.side, key, size, jitter)[::args.every]:
        v, a0 = clip_steps(model, clip["gray"], clip["audio"])
        steps.append((v, a0))
        for o in OFFSETS_MS:
            shifted = torch.from_numpy(shift_audio(clip["audio"], o))[None]
            with torch.no_grad():
                a = model.audio_steps(mel_of(shifted))[0]
            lag = search_offset(v, a)
            if lag is not None:
                results.append((clip["name"], o, lag))
    train_steps = [clip_steps(model, c["gray"], c["audio"])
                   for c in eval_clips(cache, args.split, "train", key, size, jitter)[::6]]
    ts, tk = pair_scores(train_steps, rng)
    threshold = choose_threshold(ts, tk, ("easy", "hard"))
    es, ek = pair_scores(steps, rng)
    acc = accuracy_by_kind(es, ek, threshold)
    print(json.dumps({"ckpt": args.ckpt, "steps": saved.get("steps"),
                      "train_s": saved.get("train_s"), "offsets": offset_table(results),
                      "raw": results, "pair_auc": pair_auc(es, ek),
                      "pairs": {"easy": acc.easy, "hard": acc.hard, "superhard": acc.superhard,
                                "threshold": threshold}}, indent=1))


def onset_motion(gray: np.ndarray, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Model-free features at 25 Hz: frame-difference energy and audio onset strength."""
    g = gray.astype(np.float32)
    motion = np.concatenate([[0.0], np.abs(np.diff(g, axis=0)).mean(axis=(1, 2))])
    mel = log_mel(torch.from_numpy(audio), MEL).numpy()  # (M, F) at 100 Hz
    flux = np.concatenate([[0.0], np.maximum(np.diff(mel, axis=1), 0).mean(axis=0)])
    n = len(flux) // 4
    onset = flux[:4 * n].reshape(n, 4).max(axis=1)

    def z(x):
        return ((x - x.mean()) / (x.std() + 1e-6))[:, None]

    return z(motion), z(onset)


def baseline(args: argparse.Namespace) -> None:
    for key in ("crop", "full"):
        results = []
        for clip in load_side(Path(args.cache), args.split, "eval", key):
            for o in OFFSETS_MS:
                m, on = onset_motion(clip["gray"], shift_audio(clip["audio"], o))
                lag = search_offset(m, on[:len(m)])
                if lag is not None:
                    results.append((clip["name"], o, lag))
        print(json.dumps({"baseline": key, "offsets": offset_table(results)}, indent=1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("cmd", choices=("train", "eval", "baseline"))
    p.add_argument("--cache", default="/work/runs/real/cache")
    p.add_argument("--split", default="configs/real-split.csv")
    p.add_argument("--out", default="/work/runs/real/run")
    p.add_argument("--ckpt")
    p.add_argument("--init")
    p.add_argument("--input", default="crop", choices=("crop", "full"))
    p.add_argument("--side", default="eval", help="eval: which clips (train: a diagnostic)")
    p.add_argument("--every", type=int, default=1, help="eval every n-th clip")
    p.add_argument("--size", type=int, default=0, help="resize the cached crops (0: keep)")
    p.add_argument("--minutes", type=float, default=20)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--frames", type=int, default=15)
    p.add_argument("--win", type=int, default=0, help="scoring window frames (0: --frames)")
    p.add_argument("--win-stride", type=int, default=5)
    p.add_argument("--max-shift", type=int, default=15)
    p.add_argument("--widths", type=int, nargs=4, default=(24, 48, 64, 96))
    p.add_argument("--embed-dim", type=int, default=64)
    p.add_argument("--temperature", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--flip", action="store_true")
    p.add_argument("--jitter", type=int, default=0, help="random crop margin in pixels")
    p.add_argument("--mix", type=float, default=0.0, help="level of another clip's audio mixed in")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--config", help="YAML of these options (scripts/real_lab.yaml); flags override")
    args = p.parse_args()
    if args.config:
        import yaml

        given = yaml.safe_load(Path(args.config).read_text()) or {}
        unknown = set(given) - set(vars(args))
        if unknown:
            p.error(f"{args.config}: unknown options {sorted(unknown)}")
        p.set_defaults(**given)
        args = p.parse_args()
    {"train": train, "eval": evaluate, "baseline": baseline}[args.cmd](args)


if __name__ == "__main__":
    main()
