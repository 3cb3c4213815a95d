"""Range speed: a 1-second range near the end of a 10-minute film must cost what one near the start does.

    python bench/seek.py [--minutes 10] [--height 480] [--container mp4] [--json]

Times `vidcolor INPUT --start T --duration 1` at 5% and at 90% of a generated clip; it seeks to
the keyframe before T and decodes forward, so the ratio should be near 1 (<= 1.5 required). MPEG-TS
and MPEG-PS (`--container ts`, `mpg`) are read from their start instead, without decoding: clips joined
into one file restart the clock, and where a later part lies is known only once read to it.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import make_clip, wide

from vidcolor import colorize_video
from vidcolor.colorizer import Colorizer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--model", default="fusion-small")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--container", default="mp4")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    width = wide(args.height)
    seconds = args.minutes * 60
    colorizer = Colorizer(args.model)
    result: dict = {"clip": f"{width}x{args.height}, {seconds:.0f} s, {args.container}"}
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / f"film.{args.container}", width, args.height, seconds)
        result["file_mb"] = round(clip.stat().st_size / 1e6, 1)
        for share in (0.05, 0.9, 0.05, 0.9) * args.repeats:  # interleaved, so drift hits both alike
            t0 = time.perf_counter()
            report = colorize_video(clip, Path(tmp) / "range.mp4", colorizer=colorizer, start=share * seconds,
                                    duration=1, overwrite=True, progress=False)
            result.setdefault(f"seconds_at_{share:.0%}", []).append(round(time.perf_counter() - t0, 3))
            result["frames"] = report.frames_out
    best = {k: min(v) for k, v in result.items() if k.startswith("seconds_at")}
    result["ratio_90_over_5"] = round(best["seconds_at_90%"] / best["seconds_at_5%"], 3)
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
