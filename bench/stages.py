"""Where the model stage's time goes, per frame, on one torch thread (the slice workers run one each).

    python bench/stages.py [--height 480] [--seconds 2] [--batch-size 16] [--model fusion-small] [--json]

Runs FrameStage on frames decoded beforehand, twice (the first warms up), with its steps timed:
luma (Y' planes to a tensor), _look (analysis: block sums, gray, L*, shot picture; includes
global_features), ab (the network's colorization), codes (chroma planes), the chroma filter's gates with
the camera's motion (chroma_gate) and its serial blend (chroma_blend). ms per frame; "total" is the whole
stage.
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import make_clip, wide

from vidcolor.colorizer import Colorizer
from vidcolor.media.planes import plane_format
from vidcolor.model_stage import FrameStage
from vidcolor.smoothing import ChromaFilter


def timed(owner: object, name: str, spent: collections.Counter) -> None:
    """Replace owner.name with a wrapper that adds its wall time to spent[name]."""
    inner: Callable = getattr(owner, name)

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - t0

    setattr(owner, name, wrapper)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--model", default="fusion-small")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(1)
    width = wide(args.height)
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip.mp4", width, args.height, args.seconds)
        with av.open(str(clip)) as inp:
            frames = list(inp.decode(video=0))
    colorizer = Colorizer(args.model, "cpu")
    spent: collections.Counter = collections.Counter()
    for name in ("luma", "_look", "_codes"):
        timed(FrameStage, name, spent)
    for name in ("ab", "global_features"):
        timed(colorizer, name, spent)
    timed(ChromaFilter, "__call__", spent)
    timed(ChromaFilter, "gate", spent)

    def run() -> float:
        stage = FrameStage(colorizer, plane_format(frames[0]), args.batch_size, 25, True, lambda batch: None)
        t0 = time.perf_counter()
        for f in frames:
            stage.push([f], f)
        stage.finish([])
        return time.perf_counter() - t0

    run()
    spent.clear()
    total = run()
    ms = {"total": total, **dict(spent.most_common())}
    names = {"__call__": "chroma_blend", "gate": "chroma_gate"}
    result = {"size": f"{width}x{args.height}", "frames": len(frames), "batch_size": args.batch_size,
              "ms_per_frame": {names.get(k, k.strip("_")): round(1000 * v / len(frames), 2) for k, v in ms.items()}}
    print(json.dumps(result) if args.json else "\n".join(f"{k:16s} {v}" for k, v in result["ms_per_frame"].items()))


if __name__ == "__main__":
    main()
