"""Could a cheaper x264 setting free the CPU the model shares with the encoder, at the same quality and size?

    python bench/x264_settings.py [FILM] [--height 480] [--seconds 8] [--reps 2] [--json]

FILM (default: the demo clip at --height, as bench/throughput.py makes it) is colorized once, losslessly
(FFV1), then its colored frames are encoded by libx264 in one thread under each setting at crf 14-22.
"veryfast" is x264's preset as it is; vidcolor's own default is "veryfast, me=dia, chromaoffset=8"
(media/codecs.py), and the rows named after it add one cheaper step each (superfast's subme=1 and
partitions, alone and together; no weighted P prediction; no 8x8 transform); the last two rows are x265 at
veryfast, without and with vidcolor's chroma offsets. Printed
per setting and crf: CPU milliseconds per frame (the median of --reps), bytes, and PSNR against the
lossless frames over all samples, over Y and over Cb and Cr. Then, at the PSNR (all samples) that
veryfast crf 18 reaches, each setting's bytes and CPU, interpolated between its crf points (log bytes,
linear CPU, against PSNR); and, for vidcolor's default and the rows that add to it, the same at the luma PSNR
the default reaches at crf 18 (their chroma is coded alike, so Y is what a cheaper step gives up).
"""
from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.frame import PictureType

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import make_clip, wide
from throughput import cpu_seconds

from vidcolor import colorize_video
from vidcolor.media.codecs import EncodeOptions

VIDCOLOR = "veryfast, me=dia, chromaoffset=8"  # vidcolor's default (media/codecs.py)
SETTINGS = {"veryfast": {"preset": "veryfast"},
            "veryfast, me=dia": {"preset": "veryfast", "x264-params": "me=dia"},
            "veryfast, rc-lookahead=5": {"preset": "veryfast", "x264-params": "rc-lookahead=5"},
            "superfast": {"preset": "superfast"},
            "faster": {"preset": "faster"},
            "veryfast, chromaoffset=4": {"preset": "veryfast", "chromaoffset": "4"},
            "veryfast, chromaoffset=8": {"preset": "veryfast", "chromaoffset": "8"},
            VIDCOLOR: {"preset": "veryfast", "x264-params": "me=dia", "chromaoffset": "8"},
            # what is left to cut from vidcolor's default: each of superfast's cheaper steps alone, and others
            **{f"{VIDCOLOR}, {knob}": {"preset": "veryfast", "x264-params": f"me=dia:{knob}", "chromaoffset": "8"}
               for knob in ("subme=1", "partitions=i8x8,i4x4", "subme=1:partitions=i8x8,i4x4", "weightp=0",
                            "8x8dct=0")},
            # x265 (--codec libx265) beside them: its chroma offsets as vidcolor sets them, and without
            "x265 veryfast": {"codec": "libx265", "preset": "veryfast", "x265-params": "log-level=error"},
            "x265 veryfast, chroma offsets 8": {"codec": "libx265", "preset": "veryfast",
                                                "x265-params": "log-level=error:cbqpoffs=8:crqpoffs=8"}}
CRFS = (14, 16, 18, 20, 22)


def encode(frames: list[av.VideoFrame], options: dict[str, str], threads: int = 1) -> tuple[float, bytes]:
    """CPU ms per frame of a libx264 encode in `threads` threads (muxing included), and the file. An option
    "codec" names another encoder."""
    buf = io.BytesIO()
    codec = options.get("codec", "libx264")
    t0 = cpu_seconds()
    with av.open(buf, "w", format="matroska") as out:
        s = out.add_stream(codec, rate=25, options={k: v for k, v in options.items() if k != "codec"})
        s.width, s.height, s.pix_fmt, s.thread_count = frames[0].width, frames[0].height, "yuv420p", threads
        for i, f in enumerate(frames):
            f.pts, f.time_base = i, Fraction(1, 25)
            f.pict_type = PictureType.NONE  # decoded from FFV1, every frame says I: left so, x264 codes all as I
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    return (cpu_seconds() - t0) / len(frames) * 1000, buf.getvalue()


