"""Memory over a feature-length film: does anything grow with the frame count?

    python bench/long_film.py [--minutes 120] [--height 90] [--to mp4] [--json]

bench/memory.py compares the peaks of a 10 s and a 100 s clip at a real picture size; this runs one film as
long as a feature (two hours by default) at a small size, so that it takes minutes, not hours: what grows with
the picture's size is bounded by the queues, what grows with the length (lists kept per frame, per packet or
per shot) shows here. The film is the demo's clip (h264 + aac) repeated packet for packet with its times
moved on, so writing it costs no encoding. `vidcolor` runs in a child process; its resident memory
(VmRSS) is read every second. Printed: the highest RSS within each tenth of the run, the peak (VmHWM), the growth
from the second tenth to the last (after the start's allocations), and whether every frame and sound
packet came out.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import make_clip, wide


def repeat(clip: Path, dst: Path, minutes: float) -> None:
    """Write `clip`'s packets again and again into dst until it lasts `minutes`, each repeat's times moved on
    by the clip's length in its stream (the clip starts with a key frame, so each repeat decodes alone)."""
    with av.open(str(clip)) as src:
        packets = [p for p in src.demux() if p.size]
        streams = list(src.streams)
        period = {s.index: max(p.pts + p.duration for p in packets if p.stream_index == s.index)
                  - min(p.pts for p in packets if p.stream_index == s.index) for s in streams}
        length = float(period[src.streams.video[0].index] * src.streams.video[0].time_base)
        with av.open(str(dst), "w") as out:
            to = {s.index: out.add_stream_from_template(s) for s in streams}
            for k in range(round(minutes * 60 / length)):
                for p in packets:
                    q = av.Packet(bytes(p))
                    shift = k * period[p.stream_index]
                    q.pts, q.dts, q.duration = p.pts + shift, p.dts + shift, p.duration
                    q.is_keyframe, q.time_base, q.stream = p.is_keyframe, p.time_base, to[p.stream_index]
                    out.mux(q)


def counts(path: Path) -> dict:
    """Video frames, sound packets and seconds of a file, by demuxing it."""
    n = {"video": 0, "audio": 0}
    with av.open(str(path)) as c:
        for p in c.demux():
            if p.size and p.stream.type in n:
                n[p.stream.type] += 1
        n["seconds"] = round(c.duration / av.time_base, 2)
    return n


def rss_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}


def watch(cmd: list[str]) -> tuple[list[tuple[float, float]], float, float]:
    """Run cmd, reading its RSS every second; the samples (seconds, MB), its peak RSS in MB, and wall seconds."""
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd)
    samples, peak = [], 0.0
    while child.poll() is None:
        try:
            m = rss_mb(child.pid)
        except (FileNotFoundError, ProcessLookupError, KeyError):  # it ended between poll and read
            break
        samples.append((time.perf_counter() - t0, m["VmRSS"]))
        peak = max(peak, m["VmHWM"])
        time.sleep(1.0)
    if child.wait() != 0:
        raise SystemExit(f"vidcolor failed with exit code {child.returncode}")
    return samples, peak, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=120)
    p.add_argument("--height", type=int, default=90)
    p.add_argument("--to", default="mp4", help="the output's container")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip.mp4", wide(args.height), args.height, 20)
        film, out = Path(tmp) / "film.mp4", Path(tmp) / f"film_color.{args.to}"
        repeat(clip, film, args.minutes)
        samples, peak, wall = watch([sys.executable, "-m", "vidcolor", str(film), "-o", str(out), "--quiet"])
        given, made = counts(film), counts(out)
    tenths = [max((mb for t, mb in samples if wall * (k - 1) / 10 < t <= wall * k / 10), default=0.0)
              for k in range(1, 11)]
    result = {
        "film": {"size": f"{wide(args.height)}x{args.height}", **given}, "to": args.to,
        "output": made,
        "every_frame_and_sound_packet": made["video"] == given["video"] and made["audio"] == given["audio"],
        "wall_s": round(wall, 1), "fps": round(given["video"] / wall, 1),
        "rss_mb_by_tenth": [round(mb, 1) for mb in tenths],
        "peak_rss_mb": round(peak, 1),
        "growth_mb_second_to_last_tenth": round(tenths[-1] - tenths[1], 1),
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
