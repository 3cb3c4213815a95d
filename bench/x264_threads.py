"""What x264's two kinds of threads cost in bytes and CPU, on machines of 2 to 16 cores.

    python bench/x264_threads.py [FILM] [--height 480] [--seconds 8] [--cores 2 4 8 16] [--json]

PyAV opens encoders with FFmpeg's slice threads only, and x264 then cuts every frame into one slice per
thread (as many as the cores): each slice predicts nothing from the others. Frame threads (x264's own
default) code whole frames side by side. FILM (default: the demo clip) is colorized losslessly once, then
coded with vidcolor's x264 settings (media/codecs.py) at crf 16, 18 and 20, for each core count with the
threads x264 would take there: one slice thread per core, or 1.5 frame threads per core. Printed per core
count, kind and crf: x264's threads, CPU milliseconds per frame, frames per second (wall; beyond this
machine's cores only bytes and PSNR mean anything), bytes and PSNR against the lossless frames; then the
frame threads' bytes at the PSNR the slices reach at crf 18.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from x264_settings import at_quality, encode, lossless_colors, psnr

from vidcolor.media.codecs import EncodeOptions, encoder_options

CRFS = (16, 18, 20)
KINDS = {"slice": 1.0, "frame": 1.5}  # x264's threads per core when it is left to choose


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("film", nargs="?", type=Path)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--seconds", type=float, default=8)
    p.add_argument("--cores", type=int, nargs="+", default=[2, 4, 8, 16])
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    frames = lossless_colors(args.film, args.height, args.seconds)
    truth = [f.to_ndarray() for f in frames]
    result: dict = {"film": str(args.film or f"demo clip at {args.height}p"), "frames": len(frames), "cores": {}}
    for cores in args.cores:
        table = {}
        for kind, per_core in KINDS.items():
            threads = int(cores * per_core)
            points = []
            for crf in CRFS:
                options = encoder_options("libx264", EncodeOptions(crf=crf)) | {"thread_type": kind}
                t0 = time.perf_counter()
                ms, data = encode(frames, options, threads)
                fps = len(frames) / (time.perf_counter() - t0)
                points.append({"crf": crf, "threads": threads, "cpu_ms": round(ms, 2), "fps": round(fps, 1),
                               "bytes": len(data)} | psnr(data, truth))
            table[kind] = points
        slices = next(q for q in table["slice"] if q["crf"] == 18)
        frames_there = at_quality(table["frame"], slices["psnr"])
        ratio = frames_there["bytes"] and round(frames_there["bytes"] / slices["bytes"] - 1, 4)
        table["frame_at_slice_psnr"] = {"psnr": slices["psnr"]} | frames_there | {"bytes_vs_slice": ratio}
        result["cores"][cores] = table
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