def psnr(data: bytes, truth: list[np.ndarray]) -> dict[str, float]:
    """PSNR over all samples, over Y alone and over Cb and Cr (a chroma offset trades one for the other)."""
    rows = len(truth[0]) * 2 // 3  # yuv420p as one array: the Y rows, then Cb's and Cr's
    sums = np.zeros(2)  # squared errors of Y, then of Cb and Cr, frame by frame (a long film's do not fit)
    with av.open(io.BytesIO(data)) as c:
        for f, t in zip(c.decode(video=0), truth):
            e = (f.to_ndarray().astype(np.float64) - t) ** 2
            sums += e[:rows].sum(), e[rows:].sum()
    counts = np.array([rows, len(truth[0]) - rows]) * truth[0].shape[1] * len(truth)
    mse = {"psnr": sums.sum() / counts.sum(), "psnr_y": sums[0] / counts[0], "psnr_c": sums[1] / counts[1]}
    return {k: round(float(10 * np.log10(255 ** 2 / v)), 3) for k, v in mse.items()}


def at_quality(points: list[dict], target: float, key: str = "psnr") -> dict:
    """Bytes and CPU interpolated at PSNR `target` over `key` (points sorted by crf: PSNR falls)."""
    q = [p[key] for p in points][::-1]
    if not q[0] <= target <= q[-1]:
        return {"bytes": None, "cpu_ms": None}
    size = np.exp(np.interp(target, q, [np.log(p["bytes"]) for p in points][::-1]))
    return {"bytes": int(size), "cpu_ms": round(float(np.interp(target, q, [p["cpu_ms"] for p in points][::-1])), 2)}


def lossless_colors(film: Path | None, height: int, seconds: float) -> list[av.VideoFrame]:
    """`film` (default: the demo clip at `height`, as bench/throughput.py makes it) colorized by vidcolor,
    losslessly (FFV1), as yuv420p frames."""
    with tempfile.TemporaryDirectory() as tmp:
        film = film or make_clip(Path(tmp) / "clip.mp4", wide(height), height, seconds)
        colored = Path(tmp) / "colored.mkv"
        colorize_video(film, colored, encode=EncodeOptions(codec="ffv1"), progress=False)
        with av.open(str(colored)) as c:
            return [f.reformat(format="yuv420p") for f in c.decode(video=0)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("film", nargs="?", type=Path)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--seconds", type=float, default=8)
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    frames = lossless_colors(args.film, args.height, args.seconds)
    truth = [f.to_ndarray() for f in frames]
    runs: dict[tuple[str, int], list[float]] = {}
    files: dict[tuple[str, int], bytes] = {}
    for _ in range(args.reps):  # settings interleaved, so that a slow minute falls on all of them
        for crf in CRFS:
            for name, options in SETTINGS.items():
                ms, files[name, crf] = encode(frames, options | {"crf": str(crf)})
                runs.setdefault((name, crf), []).append(ms)
    table = {name: [{"crf": crf, "cpu_ms": round(statistics.median(runs[name, crf]), 2),
                     "bytes": len(files[name, crf])} | psnr(files[name, crf], truth)
                    for crf in CRFS] for name in SETTINGS}
    target = next(p["psnr"] for p in table["veryfast"] if p["crf"] == 18)
    result = {"film": str(args.film or f"demo clip {wide(args.height)}x{args.height}"), "frames": len(frames),
              "settings": table, "at_default_psnr": {"psnr": target} | {
                  name: at_quality(points, target) for name, points in table.items()}}
    luma = next(p["psnr_y"] for p in table[VIDCOLOR] if p["crf"] == 18)
    result["at_vidcolor_luma"] = {"psnr_y": luma} | {  # the rows with vidcolor's chroma offset, compared on Y
        name: at_quality(points, luma, "psnr_y") for name, points in table.items() if name.startswith(VIDCOLOR)}
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
