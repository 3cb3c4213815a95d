"""What color costs the encoder: x264 on the same frames with and without their chroma.

    python bench/chroma_cost.py [--model fusion-small] [--json]

The plain-transcode baseline of bench/throughput.py re-encodes gray films; the pipeline encodes colored
ones, with chroma to code. Here the demo's color truth (samples/demo_truth.mp4) and vidcolor's colors
for the black-and-white demo are encoded as they are and with their chroma set to neutral, with the
pipeline's encoder settings, --runs times each, alternating (fps: the best run; core ms per frame: the
median): how much of the gap to the gray baseline is color itself, and whether vidcolor's colors cost
what true colors cost. vidcolor's colors are written losslessly first, as its encoder gets them: a coded
copy is smoother and skips more (0.575 against 0.535 on the demo).

skipped_share: the share of macroblocks x264 skipped (its first-pass statistics, with the full
analysis): a macroblock is skipped only when its chroma, too, is predicted from the previous pictures,
so colors that do not move with the picture cost skips, and every macroblock not skipped costs a full
analysis.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import encode_all

from vidcolor import colorize_video
from vidcolor.media.codecs import EncodeOptions

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


def encode_once(frames: list[av.VideoFrame], dst: Path) -> tuple[float, float]:
    """Wall and core seconds of one encode. x264's threads are this process's; on a shared machine core
    time varies less than wall time."""
    t0, c0 = time.perf_counter(), time.process_time()
    encode_all(frames, dst, EncodeOptions(), Fraction(25))
    return time.perf_counter() - t0, time.process_time() - c0


def skipped_share(frames: list[av.VideoFrame], tmp: Path) -> float:
    stats = tmp / "x264.log"  # written when the encoder is freed, as encode_all returns
    encode_all(frames, tmp / "stats.mp4", EncodeOptions(), Fraction(25),
               extra={"x264-params": f"pass=1:slow-firstpass=1:stats={stats}"})
    counts = {k: sum(int(n) for n in re.findall(rf" {k}:(\d+)", stats.read_text())) for k in ("imb", "pmb", "smb")}
    return counts["smb"] / sum(counts.values())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="fusion-small")
    p.add_argument("--runs", type=int, default=5, help="encodes of each, alternating")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        ours = Path(tmp) / "ours.mkv"  # lossless: the frames the pipeline's encoder gets, not a coded copy of them
        colorize_video(SAMPLES / "demo_bw.mp4", ours, model=args.model, encode=EncodeOptions(crf=0), progress=False)
        for name, color in (("truth", frames(SAMPLES / "demo_truth.mp4")), ("vidcolor", frames(ours))):
            versions = {"gray": neutral(color), "color": color}
            spent: dict = {k: [] for k in versions}
            for _ in range(args.runs):  # alternating, so that a busy moment of the machine hits both
                for k, v in versions.items():
                    spent[k].append(encode_once(v, Path(tmp) / f"{k}.mp4"))
            fps = {k: len(color) / min(w for w, _ in runs) for k, runs in spent.items()}
            core_ms = {k: 1000 * statistics.median(c for _, c in runs) / len(color) for k, runs in spent.items()}
            gray_bytes, color_bytes = ((Path(tmp) / f"{k}.mp4").stat().st_size for k in versions)
            result[name] = {"gray_fps": round(fps["gray"], 1), "color_fps": round(fps["color"], 1),
                            "color_over_gray_fps": round(fps["color"] / fps["gray"], 3),
                            "gray_core_ms": round(core_ms["gray"], 2), "color_core_ms": round(core_ms["color"], 2),
                            "color_over_gray_core": round(core_ms["color"] / core_ms["gray"], 3),
                            "gray_bytes": gray_bytes, "color_bytes": color_bytes,
                            "skipped_share": round(skipped_share(color, Path(tmp)), 3)}
    print(json.dumps(result) if args.json else "\n".join(f"{k:10s} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
