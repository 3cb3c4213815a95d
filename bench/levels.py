"""Faded films: what grey blacks and dull whites cost the network's colors, and what the film's levels
(vidcolor.levels: the network shown a faded film with more contrast) give back.

    python bench/levels.py [--limit N] [--figure docs/levels.jpg] [--json]

films: the color demo and, when ../shared is there, the color airplane footage, turned gray and faded five
ways on L*: as they are; faded (L* 25 + 0.5 L*: grey blacks, dull whites); mild (15 + 0.7 L*); dark
(0.7 L*, underexposed); lifted (30 + 0.7 L*: blacks lifted, whites kept). Each colorized by the
pipeline (losslessly coded) with `levels="auto"` and with `levels="off"`; PSNR over RGB against the truth
of the output's a*b* joined with the truth's L* (the output's luminance is the faded input's: only the
colors are compared), mean over frames, and the levels the film was given.
photos: held-out photos (val split), as they are and faded (L* 25 + 0.5 L*), each seen three ways: as it is;
by its own levels under the films' rule (what a film of that one picture gets); stretched all the way by
its own levels (what every picture would get if levels were judged per picture). PSNR as `vidcolor eval`
computes it, on the truth's L*.
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
from bars import labelled_row, truth_clips
from temporal import LOSSLESS, ROOT, read_rgb, write_gray

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


def color_psnr(colored: list[np.ndarray], truth_lab: torch.Tensor, truth: list[np.ndarray]) -> list[float]:
    """PSNR (dB) of the colors alone, per frame: the output's a*b* on the truth's L*, against the truth."""
    out = []
    for frame, lab, want in zip(colored, truth_lab, truth):
        ab = lab_frames([frame])[0, 1:]
        got = rgb8(torch.cat((lab[:1], ab))[None])[0].astype(np.float64)
        out.append(10 * np.log10(255**2 / max(((got - want) ** 2).mean(), 1e-10)))
    return out


def films(colorizer: Colorizer, figure: Path | None) -> dict:
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in truth_clips().items():
            truth, rate = read_rgb(path)
            truth_lab = lab_frames(truth)
            for fade, (offset, gain) in FADES.items():
                faded = truth_lab.clone()
                faded[:, :1] = offset + gain * faded[:, :1]
                faded[:, 1:] = 0
                gray = write_gray(rgb8(faded), rate, Path(tmp) / "gray.mkv")
                row, seen, scores = {}, {"gray": read_rgb(gray)[0]}, {}
                for levels in ("auto", "off"):
                    out = Path(tmp) / "color.mkv"
                    report = colorize_video(gray, out, colorizer=colorizer, encode=LOSSLESS, progress=False,
                                            overwrite=True, levels=levels)
                    seen[levels] = read_rgb(out)[0]
                    scores[levels] = color_psnr(seen[levels], truth_lab, truth)
                    row[levels] = round(float(np.mean(scores[levels])), 3)
                    row["levels"] = report.levels if levels == "auto" else row.get("levels")
                result[f"{name}_{fade}"] = row
                if figure is not None and (name, fade) == ("demo", "faded"):
                    i = int(np.argmax(np.subtract(scores["auto"], scores["off"])))
                    truth_faded = rgb8(torch.cat((faded[i:i + 1, :1], truth_lab[i:i + 1, 1:]), 1))[0]
                    labelled_row([(seen["gray"][i], "faded film (L* 25 + 0.5 L*)"),
                                  (seen["off"][i], "the network sees it as it is"),
                                  (seen["auto"][i], "vidcolor: with the film's levels"),
                                  (truth_faded, "truth's colors, faded alike")], figure)
                print(name, fade, row, file=sys.stderr, flush=True)
    return result


def photos(colorizer: Colorizer, data: Path, limit: int) -> dict:
    ways = {"seen_as_is": lambda x: x, "film_rule": lambda x: Levels.of(x)(x),
            "stretched": lambda x: replace(Levels.of(x), weight=1.0)(x)}
    sums, count = {}, 0
    for batch in load_photos_native(data, "val", limit, 32):
        truth = batch.float() / 255
        L = rgb_to_lab(truth)[:, :1]
        for fade in ("as_is", "faded"):
            offset, gain = FADES[fade]
            seen = colorizer.work_lightness((offset + gain * L) / 100)
            for way, view in ways.items():
                ab = colorizer.ab(torch.cat([view(x[None]) for x in seen])).cpu()
                key = f"{fade}_{way}"
                sums[key] = sums.get(key, 0.0) + psnr8(photo_rgb(L, ab), truth).sum().item()
        count += len(batch)
    return {k: round(v / count, 4) for k, v in sums.items()} | {"images": count}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "places-like")
    ap.add_argument("--limit", type=int, default=320, help="held-out photos")
    ap.add_argument("--figure", type=Path, default=None, help="write the faded demo's frame that gains most")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    colorizer = Colorizer()
    result = {"films": films(colorizer, args.figure)}
    if args.data.is_dir():
        result["photos"] = photos(colorizer, args.data, args.limit)
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
