"""Scans with a color profile. Photoshop's gray working space ("Dot Gain 20%") and scanners' "Gray Gamma
2.2" give a code another lightness than sRGB does, and RGB spaces wider than sRGB (Adobe RGB, ProPhoto) other
colors too. The colors are computed as sRGB's, so a scan's profile is applied first: L* is read as the scan
looks in a color-managed viewer, and the copy, sRGB, looks as light. Pillow builds sRGB and Lab profiles
only; the sRGB gray one is built here (ICC v2: header, tag table, tags)."""
from __future__ import annotations

import io
import struct
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image, ImageCms

from .color import linear_to_srgb
from .photo16 import strips

D50 = (0.9642, 1.0, 0.8249)  # the profile connection space's white
SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)  # IEC 61966-2-1 as ICC's parametric curve 3
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()  # what a copy converted to sRGB carries
_SRGB_PROFILE = ImageCms.ImageCmsProfile(io.BytesIO(SRGB))  # converted to: parsed once, not per photo


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
        ImageCms.buildTransform(profile, _SRGB_PROFILE, "RGB", "RGB")
    except (ImageCms.PyCMSError, OSError):
        return None, None
    return SRGB, profile


def to_srgb(im: Image.Image, profile: ImageCms.ImageCmsProfile) -> Image.Image:
    """An 8-bit RGB or RGBA picture under `profile` as the sRGB codes that look the same."""
    return ImageCms.profileToProfile(im, profile, _SRGB_PROFILE, outputMode=im.mode)


def is_gray(icc: bytes | None) -> bool:
    """Whether `icc` is a gray profile, by its header."""
    return icc is not None and icc[16:20] == b"GRAY"


def to_srgb16(pixels: np.ndarray, icc: bytes) -> bool:
    """Convert 16-bit RGB(A) `pixels` in place from the matrix-and-curves profile `icc` (Adobe RGB, ProPhoto
    and Display P3 are such; or a gray one, for gray read as RGB) to sRGB, strip by strip, as LittleCMS
    converts 8 bits. False, and the pixels untouched, for a profile of tables (a scanner's calibration):
    Pillow has no 16-bit RGB or gray with alpha to hand LittleCMS."""
    shaper = _shaper(icc)
    if shaper is None:
        return False
    curves, to_xyz = shaper
    to_srgb_linear = (np.linalg.inv(_SRGB_MATRIX) @ to_xyz).T.astype(np.float32)
    height, width = pixels.shape[:2]
    for rows in strips(height, width):
        rgb = pixels[rows, :, :3].astype(np.float32) / 65535
        linear = np.stack([curve(rgb[..., i]) for i, curve in enumerate(curves)], axis=-1)
        srgb = linear_to_srgb(torch.from_numpy(np.clip(linear @ to_srgb_linear, 0, 1))).numpy()
        pixels[rows, :, :3] = (srgb * 65535 + 0.5).astype(np.uint16)
    return True


def _shaper(icc: bytes) -> tuple[list[Callable[[np.ndarray], np.ndarray]], np.ndarray] | None:
    """A matrix-and-curves RGB profile's three tone curves and its matrix to D50 XYZ (or a gray profile's);
    None for other profiles (LittleCMS prefers a profile's A2B0 table to its matrix, where it has both) and
    for any this reading does not follow (they keep their codes, as a profile of tables does)."""
    try:
        count = struct.unpack(">I", icc[128:132])[0]
        tags = {}
        for i in range(count):
            signature, offset, size = struct.unpack(">4sII", icc[132 + 12 * i:144 + 12 * i])
            tags[signature] = icc[offset:offset + size]
        if is_gray(icc) and b"kTRC" in tags and b"A2B0" not in tags:
            # its curve in each channel, and sRGB's matrix, whose primaries in equal parts make the white:
            # converted, gray stays exactly gray
            return [_tone(tags[b"kTRC"])] * 3, _SRGB_MATRIX
        names = [b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC"]
        if b"A2B0" in tags or not all(n in tags for n in names):
            return None
        columns = [np.array(struct.unpack(">3i", tags[n][8:20])) / 65536 for n in names[:3]]
        return [_tone(tags[n]) for n in names[3:]], np.stack(columns, axis=1)
    except (struct.error, KeyError, ZeroDivisionError):  # cut short, an unknown curve type, a = 0
        return None


_PARAMETERS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}  # ICC parametric curve types: how many numbers each takes


def _tone(body: bytes) -> Callable[[np.ndarray], np.ndarray]:
    """An ICC tone curve (curv: identity, gamma or table; para: types 0-4) as a function of codes from 0 to 1."""
    if body[:4] == b"curv":
        n = struct.unpack(">I", body[8:12])[0]
        if n <= 1:
            gamma = struct.unpack(">H", body[12:14])[0] / 256 if n else 1.0
            return lambda x: x ** gamma
        table = np.frombuffer(body[12:12 + 2 * n], ">u2").astype(np.float32) / 65535
        return lambda x: np.interp(x, np.linspace(0, 1, n, dtype=np.float32), table).astype(np.float32)
    kind = struct.unpack(">H", body[8:10])[0]
    p = [v / 65536 for v in struct.unpack(f">{_PARAMETERS[kind]}i", body[12:12 + 4 * _PARAMETERS[kind]])]
    g, a, b, c, d, e, f = {0: lambda: (p[0], 1, 0, 0, 0, 0, 0), 1: lambda: (*p, 0, -p[2] / p[1], 0, 0),
                           2: lambda: (*p[:3], 0, -p[2] / p[1], p[3], p[3]), 3: lambda: (*p, 0, 0),
                           4: lambda: tuple(p)}[kind]()
    return lambda x: np.where(x >= d, np.maximum(a * x + b, 0) ** g + e, c * x + f).astype(np.float32)


_SRGB_MATRIX = _shaper(SRGB)[1]  # sRGB's colorants as a matrix to D50 XYZ, read once from its profile
