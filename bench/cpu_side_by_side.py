#!/usr/bin/env python3
"""stylize on this machine's software GPU against PyTorch on the same CPU.

`make bench-cpu` runs this. It times one seed iteration (VGG19 to relu5_2,
the seed's losses, the backward to the image, Keras Adam) at each size with
`stylize bench -only iter -timing wall` on lavapipe (with the heuristic's
kernel plans, and the tuned ones where `stylize tune` cached some) and with
`bench/pytorch_ref.py --device cpu`, all cores each, in alternating rounds:
a shared VM's speed drifts by tens of percent over minutes, so one run of
each, minutes apart, compares the drift rather than the programs. It prints
per size the medians over all rounds, their ratio, and each round's ratio,
and writes everything to out/cpu-side-by-side.json.

Example: python3 bench/cpu_side_by_side.py --sizes 128,256 --rounds 3
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys


def run_json(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    return json.loads(out)


def iteration_samples(report, prefix="iteration/"):
    """Returns {size: [ms, ...]} from a stylize-bench/1 report's rows named
    prefix + size: the row's median, min and max stand for its samples."""
    out = {}
    for row in report["rows"]:
        if row["name"].startswith(prefix) and not row.get("skipped"):
            size = int(row["name"].split("/")[1])
            out[size] = [row["ms_median"], row["ms_min"], row["ms_max"]]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="128,256")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=2, help="timed iterations per size and round, each side")
    ap.add_argument("--stylize", default="./bin/stylize")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("-o", default="out/cpu-side-by-side.json")
    a = ap.parse_args()
    threads = str(os.cpu_count())
    env = dict(os.environ, OMP_NUM_THREADS=threads)
    sizes = [int(s) for s in a.sizes.split(",")]
    rounds = []
    for r in range(a.rounds):
        st = run_json([a.stylize, "bench", "-sizes", a.sizes, "-only", "iter", "-reps", str(a.reps), "-timing", "wall", "-json"], env)
        pt = run_json([a.python, "bench/pytorch_ref.py", "--device", "cpu", "--sizes", a.sizes, "--only", "iter",
                       "--reps", str(a.reps), "--json"], env)
        rounds.append({"stylize": iteration_samples(st), "pytorch": iteration_samples(pt),
                       "tuned": iteration_samples(st, "iteration.tuned/")})
        adapter = st["adapter"]["name"]
        print(f"round {r + 1}/{a.rounds}: " + ", ".join(
            f"{s}²: stylize {rounds[-1]['stylize'][s][0]:.0f} ms, PyTorch {rounds[-1]['pytorch'][s][0]:.0f} ms"
            for s in sizes if s in rounds[-1]["stylize"] and s in rounds[-1]["pytorch"]), file=sys.stderr)
    print(f"stylize on {adapter} against PyTorch ({pt['adapter']['driver']}) on the same CPU "
          f"({platform.processor() or platform.machine()}, {threads} threads each), one seed iteration, "
          f"{a.rounds} alternating rounds of {a.reps} timed iterations:")
    tuned = any(r["tuned"] for r in rounds)
    print(f"{'image':>7}  {'stylize ms':>11}  {'PyTorch ms':>11}  {'stylize is':>11}  per round"
          + ("   (tuned plans: ms, stylize is)" if tuned else "   (heuristic plans: no tuned ones cached, see stylize tune)"))
    table = []
    for s in sizes:
        sm = [r["stylize"][s][0] for r in rounds if s in r["stylize"]]
        pm = [r["pytorch"][s][0] for r in rounds if s in r["pytorch"]]
        tm = [r["tuned"][s][0] for r in rounds if s in r["tuned"]]
        if not sm or not pm:
            continue
        ratio = statistics.median(sm) / statistics.median(pm)
        per = [x / y for x, y in zip(sm, pm)]
        row = {"size": s, "stylize_ms": sm, "pytorch_ms": pm, "ratio_of_medians": ratio, "ratio_per_round": per}
        line = (f"{str(s) + '²':>7}  {statistics.median(sm):11.0f}  {statistics.median(pm):11.0f}  "
                f"{ratio:10.2f}×  " + " ".join(f"{x:.2f}×" for x in per))
        if tm:
            row["tuned_ms"] = tm
            row["tuned_ratio_of_medians"] = statistics.median(tm) / statistics.median(pm)
            line += f"   {statistics.median(tm):.0f}, {row['tuned_ratio_of_medians']:.2f}×"
        table.append(row)
        print(line)
    os.makedirs(os.path.dirname(a.o) or ".", exist_ok=True)
    with open(a.o, "w") as f:
        json.dump({"date": datetime.datetime.now().isoformat(timespec="seconds"), "adapter": adapter,
                   "threads": threads, "rounds": a.rounds, "reps": a.reps, "sizes": table}, f, indent=1)
    print(f"written: {a.o}")


if __name__ == "__main__":
    main()
