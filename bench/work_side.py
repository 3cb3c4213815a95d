"""How large must the network's picture be? PSNR and colorfulness against the truth, and speed, per working size.

    python bench/work_side.py [--sides 80 96 128 160 192 256] [--json]
    python bench/work_side.py --photos [--sides 96 128 176 224 256 0] [--json]

Chroma is low-frequency (4:2:0 stores it at half size), so the network runs on a copy whose short
side is `work_side` px and its a*b* are upsampled. 0 means the full picture. Clips: the color
demo and, when ../shared is there, the color airplane footage (640x360) and the cut-list clip (1280x720,
HD), turned gray. `--photos`: photos instead, as the photo command writes them: the six color photos
with a free licence that scikit-image ships, at their full size (300-1000 px), and the 1,079 held-out
photos of ../shared (176 px) through `vidcolor eval` (a side over 176 leaves them as they are).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from temporal import LOSSLESS, ROOT, SHARED, read_rgb, write_gray

from vidcolor import colorize_video
from vidcolor.color import hasler_colorfulness
from vidcolor.colorizer import Colorizer
from vidcolor.image import colorize_pixels
from vidcolor.train.evaluate import evaluate

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "stereo_motorcycle")
HELD_OUT = SHARED.parent / "data" / "places-like"


def psnr(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return float(np.mean([10 * np.log10(255**2 / max(np.mean((x.astype(np.float64) - y) ** 2), 1e-10))
                          for x, y in zip(a, b)]))


def colorfulness(frames: list[np.ndarray]) -> float:
    """Mean Hasler-Suesstrunk colorfulness of RGB frames: PSNR alone rewards timid colors."""
    return float(np.mean([hasler_colorfulness(torch.from_numpy(f).permute(2, 0, 1).double()).item() for f in frames]))


def photo_row(colorizer: Colorizer) -> dict:
    """PSNR and colorfulness against the truth of scikit-image's photos (mean over them, and each photo's
    PSNR), and of the held-out photos where ../shared has them."""
    from skimage import data

    truths = [getattr(data, name)() for name in PHOTOS]
    truths = [t[0] if isinstance(t, tuple) else t for t in truths]  # the motorcycle: a stereo pair
    ours = [colorize_pixels(t, colorizer) for t in truths]
    each = [psnr([o], [t]) for o, t in zip(ours, truths)]
    row = {"psnr_photos": round(float(np.mean(each)), 3),
           "colorfulness_photos": round(colorfulness(ours) / colorfulness(truths), 3),
           "psnr_each": dict(zip(PHOTOS, (round(x, 2) for x in each)))}
    if HELD_OUT.is_dir():
        m = evaluate(colorizer, HELD_OUT, "val")
        row |= {"psnr_gain_held_out": m["psnr_gain"], "colorfulness_held_out": m["colorfulness_ratio"]}
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sides", type=int, nargs="+", default=None, help="films: 80 96 128 160 192 256; "
                   "photos: 96 128 176 224 256 0")
    p.add_argument("--model", default="fusion-small")
    p.add_argument("--photos", action="store_true", help="photos instead of films")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    args.sides = args.sides or ([96, 128, 176, 224, 256, 0] if args.photos else [80, 96, 128, 160, 192, 256])
    if args.photos:
        result = {str(side or "full"): photo_row(Colorizer(args.model, photo_side=side or None)) for side in args.sides}
        print(json.dumps(result) if args.json else json.dumps(result, indent=1))
        return
    clips = {"demo": ROOT / "samples" / "demo_truth.mp4"}
    if SHARED.is_dir():
        clips["airplane"] = SHARED / "color_airplane_audio.mp4"
        clips["cuts_hd"] = SHARED / "cuts_testvideo.mp4"
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        grays = {}
        for name, path in clips.items():
            truth, rate = read_rgb(path)
            grays[name] = (write_gray(truth, rate, Path(tmp) / f"{name}.mp4"), truth)
        for side in args.sides:
            colorizer = Colorizer(args.model, work_side=side or None)
            row, frames, seconds = {}, 0, 0.0
            for name, (gray, truth) in grays.items():
                out = Path(tmp) / f"{name}_{side}.mkv"
                t0 = time.perf_counter()
                report = colorize_video(gray, out, colorizer=colorizer, encode=LOSSLESS, progress=False)
                seconds += time.perf_counter() - t0
                frames += report.frames_out
                ours = read_rgb(out)[0]
                row[f"psnr_{name}"] = round(psnr(ours, truth), 3)
                row[f"colorfulness_{name}"] = round(colorfulness(ours) / colorfulness(truth), 3)
            row["end_to_end_fps"] = round(frames / seconds, 2)
            result[str(side or "full")] = row
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
