"""Still photos: full-resolution luminance from the input, chroma from the network."""
from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from . import __version__, icc, photo16
from .color import fit_gamut, gray_to_lightness, lab_to_rgb, rgb_to_lab
from .colorizer import Colorizer
from .errors import AlreadyInColor, InputError, OutputError, missing_input
from .input_color import coloring, ycc_of_rgb
from .naming import image_format, register_heif
from .outputs import atomic_output, disk_full

log = logging.getLogger("vidcolor")

# Lossy outputs at 95: at Pillow's default (75) a JPEG moved the input's L* by 5.2 at the 99th percentile
# (a 512 px photo), at 95 by 1.7 (WebP 80 / 95: 3.5 / 1.4; HEIC 50 / 95, a 384 px one: 3.3 / 0.8); PNG 0.2,
# rounding only
LOSSY_QUALITY = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}, "HEIF": {"quality": 95}}
PROCESSING_SOFTWARE = 0x000B  # EXIF: the software that processed the picture after it was made
# Pillow warns above 89 megapixels and refuses 179 as a "decompression bomb"; a large-format negative is
# scanned at 300 and more, and is converted strip by strip (10-15 bytes a pixel): warn at 1 gigapixel
Image.MAX_IMAGE_PIXELS = 1_000_000_000


@dataclass
class Picture:
    pixels: np.ndarray  # (H, W, 1 or 3) uint8 or uint16 sRGB, gray in one channel; upright (EXIF orientation applied)
    alpha: np.ndarray | None  # (H, W), the pixels' type
    kept: dict  # what a colorized copy keeps of the file (Pillow's save options): EXIF, DPI, an RGB ICC profile
    count: int  # pictures in the file (animated, multi-page): only the first is read
    notes: list[str]  # what the reading could not do as it should (warnings for the report)

    @property
    def bits(self) -> int:
        """8, or 16 for a scan with more than 8 bits per channel: its copy is 16-bit where the format holds it."""
        return 16 if self.pixels.dtype == np.uint16 else 8


def read_image(path: Path) -> Picture:
    """Any Pillow mode, in any format Pillow reads, 16-bit channels at their full precision. The EXIF (the
    date a photo was taken, the camera) and the DPI of a scan are kept, without the orientation, which is
    applied. A gray color profile is applied to the pixels (it cannot describe RGB), and so is an RGB one
    wider than sRGB (icc.rgb_profile); a 16-bit scan under one of tables keeps it (LittleCMS in Pillow
    converts 8-bit RGB only), and a note says so."""
    register_heif(path)
    try:
        # from a file object, not mapped: Pillow 13 maps an uncompressed TIFF at the sides it has already
        # swapped for a quarter turn, and reads a turned gray scan garbled
        with open(path, "rb") as file, Image.open(file) as im:
            count = getattr(im, "n_frames", 1)
            profile = im.info.get("icc_profile")
            kept_profile, source = icc.rgb_profile(profile) if im.mode in ("RGB", "RGBA") else (None, None)
            # integer and float gray Pillow reads whole; asked before a PNG's EXIF loads the picture
            narrowed = photo16.is_deep(im, str(path)) and not im.mode.startswith(("I", "F"))
            has_alpha = "A" in im.getbands()
            exif = im.getexif()  # the file's: an upright copy of a TIFF has none
            notes = []
            if narrowed:  # 16-bit channels Pillow reads at 8 bits
                pixels = photo16.read(str(path), exif.get(photo16.ORIENTATION, 1), has_alpha)
                if source is not None and not icc.to_srgb16(pixels, profile):  # a profile of tables
                    kept_profile = profile
                    notes.append(f"its colors are computed as sRGB's: under its profile "
                                 f"({source.profile.profile_description}) they show somewhat more saturated")
                elif icc.is_gray(profile):  # 16-bit gray with alpha, which Pillow reads as 8-bit RGBA
                    icc.to_srgb16(pixels, profile)
            else:
                upright = ImageOps.exif_transpose(im)
                upright = icc.to_srgb(upright, source) if source is not None else upright
                pixels = _pixels(icc.to_srgb_gray(upright, profile), has_alpha)
            kept_exif = _kept_exif(exif)
            if kept_exif is None:
                notes.append("its EXIF is damaged: none of it is kept")
            kept = {"exif": kept_exif, "dpi": im.info.get("dpi"), "icc_profile": kept_profile}
    except FileNotFoundError as ex:
        raise missing_input(path) from ex
    except UnidentifiedImageError as ex:
        raise InputError(f"{path}: not a readable image (damaged, or a format Pillow does not know)") from ex
    except Image.DecompressionBombError as ex:  # over 2 gigapixels: about 30 GB to colorize
        raise InputError(f"{path}: too big to colorize whole ({ex})") from ex
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as ex:  # Pillow's parsers on damage
        raise InputError(f"{path}: not a readable image ({ex})") from ex
    pixels, alpha = (pixels[..., :-1], pixels[..., -1]) if has_alpha else (pixels, None)
    return Picture(pixels, alpha, {k: v for k, v in kept.items() if v}, count, notes)


