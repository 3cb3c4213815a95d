"""Still photos: full-resolution luminance from the input, chroma from the network."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from . import photo16
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
    alpha: np.ndarray | None  # (H, W) float32 in [0, 1]
    kept: dict  # what a colorized copy keeps of the file (Pillow's save options): EXIF, DPI, an RGB ICC profile
    count: int  # pictures in the file (animated, multi-page): only the first is read
    deep: bool  # more than 8 bits per channel: a copy is written at 16 where its format holds them


def read_image(path: Path) -> Picture:
    """Any Pillow mode, in any format Pillow reads, 16-bit channels at their full precision. The EXIF (the
    date a photo was taken, the camera) and the DPI of a scan are kept, without the orientation, which is
    applied; so is an RGB color profile (a gray one would misread the colorized RGB)."""
    try:
        # from a file object, not mapped: Pillow 13 maps an uncompressed TIFF at the sides it has already
        # swapped for a quarter turn, and reads a turned gray scan garbled
        with open(path, "rb") as file, Image.open(file) as im:
            count = getattr(im, "n_frames", 1)
            icc = im.info.get("icc_profile") if im.mode in ("RGB", "RGBA") else None
            deep, has_alpha = photo16.is_deep(im), "A" in im.getbands()
            exif = im.getexif()  # the file's: an upright copy of a TIFF has none
            if deep and not im.mode.startswith("I"):  # channels Pillow narrows to 8 bits: FFmpeg reads them whole
                pixels = photo16.read(str(path), exif.get(photo16.ORIENTATION, 1), has_alpha).astype(np.float32)
                pixels /= 65535
            else:
                pixels = _pixels(ImageOps.exif_transpose(im), has_alpha)
            kept = {"exif": _kept_exif(exif), "dpi": im.info.get("dpi"), "icc_profile": icc}
    except FileNotFoundError as ex:
        raise InputError(f"{path}: no such file") from ex
    except UnidentifiedImageError as ex:
        raise InputError(f"{path}: not a readable image (damaged, or a format Pillow does not know)") from ex
    except (OSError, ValueError) as ex:
        raise InputError(f"{path}: not a readable image ({ex})") from ex
    alpha = pixels[..., 3] if has_alpha else None
    return Picture(pixels[..., :3], alpha, {k: v for k, v in kept.items() if v}, count, deep)


def _kept_exif(exif: Image.Exif) -> Image.Exif:
    """The EXIF a colorized copy keeps, apart from the file: a TIFF's EXIF directory is read lazily from it.
    Without the fields that describe the source's pixels (the copy's own) or its orientation (applied)."""
    for tag in photo16.PIXEL_TAGS | {photo16.ORIENTATION}:
        exif.pop(tag, None)
    kept = Image.Exif()
    kept.load(exif.tobytes())
    return kept


def _pixels(im: Image.Image, alpha: bool) -> np.ndarray:
    """(H, W, 3, or 4 with alpha) float32 in [0, 1] of a picture Pillow reads whole."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit gray
        gray = np.asarray(im, dtype=np.float32)
        gray /= 65535.0 if im.mode != "I" or gray.max() > 255 else 255.0
        return np.repeat(gray[..., None], 3, axis=2).clip(0, 1)
    return np.asarray(im.convert("RGBA" if alpha else "RGB"), dtype=np.float32) / 255


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
    fmt = Image.registered_extensions().get(dst.suffix.lower())
    bits = 16 if picture.deep and fmt in photo16.FORMATS else 8
    warnings = []
    if picture.count > 1:  # an animated WebP or PNG, a multi-page TIFF: Pillow reads the first picture
        warnings.append(f"{picture.count} pictures in the file: only the first is colorized")
    if picture.alpha is not None and fmt == "JPEG":
        warnings.append(f"{dst.name}: JPEG holds no transparency, the copy is opaque")
    for w in warnings:
        log.warning("%s: %s", src, w)
    g = reference_features(colorizer, Path(reference))[None] if reference is not None else None
    pixels = colorize_array(picture.rgb, colorizer, g).clip(0, 1)
    if picture.alpha is not None and fmt != "JPEG":
        pixels = np.dstack((pixels, picture.alpha))
    with atomic_output(src, dst, overwrite) as tmp:
        if bits == 16:
            photo16.write(tmp, fmt, (pixels * 65535 + 0.5).astype(np.uint16), picture.kept)
        else:
            try:
                image = Image.fromarray((pixels * 255 + 0.5).astype(np.uint8))
                image.save(tmp, format=fmt, **picture.kept, **LOSSY_QUALITY.get(fmt, {}))
            except (KeyError, ValueError) as ex:
                raise OutputError(f"{dst}: unknown image format {dst.suffix!r}") from ex
            except OSError as ex:  # a format that cannot hold the picture: "cannot write mode RGBA as PPM"
                raise OutputError(f"{dst}: {ex}") from ex
    return {"input": str(src), "output": str(dst), "size": list(picture.rgb.shape[1::-1]), "bits": bits,
            "warnings": warnings}
