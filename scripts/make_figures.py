"""README pictures from media the project may ship: the gray | vidcolor | truth sheet, the preview sheet and
the reference-style example.

    python scripts/make_figures.py      # writes docs/eval_sheet.jpg, docs/preview.jpg, docs/reference.jpg and
                                        # docs/photo_side.jpg

The sheet's photos are the public-domain and CC0 ones scikit-image ships (NASA, SpaceX, two photographers),
none of them in the training data: the held-out photos `vidcolor eval` measures are third-party, and are not
shown here. The sheet is `vidcolor eval --sheet` on them, and its metrics are printed.
"""
from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage import data

from vidcolor import Colorizer, colorize_image
from vidcolor.image import colorize_pixels
from vidcolor.preview import make_preview
from vidcolor.train.evaluate import SHEET_TILE, evaluate

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SIDE = 240  # px, height of each picture in the reference figure
# scikit-image's color photos with a free licence, as square crops (left, top, side) of the subject
SHEET_CROPS = {"astronaut": (0, 0, 512), "coffee": (100, 0, 400), "chelsea": (60, 0, 300),
               "rocket": (120, 0, 427), "hubble_deep_field": (64, 0, 872)}


def labelled(img: Image.Image, text: str) -> Image.Image:
    img = img.resize((round(img.width * SIDE / img.height), SIDE))
    out = Image.new("RGB", (img.width, SIDE + 18), "white")
    out.paste(img, (0, 18))
    ImageDraw.Draw(out).text((2, 3), text, fill="black")
    return out


def eval_sheet(colorizer: Colorizer, tmp: Path) -> dict:
    """docs/eval_sheet.jpg: `vidcolor eval --sheet` on SHEET_CROPS, at the size of the held-out photos; its
    metrics."""
    rows = []
    for name, (left, top, side) in SHEET_CROPS.items():
        photo = Image.fromarray(getattr(data, name)()).convert("RGB").crop((left, top, left + side, top + side))
        photo.resize((SHEET_TILE, SHEET_TILE), Image.LANCZOS).save(tmp / f"{name}.png")
        rows.append({"path": f"{name}.png", "source": "scikit-image", "label": "none", "split": "val",
                     "width": SHEET_TILE, "height": SHEET_TILE})
    with open(tmp / "index.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    sheet = tmp / "eval_sheet.png"
    metrics = evaluate(colorizer, tmp, "val", sheet=sheet)
    Image.open(sheet).convert("RGB").save(DOCS / "eval_sheet.jpg", quality=90)
    return metrics


def grid(rows: list[list[Image.Image]]) -> Image.Image:
    """Rows of labelled panels on white, 4 px apart."""
    width = max(sum(p.width + 4 for p in row) for row in rows) + 4
    figure = Image.new("RGB", (width, len(rows) * (SIDE + 22) + 4), "white")
    for r, row in enumerate(rows):
        x = 4
        for panel in row:
            figure.paste(panel, (x, 4 + r * (SIDE + 22)))
            x += panel.width + 4
    return figure


def photo_side_figure() -> None:
    """docs/photo_side.jpg: photos seen at a film's working size (128 px) and at the photos' (224), and the
    truth (bench/work_side.py --photos measures the difference)."""
    seen_at = [Colorizer(photo_side=side) for side in (128, 224)]  # the model loaded once for each side
    rows = []
    for name in ("coffee", "rocket", "astronaut"):
        truth = getattr(data, name)()
        seen = [colorize_pixels(truth, colorizer) for colorizer in seen_at]
        rows.append([labelled(Image.fromarray(x), text) for x, text in
                     zip((*seen, truth), ("seen at 128 px (a film's)", "seen at 224 px (vidcolor)", "truth"))])
    grid(rows).save(DOCS / "photo_side.jpg", quality=88)


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    colorizer = Colorizer()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(eval_sheet(colorizer, Path(tmp))))  # at their own 176 px, as `vidcolor eval`
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
    figure = grid([panels])
    figure.save(DOCS / "reference.jpg", quality=88)
    print(np.asarray(figure).shape)
    photo_side_figure()


if __name__ == "__main__":
    main()
