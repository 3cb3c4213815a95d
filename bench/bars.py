"""Black bars around the picture (pillarbox, letterbox) and a print's paper margins: what they cost the
network's colors, and what showing it the picture inside them alone (colorizer.picture_boxes) gives back.

    python bench/bars.py [--data ../shared/data/places-like] [--limit N] [--figure docs/bars.jpg] [--json]

photos: held-out photos (val split), each framed four ways: as it is; pillarboxed, with black bars of 1/6
of its width left and right (a 4:3 picture in a 16:9 frame); letterboxed, with bars of 1/6 of its height
above and below; as a scanned print, in paper margins (L* 92) of 1/10 of its width on all four sides.
Each frame is colorized at the working size of the whole frame, as a film's frames are, cropped back to
the photo and compared with the truth as `vidcolor eval` does (PSNR over RGB, colorfulness over the
truth's).
films: the color demo and, when ../shared is there, the color airplane footage, turned gray, as they are,
pillarboxed (bars of 1/6 of the width) and letterboxed (a 4:3 frame), colorized by the pipeline
(losslessly coded) and compared with the truth inside the bars: PSNR over RGB, mean over frames; `gray`
is the gray film's.
Each twice: with the picture inside the bars or margins seen alone (vidcolor's way), and with the whole
frame seen, bars and all (the crop switched off).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from temporal import LOSSLESS, ROOT, SHARED, read_rgb, write_gray
from work_side import psnr

from vidcolor import colorize_video
from vidcolor import colorizer as colorizer_module
from vidcolor.color import hasler_colorfulness, rgb_to_lab
from vidcolor.colorizer import Colorizer
from vidcolor.image import photo_rgb
from vidcolor.train.data import load_photos_native
from vidcolor.train.evaluate import psnr8

FRAMINGS = ("as_is", "pillarbox", "letterbox", "margins")
PAPER_L = 92.0  # L* of a scanned print's margin: paper, a little aged


def framed(L: torch.Tensor, framing: str) -> tuple[torch.Tensor, tuple[slice, slice]]:
    """(B, 1, H, W) L* -> the frame with its bars (L* = 0) or margins, and where the photo lies in it."""
    height, width = L.shape[-2:]
    if framing == "margins":
        m = width // 10
        return F.pad(L, (m, m, m, m), value=PAPER_L), (slice(m, m + height), slice(m, m + width))
    if framing == "pillarbox":
        bar = width // 6
        return F.pad(L, (bar, bar, 0, 0)), (slice(None), slice(bar, bar + width))
    if framing == "letterbox":
        bar = height // 6
        return F.pad(L, (0, 0, bar, bar)), (slice(bar, bar + height), slice(None))
    return L, (slice(None), slice(None))


@contextmanager
def seeing_bars() -> Iterator[None]:
    """The crop switched off: every frame's picture box is the whole frame."""
    shipped = colorizer_module.picture_boxes
    colorizer_module.picture_boxes = lambda L: [colorizer_module.Box(0, L.shape[-2], 0, L.shape[-1])] * len(L)
    try:
        yield
    finally:
        colorizer_module.picture_boxes = shipped


def photos(colorizer: Colorizer, data: Path, limit: int | None) -> dict:
    sums = {f: {"psnr": 0.0, "colorfulness": 0.0} for f in FRAMINGS}
    truth_colorfulness, count = 0.0, 0
    for batch in load_photos_native(data, "val", limit, 32):
        truth = batch.float() / 255
        L = rgb_to_lab(truth)[:, :1]
        for framing in FRAMINGS:
            frame, (rows, cols) = framed(L, framing)
            ab = colorizer.ab(colorizer.work_lightness(frame / 100)).cpu()
            pred = photo_rgb(frame, ab)[..., rows, cols]  # the frame as the photo command writes it
            sums[framing]["psnr"] += psnr8(pred, truth).sum().item()
            sums[framing]["colorfulness"] += hasler_colorfulness((pred * 255).round()).sum().item()
        truth_colorfulness += hasler_colorfulness(batch.float()).sum().item()
        count += len(batch)
    return {f: {"psnr": round(s["psnr"] / count, 4),
                "colorfulness_ratio": round(s["colorfulness"] / truth_colorfulness, 4)}
            for f, s in sums.items()} | {"images": count}


