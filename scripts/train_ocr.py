#!/usr/bin/python3
"""Train the lprd plate recognizer (conv-only CTC) on synthetic plates.

Called by scripts/train-ocr, which generates the data with ocr/synth/gensynth.
Data: chunks PREFIX-K.u8 (N x 32 x 128 grey bytes) and PREFIX-K.txt (one label
a line), K = 0, 1, ...; chunks that appear during training are added.

Writes checkpoints to WORK/ckpt.pt (resumable with --resume), exports
WORK/model/recognizer.onnx (opset 11, Identity nodes removed, output raw logits
1 x C x 1 x T) and a reference input/output pair for the Go tests
(WORK/model/testdata). It never writes the committed ocr/models files unless
--onnx, --refdir or --readme name them; scripts/train-ocr --replace-model
copies a run's model there.
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

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
H, W, T = 32, 128, 32
MIN_STD = 8.0


def conv(cin, cout, k=3, pad=1, stride=1):
    return [nn.Conv2d(cin, cout, k, padding=pad, stride=stride, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True)]


class Net(nn.Module):
    """Conv-only CTC recognizer: 1x32x128 -> C x 1 x 32."""

    def __init__(self, classes=len(ALPHABET) + 1):
        super().__init__()
        self.body = nn.Sequential(
            *conv(1, 32, stride=2),                     # 16 x 64 (a strided first layer trains ~5x faster here)
            *conv(32, 64), nn.MaxPool2d(2),             # 8 x 32
            *conv(64, 96), *conv(96, 96), nn.MaxPool2d((2, 1)),      # 4 x 32
            *conv(96, 128), *conv(128, 128), nn.MaxPool2d((2, 1)),   # 2 x 32
            *conv(128, 192, k=(2, 3), pad=(0, 1)),      # 1 x 32
            nn.Dropout(0.1),
            nn.Conv2d(192, classes, 1),
        )

    def forward(self, x):
        return self.body(x)  # N x C x 1 x T


def normalize(u8):
    """Same as models.Normalize in Go: per-image zero mean, unit std."""
    x = u8.float()
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    s = x.std(dim=(1, 2, 3), keepdim=True, unbiased=False).clamp(min=MIN_STD)
    return (x - m) / s


def encode(labels):
    targets, lengths = [], []
    for l in labels:
        idx = [ALPHABET.index(c) + 1 for c in l]
        targets.extend(idx)
        lengths.append(len(idx))
    return torch.tensor(targets, dtype=torch.long), torch.tensor(lengths, dtype=torch.long)


def greedy(logits):
    """logits N x C x 1 x T -> list of strings."""
    best = logits[:, :, 0, :].argmax(1).numpy()
    out = []
    for row in best:
        s, prev = [], 0
        for k in row:
            if k != prev and k != 0:
                s.append(ALPHABET[k - 1])
            prev = k
        out.append("".join(s))
    return out


def load(prefix):
    x = np.fromfile(prefix + ".u8", dtype=np.uint8)
    with open(prefix + ".txt") as f:
        labels = [l.strip() for l in f]
    n = len(labels)
    x = x[: n * H * W].reshape(n, 1, H, W)
    # An empty label is a crop of no plate (lprlab gencrops' negatives): CTC then
    # teaches all-blank, which the reader drops as too short.
    keep = [i for i, l in enumerate(labels) if len(l) <= 12]
    return torch.from_numpy(x[keep]), [labels[i] for i in keep]


class Chunks:
    """Training data in chunks PREFIX-0, PREFIX-1, ... that a generator may
    still be writing: a chunk counts once its .txt exists (written last)."""

    def __init__(self, prefix):
        self.prefix, self.loaded = prefix, 0
        self.x, self.labels = None, []

    def refresh(self):
        added = False
        while os.path.exists(f"{self.prefix}-{self.loaded}.txt"):
            x, l = load(f"{self.prefix}-{self.loaded}")
            self.x = x if self.x is None else torch.cat([self.x, x])
            self.labels += l
            self.loaded += 1
            added = True
        return added


def predict(model, x, bs=256):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), bs):
            out += greedy(model(normalize(x[i:i + bs])))
    return out


def evaluate(model, x, labels, bs=256):
    ok = sum(p == l for p, l in zip(predict(model, x, bs), labels))
    return ok / max(1, len(labels))


def evaluate_crops(model, x, labels):
    """Crops cut by the reader (lprlab gencrops): exact reads of the plate crops and
    the share of no-plate crops read as fewer than 4 characters (which the reader
    drops)."""
    pred = predict(model, x)
    pos = [(p, l) for p, l in zip(pred, labels) if l]
    neg = [p for p, l in zip(pred, labels) if not l]
    return (sum(p == l for p, l in pos) / max(1, len(pos)),
            sum(len(p) < 4 for p in neg) / max(1, len(neg)), len(pos), len(neg))


def strip_identity(path):
    import onnx
    m = onnx.load(path)
    g = m.graph
    outputs = {o.name for o in g.output}
    ident = [n for n in g.node if n.op_type == "Identity"]
    for n in ident:
        src, dst = n.input[0], n.output[0]
        if dst in outputs:
            # keep graph output name: rename the producer's output instead
            for p in g.node:
                for i, o in enumerate(p.output):
                    if o == src:
                        p.output[i] = dst
            for p in g.node:
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
    return len(ident)


def export(model, path, ref_x, ref_dir):
    model.eval()
    dummy = torch.zeros(1, 1, H, W)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    torch.onnx.export(model, dummy, path, opset_version=11, input_names=["input"],
                      output_names=["logits"], do_constant_folding=True)
    n = strip_identity(path)
    print(f"exported {path} ({os.path.getsize(path)} bytes, {n} Identity nodes removed)", flush=True)
    # Reference pair for the Go test: raw prepared images and the logits.
    with torch.no_grad():
        out = model(normalize(ref_x)).numpy().astype(np.float32)
    os.makedirs(ref_dir, exist_ok=True)
    ref_x.numpy().astype(np.uint8).tofile(os.path.join(ref_dir, "reference_input.u8"))
    out.tofile(os.path.join(ref_dir, "reference_logits.f32"))


CARD = """# Plate recognizer model card

