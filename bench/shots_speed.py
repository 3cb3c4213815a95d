"""How close `vidcolor shots` runs to the speed of decoding the film alone.

    python bench/shots_speed.py [--heights 480 1080] [--seconds 20] [--rounds 3] [--json]

The shot list needs every frame decoded; what it adds is scaling each to 64 px of gray and the detector.
On a generated clip per height: frames/s of decoding alone (the same reader, media.decode.demux_decode,
nothing done with the frames) and of `detect_shots`, rounds alternating, medians, and their ratio; and the
minutes a two-hour film of 25 frames/s takes to list at that speed.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import make_clip, wide

from vidcolor.media.decode import DecodeStats, demux_decode
from vidcolor.media.probe import open_input
from vidcolor.shots import detect_shots

TWO_HOURS = 2 * 3600 * 25  # frames


def decode_only(clip: Path) -> int:
    container = open_input(clip)
    try:
        return sum(1 for _ in demux_decode(container, [], DecodeStats()))
    finally:
        container.close()


def shots(clip: Path) -> int:
    return detect_shots(clip)[-1].end_frame + 1


def timed(fn, clip: Path) -> float:
    """Frames per second of one call."""
    t0 = time.perf_counter()
    frames = fn(clip)
    return frames / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--heights", type=int, nargs="+", default=[480, 1080])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for height in args.heights:
            clip = make_clip(Path(tmp) / f"clip{height}.mp4", wide(height), height, args.seconds, audio=False)
            fps: dict[str, list[float]] = {"decode_fps": [], "shots_fps": []}
            for r in range(args.rounds):
                order = [("decode_fps", decode_only), ("shots_fps", shots)]
                for name, fn in order if r % 2 == 0 else order[::-1]:
                    fps[name].append(timed(fn, clip))
            row = {name: round(statistics.median(v), 1) for name, v in fps.items()}
            row["shots_over_decode"] = round(row["shots_fps"] / row["decode_fps"], 3)
            row["two_hour_film_minutes"] = round(TWO_HOURS / row["shots_fps"] / 60, 1)
            result[f"{wide(height)}x{height}"] = row
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
