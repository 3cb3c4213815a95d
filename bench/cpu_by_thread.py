"""Where each frame's CPU time goes, by thread: end to end and the model stage alone (Linux: /proc).

    python bench/cpu_by_thread.py [--height 480] [--seconds 8] [--runs 2] [--json]

On a CPU the model and the codecs share the cores, so end to end over the model stage can only be the
model's share of the CPU time a frame costs (bench/throughput.py: model_share_of_cpu). This says whose the
rest is. Each thread's run time is read from /proc/self/task/*/schedstat every 50 ms (and at the end) and
summed by group: the model's slices, x264's threads, FFmpeg's decoder threads, the pipeline's encode,
decode and main threads. The sampling thread itself is left out of the groups and shown on its own.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import make_clip, wide
from throughput import model_stage

from vidcolor import colorize_video
from vidcolor.colorizer import Colorizer
from vidcolor.pipeline import default_batch_size

SAMPLE_S = 0.05


def _group(name: str) -> str:
    """A thread's group, from its Python name or, for threads that FFmpeg and x264 start, its kernel name."""
    if name.startswith("model"):
        return "model slices"
    if name.startswith("av:"):  # FFmpeg names its decoder threads after the codec
        return "FFmpeg decoder"
    if name in ("encode", "decode", "MainThread", "sampler"):
        return name
    return "x264 and other native threads"


def run_times(names: dict[int, str]) -> dict[int, tuple[str, float]]:
    """Each thread of this process: its group and seconds on a CPU so far."""
    for t in threading.enumerate():
        names[t.native_id] = t.name
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                ran = int(f.read().split()[0]) / 1e9
            with open(f"/proc/self/task/{tid}/comm") as f:
                kernel_name = f.read().strip()
        except OSError:  # the thread ended between listing and reading
            continue
        out[int(tid)] = (_group(names.get(int(tid), kernel_name)), ran)
    return out


def measured(job: Callable[[], int]) -> dict:
    """Run `job` (it returns its frame count) while sampling: CPU ms per frame by group, and cores busy."""
    names: dict[int, str] = {}
    before, last = run_times(names), {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(SAMPLE_S):
            last.update(run_times(names))

    sampler = threading.Thread(target=sample, name="sampler", daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    frames = job()
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    last.update(run_times(names))
    by_group: dict[str, float] = defaultdict(float)
    for tid, (group, ran) in last.items():
        by_group[group] += ran - before.get(tid, (group, 0.0))[1]
    busy = sum(v for g, v in by_group.items() if g != "sampler")
    ranked = sorted(by_group.items(), key=lambda kv: -kv[1])
    return {"frames": frames, "fps": round(frames / wall, 2), "cores_busy": round(busy / wall, 2),
            "ms_per_frame": {g: round(1000 * v / frames, 2) for g, v in ranked},
            "total_ms_per_frame": round(1000 * busy / frames, 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--model", default="fusion-small")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    width = wide(args.height)
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip.mp4", width, args.height, args.seconds)
        colorizer = Colorizer(args.model, "cpu")
        batch = default_batch_size(colorizer.device, width, args.height)
        frames = round(args.seconds * 25)

        def end_to_end() -> int:
            return colorize_video(clip, Path(tmp) / "out.mp4", colorizer=colorizer, progress=False,
                                  overwrite=True).frames_out

        stage, stage_frames = model_stage(clip, colorizer, batch, frames, shot_detect=True)

        def stage_alone() -> int:
            stage()
            return stage_frames

        end_to_end()  # warm-ups
        stage()
        result = {"size": f"{width}x{args.height}", "end_to_end": [measured(end_to_end) for _ in range(args.runs)],
                  "model_stage": [measured(stage_alone) for _ in range(args.runs)]}
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
