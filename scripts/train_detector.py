#!/usr/bin/python3
"""Train lprd's learned plate detector (CenterNet-style, fully convolutional).

Called by scripts/train-detector, which renders the data with `lprlab gendet`.
Data: chunks PREFIX-K.u8 (N x S x S grey bytes, frames already scaled as the
detector scales them) and PREFIX-K.txt (one line per crop: the number of plates,
then 8 numbers per plate: the corners TL TR BR BL, x y, in crop pixels).

Network output (stride 4): channel 0 the plate-centre heatmap logit, channels
1-8 the offsets of the four corners from the cell centre (4j+2, 4i+2), in units
of CORNER_UNIT input pixels. Input: grey bytes mapped to (v - 127.5) / 64, as
ocr.LearnedDetector does in Go.

Writes WORK/ckpt.pt (resumable), exports WORK/model/detector.onnx (opset 11,
BatchNorm folded into the convolutions, Identity nodes removed) and a reference
input/output pair (WORK/model/testdata).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from onnx_init import init_from_onnx, train_mode

STRIDE = 4
CORNER_UNIT = 32.0
REF_H, REF_W = 160, 256


def cbr(cin, cout, k=3, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def sep(cin, cout, stride=1):
    """Depthwise-separable block: 3x3 depthwise + 1x1 pointwise, each BN + ReLU."""
    return nn.Sequential(nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin, bias=False),
                         nn.BatchNorm2d(cin), nn.ReLU(inplace=True), cbr(cin, cout, k=1))


class Net(nn.Module):
    """Grey 1 x H x W (H, W multiples of 32) -> 9 x H/4 x W/4."""

    def __init__(self, w=1):
        super().__init__()
        c = [int(round(v * w)) for v in (8, 16, 32, 64, 96)]
        self.s2 = cbr(1, c[0], stride=2)
        self.s4 = nn.Sequential(sep(c[0], c[1], 2), sep(c[1], c[1]))
        self.s8 = nn.Sequential(sep(c[1], c[2], 2), sep(c[2], c[2]))
        self.s16 = nn.Sequential(sep(c[2], c[3], 2), sep(c[3], c[3]), sep(c[3], c[3]))
        self.s32 = nn.Sequential(sep(c[3], c[4], 2), sep(c[4], c[4]))
        self.l32 = cbr(c[4], c[3], k=1)
        self.u16 = sep(c[3], c[2])
        self.u8 = sep(c[2], c[1])
        self.u4 = sep(c[1], c[1])
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.head = nn.Conv2d(c[1], 9, 1)
        nn.init.constant_(self.head.bias[:1], -4.0)  # a rare positive class at the start

    def forward(self, x):
        f4 = self.s4(self.s2(x))
        f8 = self.s8(f4)
        f16 = self.s16(f8)
        f32 = self.s32(f16)
        y = self.u16(self.up(self.l32(f32)) + f16)
        y = self.u8(self.up(y) + f8)
        y = self.u4(self.up(y) + f4)
        return self.head(y)


def normalize(u8):
    return (u8.float() - 127.5) / 64.0


def parse_labels(path):
    out = []
    with open(path) as f:
        for line in f:
            v = line.split()
            n = int(v[0])
            out.append(np.array(v[1:1 + 8 * n], dtype=np.float32).reshape(n, 4, 2))
    return out


class Chunks:
    """Chunks PREFIX-0, PREFIX-1, ... that a generator may still be writing: a chunk counts
    once its .txt exists (written last)."""

    def __init__(self, prefix):
        self.prefix, self.loaded = prefix, 0
        self.x, self.labels = [], []

    def refresh(self):
        added = False
        while os.path.exists(f"{self.prefix}-{self.loaded}.txt"):
            p = f"{self.prefix}-{self.loaded}"
            lab = parse_labels(p + ".txt")
            s = int(round(math.sqrt(os.path.getsize(p + ".u8") // len(lab))))
            x = np.memmap(p + ".u8", dtype=np.uint8, mode="r").reshape(len(lab), s, s)
            self.x += [(x, i) for i in range(len(lab))]
            self.labels += lab
            self.loaded += 1
            added = True
        return added

    def batch(self, idx):
        xs = np.stack([self.x[i][0][self.x[i][1]] for i in idx])
        return torch.from_numpy(xs).unsqueeze(1), [self.labels[i] for i in idx]


def targets(labels, h, w):
    """Heatmap (N x 1 x h x w), corner offsets and their mask (N x 8 x h x w, N x 1 x h x w)."""
    n = len(labels)
    heat = np.zeros((n, 1, h, w), np.float32)
    reg = np.zeros((n, 8, h, w), np.float32)
    mask = np.zeros((n, 1, h, w), np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    for k, quads in enumerate(labels):
        for q in quads:
            c = q.mean(0)
            j, i = int(c[0] // STRIDE), int(c[1] // STRIDE)
            if not (0 <= i < h and 0 <= j < w):
                continue
            pw = 0.5 * (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / STRIDE
            ph = 0.5 * (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / STRIDE
            sx, sy = max(0.8, pw / 6), max(0.8, ph / 4)
            g = np.exp(-((xs - j) ** 2) / (2 * sx * sx) - ((ys - i) ** 2) / (2 * sy * sy))
            heat[k, 0] = np.maximum(heat[k, 0], g)
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    ii, jj = i + di, j + dj
                    if 0 <= ii < h and 0 <= jj < w and (di == 0 and dj == 0 or mask[k, 0, ii, jj] == 0):
                        cx, cy = jj * STRIDE + 2.0, ii * STRIDE + 2.0
                        reg[k, :, ii, jj] = ((q - np.array([cx, cy])) / CORNER_UNIT).reshape(8)
                        mask[k, 0, ii, jj] = 1.0 if di == 0 and dj == 0 else 0.5
    return torch.from_numpy(heat), torch.from_numpy(reg), torch.from_numpy(mask)


def loss_fn(out, heat, reg, mask):
    p = torch.sigmoid(out[:, :1]).clamp(1e-4, 1 - 1e-4)
    pos = (heat > 0.999).float()
    npos = pos.sum().clamp(min=1)
    lp = -(torch.log(p) * (1 - p) ** 2 * pos).sum()
    ln = -(torch.log(1 - p) * p ** 2 * (1 - heat) ** 4 * (1 - pos)).sum()
    focal = (lp + ln) / npos
    l1 = (F.smooth_l1_loss(out[:, 1:], reg, reduction="none", beta=0.1) * mask).sum() / (mask.sum().clamp(min=1) * 8)
    return focal + 2.0 * l1, focal.item(), l1.item()


def decode(out, thr):
    """out: 9 x h x w -> list of (score, quad 4x2) in input pixels (no NMS)."""
    p = torch.sigmoid(out[0])
    peak = (p == F.max_pool2d(p[None, None], 3, 1, 1)[0, 0]) & (p > thr)
    res = []
    for i, j in peak.nonzero().tolist():
        q = out[1:, i, j].reshape(4, 2).numpy() * CORNER_UNIT + np.array([j * STRIDE + 2.0, i * STRIDE + 2.0])
        res.append((p[i, j].item(), q))
    return res


def box(q):
    return q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / u if u > 0 else 0


def evaluate(model, vx, vlabels, dev, frozen, thr=0.3, bs=32):
    """Recall at IoU >= 0.4 and false detections per crop (before NMS, at threshold thr)."""
    model.eval()
    found = total = false = 0
    with torch.no_grad():
        for s in range(0, len(vlabels), bs):
            out = model(normalize(vx[s:s + bs]).to(dev)).cpu()
            for k in range(out.shape[0]):
                gts = [box(q) for q in vlabels[s + k]]
                dets = [box(q) for _, q in decode(out[k], thr)]
                total += len(gts)
                found += sum(any(iou(g, d) >= 0.4 for d in dets) for g in gts)
                false += sum(not any(iou(g, d) >= 0.4 for g in gts) for d in dets)
    train_mode(model, frozen)
    return found / max(1, total), false / max(1, len(vlabels))


def strip_identity(path):
    import onnx
    m = onnx.load(path)
    g = m.graph
    outputs = {o.name for o in g.output}
    ident = [n for n in g.node if n.op_type == "Identity"]
    for n in ident:
        src, dst = n.input[0], n.output[0]
        if dst in outputs:
            for p in g.node:
                for i, o in enumerate(p.output):
                    if o == src:
                        p.output[i] = dst
                for i, inp in enumerate(p.input):
                    if inp == src:
                        p.input[i] = dst
        else:
            for p in g.node:
                for i, inp in enumerate(p.input):
                    if inp == dst:
                        p.input[i] = src
        g.node.remove(n)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return len(ident), sorted({n.op_type for n in g.node})


def export(model, path, ref_u8, ref_dir):
    model = model.cpu().eval()
    dummy = torch.zeros(1, 1, REF_H, REF_W)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    torch.onnx.export(model, dummy, path, opset_version=11, input_names=["input"],
                      output_names=["maps"], do_constant_folding=True)
    n, ops = strip_identity(path)
    print(f"exported {path} ({os.path.getsize(path)} bytes, {n} Identity nodes removed; ops {ops})", flush=True)
    with torch.no_grad():
        out = model(normalize(ref_u8)).numpy().astype(np.float32)
    os.makedirs(ref_dir, exist_ok=True)
    ref_u8.numpy().astype(np.uint8).tofile(os.path.join(ref_dir, "detector_input.u8"))
    out.tofile(os.path.join(ref_dir, "detector_output.f32"))


def train(args):
    dev = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    data = Chunks(args.train)
    data.refresh()
    if not data.labels:
        sys.exit(f"no training data at {args.train}-0")
    vlab = parse_labels(args.val + ".txt")
    vs = int(round(math.sqrt(os.path.getsize(args.val + ".u8") // len(vlab))))
    vx = torch.from_numpy(np.fromfile(args.val + ".u8", np.uint8).reshape(len(vlab), 1, vs, vs))
    batch = args.batch if dev.type == "cpu" else args.batch * 4
    print(f"device {dev}, train {len(data.labels)} samples ({data.loaded} chunks), val {len(vlab)}, batch {batch}", flush=True)
    model = Net(args.width)
    if args.init_onnx:
        init_from_onnx(model, args.init_onnx)
        print(f"initialised from {args.init_onnx} (BatchNorm statistics fixed)", flush=True)
    model = model.to(dev)
    frozen = bool(args.init_onnx)
    nparams = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    budget = args.minutes * 60
    step, wall0 = 0, 0.0
    ckpt = os.path.join(args.work, "ckpt.pt")
    if args.resume and os.path.exists(ckpt):
        st = torch.load(ckpt, map_location=dev)
        model.load_state_dict(st["model"])
        frozen = st.get("frozen", frozen)
        opt.load_state_dict(st["opt"])
        step, wall0 = st["step"], st["wall"]
        print(f"resumed at step {step}, {wall0 / 60:.1f} min", flush=True)

    def lr_at(frac):  # warm-up, then cosine over wall time (the CPUs are shared)
        if frac < 0.03:
            return args.lr * (0.1 + 0.9 * frac / 0.03)
        return args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, (frac - 0.03) / 0.97))))
    rng = np.random.default_rng(args.seed * 1000 + step)
    t0 = time.time()
    tlast, slast, run = t0, step, None
    hist = []
    train_mode(model, frozen)
    while wall0 + time.time() - t0 < budget:
        for pg in opt.param_groups:
            pg["lr"] = lr_at((wall0 + time.time() - t0) / budget)
        idx = rng.integers(0, len(data.labels), batch)
        xb, lb = data.batch(idx)
        # Random grey inversion and gain: plates are dark-on-light and light-on-dark.
        xb = normalize(xb)
        if rng.random() < 0.5:
            xb = xb * float(rng.uniform(0.6, 1.4))
        heat, reg, mask = targets(lb, xb.shape[2] // STRIDE, xb.shape[3] // STRIDE)
        out = model(xb.to(dev))
        loss, lf, lr1 = loss_fn(out, heat.to(dev), reg.to(dev), mask.to(dev))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        run = (lf, lr1) if run is None else (0.98 * run[0] + 0.02 * lf, 0.98 * run[1] + 0.02 * lr1)
        now = time.time()
        if now - tlast >= 30:
            sps = (step - slast) * batch / (now - tlast)
            print(f"step {step} {sps:.0f} samples/s focal {run[0]:.3f} corners {run[1]:.4f} "
                  f"lr {opt.param_groups[0]['lr']:.2e} ETA {(budget - wall0 - now + t0) / 60:.1f} min", flush=True)
            tlast, slast = now, step
        if step % 200 == 0:
            if data.refresh():
                print(f"step {step}: training data now {len(data.labels)} samples ({data.loaded} chunks)", flush=True)
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                        "wall": wall0 + now - t0, "width": args.width, "frozen": frozen}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
        if step % args.val_every == 0:
            r, fp = evaluate(model, vx, vlab, dev, frozen)
            hist.append((step, r, fp))
            print(f"step {step} val recall {r:.3f} false/crop {fp:.3f}", flush=True)
    wall = wall0 + time.time() - t0
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "wall": wall,
                "width": args.width, "frozen": frozen}, ckpt)
    r, fp = evaluate(model, vx, vlab, dev, frozen)
    print(f"final val recall {r:.3f} false/crop {fp:.3f} after {step} steps, {wall / 60:.1f} min", flush=True)
    export(model, args.onnx, vx[:2, :, :REF_H, :REF_W].clone(), args.refdir)
    with open(os.path.join(args.work, "result.json"), "w") as f:
        json.dump({"steps": step, "batch": batch, "samples_seen": step * batch, "train_samples": len(data.labels),
                   "val_samples": len(vlab), "val_recall": r, "val_false": fp, "wall_min": wall / 60,
                   "params": nparams, "seed": args.seed, "lr": args.lr, "device": dev.type,
                   "width": args.width, "history": hist,
                   "init": os.path.basename(args.init_onnx)}, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train")
    ap.add_argument("--val")
    ap.add_argument("--work", required=True)
    ap.add_argument("--minutes", type=float, default=50)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--width", type=float, default=1.0, help="channel multiplier")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--val-every", type=int, default=1000)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init-onnx", default="",
                    help="start from this exported detector (a fine-tune; its BatchNorms stay frozen)")
    ap.add_argument("--cpu", action="store_true", help="do not use CUDA even when present")
    ap.add_argument("--export-only", action="store_true", help="export the last checkpoint and exit")
    ap.add_argument("--onnx", default="")
    ap.add_argument("--refdir", default="")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    model_dir = os.path.join(args.work, "model")
    args.onnx = args.onnx or os.path.join(model_dir, "detector.onnx")
    args.refdir = args.refdir or os.path.join(model_dir, "testdata")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.export_only:
        st = torch.load(os.path.join(args.work, "ckpt.pt"), map_location="cpu")
        model = Net(st.get("width", 1.0))
        model.load_state_dict(st["model"])
        vx = torch.from_numpy(np.fromfile(args.val + ".u8", np.uint8))
        s = int(round(math.sqrt(vx.numel() // len(parse_labels(args.val + ".txt")))))
        vx = vx.reshape(-1, 1, s, s)
        print(f"checkpoint at step {st['step']}, {st['wall'] / 60:.1f} min", flush=True)
        export(model, args.onnx, vx[:2, :, :REF_H, :REF_W].clone(), args.refdir)
        return
    train(args)


if __name__ == "__main__":
    main()
