"""README pictures that are not measurements: the preview sheet and the reference-style example.

    python scripts/make_figures.py      # writes docs/preview.jpg and docs/reference.jpg
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage import data

from vidcolor import Colorizer, colorize_image
from vidcolor.preview import make_preview

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SIDE = 240  # px, height of each picture in the reference figure


def labelled(img: Image.Image, text: str) -> Image.Image:
    img = img.resize((round(img.width * SIDE / img.height), SIDE))
    out = Image.new("RGB", (img.width, SIDE + 18), "white")
    out.paste(img, (0, 18))
    ImageDraw.Draw(out).text((2, 3), text, fill="black")
    return out


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    colorizer = Colorizer()
    with tempfile.TemporaryDirectory() as tmp:
        sheet = Path(tmp) / "sheet.png"
        make_preview(ROOT / "samples" / "demo_bw.mp4", sheet, count=4, colorizer=colorizer)
        Image.open(sheet).convert("RGB").save(DOCS / "preview.jpg", quality=88)
        gray = ROOT / "samples" / "demo_photo.jpg"
        panels = [labelled(Image.open(gray).convert("RGB"), "input (gray)")]
        out = Path(tmp) / "auto.png"
        colorize_image(gray, out, colorizer)
        panels.append(labelled(Image.open(out), "vidcolor"))
        for name in ("rocket", "chelsea"):
            ref = Path(tmp) / f"{name}.png"
            Image.fromarray(getattr(data, name)()).save(ref)
            out = Path(tmp) / f"with_{name}.png"
            colorize_image(gray, out, colorizer, reference=ref)
            thumb = Image.open(ref).convert("RGB")
            thumb.thumbnail((SIDE // 3, SIDE // 3))
            result = Image.open(out).convert("RGB")
            result.paste(thumb, (result.width - thumb.width - 4, result.height - thumb.height - 4))
            panels.append(labelled(result, f"--reference {name}.png (inset)"))
    width = sum(p.width for p in panels) + 4 * (len(panels) + 1)
    figure = Image.new("RGB", (width, SIDE + 26), "white")
    x = 4
    for p in panels:
        figure.paste(p, (x, 4))
        x += p.width + 4
    figure.save(DOCS / "reference.jpg", quality=88)
    print(np.asarray(figure).shape)


if __name__ == "__main__":
    main()
