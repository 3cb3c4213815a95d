"""Faded films: what grey blacks and dull whites cost the network's colors, and what the film's levels
(vidcolor.levels: the network shown a faded film with more contrast) give back.

    python bench/levels.py [--limit N] [--json]

films: the color demo and, when ../shared is there, the color airplane footage, turned gray and faded five
ways on L*: as they are; faded (L* 25 + 0.5 L*: grey blacks, dull whites); mild (15 + 0.7 L*); dark
(0.7 L*, underexposed); lifted (30 + 0.7 L*: blacks lifted, whites kept). Each colorized by the
pipeline (losslessly coded) with `levels="auto"` and with `levels="off"`; PSNR over RGB against the truth
of the output's a*b* joined with the truth's L* (the output's luminance is the faded input's: only the
colors are compared), mean over frames, and the levels the film was given.
photos: held-out photos (val split) as they are, each stretched by its own levels, all the way (what a
single picture would get if levels were judged per picture): PSNR as `vidcolor eval` computes it.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from temporal import LOSSLESS, ROOT, SHARED, read_rgb, write_gray

from vidcolor import colorize_video
from vidcolor.color import lab_to_rgb, rgb_to_lab
from vidcolor.colorizer import Colorizer
from vidcolor.image import photo_rgb
from vidcolor.levels import Levels
from vidcolor.train.data import load_photos_native
from vidcolor.train.evaluate import psnr8

FADES = {"as_is": (0.0, 1.0), "faded": (25.0, 0.5), "mild": (15.0, 0.7), "dark": (0.0, 0.7), "lifted": (30.0, 0.7)}


def lab_frames(frames: list[np.ndarray]) -> torch.Tensor:
    return torch.cat([rgb_to_lab(torch.from_numpy(f).permute(2, 0, 1)[None].float() / 255) for f in frames])


def rgb8(lab: torch.Tensor) -> list[np.ndarray]:
    return [(lab_to_rgb(x[None])[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy() for x in lab]


def color_psnr(colored: list[np.ndarray], truth_lab: torch.Tensor, truth: list[np.ndarray]) -> float:
    """PSNR (dB) of the colors alone: the output's a*b* on the truth's L*, against the truth; mean over frames."""
    out = []
    for frame, lab, want in zip(colored, truth_lab, truth):
        ab = lab_frames([frame])[0, 1:]
        got = rgb8(torch.cat((lab[:1], ab))[None])[0].astype(np.float64)
        out.append(10 * np.log10(255**2 / max(((got - want) ** 2).mean(), 1e-10)))
    return float(np.mean(out))


def films(colorizer: Colorizer) -> dict:
    clips = {"demo": ROOT / "samples" / "demo_truth.mp4"}
    if SHARED.is_dir():
        clips["airplane"] = SHARED / "color_airplane_audio.mp4"
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in clips.items():
            truth, rate = read_rgb(path)
            truth_lab = lab_frames(truth)
            for fade, (offset, gain) in FADES.items():
                faded = truth_lab.clone()
                faded[:, :1] = offset + gain * faded[:, :1]
                faded[:, 1:] = 0
                gray = write_gray(rgb8(faded), rate, Path(tmp) / "gray.mkv")
                row = {}
                for levels in ("auto", "off"):
                    out = Path(tmp) / "color.mkv"
                    report = colorize_video(gray, out, colorizer=colorizer, encode=LOSSLESS, progress=False,
                                            overwrite=True, levels=levels)
                    row[levels] = round(color_psnr(read_rgb(out)[0], truth_lab, truth), 3)
                    row["levels"] = report.levels if levels == "auto" else row.get("levels")
                result[f"{name}_{fade}"] = row
                print(name, fade, row, file=sys.stderr, flush=True)
    return result


def photos(colorizer: Colorizer, data: Path, limit: int) -> dict:
    sums, count = {"as_is": 0.0, "stretched": 0.0}, 0
    for batch in load_photos_native(data, "val", limit, 32):
        truth = batch.float() / 255
        L = rgb_to_lab(truth)[:, :1]
        for way in sums:
            seen = colorizer.work_lightness(L / 100)
            if way == "stretched":
                seen = torch.cat([replace(Levels.of(x), weight=1.0)(x[None]) for x in seen])
            ab = colorizer.ab(seen).cpu()
            sums[way] += psnr8(photo_rgb(L, ab), truth).sum().item()
        count += len(batch)
    return {k: round(v / count, 4) for k, v in sums.items()} | {"images": count}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "places-like")
    ap.add_argument("--limit", type=int, default=320, help="held-out photos")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    colorizer = Colorizer()
    result = {"films": films(colorizer)}
    if args.data.is_dir():
        result["photos"] = photos(colorizer, args.data, args.limit)
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
