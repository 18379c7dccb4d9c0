#!/usr/bin/env python3
"""PyTorch reference for `stylize bench`.

Runs the same Gatys iteration as stylize's engine with the seed's settings
- VGG19 features up to relu5_2 (max pooling, Caffe preprocessing), style
  at relu1_1..relu5_1, content at relu5_2;
- Gram = F F^T / (h*w); style loss (1e-2 / 5) * sum mean((G - A)^2);
  content loss (1e4 / 1) * mean((F - P)^2);
- the gradient with respect to the image only (the weights are frozen);
- Keras-form Adam (lr 0.02, b1 0.99, b2 0.999, eps 0.1) and a clip to [0, 1]
in strict fp32 (TF32 off for matmul and cuDNN) and, on CUDA, in TF32, and
prints a report in the same JSON schema as `stylize bench -json`
(stylize-bench/1), so that `stylize bench -compare pytorch.json` gives the
ratio per matching row (iteration/512, conv3x3.forward/relu1_2/512, ...).

Times are CUDA events on a GPU and perf_counter on the CPU: the median, min
and max of up to --reps samples after --warmup, a row stopping once its
samples pass --row-time seconds, as stylize does.

Examples:
  python3 bench/pytorch_ref.py --json > bench/results/h100-pytorch.json
  python3 bench/pytorch_ref.py --device cpu --sizes 64 --reps 2 --op-size 64
"""

import time

T0 = time.perf_counter()  # before torch's import: startup counts from here

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

SCHEMA = "stylize-bench/1"
WIDTHS = [64, 128, 256, 512, 512]
BLOCKS = [2, 2, 4, 4, 4]
STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
CONTENT_LAYERS = ["relu5_2"]
DEEPEST = "relu5_2"
CONTENT_WEIGHT, STYLE_WEIGHT = 1e4, 1e-2
LR, BETA1, BETA2, EPS = 0.02, 0.99, 0.999, 0.1
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def layer_table():
    """VGG19 up to DEEPEST: (name, kind, cin, cout) with kind conv or pool."""
    out, cin = [], 3
    for b, n in enumerate(BLOCKS):
        for k in range(1, n + 1):
            name = "relu%d_%d" % (b + 1, k)
            out.append((name, "conv", cin, WIDTHS[b]))
            cin = WIDTHS[b]
            if name == DEEPEST:
                return out
        out.append(("pool%d" % (b + 1), "pool", cin, cin))
    return out


LAYERS = layer_table()


def iteration_conv_flops(h, w):
    """Conv FLOPs of one iteration: every conv to relu5_2, forward and
    backward_input (as stylize's bench.IterationConvFLOPs)."""
    total = 0.0
    for _, kind, cin, cout in LAYERS:
        if kind == "pool":
            h, w = h // 2, w // 2
        else:
            total += 2 * (2 * 9 * cin * cout * h * w)
    return total


def make_weights(source, device, seed):
    """Frozen conv weights: He-initialised like weights.Synthetic, or
    torchvision's trained VGG19 when asked for and installed."""
    convs = []
    if source == "torchvision":
        import torchvision  # noqa: F401  (only when asked for)

        try:
            m = torchvision.models.vgg19(weights="IMAGENET1K_V1")
        except TypeError:  # torchvision < 0.13
            m = torchvision.models.vgg19(pretrained=True)
        mods = [x for x in m.features if isinstance(x, torch.nn.Conv2d)]
        n = sum(1 for _, k, _, _ in LAYERS if k == "conv")
        for c in mods[:n]:
            convs.append((c.weight.detach().to(device).float(), c.bias.detach().to(device).float()))
        return convs
    g = torch.Generator().manual_seed(seed)
    first = True
    for _, kind, cin, cout in LAYERS:
        if kind != "conv":
            continue
        std = math.sqrt(2.0 / (9 * cin))
        if first:
            std /= 128  # Caffe inputs span about +-128
            first = False
        wt = torch.randn(cout, cin, 3, 3, generator=g) * std
        bs = torch.randn(cout, generator=g) * 0.01
        convs.append((wt.to(device), bs.to(device)))
    return convs


