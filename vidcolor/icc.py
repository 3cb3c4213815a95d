"""Scans with a color profile. Photoshop's gray working space ("Dot Gain 20%") and scanners' "Gray Gamma
2.2" give a code another lightness than sRGB does, and RGB spaces wider than sRGB (Adobe RGB, ProPhoto) other
colors too. The colors are computed as sRGB's, so a scan's profile is applied first: L* is read as the scan
looks in a color-managed viewer, and the copy, sRGB, looks as light. Pillow builds sRGB and Lab profiles
only; the sRGB gray one is built here (ICC v2: header, tag table, tags)."""
from __future__ import annotations

import io
import struct

from PIL import Image, ImageCms

D50 = (0.9642, 1.0, 0.8249)  # the profile connection space's white
SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)  # IEC 61966-2-1 as ICC's parametric curve 3
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()  # what a copy converted to sRGB carries


def _s15(x: float) -> bytes:
    return struct.pack(">i", round(x * 65536))


def xyz(values: tuple[float, float, float]) -> bytes:
    """An XYZ tag's body."""
    return b"XYZ \0\0\0\0" + b"".join(map(_s15, values))


def tone_curve(gamma: float | None = None) -> bytes:
    """A tone curve tag's body: sRGB's, or a plain `gamma`."""
    if gamma is None:
        return b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + b"".join(map(_s15, SRGB_CURVE))
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def gray_profile(gamma: float | None = None) -> ImageCms.ImageCmsProfile:
    """A gray profile whose tone curve is sRGB's, or a plain `gamma`."""
    name = "sRGB gray" if gamma is None else f"Gray Gamma {gamma}"
    return build_profile(b"GRAY", name, [(b"kTRC", tone_curve(gamma))])


def build_profile(space: bytes, name: str, tags: list[tuple[bytes, bytes]]) -> ImageCms.ImageCmsProfile:
    """A display profile of `space` (b"GRAY", b"RGB "), its description `name`, its white D50, and `tags`."""
    text = name.encode() + b"\0"
    tags = [(b"desc", b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + bytes(8 + 3 + 67)),
            (b"wtpt", xyz(D50)), *tags]
    data, table = b"", b""
    start = 128 + 4 + 12 * len(tags)
    for signature, body in tags:
        data += bytes(-len(data) % 4)  # tags start on 4-byte boundaries
        table += signature + struct.pack(">II", start + len(data), len(body))
        data += body
    header = (struct.pack(">I", start + len(data)) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntr" + space
              + b"XYZ " + bytes(12) + b"acsp" + bytes(24) + bytes(4) + b"".join(map(_s15, D50)) + bytes(48))
    return ImageCms.ImageCmsProfile(io.BytesIO(header + struct.pack(">I", len(tags)) + table + data))


def to_srgb_gray(im: Image.Image, icc: bytes | None) -> Image.Image:
    """`im` in sRGB gray: the codes that look under sRGB's curve as `im`'s do under its own gray profile
    `icc`. Unchanged unless `im` is gray (L, LA, 16-bit) and `icc` a gray profile LittleCMS can read."""
    if icc is None or im.mode not in ("L", "LA", "I;16", "I;16B", "I;16L"):
        return im
    gray, alpha = (im.getchannel("L"), im.getchannel("A")) if im.mode == "LA" else (im, None)
    if gray.mode.startswith("I;16"):
        gray = gray.convert("I;16")  # LittleCMS takes 16-bit gray in the machine's order
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if profile.profile.xcolor_space.strip() != "GRAY":
            return im
        gray = ImageCms.profileToProfile(gray, profile, gray_profile(), outputMode=gray.mode)
    except (ImageCms.PyCMSError, OSError):  # damaged: one that opens can still fail to make a transform
        return im
    return Image.merge("LA", (gray, alpha)) if alpha is not None else gray


def rgb_profile(icc: bytes | None) -> tuple[bytes | None, ImageCms.ImageCmsProfile | None]:
    """The profile an RGB scan's copy carries, and the one its codes are to be converted from (None: they are
    sRGB's). sRGB is kept as it is. A wider one (Adobe RGB, ProPhoto, Display P3) is converted from, and the
    copy carries sRGB's. One LittleCMS cannot read or make a transform of is left out: the codes are read
    as sRGB's, as an untagged scan's are, and the copy does not pass the damage on."""
    if icc is None:
        return None, None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if profile.profile.xcolor_space.strip() != "RGB":
            return None, None
        if "srgb" in (profile.profile.profile_description or "").lower():
            return icc, None
        ImageCms.buildTransform(profile, ImageCms.ImageCmsProfile(io.BytesIO(SRGB)), "RGB", "RGB")
    except (ImageCms.PyCMSError, OSError):
        return None, None
    return SRGB, profile


def to_srgb(im: Image.Image, profile: ImageCms.ImageCmsProfile) -> Image.Image:
    """An 8-bit RGB or RGBA picture under `profile` as the sRGB codes that look the same."""
    return ImageCms.profileToProfile(im, profile, ImageCms.ImageCmsProfile(io.BytesIO(SRGB)), outputMode=im.mode)
