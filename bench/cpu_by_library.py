"""Where each frame's CPU time goes, by library: end to end and the model stage alone (Linux perf).

    python bench/cpu_by_library.py [--height 480] [--seconds 8] [--runs 3] [--json]

bench/cpu_by_thread.py says whose threads take the time; this says what code runs in them, so that the
model's own work can be compared between the two runs: if the network (oneDNN's generated kernels) and
torch's other operations cost the same per frame end to end as alone, the codecs do not slow the model
down, and end to end over the model stage is bounded by the model's share of the CPU. Each run is a child
process under `perf record -F 999` (CPU clock), which a control FIFO turns on only around the timed runs
(after a warm-up: loading, the first batch's kernels); `perf report --sort dso` then counts the samples
by library. Needs `perf`, and permission to use it (perf_event_paranoid).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import make_clip, wide

HZ = 999
MODES = ("end_to_end", "model_stage")


def group(dso: str) -> str:
    """A library's group: the network's kernels (oneDNN generates them at run time: perf sees [JIT]), the
    rest of torch, the codecs, the kernel, Python."""
    for key, name in (("[JIT]", "network kernels (oneDNN JIT)"), ("libtorch", "torch, other operations"),
                      ("libc10", "torch, other operations"), ("libx264", "x264"), ("libx265", "x265"),
                      ("libavcodec", "FFmpeg codecs"), ("libswscale", "FFmpeg codecs"), ("libav", "FFmpeg, other"),
                      ("[kernel", "Linux kernel (page faults, scheduling)"), ("libpython", "Python"),
                      ("libc.so", "libc (memory copies, malloc)")):
        if key in dso:
            return name
    return "other"


def child(mode: str, clip: Path, runs: int, control: str) -> None:
    """Warm up, then time `runs` runs with perf on; print the frames run."""
    from throughput import model_stage

    from vidcolor import colorize_video
    from vidcolor.colorizer import Colorizer
    from vidcolor.pipeline import default_batch_size

    colorizer = Colorizer("fusion-small", "auto")
    if mode == "end_to_end":
        out = clip.with_name("color.mp4")

        def run() -> int:
            return colorize_video(clip, out, colorizer=colorizer, progress=False, overwrite=True).frames_out
    else:
        with av.open(str(clip)) as c:
            size = c.streams.video[0].width, c.streams.video[0].height
        stage, n = model_stage(clip, colorizer, default_batch_size(colorizer.device, *size), 10 ** 6, True)

        def run() -> int:
            stage()
            return n
    run()
    with open(control, "w") as ctl:
        ctl.write("enable\n")
    frames = sum(run() for _ in range(runs))
    with open(control, "w") as ctl:
        ctl.write("disable\n")
    print(frames)


def profile(mode: str, clip: Path, runs: int, tmp: Path) -> dict:
    control, data = tmp / f"{mode}.ctl", tmp / f"{mode}.data"
    os.mkfifo(control)
    record = subprocess.run(["perf", "record", "-F", str(HZ), f"--control=fifo:{control}", "-D", "-1", "-o", str(data),
                             sys.executable, __file__, "--child", mode, str(clip), str(control), "--runs", str(runs)],
                            capture_output=True, text=True)
    if record.returncode:
        sys.exit(f"perf record failed: {record.stderr.strip()[-500:]}")
    frames = int(record.stdout.split()[-1])
    report = subprocess.run(["perf", "report", "-i", str(data), "--sort", "dso", "-n", "--stdio"],
                            capture_output=True, text=True, check=True).stdout
    ms: dict[str, float] = {}
    for line in report.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].endswith("%") and parts[1].isdigit():
            name = group(" ".join(parts[2:]))
            ms[name] = ms.get(name, 0.0) + int(parts[1]) * 1000 / HZ / frames
    ms = {k: round(v, 2) for k, v in sorted(ms.items(), key=lambda kv: -kv[1])}
    return {"frames": frames, "ms_per_frame": ms, "total_ms_per_frame": round(sum(ms.values()), 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--seconds", type=float, default=8)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # mode, clip, control FIFO
    args = p.parse_args()
    if args.child:
        mode, clip, control = args.child
        return child(mode, Path(clip), args.runs, control)
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip.mp4", wide(args.height), args.height, args.seconds)
        result = {"size": f"{wide(args.height)}x{args.height}", "runs": args.runs,
                  **{mode: profile(mode, clip, args.runs, Path(tmp)) for mode in MODES}}
    alone, both = result["model_stage"]["ms_per_frame"], result["end_to_end"]["ms_per_frame"]
    result["end_to_end_minus_model_stage"] = {k: round(both.get(k, 0) - alone.get(k, 0), 2) for k in both}
    # what end to end over the model stage comes to where both keep the cores equally busy (bench/throughput.py)
    result["model_share_of_cpu"] = round(sum(alone.values()) / sum(both.values()), 3)
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