def _kept_exif(exif: Image.Exif) -> Image.Exif | None:
    """The EXIF a colorized copy keeps, apart from the file: a TIFF's EXIF directory is read lazily from it.
    Without the fields that describe the source's pixels (the copy's own) or its orientation (applied). None
    where a field is damaged: Pillow reads each as it is asked for, and one it cannot read fails the whole."""
    try:
        for tag in photo16.PIXEL_TAGS | {photo16.ORIENTATION}:
            exif.pop(tag, None)
        kept = Image.Exif()
        kept.load(exif.tobytes())
    except (KeyError, ValueError, TypeError, struct.error):
        return None
    return kept


def _pixels(im: Image.Image, alpha: bool) -> np.ndarray:
    """(H, W, channels) uint8 or uint16 of a picture Pillow reads whole, alpha last; gray stays one channel."""
    if im.mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16)[..., None]  # native byte order
    if im.mode in ("I", "F"):  # 32-bit integers or floats: 16-bit codes, 8-bit ones if none is above 255,
        gray = np.asarray(im)  # floats from 0 to 1 (HDR merges, scientific scans) if none is above 1
        top = gray.max()
        peak = 1 if im.mode == "F" and top <= 1 else 255 if top <= 255 else 65535
        return (gray * (65535 / peak)).round().clip(0, 65535).astype(np.uint16)[..., None]
    if im.mode in ("L", "LA"):
        return np.asarray(im).reshape(im.height, im.width, -1)
    return np.asarray(im.convert("RGBA" if alpha else "RGB"))


def _lightness(pixels: np.ndarray) -> torch.Tensor:
    """(H, W, 1 or 3) integer sRGB -> (1, 1, H, W) L*, strip by strip (gray straight from its level)."""
    height, width, channels = pixels.shape
    peak = np.iinfo(pixels.dtype).max
    L = torch.empty(1, 1, height, width)
    for rows in photo16.strips(height, width):
        rgb = torch.from_numpy(pixels[rows].astype(np.float32) / peak).permute(2, 0, 1)
        L[0, 0, rows] = gray_to_lightness(rgb[0]) if channels == 1 else rgb_to_lab(rgb)[0]
    return L


def _widened(ab: torch.Tensor, width: int) -> torch.Tensor:
    """(B, 2, h, w) a*b* upsampled to `width` columns, bilinear: the first half of a separable upsampling
    whose rows `_rows` makes as they are needed."""
    return F.interpolate(ab, size=(ab.shape[-2], width), mode="bilinear", align_corners=False)


def _rows(wide: torch.Tensor, height: int, rows: slice) -> torch.Tensor:
    """Rows `rows` of `wide` (B, 2, h, W) upsampled to `height` rows, as torch's bilinear (no corner alignment)."""
    h = wide.shape[-2]
    src = ((torch.arange(rows.start, rows.stop) + 0.5) * (h / height) - 0.5).clamp(min=0)
    top = src.floor().long().clamp(max=h - 1)
    weight = (src - top).view(1, 1, -1, 1)
    return wide[:, :, top] * (1 - weight) + wide[:, :, (top + 1).clamp(max=h - 1)] * weight


def _fitted_rgb(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) L* and (B, 2, H, W) a*b* -> (B, 3, H, W) sRGB, a*b* shrunk toward gray where sRGB
    cannot hold them, so that L* stays the input's."""
    return lab_to_rgb(fit_gamut(torch.cat((L, ab), dim=1)))


