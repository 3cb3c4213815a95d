"""Peak memory (RSS) of colorizing a 10 s and a 100 s clip: it must not grow with length.

    python bench/memory.py [--height 360] [--model fusion-small] [--json]

Each run is a fresh process, so the peaks do not mix; ru_maxrss of the child is its peak RSS.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import make_clip, wide

CHILD = """
import resource, sys, json
from vidcolor import colorize_video
r = colorize_video(sys.argv[1], sys.argv[2], model=sys.argv[3], progress=False)
print(json.dumps({"frames": r.frames_out, "seconds": r.seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(child: str, *args: str | Path) -> dict:
    """Run `child` (Python code) in a fresh process on `args`; the JSON of its last line."""
    done = subprocess.run([sys.executable, "-c", child, *map(str, args)], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--model", default="fusion-small")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    width = wide(args.height)
    result = {"size": f"{width}x{args.height}"}
    with tempfile.TemporaryDirectory() as tmp:
        for seconds in (10, 100):
            clip = make_clip(Path(tmp) / f"c{seconds}.mp4", width, args.height, seconds)
            result[f"{seconds}s"] = measure(CHILD, clip, Path(tmp) / f"o{seconds}.mp4", args.model)
            clip.unlink()
    result["ratio_100s_over_10s"] = round(result["100s"]["peak_rss_mb"] / result["10s"]["peak_rss_mb"], 3)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
