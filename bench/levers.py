"""Which training levers pay? Train variants for the same wall time side by side, then evaluate on val.

    python bench/levers.py --out runs/levers --minutes 30 --parallel 2 \\
        pooled= paper="--variant paper" no-class="--alpha 0" rebalance-0.8="--rebalance 0.8"

Each NAME=ARGS adds `vidcolor train` arguments to the common recipe (--common; the default is the
CPU smoke recipe). Runs in one group share the machine at the same time, one core each by default,
so each gets the same time on the same hardware; a run stops at --minutes (or at its --steps).
Prints one JSON line per run and a Markdown table: PSNR gain over gray and colorfulness / truth
on the val split. --eval-only evaluates the checkpoints already in --out.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import torch

from vidcolor.colorizer import Colorizer
from vidcolor.train.evaluate import evaluate
from vidcolor.train.loop import load_checkpoint_model

ROOT = Path(__file__).resolve().parent.parent
CPU_RECIPE = ("--width 32 --size 64 --load-size 112 --global-size 64 --batch-size 32 --steps 2400 --lr 2e-3 "
              "--workers 1")


def train_group(group: list[tuple[str, str]], args: argparse.Namespace) -> None:
    threads = max(1, (os.cpu_count() or 1) // len(group))
    env = os.environ | {"OMP_NUM_THREADS": str(threads)}
    with ExitStack() as stack:
        procs = []
        for name, extra in group:
            cmd = [sys.executable, "-m", "vidcolor", "train", str(args.data), "--checkpoint",
                   str(args.out / f"{name}.pt"), "--minutes", str(args.minutes), *shlex.split(args.common),
                   *shlex.split(extra)]
            log = stack.enter_context(open(args.out / f"{name}.log", "w"))
            procs.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)))
        for name, proc in procs:
            if proc.wait() != 0:
                sys.exit(f"{name}: training failed, see {args.out / (name + '.log')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="NAME=extra train arguments")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/places-like")
    parser.add_argument("--out", type=Path, default=ROOT / "runs/levers")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--common", default=CPU_RECIPE)
    parser.add_argument("--limit", type=int, default=None, help="val photos to evaluate (default: all)")
    parser.add_argument("--eval-only", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = [tuple(r.split("=", 1)) if "=" in r else (r, "") for r in args.runs]
    if not args.eval_only:
        for i in range(0, len(runs), args.parallel):
            train_group(runs[i:i + args.parallel], args)
    torch.set_num_threads(os.cpu_count() or 1)
    rows = []
    for name, extra in runs:
        net = load_checkpoint_model(args.out / f"{name}.pt")
        m = evaluate(Colorizer(net, "cpu"), args.data, "val", args.limit)  # as `vidcolor eval`
        info = net.train_info
        row = {"run": name, "args": extra, "params_M": round(sum(p.numel() for p in net.parameters()) / 1e6, 2),
               "steps": info["step"], "images_seen": info["images_seen"], "minutes": round(info["seconds"] / 60, 1),
               "psnr_gain": m["psnr_gain"], "colorfulness_ratio": m["colorfulness_ratio"], "psnr": m["psnr"],
               "images": m["images"]}
        print(json.dumps(row), flush=True)
        rows.append(row)
    print("\n| run | train args | params | steps | images seen | minutes | PSNR gain (dB) | colorfulness / truth |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['run']} | `{r['args'] or '-'}` | {r['params_M']}M | {r['steps']} | {r['images_seen']:,} | "
              f"{r['minutes']} | {r['psnr_gain']:+.2f} | {r['colorfulness_ratio']:.2f} |")


if __name__ == "__main__":
    main()
