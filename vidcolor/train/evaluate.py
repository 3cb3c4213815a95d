"""Evaluation on held-out photos: colorize from L* alone, compare with the truth.

psnr: RGB, 8-bit, dB, mean over images; psnr_gray: the same with a*b* = 0 (the baseline the
network must beat); colorfulness: Hasler & Suesstrunk (2003), mean over images.
"""
from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from ..color import hasler_colorfulness, lab_to_rgb, rgb_to_lab
from ..colorizer import Colorizer
from ..errors import InputError
from ..image import photo_rgb
from ..naming import image_format
from ..outputs import atomic_output, check_output
from .data import load_photos_native

SHEET_TILE = 176  # px, side of one picture in the contact sheet


def psnr8(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """PSNR (dB) per image of (B, 3, H, W) RGB quantized to 8 bits."""
    a8, b8 = (a * 255).round(), (b * 255).round()
    mse = ((a8 - b8) ** 2).flatten(1).mean(1).clamp(min=1e-10)
    return 10 * torch.log10(255**2 / mse)


def evaluate(colorizer: Colorizer, data: Path, split: str = "val", limit: int | None = None,
             sheet: Path | None = None, sheet_count: int = 12, batch_size: int = 32, overwrite: bool = False,
             progress: bool = False) -> dict:
    """Metrics over the photos of `split`; optionally a gray | vidcolor | truth contact sheet, which replaces a
    file only with `overwrite`. `progress`: a bar of the photos done."""
    if sheet is not None:  # before the evaluation, not after it
        check_output(data, sheet, overwrite)
        fmt = image_format(sheet)
    sums = {"psnr": 0.0, "psnr_gray": 0.0, "colorfulness": 0.0, "colorfulness_truth": 0.0}
    count, tiles = 0, []
    for batch in load_photos_native(data, split, limit, batch_size, progress):
        truth = batch.float() / 255
        lab = rgb_to_lab(truth)
        ab = colorizer.ab(colorizer.work_lightness(lab[:, :1] / 100, photo=True)).cpu()
        pred = photo_rgb(lab[:, :1], ab)  # as the photo command writes it
        gray = lab_to_rgb(torch.cat((lab[:, :1], torch.zeros_like(lab[:, 1:])), 1))
        sums["psnr"] += psnr8(pred, truth).sum().item()
        sums["psnr_gray"] += psnr8(gray, truth).sum().item()
        sums["colorfulness"] += hasler_colorfulness((pred * 255).round()).sum().item()
        sums["colorfulness_truth"] += hasler_colorfulness(batch.float()).sum().item()
        count += len(batch)
        if sheet is not None and len(tiles) < sheet_count:
            tiles += [torch.cat([_tile(x[i]) for x in (gray, pred, truth)], dim=2)
                      for i in range(min(len(batch), sheet_count - len(tiles)))]
    if count == 0:
        raise InputError(f"{data}: none of the photos of split {split!r} can be read")
    metrics = {k: round(v / count, 4) for k, v in sums.items()}
    metrics["psnr_gain"] = round(metrics["psnr"] - metrics["psnr_gray"], 4)
    metrics["colorfulness_ratio"] = round(metrics["colorfulness"] / metrics["colorfulness_truth"], 4)
    metrics["images"] = count
    metrics["work_side"] = colorizer.photo_side  # the short side photos were seen at (None: their own): figures
    # at different sides differ (docs/quality.md, Working size re-measured)
    if sheet is not None:
        with atomic_output(data, sheet, overwrite) as tmp:
            write_sheet(tiles, tmp, fmt)
    return metrics


def _tile(rgb: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.interpolate(rgb[None], size=(SHEET_TILE, SHEET_TILE), mode="bilinear",
                                           align_corners=False, antialias=True)[0]


def write_sheet(rows: list[torch.Tensor], path: Path, fmt: str, columns: int = 2) -> None:
    """Lay (3, h, w) row pictures out in `columns` columns with a white gutter; save in Pillow's `fmt`."""
    pad = 6
    h, w = rows[0].shape[-2:]
    nrows = -(-len(rows) // columns)
    canvas = torch.ones(3, nrows * (h + pad) + pad, columns * (w + pad) + pad)
    for i, row in enumerate(rows):
        y, x = pad + (i // columns) * (h + pad), pad + (i % columns) * (w + pad)
        canvas[:, y:y + h, x:x + w] = row
    Image.fromarray((canvas.clamp(0, 1) * 255 + 0.5).byte().permute(1, 2, 0).numpy()).save(path, format=fmt)