`recognizer.onnx` is embedded in the lprd binary (`embed.go`) and run through OpenCV 4.6 DNN by
`ocr.Recognizer`. It was produced by `scripts/train-ocr{mode_flag}`; `scripts/train-ocr --replace-model` rewrites this file.

## Network
- Conv-only CTC recognizer, {params} parameters: 7 conv 3x3/2x3 + BatchNorm + ReLU layers
  (32-64-96-96-128-128-192 channels; the first with stride 2, then max-pooling 2x2, 2x1, 2x1),
  dropout 0.1, a 1x1 conv to 37 classes. Input 1x1x32x128 float (grey crop resized with area interpolation, then per-image
  zero mean / unit standard deviation, see `models.Normalize`); output raw logits 1x37x1x32
  (class 0 = CTC blank, class i = `0-9A-Z`[i-1]), decoded in Go (`ocr/ctc`).
- Exported with opset 11, Identity nodes removed; `scripts/train-ocr` checks that gocv's logits equal
  PyTorch's on a fixed batch (`ocr/models/testdata`, `TestReference`).
- Run quantized to 8-bit integers by default (`ocr.RecognizerOptions.FP32` keeps 32-bit floats): OpenCV's
  `Net::quantize` at load, activations calibrated on `recognizer_calib.u8` (64 reader crops of rendered frames);
  `TestRecognizerQuantized` checks that it reads rendered plates as the 32-bit network does.
- Why conv-only: a CRNN trains 3x slower on these 2-core machines and runs slower through gocv.
  Why a strided first layer: with a full-resolution first layer the network trained at under 60
  samples/s, with stride 2 at about 240 samples/s on an idle machine, for the same parameters;
  the receptive field of the last layer (about 50 px of 128) spans two to three characters,
  enough for CTC on plates.

