"""How fast the image-sequence encoders write frames, in PyAV's slice threads and in vidcolor's threads.

    python bench/image_threads.py [--height 1080] [--frames 24] [--json]

PyAV opens encoders with slice threads only; PNG and TIFF have none, so they coded in one thread.
vidcolor asks for FFmpeg's own default, frame threads where an encoder has them (media/codecs.py).
The demo's frames, in color, at --height (16:9), are written as a numbered sequence in each codec and
each kind of threads, twice, either kind first once; printed: the faster run's frames per second of each,
whether the files are the same to the byte, and the speed-up.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import DEMO, wide

from vidcolor.media.codecs import EncodeOptions, encoder_options
from vidcolor.media.sequence import IMAGE_CODECS

KINDS = {"slice threads (PyAV's)": {"thread_type": "slice"}, "vidcolor's": {}}


def write(frames: list[av.VideoFrame], folder: Path, codec: str, extra: dict[str, str]) -> float:
    """Frames per second of writing `frames` as a numbered sequence."""
    folder.mkdir()
    t0 = time.perf_counter()
    with av.open(str(folder / "f%04d.img"), "w", format="image2") as out:
        s = out.add_stream(codec, rate=24, options=encoder_options(codec, EncodeOptions(codec=codec)) | extra)
        s.width, s.height, s.pix_fmt = frames[0].width, frames[0].height, "rgb24"
        for f in frames:
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    return len(frames) / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--height", type=int, default=1080)
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    with av.open(str(DEMO)) as c:
        frames = [f.reformat(width=wide(args.height), height=args.height, format="rgb24")
                  for _, f in zip(range(args.frames), c.decode(video=0))]
    result: dict = {"size": f"{frames[0].width}x{frames[0].height}", "frames": len(frames)}
    with tempfile.TemporaryDirectory() as tmp:
        for codec in sorted(set(IMAGE_CODECS.values())):
            fps: dict[str, float] = {}
            for rep, order in enumerate((KINDS, dict(reversed(KINDS.items())))):  # either kind first once
                for kind, extra in order.items():
                    speed = write(frames, Path(tmp) / f"{codec}-{kind}-{rep}", codec, extra)
                    fps[kind] = max(fps.get(kind, 0.0), speed)
            files = [sorted((Path(tmp) / f"{codec}-{kind}-0").iterdir()) for kind in KINDS]
            same = all(a.read_bytes() == b.read_bytes() for a, b in zip(*files, strict=True))
            result[codec] = {k: round(v, 1) for k, v in fps.items()} | {
                "same_files": same, "speed_up": round(fps["vidcolor's"] / fps["slice threads (PyAV's)"], 2)}
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
