"""What color costs the encoder: x264 on the same frames with and without their chroma.

    python bench/chroma_cost.py [--model fusion-small] [--json]

The plain-transcode baseline of bench/throughput.py re-encodes gray films; the pipeline encodes colored
ones, with chroma to code. Here the demo's color truth (samples/demo_truth.mp4) and vidcolor's colors
for the black-and-white demo are encoded as they are and with their chroma set to neutral, with the
pipeline's encoder settings (best of 3 each): how much of the gap to the gray baseline is color itself,
and whether vidcolor's colors cost what true colors cost. skipped_share: the share of macroblocks x264
skipped (its first-pass statistics, with the full analysis): a macroblock is skipped only when its
chroma, too, is predicted from the previous pictures, so colors that do not move with the picture cost
skips, and every macroblock not skipped costs a full analysis.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import encode_all

from vidcolor import colorize_video
from vidcolor.media.encode import EncodeOptions

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def frames(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as c:
        return [f.reformat(format="yuv420p") for f in c.decode(video=0)]


def neutral(frames: list[av.VideoFrame]) -> list[av.VideoFrame]:
    """The same pictures with Cb = Cr = 128."""
    out = []
    for f in frames:
        planes = f.to_ndarray()
        planes[f.height:] = 128
        g = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        g.pts, g.time_base = f.pts, f.time_base
        out.append(g)
    return out


def encode_fps(frames: list[av.VideoFrame], dst: Path) -> tuple[float, int]:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        encode_all(frames, dst, EncodeOptions(), Fraction(25))
        best = min(best, time.perf_counter() - t0)
    return len(frames) / best, dst.stat().st_size


def skipped_share(frames: list[av.VideoFrame], tmp: Path) -> float:
    stats = tmp / "x264.log"  # written when the encoder is freed, as encode_all returns
    encode_all(frames, tmp / "stats.mp4", EncodeOptions(), Fraction(25),
               extra={"x264-params": f"pass=1:slow-firstpass=1:stats={stats}"})
    counts = {k: sum(int(n) for n in re.findall(rf" {k}:(\d+)", stats.read_text())) for k in ("imb", "pmb", "smb")}
    return counts["smb"] / sum(counts.values())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="fusion-small")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        ours = Path(tmp) / "ours.mp4"
        colorize_video(SAMPLES / "demo_bw.mp4", ours, model=args.model, progress=False)
        for name, color in (("truth", frames(SAMPLES / "demo_truth.mp4")), ("vidcolor", frames(ours))):
            gray_fps, gray_bytes = encode_fps(neutral(color), Path(tmp) / "gray.mp4")
            color_fps, color_bytes = encode_fps(color, Path(tmp) / "color.mp4")
            result[name] = {"gray_fps": round(gray_fps, 1), "color_fps": round(color_fps, 1),
                            "color_over_gray_fps": round(color_fps / gray_fps, 3),
                            "gray_bytes": gray_bytes, "color_bytes": color_bytes,
                            "skipped_share": round(skipped_share(color, Path(tmp)), 3)}
    print(json.dumps(result) if args.json else "\n".join(f"{k:10s} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