## Data
- Synthetic only (`ocr/synth`, rendered by `ocr/synth/gensynth`, sample i uses seed i; validation
  seeds from 1000000000): {train_samples} training crops, {val_samples} validation crops. US layouts
  (banner, slogan, gradients, graphics, stickers, bolts, dealer frames, icons between groups,
  stacked side text, 2-8 characters with spaces or dashes; 40 % vanity-like texts with a letter
  or a digit at every position, so that the network learns glyphs rather than where formats put
  letters) and Mexican ones; 40 % of plate texts in stroke faces (`ocr/synth/strokefont.go`:
  narrow uniform-stroke DMV-style lettering: bare-stick, flagged and based 1, flat-based 2, stadium 0,
  closed and open 4), 30 % in highway and signage faces from Debian packages (Highway Gothic
  series B-D of fonts-roadgeek, National Park, Bebas Neue, DIN, PT Sans Narrow, Yanone Kaffeesatz:
  flat-topped 3, stadium 0 and O, narrow 8), the rest in gofont plus Debian condensed and bold
  sans faces; stacked characters, pictograms or frame edges (thinner and taller than the
  characters) right beside the text (not in the label) on 40 %; photographed
  with perspective, rotation, 70-320 px widths, blur,
  noise, uneven light, shadows, glare, colour loss, JPEG; 65 % whole-plate crops with loose or
  tight margins, 35 % text-band crops with random margins that include banner fragments.
- {crops_line}
- The real dev crops (`openalpr-dev/plates-us`) are used for measuring only.

## Training ({mode} mode)
- {init_line}
- Seed {seed}, AdamW lr {lr}, weight decay 1e-4, batch {batch}, a warm-up and cosine schedule over
  wall time ({wall_min:.1f} min of training, {steps} steps, {samples_seen} samples seen),
  {total_min:.0f} min for the whole script including data generation, on 2 shared CPU cores.

{history}
## Scores
- Synthetic validation, exact match (greedy): {val_acc:.1%}
- {crops_score_line}
- Real dev crops (`plates-us`, `ocr.Recognizer` with default options: the whole crop, and on a
  confidence under 0.9 also the trimmed crop and the text band, their candidates merged):