def preprocess(x):
    """Caffe: RGB in [0,1] -> BGR x 255 - mean."""
    mean = torch.tensor(CAFFE_MEAN_BGR, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return x[:, [2, 1, 0]] * 255.0 - mean


def features(x, convs, want):
    out, h, i = {}, preprocess(x), 0
    for name, kind, _, _ in LAYERS:
        if kind == "pool":
            h = F.max_pool2d(h, 2)
        else:
            wt, bs = convs[i]
            i += 1
            h = F.relu(F.conv2d(h, wt, bs, padding=1))
        if name in want:
            out[name] = h
    return out


def gram(f):
    _, c, h, w = f.shape
    m = f.reshape(c, h * w)
    return m @ m.t() / (h * w)


class Engine:
    """One image size: targets once, then iterations of forward, losses,
    backward to the image, Keras Adam and the clip."""

    def __init__(self, convs, size, device, seed):
        g = torch.Generator().manual_seed(seed + 1)
        content = torch.rand(1, 3, size, size, generator=g).to(device)
        g = torch.Generator().manual_seed(seed + 2)
        style = torch.rand(1, 3, size, size, generator=g).to(device)
        self.convs = convs
        with torch.no_grad():
            self.P = {k: v.clone() for k, v in features(content, convs, set(CONTENT_LAYERS)).items()}
            self.A = {k: gram(v) for k, v in features(style, convs, set(STYLE_LAYERS)).items()}
        self.x = content.clone()
        self.m = torch.zeros_like(self.x)
        self.v = torch.zeros_like(self.x)
        self.t = 0
        self.want = set(STYLE_LAYERS) | set(CONTENT_LAYERS)

    def step(self):
        x = self.x.detach().requires_grad_(True)
        f = features(x, self.convs, self.want)
        ws = STYLE_WEIGHT / len(STYLE_LAYERS)
        wc = CONTENT_WEIGHT / len(CONTENT_LAYERS)
        loss = sum(((gram(f[l]) - self.A[l]) ** 2).mean() for l in STYLE_LAYERS) * ws
        loss = loss + sum(((f[l] - self.P[l]) ** 2).mean() for l in CONTENT_LAYERS) * wc
        (grad,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            self.t += 1
            t = self.t
            self.m.add_((grad - self.m) * (1 - BETA1))
            self.v.add_((grad * grad - self.v) * (1 - BETA2))
            alpha = LR * math.sqrt(1 - BETA2**t) / (1 - BETA1**t)
            xn = self.x - alpha * self.m / (self.v.sqrt() + EPS)
            self.x = xn.clamp_(0.0, 1.0)
        return loss


class Timer:
    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def time(self, fn, n=1):
        """ms per call of fn, over n back-to-back calls."""
        if self.cuda:
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record()
            for _ in range(n):
                fn()
            b.record()
            b.synchronize()
            return a.elapsed_time(b) / n
        t = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t) * 1e3 / n


def new_row(name, kind, size, shape):
    return {"name": name, "kind": kind, "size": size, "shape": shape,
            "ms_median": None, "ms_min": None, "ms_max": None, "gflop": None, "tflops": None,
            "gbs": None, "pct_peak": None, "bound": "", "reps": 0, "mem_bytes": None,
            "skipped": False, "reason": ""}


def median(s):
    s = sorted(s)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


class Bench:
    def __init__(self, args, device):
        self.args, self.device = args, device
        self.timer = Timer(device)
        self.rows = []
        self.peak_fma = {}  # precision -> GFLOP/s of the best of SGEMM and conv
        self.bw = None
        self.cold = None  # (precision, size, engine, ms of its first iteration)
        self.convs = None

    def log(self, line):
        print(line, file=sys.stderr if self.args.json else sys.stdout, flush=True)

    def sample(self, fn, n=1):
        for _ in range(self.args.warmup):
            self.timer.time(fn, n)
        out, total = [], 0.0
        for _ in range(self.args.reps):
            ms = self.timer.time(fn, n)
            out.append(ms)
            total += ms * n
            if total >= self.args.row_time * 1e3:
                break
        return out

    def finish(self, row, samples, flops=0.0, nbytes=0.0, peak=None, emit=True):
        row["ms_median"], row["ms_min"], row["ms_max"] = median(samples), min(samples), max(samples)
        row["reps"] = len(samples)
        sec = row["ms_median"] / 1e3
        if flops:
            row["gflop"] = flops / 1e9
            row["tflops"] = flops / 1e12 / sec
            row["bound"] = "flop"
            if peak:
                row["pct_peak"] = 100 * (flops / 1e9 / sec) / peak
        if nbytes:
            row["gbs"] = nbytes / 1e9 / sec
            if not flops:
                row["bound"] = "memory"
                if peak:
                    row["pct_peak"] = 100 * row["gbs"] / peak
        if emit:
            self.emit(row)

    def emit(self, row):
        self.rows.append(row)
        if row["skipped"]:
            self.log("%-35s %-26s skipped: %s" % (row["name"], row["shape"], row["reason"]))
            return

        def f(v, p=4):
            return "-" if v is None else ("%.*g" % (p, v))

        self.log("%-35s %-26s %10s %10s %10s %9s %9s %8s %6s" % (
            row["name"], row["shape"], f(row["ms_median"]), f(row["ms_min"]), f(row["ms_max"]),
            f(row["gflop"]), f(row["tflops"], 3), f(row["gbs"], 3),
            "-" if row["pct_peak"] is None else "%.1f" % row["pct_peak"]))

    def set_precision(self, prec):
        tf32 = prec == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32

    def peaks(self):
        """The best of a large SGEMM and a large 3x3 conv (a lower bound of
        the FMA peak: PyTorch has no FMA microkernel), per precision, and a
        device-to-device copy."""
        self.log("# roofline: SGEMM and conv3x3 (lower bounds of the FMA peak) and a device copy")
        cuda = self.device.type == "cuda"
        n = 8192 if cuda else 512
        side = 64 if cuda else 16
        timed = []
        for prec in self.precisions():
            for kind in ("sgemm", "conv"):
                shape = "%dx%dx%d" % (n, n, n) if kind == "sgemm" else "512>512 %dx%d, batch 8" % (side, side)
                row = new_row("peak.%s.%s" % (kind, prec), "peak", 0, shape)
                timed.append((prec, row))
                if not self.runnable(prec):
                    row["skipped"], row["reason"] = True, "TF32 is a CUDA (Ampere or later) mode"
                    continue
                self.set_precision(prec)
                if kind == "sgemm":
                    a = torch.randn(n, n, device=self.device)
                    b = torch.randn(n, n, device=self.device)
                    s = self.sample(lambda: torch.mm(a, b))
                    flops = 2.0 * n**3
                else:
                    a = torch.randn(8, 512, side, side, device=self.device)
                    b = torch.randn(512, 512, 3, 3, device=self.device)

                    def fn():
                        with torch.no_grad():
                            return F.conv2d(a, b, padding=1)
                    s = self.sample(fn)
                    flops = 8 * 2.0 * 9 * 512 * 512 * side * side
                self.finish(row, s, flops, emit=False)
                rate = flops / 1e9 / (row["ms_median"] / 1e3)
                self.peak_fma[prec] = max(self.peak_fma.get(prec, 0.0), rate)
                del a, b
        for prec, r in timed:
            if r["tflops"] is not None:
                r["pct_peak"] = 100 * r["tflops"] * 1e3 / self.peak_fma[prec]
            self.emit(r)
        self.set_precision("fp32")
        mib = 256 if cuda else 32
        src = torch.empty(mib << 18, device=self.device).fill_(1.0)
        dst = torch.empty_like(src)
        row = new_row("peak.bandwidth.copy", "peak", 0, "%d MiB -> %d MiB" % (mib, mib))
        s = self.sample(lambda: dst.copy_(src))
        self.finish(row, s, 0.0, 2.0 * src.numel() * 4, emit=False)
        row["pct_peak"] = 100.0
        self.bw = row["gbs"]
        self.emit(row)
        del src, dst

    def precisions(self):
        return [p for p in self.args.precision.split(",") if p]

    def ops(self):
        """conv3x3 forward (bias+ReLU) and backward_input (ReLU mask), and
        Gram, at VGG19's layer shapes for an op-size image, in fp32."""
        s = self.args.op_size
        self.log("# ops at VGG19's layer shapes for a %dx%d image (fp32)" % (s, s))
        self.set_precision("fp32")
        convs = make_weights("random", self.device, self.args.seed)
        shapes, h, ci, count = [], s, 0, {}
        for name, kind, cin, cout in LAYERS:
            if kind == "pool":
                h //= 2
                continue
            key = (cin, cout, h)
            count[key] = count.get(key, 0) + 1
            if count[key] == 1:
                shapes.append((name, cin, cout, h, ci))
            ci += 1
        peak = self.peak_fma.get("fp32")
        for p in ("forward", "backward_input"):
            for name, cin, cout, hh, ci in shapes:
                shape = "%d>%d %dx%d" % (cin, cout, hh, hh)
                if count[(cin, cout, hh)] > 1:
                    shape += " (x%d)" % count[(cin, cout, hh)]
                row = new_row("conv3x3.%s/%s/%d" % (p, name, s), "op", s, shape)
                try:
                    wt, bs = convs[ci]
                    x = torch.rand(1, cin, hh, hh, device=self.device)
                    with torch.no_grad():
                        y = F.relu(F.conv2d(x, wt, bs, padding=1))
                        dy = torch.randn_like(y)
                    if p == "forward":
                        def fn():
                            with torch.no_grad():
                                return F.relu(F.conv2d(x, wt, bs, padding=1))
                    else:
                        def fn():
                            with torch.no_grad():
                                return torch.nn.grad.conv2d_input(x.shape, wt, dy * (y > 0), padding=1)
                    self.finish(row, self.sample(fn), 2.0 * 9 * cin * cout * hh * hh, 0.0, peak)
                except RuntimeError as e:  # out of memory
                    self.skip(row, e)
        h = s
        for name, kind, cin, cout in LAYERS:
            if kind == "pool":
                h //= 2
                continue
            if name not in STYLE_LAYERS:
                continue
            row = new_row("gram/%s/%d" % (name, s), "op", s, "%d %dx%d" % (cout, h, h))
            try:
                f = torch.rand(1, cout, h, h, device=self.device)
                self.finish(row, self.sample(lambda: gram(f)), 2.0 * cout * cout * h * h, 0.0, peak)
            except RuntimeError as e:
                self.skip(row, e)

    def skip(self, row, err):
        row["skipped"], row["reason"] = True, str(err).splitlines()[0][:200]
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        self.emit(row)

    def runnable(self, prec):
        return prec != "tf32" or self.device.type == "cuda"

    def start_engine(self, convs, s, prec):
        """An engine at s x s that has run one iteration; the ms it took."""
        self.set_precision(prec)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        e = Engine(convs, s, self.device, self.args.seed)
        t = time.perf_counter()
        e.step()
        self.timer.sync()
        return e, (time.perf_counter() - t) * 1e3

    def cold_start(self):
        """Builds the first iteration and runs it before anything else, so
        that startup (script start to the first iteration done) is cold."""
        self.convs = make_weights(self.args.weights, self.device, self.args.seed)
        for prec in self.precisions():
            if not self.runnable(prec):
                continue
            for s in self.sizes():
                try:
                    e, warm = self.start_engine(self.convs, s, prec)
                except RuntimeError:
                    if self.device.type == "cuda":
                        torch.cuda.empty_cache()
                    continue
                self.cold = (prec, s, e, warm)
                startup = (time.perf_counter() - T0) * 1e3
                self.log("# startup: %.0f ms from script start to the first %dx%d iteration done" % (startup, s, s))
                return startup
        return None

    def iterations(self):
        self.log("# full iterations: forward to relu5_2, the seed's losses, backward to the image, Keras Adam + clip")
        convs = self.convs
        for prec in self.precisions():
            for s in self.sizes():
                name = "iteration/%d" % s if prec == "fp32" else "iteration.%s/%d" % (prec, s)
                row = new_row(name, "iteration", s, "3x%dx%d" % (s, s))
                if not self.runnable(prec):
                    row["skipped"], row["reason"] = True, "TF32 is a CUDA (Ampere or later) mode"
                    self.emit(row)
                    continue
                try:
                    if self.cold is not None and self.cold[:2] == (prec, s):
                        _, _, e, warm = self.cold
                        self.cold = None
                        self.set_precision(prec)
                    else:
                        e, warm = self.start_engine(convs, s, prec)
                    batch = max(1, min(16, math.ceil(25.0 / max(warm, 1e-3))))
                    if batch > 1:
                        row["shape"] += " (%d/sample)" % batch
                    warmup, self.args.warmup = self.args.warmup, max(self.args.warmup - 1, 0)
                    try:
                        samples = self.sample(e.step, batch)
                    finally:
                        self.args.warmup = warmup
                    if self.device.type == "cuda":
                        row["mem_bytes"] = torch.cuda.max_memory_allocated()
                    flops = iteration_conv_flops(s, s)
                    self.finish(row, samples, flops, 0.0, self.peak_fma.get(prec))
                    del e
                except RuntimeError as err:
                    self.skip(row, err)
        self.set_precision("fp32")

    def sizes(self):
        return [int(v) for v in self.args.sizes.split(",") if v.strip()]


def adapter(device):
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        drv = "torch %s, CUDA %s, cuDNN %s" % (torch.__version__, torch.version.cuda, torch.backends.cudnn.version())
        return {"name": torch.cuda.get_device_name(device), "driver": drv, "backend": "CUDA",
                "type": "DiscreteGPU", "vendor": 0x10DE, "software": False, "timestamps": True,
                "limits": {"total_memory": p.total_memory, "multi_processor_count": p.multi_processor_count,
                           "compute_capability_major": p.major, "compute_capability_minor": p.minor}}
    return {"name": "cpu: " + (platform.processor() or platform.machine()), "driver": "torch %s" % torch.__version__,
            "backend": "CPU", "type": "CPU", "vendor": 0, "software": True, "timestamps": False,
            "limits": {"threads": torch.get_num_threads()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="256,512,1024,2048", help="iteration image sides")
    ap.add_argument("--op-size", type=int, default=512, help="image side whose layer shapes the op rows use")
    ap.add_argument("--only", default="peak,ops,iter", help="parts to run: peak, ops, iter")
    ap.add_argument("--precision", default="fp32,tf32", help="fp32 (strict: TF32 off) and/or tf32")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--row-time", type=float, default=10.0, help="seconds after which a row stops sampling")
    ap.add_argument("--device", default="auto", help="auto, cuda, cuda:N or cpu")
    ap.add_argument("--weights", default="random", choices=["random", "torchvision"],
                    help="random (He-initialised, like stylize's synthetic ones) or torchvision's trained VGG19")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="small, as stylize bench -quick: --sizes 32,64 --op-size 32 --reps 2 --row-time 2")
    ap.add_argument("--no-cudnn-benchmark", action="store_true", help="leave cuDNN's algorithm search off")
    ap.add_argument("--json", action="store_true", help="print the JSON report on stdout (the table goes to stderr)")
    ap.add_argument("-o", dest="out", default="", help="also write the JSON report to this file")
    args = ap.parse_args()
    if args.quick:
        d = ap.parse_args([])
        for k, v in (("sizes", "32,64"), ("op_size", 32), ("reps", 2), ("row_time", 2.0)):
            if getattr(args, k) == getattr(d, k):
                setattr(args, k, v)
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    torch.backends.cudnn.benchmark = not args.no_cudnn_benchmark
    parts = [p for p in args.only.split(",") if p]
    b = Bench(args, device)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ad = adapter(device)
    b.log("pytorch_ref: %s (%s)" % (ad["name"], ad["driver"]))
    b.log("timing: %s; weights: %s; precision: %s" % (
        "CUDA events" if device.type == "cuda" else "wall clock (perf_counter)",
        "torchvision VGG19" if args.weights == "torchvision" else "random (He-initialised), which does not change timing",
        args.precision))
    b.log("%-35s %-26s %10s %10s %10s %9s %9s %8s %6s" % ("name", "shape", "ms med", "min", "max", "GFLOP", "TFLOP/s", "GB/s", "%peak"))
    startup = b.cold_start() if "iter" in parts else None
    if "peak" in parts:
        b.peaks()
    if "ops" in parts and args.op_size >= 16:
        b.ops()
    if "iter" in parts:
        b.iterations()
    b.cold = None
    if device.type == "cuda":
        peak_mem = max([r["mem_bytes"] or 0 for r in b.rows] + [torch.cuda.max_memory_allocated()])
    else:
        import resource

        peak_mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # process RSS on the CPU
    fma = b.peak_fma.get("fp32")
    report = {
        "schema": SCHEMA,
        "tool": "pytorch",
        "adapter": ad,
        "timing": "gpu-timestamps" if device.type == "cuda" else "wall-clock",
        "weights": "torchvision VGG19" if args.weights == "torchvision" else
                   "random VGG19 (He-initialised, seed %d); not trained, which does not change timing" % args.seed,
        "synthetic_weights": args.weights != "torchvision",
        "config": {"quick": args.quick, "reps": args.reps, "warmup": args.warmup, "row_time_s": args.row_time,
                   "op_size": args.op_size, "sizes": b.sizes(), "seed": args.seed, "parts": parts,
                   "preset": "seed: content relu5_2, style relu1_1..relu5_1, weights 1e4/1e-2, Keras Adam lr 0.02 b1 0.99 b2 0.999 eps 0.1, max pool, caffe preprocessing",
                   "precision": args.precision, "cudnn_benchmark": torch.backends.cudnn.benchmark},
        "peak": {"fma_gflops": fma, "bandwidth_gbs": b.bw},
        "rows": b.rows,
        "startup_ms": startup,
        "peak_mem_bytes": peak_mem,
        "host": {"os": sys.platform, "arch": platform.machine(), "cpus": os.cpu_count(), "go": "",
                 "python": platform.python_version(), "torch": torch.__version__},
        "started": started,
        "notes": ["peak.fma_gflops is the better of the strict-fp32 SGEMM and conv3x3 rates (a lower bound of the FMA peak)",
                  "peak_mem_bytes is torch.cuda.max_memory_allocated on CUDA, the process's max RSS on the CPU"],
    }
    if startup is not None:
        b.log("\nstartup: %.0f ms from script start (before importing torch) to the first iteration done" % startup)
    b.log("peak memory: %.1f MiB" % (peak_mem / 2**20))
    data = json.dumps(report, indent=2) + "\n"
    if args.json:
        sys.stdout.write(data)
    if args.out:
        with open(args.out, "w") as f:
            f.write(data)


if __name__ == "__main__":
    main()
