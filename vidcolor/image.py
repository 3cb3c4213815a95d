"""Still photos: full-resolution luminance from the input, chroma from the network."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from .color import fit_gamut, lab_to_rgb, rgb_to_lab
from .colorizer import Colorizer
from .errors import InputError, OutputError
from .outputs import atomic_output

log = logging.getLogger("vidcolor")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"}
# Lossy outputs at 95: at Pillow's default (75) a JPEG moved the input's L* by 5.2 at the 99th percentile
# (a 512 px photo), at 95 by 1.7 (WebP 80 / 95: 3.5 / 1.4); PNG 0.2, rounding only
LOSSY_QUALITY = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}}


@dataclass
class Picture:
    rgb: np.ndarray  # (H, W, 3) float32 sRGB in [0, 1], upright (its EXIF orientation applied)
    alpha: np.ndarray | None
    kept: dict  # what a colorized copy keeps of the file (Pillow's save options): EXIF, DPI, an RGB ICC profile
    count: int  # pictures in the file (animated, multi-page): only the first is read


def read_image(path: Path) -> Picture:
    """Any Pillow mode, in any format Pillow reads. The EXIF (the date a photo was taken, the camera) and
    the DPI of a scan are kept, without the orientation, which is applied; so is an RGB color profile (a
    gray one would misread the colorized RGB)."""
    try:
        with Image.open(path) as im:
            count = getattr(im, "n_frames", 1)
            icc = im.info.get("icc_profile") if im.mode in ("RGB", "RGBA") else None
            im = ImageOps.exif_transpose(im)
            kept = {"exif": im.getexif(), "dpi": im.info.get("dpi"), "icc_profile": icc}
            alpha = np.asarray(im.getchannel("A")) if "A" in im.getbands() else None
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit gray keeps its precision
                arr = np.asarray(im, dtype=np.float32)
                arr /= 65535.0 if im.mode != "I" or arr.max() > 255 else 255.0
                rgb = np.repeat(arr[..., None], 3, axis=2).clip(0, 1)
            else:
                rgb = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    except FileNotFoundError as ex:
        raise InputError(f"{path}: no such file") from ex
    except (UnidentifiedImageError, OSError, ValueError) as ex:
        raise InputError(f"{path}: not a readable image ({ex})") from ex
    return Picture(rgb, alpha, {k: v for k, v in kept.items() if v}, count)


def _lab(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) float sRGB -> (1, 3, H, W) L*a*b*."""
    return rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)[None].float())


def photo_rgb(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) L* and (B, 2, h, w) predicted a*b* -> (B, 3, H, W) sRGB as a photo is written: a*b*
    upsampled smoothly, and shrunk toward gray where sRGB cannot hold them, so L* stays the input's."""
    ab = F.interpolate(ab, size=L.shape[-2:], mode="bilinear", align_corners=False)
    return lab_to_rgb(fit_gamut(torch.cat((L, ab), dim=1)))


def colorize_array(rgb: np.ndarray, colorizer: Colorizer, global_vector: torch.Tensor | None = None) -> np.ndarray:
    """(H, W, 3) float sRGB in [0, 1] -> (H, W, 3) float sRGB: the input's L*, predicted a*b*."""
    lab = _lab(rgb)
    ab = colorizer.ab(colorizer.work_lightness(lab[:, :1] / 100), global_vector).cpu()
    return photo_rgb(lab[:, :1], ab)[0].permute(1, 2, 0).numpy()


def reference_features(colorizer: Colorizer, photo: Path) -> torch.Tensor:
    """(D,) global vector of a photo: its mood, to impose on other pictures (style transfer)."""
    rgb = read_image(photo).rgb
    return colorizer.global_features(colorizer.work_lightness(_lab(rgb)[:, :1] / 100))[0]


def shot_references(colorizer: Colorizer, table: Path) -> dict[int, torch.Tensor]:
    """A CSV of `shot index,photo` lines (0-based shots as `vidcolor shots` lists them, photos relative
    to the file) -> {shot: global vector}. Lines starting with # are comments."""
    refs = {}
    try:
        lines = table.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as ex:
        raise InputError(f"{table}: cannot read the reference table ({ex})") from ex
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        shot, _, photo = line.partition(",")
        if not shot.strip().isdigit() or not photo.strip():
            raise InputError(f"{table}:{n}: expected 'shot index,photo', got {line!r}")
        refs[int(shot)] = reference_features(colorizer, table.parent / photo.strip())
    return refs


def colorize_image(src: str | Path, dst: str | Path, colorizer: Colorizer | None = None,
                   overwrite: bool = False, reference: str | Path | None = None) -> dict:
    """Colorize one photo; write dst (format from its suffix). Returns a small report.

    `reference`: a color photo whose mood (global features) replaces the input's own."""
    src, dst = Path(src), Path(dst)
    colorizer = colorizer or Colorizer()
    picture = read_image(src)
    # an animated WebP or PNG, a multi-page TIFF: Pillow reads the first picture
    warnings = [f"{picture.count} pictures in the file: only the first is colorized"] if picture.count > 1 else []
    for w in warnings:
        log.warning("%s: %s", src, w)
    g = reference_features(colorizer, Path(reference))[None] if reference is not None else None
    out = (colorize_array(picture.rgb, colorizer, g) * 255 + 0.5).astype(np.uint8)
    image = Image.fromarray(out)
    if picture.alpha is not None:
        image.putalpha(Image.fromarray(picture.alpha))
    with atomic_output(src, dst, overwrite) as tmp:
        try:
            fmt = Image.registered_extensions().get(dst.suffix.lower())
            image.save(tmp, format=fmt, **picture.kept, **LOSSY_QUALITY.get(fmt, {}))
        except (KeyError, ValueError) as ex:
            raise OutputError(f"{dst}: unknown image format {dst.suffix!r}") from ex
    return {"input": str(src), "output": str(dst), "size": list(picture.rgb.shape[1::-1]), "warnings": warnings}
