"""Benchmark clips: the demo film's frames looped to any length and size, with its sound looped too."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

DEMO = Path(__file__).resolve().parents[1] / "samples" / "demo_bw.mp4"
RATE = 25


def wide(height: int) -> int:
    """The width of a 16:9 picture `height` high, even (yuv420p halves it)."""
    return round(height * 16 / 9 / 2) * 2


def make_clip(path: Path, width: int, height: int, seconds: float, audio: bool = True) -> Path:
    """Write `seconds` of the demo at width x height (h264 crf 20 + aac), looping its frames."""
    with av.open(str(DEMO)) as src:
        frames = [f.reformat(width=width, height=height, format="yuv420p").to_ndarray()
                  for f in src.decode(video=0)]
    with av.open(str(DEMO)) as src:
        sound = np.concatenate([f.to_ndarray() for f in src.decode(audio=0)], axis=1)
        sample_rate = src.streams.audio[0].rate
    n = round(seconds * RATE)
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=RATE, options={"crf": "20", "preset": "veryfast"})
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        a = out.add_stream("aac", rate=sample_rate) if audio else None
        if a is not None:
            a.layout = "stereo"
        for i in range(n):
            f = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="yuv420p")
            f.pts, f.time_base = i, Fraction(1, RATE)
            out.mux(v.encode(f))
            if a is not None and i % RATE == 0:  # one second of sound at a time, interleaved
                start = (i // RATE * sample_rate) % (sound.shape[1] - sample_rate)
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(sound[:, start:start + sample_rate]),
                                                   format="fltp", layout="stereo")
                chunk.sample_rate, chunk.pts = sample_rate, i // RATE * sample_rate
                out.mux(a.encode(chunk))
        out.mux(v.encode(None))
        if a is not None:
            out.mux(a.encode(None))
    return path
