"""Ctrl-C at random moments of real runs: every one must end within the timeout, with no partial file.

    python bench/interrupts.py [--runs 100] [--seed 0] [--timeout 20] [--container mkv] [--progress]
                               [--signal INT] [--json]

Each run colorizes a generated 800-frame clip in a fresh process (tiny model, batches of 2, so
the decode, model and encode threads are all busy), waits for its temporary output to appear,
waits a random 0-1.5 s more and sends SIGINT (`--signal TERM`: `kill`'s, `HUP`: a closed terminal's).
Outcomes: ok (died of the signal once cleaned up, as a shell expects: it shows 130, 143, 129; 'interrupted'
or 'stopped by SIG...'; nothing left), bad (another exit, a traceback or a file left), hang (still running
after --timeout; its threads' stacks are printed), finished (the run ended before the signal came: not
counted).
Before the pipeline held Ctrl-C until a safe point, 1 run in 33 hung. `--progress`: with the progress bar
(an MPEG-TS or -PS film's then has a thread that measures its joined parts).
"""
from __future__ import annotations

import argparse
import collections
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import as_at_a_terminal, make_clip


def interrupt_once(src: Path, out: Path, delay: float, timeout: float, progress: bool,
                   sig: signal.Signals) -> tuple[str, str]:
    for f in out.iterdir():  # what a hung run left
        f.unlink()
    dst = out / "out.mkv"
    proc = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "vidcolor", str(src), "-o", str(dst),
                             "--model", "tiny-random", "--batch-size", "2", *([] if progress else ["-q"])],
                            stderr=subprocess.PIPE, text=True, preexec_fn=as_at_a_terminal)  # even as a background job
    deadline = time.time() + 60
    while time.time() < deadline and not any(".part" in p.name for p in out.iterdir()):
        time.sleep(0.01)
    time.sleep(delay)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        return "hang", proc.communicate()[1][-4000:]
    left = list(out.iterdir())
    for f in left:
        f.unlink()
    said = "interrupted" if sig == signal.SIGINT else f"stopped by {sig.name}"
    if proc.returncode == -sig and said in err and "Traceback" not in err and not left:
        return "ok", ""
    if proc.returncode == 0 and [f.name for f in left] == ["out.mkv"]:
        return "finished", ""
    return "bad", f"exit {proc.returncode}, left {[p.name for p in left]}: {err[-800:]}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--container", default="mkv")
    p.add_argument("--progress", action="store_true")
    p.add_argument("--signal", default="INT", choices=["INT", "TERM", "HUP"])
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    rng = random.Random(args.seed)
    counts: collections.Counter = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        src = make_clip(Path(tmp) / f"in.{args.container}", frames=800, width=320, height=240, audio=())
        out = Path(tmp) / "out"
        out.mkdir()
        for i in range(args.runs):
            outcome, detail = interrupt_once(src, out, rng.uniform(0, 1.5), args.timeout, args.progress,
                                             signal.Signals[f"SIG{args.signal}"])
            counts[outcome] += 1
            if detail:
                print(f"run {i}: {outcome}\n{detail}", file=sys.stderr)
    result = {"runs": args.runs, "signal": f"SIG{args.signal}"}
    result |= {k: counts[k] for k in ("ok", "hang", "bad", "finished")}
    print(json.dumps(result) if args.json else "\n".join(f"{k:6s} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
