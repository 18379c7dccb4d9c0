#!/usr/bin/env python3
"""How far PyTorch's own float32 runs of an oracle case stand from float64.

The oracle (testdata/ORACLE.md) is PyTorch in float64. A float32 pipeline
cannot be held closer to it than float32 PyTorch itself is, and on the
chaotic cases (L-BFGS, tiny_seed's Adam) that distance is large. This
script rebuilds a case from its metadata, checks that its float64 run
reproduces the stored oracle, then runs it in float32 several times, each
from x0 scaled by (1 + s u) with u uniform in [-1, 1], for each scale s of
--scales: 1e-7 is float32's own rounding of x0; 3e-6 is the norm-wise
error of stylize's least exact kernel, Winograd F(4x4,3x3), against its
float64 twin (TestConv3x3WinogradMatchesTwin), the difference a different
summation order makes. It prints per optimizer the worst relative loss
distance at each step and the final image's max abs and norm-wise
distances (unclamped: L-BFGS does not clip), as JSON. The tests read it
from testdata/CASE.f32.json (package internal/oracle).

Usage: OMP_NUM_THREADS=2 python3 testdata/gen/f32_distance.py testdata/CASE.safetensors --runs 32 > testdata/CASE.f32.json
"""
import argparse
import json
import struct

import torch
import torch.nn.functional as F

MEAN_BGR = [103.939, 116.779, 123.68]
BLOCKS = [2, 2, 4, 4, 4]


def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    meta = json.loads(head.pop("__metadata__")["oracle"])
    dt = {"F32": torch.float32, "F64": torch.float64}
    out = {}
    for k, v in head.items():
        a, b = v["data_offsets"]
        out[k] = torch.frombuffer(bytearray(body[a:b]), dtype=dt[v["dtype"]]).reshape(v["shape"]).clone()
    return meta, out


def layer_names():
    names = []
    for b, n in enumerate(BLOCKS, 1):
        names += ["relu%d_%d" % (b, k) for k in range(1, n + 1)] + ["pool%d" % b]
    return names


def features(x, convs, pooling, wanted):
    """The wanted layers' activations of the [3,H,W] RGB image x."""
    mean = torch.tensor(MEAN_BGR, dtype=x.dtype).view(3, 1, 1)
    h = (x.flip(0) * 255 - mean).unsqueeze(0)
    out, i = {}, 0
    for name in layer_names():
        if len(out) == len(wanted):
            break
        if name.startswith("pool"):
            h = F.max_pool2d(h, 2) if pooling == "max" else F.avg_pool2d(h, 2)
            continue
        w, b = convs[i]
        i += 1
        h = F.relu(F.conv2d(h, w, b, padding=1))
        if name in wanted:
            out[name] = h[0]
    return out


def gram(f):
    c, hw = f.shape[0], f.shape[1] * f.shape[2]
    f = f.reshape(c, hw)
    return f @ f.t() / hw


def case(meta, t, dtype):
    convs, i = [], 0
    for _ in range(16):
        while "features.%d.weight" % i not in t:
            i += 1
        convs.append((t["features.%d.weight" % i].to(dtype), t["features.%d.bias" % i].to(dtype)))
        i += 1
    cl, sl = meta["content_layers"], meta["style_layers"]
    content = t["content"].to(dtype)
    P = {k: v.detach() for k, v in features(content, convs, meta["pooling"], set(cl)).items()}
    A = {l: 0 for l in sl}
    for j, b in enumerate(meta["style_blend"]):
        fs = features(t["style.%d" % j].to(dtype), convs, meta["pooling"], set(sl))
        for l in sl:
            A[l] = A[l] + b * gram(fs[l]).detach()
    cw, sw, tw = meta["content_weight"], meta["style_weight"], meta["tv_weight"]

    def loss(x):
        fs = features(x, convs, meta["pooling"], set(cl) | set(sl))
        c = sum(((fs[l] - P[l]) ** 2).mean() for l in cl) * cw / len(cl)
        s = sum(((gram(fs[l]) - A[l]) ** 2).mean() for l in sl) * sw / len(sl)
        tv = tw * (((x[:, 1:, :] - x[:, :-1, :]) ** 2).mean() + ((x[:, :, 1:] - x[:, :, :-1]) ** 2).mean())
        return c + s + tv

    return content, loss


def adam(meta, x0, loss):
    a = meta["adam"]
    x = x0.clone().requires_grad_(True)
    m, v, losses = torch.zeros_like(x), torch.zeros_like(x), []
    for step in range(1, meta["steps"] + 1):
        l = loss(x)
        losses.append(l.item())
        g, = torch.autograd.grad(l, x)
        with torch.no_grad():
            m += (g - m) * (1 - a["beta1"])
            v += (g * g - v) * (1 - a["beta2"])
            alpha = a["lr"] * (1 - a["beta2"] ** step) ** 0.5 / (1 - a["beta1"] ** step)
            x -= alpha * m / (v.sqrt() + a["epsilon"])
            x.clamp_(0, 1)
    return losses, x.detach()


def lbfgs(meta, x0, loss):
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=meta["steps"], history_size=meta["lbfgs_history"],
                            tolerance_grad=-1, tolerance_change=-1, line_search_fn=None)
    losses = []

    def closure():
        opt.zero_grad()
        l = loss(x)
        l.backward()
        losses.append(l.item())
        return l

    opt.step(closure)
    return losses[:meta["steps"]], x.detach()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("--runs", type=int, default=8, help="runs per scale")
    ap.add_argument("--scales", default="1e-7,3e-6", help="relative perturbations of x0")
    args = ap.parse_args()
    meta, t = load(args.case)
    x64, loss64 = case(meta, t, torch.float64)
    x32, loss32 = case(meta, t, torch.float32)
    scales = [float(v) for v in args.scales.split(",")]
    report = {"case": meta["case"], "runs": args.runs * len(scales), "scales": scales}
    for name, opt in (("adam", adam), ("lbfgs", lbfgs)):
        l64, img64 = opt(meta, x64, loss64)
        ref = t["ref.%s.loss" % name].tolist()
        self_err = max(abs(a - b) / abs(b) for a, b in zip(l64, ref))
        img_err = (img64 - t["ref.%s.image" % name]).abs().max().item()
        assert self_err < 1e-9 and img_err < 1e-9, (name, self_err, img_err)
        worst = [0.0] * len(ref)
        img = img_rel = 0.0
        ref_img = t["ref.%s.image" % name]
        g = torch.Generator().manual_seed(1)
        for r in range(args.runs * len(scales)):
            s = scales[r % len(scales)]
            u = torch.rand(x32.shape, generator=g, dtype=torch.float64) * 2 - 1
            x0 = x32 if r == 0 else (x64 * (1 + s * u)).to(torch.float32)
            l32, img32 = opt(meta, x0, loss32)
            for k, (a, b) in enumerate(zip(l32, ref)):
                worst[k] = max(worst[k], abs(a - b) / abs(b))
            img = max(img, (img32.double() - ref_img).abs().max().item())
            img_rel = max(img_rel, ((img32.double() - ref_img).norm() / ref_img.norm()).item())
        report[name] = {"float64_reproduces_oracle": self_err, "loss_rel_per_step": worst, "image_max_abs": img,
                        "image_norm_rel": img_rel}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