def photo_rgb(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) L* and (B, 2, h, w) predicted a*b* -> (B, 3, H, W) sRGB as a photo is written."""
    height, width = L.shape[-2:]
    return _fitted_rgb(L, _rows(_widened(ab, width), height, slice(0, height)))


def colorize_pixels(pixels: np.ndarray, colorizer: Colorizer, global_vector: torch.Tensor | None = None,
                    bits: int = 8, levels: Callable[[torch.Tensor], torch.Tensor] | None = None) -> np.ndarray:
    """(H, W, 1 or 3) integer sRGB -> (H, W, 3) sRGB at `bits` (8 or 16): the input's L* at full resolution,
    a*b* predicted at the working size and upsampled smoothly. With `levels` the picture is a film's frame
    (a preview's), seen at the film's working size and as levels.Levels say; else a photo, at the photos'.
    Converted strip by strip: as whole-picture float tensors a scan took about 100 bytes a pixel
    (bench/photo_memory.py)."""
    height, width = pixels.shape[:2]
    L = _lightness(pixels)
    seen = colorizer.work_lightness(L / 100, photo=levels is None)
    wide = _widened(colorizer.ab(levels(seen) if levels else seen, global_vector).cpu(), width)
    out = np.empty((height, width, 3), np.uint16 if bits > 8 else np.uint8)
    for rows in photo16.strips(height, width):
        rgb = _fitted_rgb(L[:, :, rows], _rows(wide, height, rows))[0].permute(1, 2, 0)
        out[rows] = (rgb * ((1 << bits) - 1) + 0.5).numpy()
    return out


def reference_features(colorizer: Colorizer, photo: Path) -> torch.Tensor:
    """(D,) global vector of a photo: its mood, to impose on other pictures (style transfer)."""
    L = _lightness(read_image(photo).pixels)
    return colorizer.global_features(colorizer.work_lightness(L / 100, photo=True))[0]


def reference_vector(colorizer: Colorizer, reference: str | Path | torch.Tensor) -> torch.Tensor:
    """(D,) global vector of a reference: a color photo's, or one computed before (a folder computes its
    reference once for all its files)."""
    return reference if isinstance(reference, torch.Tensor) else reference_features(colorizer, Path(reference))


def is_reference_table(reference: str | Path | torch.Tensor) -> bool:
    """A .csv (or .txt) of per-shot references, not one photo: shot_references reads it."""
    return not isinstance(reference, torch.Tensor) and Path(reference).suffix.lower() in (".csv", ".txt")


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
                   overwrite: bool = False, reference: str | Path | torch.Tensor | None = None,
                   recolor: bool = True) -> dict:
    """Colorize one photo; write dst (format from its suffix). Returns a small report.

    `reference`: a color photo whose mood (global features) replaces the input's own, or its global vector.
    `recolor`: False raises AlreadyInColor for a photo that has colors of its own (True: it is colorized,
    with a warning)."""
    src, dst = Path(src), Path(dst)
    fmt = image_format(dst)
    picture = read_image(src)
    has = coloring(ycc_of_rgb(picture.pixels))
    if has.kind == "color" and not recolor:
        raise AlreadyInColor(f"{src}: already has colors of its own; not colorized")
    colorizer = colorizer or Colorizer()
    bits = 16 if picture.bits == 16 and fmt in photo16.FORMATS else 8
    warnings = []
    if picture.count > 1:  # an animated WebP or PNG, a multi-page TIFF: Pillow reads the first picture
        warnings.append(f"{picture.count} pictures in the file: only the first is colorized")
    if picture.alpha is not None and fmt == "JPEG":
        warnings.append(f"{dst.name}: JPEG holds no transparency, the copy is opaque")
    warnings += picture.notes + [line for line in [has.said("the photo")] if line]
    for w in warnings:
        log.warning("%s: %s", src, w)
    g = reference_vector(colorizer, reference)[None] if reference is not None else None
    pixels = colorize_pixels(picture.pixels, colorizer, g, bits)
    if picture.alpha is not None and fmt != "JPEG":
        pixels = np.dstack((pixels, _codes(picture.alpha, pixels.dtype)))
    with atomic_output(src, dst, overwrite) as tmp:
        _write(tmp, dst, fmt, pixels, _marked(picture.kept))
    return {"input": str(src), "output": str(dst), "size": list(picture.pixels.shape[1::-1]), "bits": bits,
            "coloring": asdict(has), "warnings": warnings}


def _codes(alpha: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`alpha` in `dtype`: a 16-bit scan's, into an 8-bit copy, rounded to 8 bits."""
    return alpha if alpha.dtype == dtype else ((alpha.astype(np.uint32) * 255 + 32767) // 65535).astype(dtype)


def _marked(kept: dict) -> dict:
    """`kept` with the EXIF saying the copy is colorized (ProcessingSoftware; the scanner's Software stays)."""
    exif = Image.Exif()
    if "exif" in kept:
        exif.load(kept["exif"].tobytes())
    exif[PROCESSING_SOFTWARE] = f"vidcolor {__version__}"
    return {**kept, "exif": exif}


def _write(tmp: Path, dst: Path, fmt: str, pixels: np.ndarray, kept: dict) -> None:
    """8-bit pixels through Pillow, 16-bit ones as 16-bit PNG or TIFF."""
    if pixels.dtype == np.uint16:
        photo16.write(tmp, fmt, pixels, kept)
        return
    try:
        Image.fromarray(pixels).save(tmp, format=fmt, **kept, **LOSSY_QUALITY.get(fmt, {}))
    except OSError as ex:  # a full disk, or a format that cannot hold the picture: "cannot write mode RGBA as PPM"
        raise (disk_full(ex, dst) or OutputError(f"{dst}: {ex}")) from ex
