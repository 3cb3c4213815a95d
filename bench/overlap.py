"""Where end-to-end time goes when the model is cheap (a GPU): the stages alone, then the whole
pipeline under settings that change how its three threads share the CPU and the GIL.

    python bench/overlap.py [--height 1080] [--seconds 10] [--model fusion-small] [--json]

decode: PyAV decode alone; encode_gray / encode_color: the encoder alone on frames decoded (and,
for color, colorized) beforehand; transcode: both, as bench/throughput.py; model: the model stage
alone. end_to_end[setting]: vidcolor on the clip, with Python's GIL switch interval (5 ms default),
torch's CPU threads, the decoder's threads (FFmpeg's choice by default), the frames per batch or the
batches the queues between the threads hold (2 by default) as named; end_to_end[no_network]:
the pipeline with the network's outputs replaced by zeros (gray pictures), everything else at full cost
(analysis, shots, chroma planes, compose, the codecs): how close to transcode the pipeline itself can
come. If the stages overlapped perfectly, end-to-end would run at the slowest stage's speed.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import RATE, make_clip, wide
from throughput import encode_all, model_fps, transcode_fps

from vidcolor import colorize_video, pipeline
from vidcolor.colorizer import Colorizer
from vidcolor.media import decode
from vidcolor.media.codecs import EncodeOptions
from vidcolor.pipeline import default_batch_size


class NoNetwork:
    """A Colorizer whose network costs nothing: zero global vectors and zero a*b* (neutral colors)."""

    def __init__(self, colorizer: Colorizer) -> None:
        self.device, self.work_side = colorizer.device, colorizer.work_side

    def global_features(self, L: torch.Tensor) -> torch.Tensor:
        return L.new_zeros(len(L), 256)

    def ab(self, L: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return L.new_zeros(len(L), 2, *L.shape[-2:])


def decode_frames(src: Path) -> tuple[list[av.VideoFrame], float]:
    t0 = time.perf_counter()
    with av.open(str(src)) as inp:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        frames = list(inp.decode(vin))
    return frames, len(frames) / (time.perf_counter() - t0)


def encode_fps(frames: list[av.VideoFrame], dst: Path, opts: EncodeOptions) -> float:
    t0 = time.perf_counter()
    n = encode_all(frames, dst, opts, Fraction(RATE))
    return n / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--height", type=int, default=1080)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--model", default="fusion-small")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    width = wide(args.height)
    opts = EncodeOptions()
    threads = torch.get_num_threads()
    result: dict = {"size": f"{width}x{args.height}", "cpus": threads}
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip.mp4", width, args.height, args.seconds)
        colorizer = Colorizer(args.model)
        batch = default_batch_size(colorizer.device, width, args.height)
        gray, result["decode"] = decode_frames(clip)
        result["encode_gray"] = encode_fps(gray, Path(tmp) / "gray.mp4", opts)
        result["transcode"], result["transcode_cores"] = transcode_fps(clip, Path(tmp) / "plain.mp4", opts)
        result["model"] = model_fps(clip, colorizer, batch, frames=min(100, len(gray)), shot_detect=True)[0]
        base = {"switch": 0.005, "torch_threads": threads, "decoder_threads": 0, "batch": batch, "queued": 2}
        settings = {"default": {}, "switch_0.5ms": {"switch": 0.0005}, "torch_1_thread": {"torch_threads": 1},
                    "decoder_1_thread": {"decoder_threads": 1}, "decoder_2_threads": {"decoder_threads": 2},
                    "decoder_4_threads": {"decoder_threads": 4}, "batch_8": {"batch": 8}, "batch_32": {"batch": 32},
                    "queues_4_batches": {"queued": 4}, "default_again": {}}
        for name, change in settings.items():
            s = base | change
            sys.setswitchinterval(s["switch"])
            torch.set_num_threads(s["torch_threads"])
            decode.DECODER_THREADS = s["decoder_threads"]
            pipeline.DECODE_AHEAD_BATCHES = pipeline.ENCODE_BEHIND_BATCHES = s["queued"]
            report = colorize_video(clip, Path(tmp) / f"{name}.mp4", colorizer=colorizer, batch_size=s["batch"],
                                    encode=opts, progress=False)
            result[f"end_to_end[{name}]"] = report.fps
        pipeline.DECODE_AHEAD_BATCHES = pipeline.ENCODE_BEHIND_BATCHES = base["queued"]
        sys.setswitchinterval(0.005)
        torch.set_num_threads(threads)
        decode.DECODER_THREADS = 0
        report = colorize_video(clip, Path(tmp) / "no_network.mp4", colorizer=NoNetwork(colorizer),
                                batch_size=batch, encode=opts, progress=False)
        result["end_to_end[no_network]"] = report.fps
        color, _ = decode_frames(Path(tmp) / "default.mp4")
        result["encode_color"] = encode_fps(color, Path(tmp) / "color.mp4", opts)
    result = {k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}
    print(json.dumps(result) if args.json else "\n".join(f"{k:28s} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