def truth_clips() -> dict[str, Path]:
    """The color films with truth: the demo, and the airplane footage where ../shared is there."""
    clips = {"demo": ROOT / "samples" / "demo_truth.mp4"}
    if SHARED.is_dir():
        clips["airplane"] = SHARED / "color_airplane_audio.mp4"
    return clips


def films(colorizer: Colorizer, figure: Path | None) -> dict:
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in truth_clips().items():
            truth, rate = read_rgb(path)
            height, width = truth[0].shape[:2]
            pillar, letter = width // 12 * 2, (width * 3 // 4 - height) // 4 * 2  # even: 4:2:0 keeps them sharp
            for framing, pad in (("as_is", (0, 0)), ("pillarbox", (0, pillar)), ("letterbox", (letter, 0))):
                rows, cols = slice(pad[0], pad[0] + height), slice(pad[1], pad[1] + width)
                gray = write_gray([np.pad(f, (pad[:1] * 2, pad[1:] * 2, (0, 0))) for f in truth], rate,
                                  Path(tmp) / f"{name}_{framing}.mkv")
                seen = {"gray": read_rgb(gray)[0]}
                for mode in ("picture_alone", "bars_seen"):
                    out = Path(tmp) / "color.mkv"
                    with seeing_bars() if mode == "bars_seen" else nullcontext():
                        colorize_video(gray, out, colorizer=colorizer, encode=LOSSLESS, progress=False,
                                       overwrite=True)
                    seen[mode] = read_rgb(out)[0]
                result[f"{name}_{framing}"] = {k: round(psnr([f[rows, cols] for f in v], truth), 3)
                                               for k, v in seen.items()}
                if figure is not None and (name, framing) == ("demo", "pillarbox"):
                    write_figure(seen, truth, cols, figure)
    return result


def write_figure(seen: dict[str, list[np.ndarray]], truth: list[np.ndarray], cols: slice, path: Path) -> None:
    """The frame where seeing the picture alone gains most: gray | bars seen | picture alone | truth."""
    gains = [psnr([a[:, cols]], [t]) - psnr([b[:, cols]], [t])
             for a, b, t in zip(seen["picture_alone"], seen["bars_seen"], truth)]
    i = int(np.argmax(gains))
    panels = [(seen["gray"][i], "gray, pillarboxed"), (seen["bars_seen"][i], "the network sees the bars"),
              (seen["picture_alone"][i], "vidcolor: the picture alone"), (truth[i], "truth")]
    labelled_row(panels, path)
    print(f"wrote {path} (frame {i}: {gains[i]:+.2f} dB)", file=sys.stderr)


def labelled_row(panels: list[tuple[np.ndarray, str]], path: Path) -> None:
    """Pictures side by side at half their height, each with its label above, as a JPEG."""
    height = panels[0][0].shape[0] // 2
    tiles = []
    for frame, text in panels:
        tile = Image.fromarray(frame)
        tile = tile.resize((round(tile.width * height / tile.height), height), Image.LANCZOS)
        labelled = Image.new("RGB", (tile.width + 4, height + 18), "white")
        labelled.paste(tile, (0, 18))
        ImageDraw.Draw(labelled).text((2, 3), text, fill="black")
        tiles.append(labelled)
    sheet = Image.new("RGB", (sum(t.width for t in tiles), height + 18), "white")
    for k, tile in enumerate(tiles):
        sheet.paste(tile, (sum(t.width for t in tiles[:k]), 0))
    sheet.save(path, quality=88)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data/places-like")
    p.add_argument("--limit", type=int, default=None, help="photos, spread evenly over the split (default: all)")
    p.add_argument("--model", default="fusion-small")
    p.add_argument("--figure", type=Path, default=None, help="write the demo's pillarboxed frame that gains most")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    colorizer = Colorizer(args.model)
    result = {"photos": {"picture_alone": photos(colorizer, args.data, args.limit)}}
    with seeing_bars():
        result["photos"]["bars_seen"] = photos(colorizer, args.data, args.limit)
    result["films"] = films(colorizer, args.figure)
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
