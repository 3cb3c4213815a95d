"""Make the demo media from public-domain photos that scikit-image ships (no third-party files).

samples/demo_bw.mp4: 8 s, 640x360, 25 fps, four shots (astronaut, coffee, cat, rocket: NASA and
SpaceX public domain, CC0 photographers), each a slow pan and zoom, turned black and white,
with a synthesized stereo melody as AAC sound. samples/demo_truth.mp4 is the same clip in color
(the truth for flicker and PSNR measurements). samples/demo_photo.jpg: the coffee photo in gray.

    python samples/make_demo.py
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image
from skimage import data

HERE = Path(__file__).resolve().parent
WIDTH, HEIGHT, RATE = 640, 360, 25
SHOT_FRAMES = 50  # 2 s per shot
SHOTS = ("astronaut", "coffee", "chelsea", "rocket")
SAMPLE_RATE = 44100


def shot_frames(name: str):
    """A pan from left to right with a 10% zoom-in over the shot, (H, W, 3) uint8 RGB frames."""
    img = Image.fromarray(getattr(data, name)()).convert("RGB")
    scale = max(1.25 * WIDTH / img.width, 1.1 * HEIGHT / img.height)
    big = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
    for i in range(SHOT_FRAMES):
        t = i / (SHOT_FRAMES - 1)
        zoom = 1 - 0.1 * t
        w, h = WIDTH / 1.0 * zoom * 1.2, HEIGHT * zoom * 1.05
        x = (big.width - w) * t
        y = (big.height - h) * 0.3  # faces sit in the upper part of portraits
        yield np.asarray(big.resize((WIDTH, HEIGHT), Image.BICUBIC, box=(x, y, x + w, y + h)))


def melody(seconds: float) -> np.ndarray:
    """(2, n) float32: a soft arpeggio, one chord per shot, slightly different per channel."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    roots = (220.0, 174.6, 196.0, 261.6)
    note = (t * 4).astype(int)  # four notes a second
    shot = np.minimum((t / (SHOT_FRAMES / RATE)).astype(int), len(roots) - 1)
    freq = np.array(roots)[shot] * np.array([1, 1.25, 1.5, 2])[note % 4]
    env = np.exp(-6 * (t * 4 % 1))
    left = 0.25 * env * np.sin(2 * np.pi * freq * t)
    right = 0.25 * env * np.sin(2 * np.pi * freq * 1.002 * t + 0.3)
    return np.stack([left, right]).astype(np.float32)


def write(path: Path, gray: bool) -> None:
    with av.open(str(path), "w") as out:
        out.metadata["title"] = "vidcolor demo (public-domain photos)"
        v = out.add_stream("libx264", rate=RATE, options={"crf": "20", "preset": "slow"})
        v.width, v.height, v.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        a = out.add_stream("aac", rate=SAMPLE_RATE)
        a.layout = "stereo"
        i = 0
        for name in SHOTS:
            for rgb in shot_frames(name):
                if gray:
                    y = (rgb @ np.array([0.299, 0.587, 0.114])).round().astype(np.uint8)
                    rgb = np.repeat(y[..., None], 3, axis=2)
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, RATE)
                out.mux(v.encode(frame))
                i += 1
        out.mux(v.encode(None))
        sound = av.AudioFrame.from_ndarray(melody(i / RATE), format="fltp", layout="stereo")
        sound.sample_rate, sound.pts = SAMPLE_RATE, 0
        out.mux(a.encode(sound))
        out.mux(a.encode(None))


def main() -> None:
    write(HERE / "demo_bw.mp4", gray=True)
    write(HERE / "demo_truth.mp4", gray=False)
    Image.fromarray(data.coffee()).convert("L").save(HERE / "demo_photo.jpg", quality=92)


if __name__ == "__main__":
    main()
