"""Gray scans with a color profile. Photoshop's gray working space ("Dot Gain 20%") and scanners' "Gray
Gamma 2.2" give a code another lightness than sRGB does; the colorized copy is sRGB, so a gray scan's profile
is applied first: L* is read as the scan looks in a color-managed viewer, and the copy looks as light.
Pillow builds RGB and Lab profiles only; the sRGB gray one is built here (ICC v2: header, tag table, tags)."""
from __future__ import annotations

import io
import struct

from PIL import Image, ImageCms

D50 = (0.9642, 1.0, 0.8249)  # the profile connection space's white
SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)  # IEC 61966-2-1 as ICC's parametric curve 3


def _s15(x: float) -> bytes:
    return struct.pack(">i", round(x * 65536))


def gray_profile(gamma: float | None = None) -> ImageCms.ImageCmsProfile:
    """A gray profile whose tone curve is sRGB's, or a plain `gamma`."""
    if gamma is None:
        curve = b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + b"".join(map(_s15, SRGB_CURVE))
    else:
        curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    name = b"sRGB gray\0" if gamma is None else f"Gray Gamma {gamma}\0".encode()
    tags = [(b"desc", b"desc\0\0\0\0" + struct.pack(">I", len(name)) + name + bytes(8 + 3 + 67)),
            (b"wtpt", b"XYZ \0\0\0\0" + b"".join(map(_s15, D50))), (b"kTRC", curve)]
    data, table = b"", b""
    start = 128 + 4 + 12 * len(tags)
    for signature, body in tags:
        data += bytes(-len(data) % 4)  # tags start on 4-byte boundaries
        table += signature + struct.pack(">II", start + len(data), len(body))
        data += body
    header = (struct.pack(">I", start + len(data)) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrGRAYXYZ "
              + bytes(12) + b"acsp" + bytes(24) + bytes(4) + b"".join(map(_s15, D50)) + bytes(48))
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
