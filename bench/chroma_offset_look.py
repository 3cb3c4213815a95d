"""What x264's chroma offset looks like: the crop where offsets 0 and 8 differ most, beside the lossless colors.

    python bench/chroma_offset_look.py [FILM] [--out sheet.png] [--zoom 3] [--json]

FILM (default: samples/demo_bw.mp4) is colorized losslessly (FFV1) and with the default encoder at chroma
offset 0 and at vidcolor's CHROMA_QP_OFFSET (media/codecs.py). Every 5th frame is searched, in crops a
quarter wide and a third high, overlapping by half, for the largest mean RGB difference between the two
coded films. The sheet shows that crop, zoomed without smoothing: lossless | offset 0 | offset 8. Printed:
where, that difference, and each coded film's PSNR over Cb and Cr against the lossless colors, its bytes.
Bytes and PSNR alone chose the offset (bench/x264_settings.py); this is the look of its worst place.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from x264_settings import psnr

from vidcolor import colorize_video
from vidcolor.media import codecs
from vidcolor.media.codecs import EncodeOptions

DEMO = Path(__file__).resolve().parents[1] / "samples" / "demo_bw.mp4"


def decoded(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as c:
        return list(c.decode(video=0))


def rgb(frames: list[av.VideoFrame]) -> list[np.ndarray]:
    return [f.to_ndarray(format="rgb24") for f in frames]


def worst_crop(a: list[np.ndarray], b: list[np.ndarray]) -> tuple[float, int, int, int, int, int]:
    """(mean difference, frame, top, left, height, width) of the crop where RGB frames a and b differ most."""
    h, w = a[0].shape[:2]
    ch, cw = h // 3, w // 4
    best = (-1.0, 0, 0, 0, ch, cw)
    for i in range(0, len(a), 5):
        d = np.abs(a[i].astype(np.int16) - b[i]).mean(axis=2)
        for y in range(0, h - ch + 1, ch // 2):
            for x in range(0, w - cw + 1, cw // 2):
                if (m := float(d[y:y + ch, x:x + cw].mean())) > best[0]:
                    best = (m, i, y, x, ch, cw)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("film", nargs="?", type=Path, default=DEMO)
    p.add_argument("--out", type=Path, default=Path("chroma_offset.png"))
    p.add_argument("--zoom", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    offsets = (0, codecs.CHROMA_QP_OFFSET)
    with tempfile.TemporaryDirectory() as tmp:
        lossless = Path(tmp) / "lossless.mkv"
        colorize_video(args.film, lossless, encode=EncodeOptions(codec="ffv1"), progress=False)
        frames = decoded(lossless)
        truth = [f.to_ndarray(format="yuv420p") for f in frames]
        pictures, coded = {"lossless": rgb(frames)}, {}
        for offset in offsets:
            codecs.CHROMA_QP_OFFSET = offset
            path = Path(tmp) / f"offset{offset}.mp4"
            colorize_video(args.film, path, progress=False)
            pictures[offset], coded[offset] = rgb(decoded(path)), path.read_bytes()
    diff, i, y, x, ch, cw = worst_crop(pictures[offsets[0]], pictures[offsets[1]])
    z = args.zoom
    sheet = Image.new("RGB", (3 * cw * z + 20, ch * z), "white")
    for k, shown in enumerate(pictures.values()):
        crop = Image.fromarray(shown[i][y:y + ch, x:x + cw]).resize((cw * z, ch * z), Image.NEAREST)
        sheet.paste(crop, (k * (cw * z + 10), 0))
    sheet.save(args.out)
    result = {"film": str(args.film), "frames": len(truth), "sheet": str(args.out),
              "crop": {"frame": i, "top": y, "left": x, "height": ch, "width": cw},
              "mean_rgb_difference": round(diff, 2),
              **{f"offset_{o}": {"bytes": len(coded[o]), "psnr_c_vs_lossless": psnr(coded[o], truth)["psnr_c"]}
                 for o in offsets}}
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