```
{scores}
```
"""


def write_card(args):
    with open(os.path.join(args.work, "result.json")) as f:
        r = json.load(f)
    scores = ""
    if args.scores and os.path.exists(args.scores):
        scores = open(args.scores).read().strip()
    history = ""
    if args.history and os.path.exists(args.history):
        history = open(args.history).read().strip() + "\n"
    if r.get("crops_train"):
        crops_line = (f"Reader crops (`lprlab gencrops`): {r['crops_train']} crops that the reader's own detector "
                      "(classical) and rectifier cut out of rendered frames (rendered US and Mexican plates of known "
                      "text over the training rides of scenes-ro and in synthetic lanes, at 0.7-1.5 times 720p, "
                      "under the detector composites' looks), labelled with the text of the plate each overlaps "
                      "(IoU >= 0.4); 10 % are regions of no plate, labelled empty (all blank); partial overlaps are "
                      f"skipped. {r['crops_share']:.0%} of every batch.")
    else:
        crops_line = "No reader crops in this run."
    if "crops_acc" in r:
        crops_score_line = (f"Reader crops, validation (frames over the held-out rides): plates read exactly "
                            f"{r['crops_acc']:.1%} of {r['crops_val']}, no-plate regions read as fewer than 4 "
                            f"characters {r['crops_neg_dropped']:.1%} of {r['crops_val_neg']}")
    else:
        crops_score_line = "Reader crops not scored."
    init_line = (f"Fine-tuned from `{r['init']}` (BatchNorm statistics fixed)." if r.get("init")
                 else "From random weights.")
    r.update(crops_line=crops_line, crops_score_line=crops_score_line, init_line=init_line)
    r.update(mode=args.mode, mode_flag=" --quick" if args.mode == "quick" else "", history=history,
             total_min=args.total_min, scores=scores or "(dev crops not scored: scripts/train-ocr --dev-crops DIR)")
    os.makedirs(os.path.dirname(args.readme) or ".", exist_ok=True)
    with open(args.readme, "w") as f:
        f.write(CARD.format(**r))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train")
    ap.add_argument("--val")
    ap.add_argument("--work", required=True)
    ap.add_argument("--card", action="store_true", help="only write the model card")
    ap.add_argument("--export-only", action="store_true",
                    help="export the last checkpoint (e.g. while a run is still training) and exit")
    ap.add_argument("--average", nargs="+", default=[],
                    help="with --export-only: export the average of these checkpoints' weights")
    ap.add_argument("--scores", default="")
    ap.add_argument("--total-min", type=float, default=0)
    ap.add_argument("--mode", default="full")
    ap.add_argument("--history", default="", help="file with the training history to put in the card")
    ap.add_argument("--readme", default="", help="model card to write (default WORK/model/README.md)")
    ap.add_argument("--minutes", type=float, default=60, help="training time budget (wall, incl. resumed time)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--onnx", default="", help="ONNX file to export (default WORK/model/recognizer.onnx)")
    ap.add_argument("--refdir", default="", help="reference pair folder (default WORK/model/testdata)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--busy-file", default="",
                    help="while this file exists (a data generator is running), train on one thread: two "
                         "threads on a core shared with the generator train several times slower")
    ap.add_argument("--init-onnx", default="",
                    help="start from this exported recognizer (a fine-tune; implies --freeze-bn)")
    ap.add_argument("--freeze-bn", action="store_true", help="BatchNorm statistics stay fixed while training")
    ap.add_argument("--crops", default="",
                    help="chunks PREFIX-K of crops cut by the reader (lprlab gencrops), mixed into every batch")
    ap.add_argument("--crops-share", type=float, default=0.5, help="share of each batch drawn from --crops")
    ap.add_argument("--val-crops", default="", help="validation crops cut by the reader (lprlab gencrops -val)")
    args = ap.parse_args()
    # A run writes into its work folder; replacing the committed model is a
    # separate, explicit step (scripts/train-ocr --replace-model).
    model_dir = os.path.join(args.work, "model")
    args.onnx = args.onnx or os.path.join(model_dir, "recognizer.onnx")
    args.refdir = args.refdir or os.path.join(model_dir, "testdata")
    args.readme = args.readme or os.path.join(model_dir, "README.md")

    if args.card:
        write_card(args)
        return
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if args.export_only:
        vx, vlabels = load(args.val)
        model = Net()
        st = torch.load(os.path.join(args.work, "ckpt.pt"))
        if args.average:
            # Weight averaging over the end of a run (as in SWA) smooths out
            # the step-to-step swings in how well synthetic training transfers.
            sds = [torch.load(p)["model"] for p in args.average]
            avg = {}
            for k, v in sds[-1].items():
                avg[k] = sum(sd[k].float() for sd in sds) / len(sds) if v.is_floating_point() else v
            st["model"] = avg
            print(f"averaging {len(sds)} checkpoints", flush=True)
        model.load_state_dict(st["model"])
        print(f"checkpoint at step {st['step']}, {st['wall'] / 60:.1f} min: val acc "
              f"{evaluate(model, vx, vlabels):.4f}", flush=True)
        export(model, args.onnx, vx[:4].clone(), args.refdir)
        return
    data = Chunks(args.train)
    data.refresh()
    if not data.labels:
        sys.exit(f"no training data at {args.train}-0")
    vx, vlabels = load(args.val)
    print(f"train {len(data.labels)} samples ({data.loaded} chunks), val {len(vlabels)}", flush=True)
    crops = None
    if args.crops:
        crops = Chunks(args.crops)
        crops.refresh()
        if not crops.labels:
            sys.exit(f"no reader crops at {args.crops}-0")
        print(f"reader crops {len(crops.labels)} ({sum(not l for l in crops.labels)} of no plate), "
              f"{args.crops_share:.0%} of each batch", flush=True)
    cx, clabels = load(args.val_crops) if args.val_crops else (None, None)

    def report(tag):
        line = f"{tag} val acc {evaluate(model, vx, vlabels):.4f}"
        if cx is not None:
            acc, rej, npos, nneg = evaluate_crops(model, cx, clabels)
            line += f", reader crops: plates read {acc:.4f} of {npos}, no-plate crops dropped {rej:.4f} of {nneg}"
        print(line, flush=True)
        train_mode(model, args.freeze_bn)

    model = Net()
    if args.init_onnx:
        init_from_onnx(model, args.init_onnx)
        args.freeze_bn = True
        print(f"initialised from {args.init_onnx}", flush=True)

    nparams = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    budget = args.minutes * 60

    def lr_at(frac):
        # The schedule follows wall time, not steps, because the CPUs are
        # shared and the throughput is not known in advance.
        if frac < 0.04:
            return args.lr * (0.1 + 0.9 * frac / 0.04)
        f = min(1.0, (frac - 0.04) / 0.96)
        return args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * f)))
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    step, wall0 = 0, 0.0
    ckpt = os.path.join(args.work, "ckpt.pt")
    if args.resume and os.path.exists(ckpt):
        st = torch.load(ckpt)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step, wall0 = st["step"], st["wall"]
        print(f"resumed at step {step}", flush=True)

    def set_threads():
        n = 1 if args.busy_file and os.path.exists(args.busy_file) else args.threads
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
            print(f"step {step}: training on {n} thread(s)", flush=True)
    set_threads()
    g = torch.Generator().manual_seed(args.seed * 1000 + step)
    t0 = time.time()
    tlast, slast = t0, step
    run_loss, run_acc = None, None
    if step == 0 and (args.init_onnx or cx is not None):
        report("start:")
    train_mode(model, args.freeze_bn)
    nc = int(round(args.batch * args.crops_share)) if crops else 0
    while wall0 + time.time() - t0 < budget:
        lr = lr_at((wall0 + time.time() - t0) / budget)
        for pg in opt.param_groups:
            pg["lr"] = lr
        idx = torch.randint(0, len(data.labels), (args.batch - nc,), generator=g)
        xb = data.x[idx]
        lb = [data.labels[i] for i in idx.tolist()]
        if nc:
            ci = torch.randint(0, len(crops.labels), (nc,), generator=g)
            xb = torch.cat([xb, crops.x[ci]])
            lb += [crops.labels[i] for i in ci.tolist()]
        xb = normalize(xb)
        tg, tl = encode(lb)
        out = model(xb)  # N C 1 T
        lp = F.log_softmax(out[:, :, 0, :], dim=1).permute(2, 0, 1)  # T N C
        loss = ctc(lp, tg, torch.full((args.batch,), T, dtype=torch.long), tl)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        acc = sum(p == l for p, l in zip(greedy(out.detach()), lb)) / args.batch
        run_loss = loss.item() if run_loss is None else 0.98 * run_loss + 0.02 * loss.item()
        run_acc = acc if run_acc is None else 0.98 * run_acc + 0.02 * acc
        now = time.time()
        if now - tlast >= 30:
            sps = (step - slast) * args.batch / (now - tlast)
            eta = budget - (wall0 + now - t0)
            print(f"step {step} {sps:.0f} samples/s loss {run_loss:.3f} acc {run_acc:.3f} "
                  f"lr {lr:.2e} seen {step * args.batch} ETA {eta / 60:.1f} min", flush=True)
            tlast, slast = now, step
        if step % 500 == 0:
            if data.refresh():
                print(f"step {step}: training data now {len(data.labels)} samples ({data.loaded} chunks)", flush=True)
            set_threads()
            if crops and crops.refresh():
                print(f"step {step}: reader crops now {len(crops.labels)} ({crops.loaded} chunks)", flush=True)
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                        "step": step, "wall": wall0 + now - t0}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
        if step % 3000 == 0:
            report(f"step {step}")
    wall = wall0 + time.time() - t0
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "wall": wall}, ckpt)
    val_acc = evaluate(model, vx, vlabels)
    print(f"final val acc {val_acc:.4f} after {step} steps, {wall / 60:.1f} min", flush=True)
    crop_scores = {}
    if cx is not None:
        acc, rej, npos, nneg = evaluate_crops(model, cx, clabels)
        print(f"final reader crops: plates read {acc:.4f} of {npos}, no-plate crops dropped {rej:.4f} of {nneg}", flush=True)
        crop_scores = {"crops_acc": acc, "crops_neg_dropped": rej, "crops_val": npos, "crops_val_neg": nneg}
    export(model, args.onnx, vx[:4].clone(), args.refdir)
    with open(os.path.join(args.work, "result.json"), "w") as f:
        json.dump({"steps": step, "batch": args.batch, "samples_seen": step * args.batch,
                   "train_samples": len(data.labels), "val_samples": len(vlabels), "val_acc": val_acc,
                   "wall_min": wall / 60, "params": nparams, "seed": args.seed, "lr": args.lr,
                   "init": os.path.basename(args.init_onnx), "crops_share": args.crops_share if crops else 0,
                   "crops_train": len(crops.labels) if crops else 0, **crop_scores}, f)


if __name__ == "__main__":
    main()
