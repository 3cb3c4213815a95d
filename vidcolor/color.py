"""Color conversions in torch: sRGB <-> CIE L*a*b* (D65) and Y'CbCr chroma.

Every function works on any device and dtype float32/float64, with channels in dim -3:
RGB is (..., 3, H, W) in [0, 1] (gamma-encoded sRGB), Lab is (..., 3, H, W) with L in
[0, 100] and a*, b* roughly in [-110, 110].
"""
from __future__ import annotations

import torch

# sRGB primaries (IEC 61966-2-1), the same numbers as scikit-image. The D65 white is taken as the
# matrix's own row sums, so that R = G = B maps to a* = b* = 0 exactly (scikit-image's rounded
# white (0.95047, 1, 1.08883) leaves up to 0.005 of chroma on gray).
_RGB_TO_XYZ = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_WHITE_D65 = tuple(sum(row) for row in _RGB_TO_XYZ)
_DELTA = 6.0 / 29.0


def srgb_to_linear(c: torch.Tensor) -> torch.Tensor:
    return torch.where(c <= 0.04045, c / 12.92, ((c.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: torch.Tensor) -> torch.Tensor:
    return torch.where(c <= 0.0031308, c * 12.92, 1.055 * c.clamp(min=0.0031308) ** (1 / 2.4) - 0.055)


def _f(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t > _DELTA**3, t.clamp(min=_DELTA**3) ** (1 / 3), t / (3 * _DELTA**2) + 4 / 29)


def _f_inv(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t > _DELTA, t**3, 3 * _DELTA**2 * (t - 4 / 29))


def _matrix(rows, like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(rows, dtype=like.dtype, device=like.device)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) sRGB in [0, 1] -> (..., 3, H, W) Lab."""
    lin = srgb_to_linear(rgb)
    xyz = torch.einsum("ij,...jhw->...ihw", _matrix(_RGB_TO_XYZ, rgb), lin)
    xyz = xyz / _matrix(_WHITE_D65, rgb).view(3, 1, 1)
    fx, fy, fz = _f(xyz).unbind(-3)
    return torch.stack((116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)), dim=-3)


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """(..., 3, H, W) Lab -> (..., 3, H, W) sRGB, clipped to [0, 1] unless `clip` is False."""
    L, a, b = lab.unbind(-3)
    fy = (L + 16) / 116
    f = torch.stack((fy + a / 500, fy, fy - b / 200), dim=-3)
    xyz = _f_inv(f) * _matrix(_WHITE_D65, lab).view(3, 1, 1)
    lin = torch.einsum("ij,...jhw->...ihw", torch.linalg.inv(_matrix(_RGB_TO_XYZ, lab)), xyz)
    rgb = linear_to_srgb(lin.clamp(min=0))
    return rgb.clamp(0, 1) if clip else rgb


def gray_to_lightness(gray: torch.Tensor) -> torch.Tensor:
    """Gamma-encoded gray level in [0, 1] -> L* in [0, 100] (exact for R = G = B = gray)."""
    y = srgb_to_linear(gray)
    return 116 * _f(y) - 16


# Luma coefficients (Kr, Kb) of the Y'CbCr matrices that video streams tag.
YCBCR_COEFFS = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}


def rgb_to_cbcr(rgb: torch.Tensor, matrix: str = "bt709") -> torch.Tensor:
    """(..., 3, H, W) sRGB in [0, 1] -> (..., 2, H, W) Cb, Cr in [-0.5, 0.5]."""
    kr, kb = YCBCR_COEFFS[matrix]
    r, g, b = rgb.unbind(-3)
    y = kr * r + (1 - kr - kb) * g + kb * b
    return torch.stack(((b - y) / (2 * (1 - kb)), (r - y) / (2 * (1 - kr))), dim=-3)


def hasler_colorfulness(rgb255: torch.Tensor) -> torch.Tensor:
    """Hasler & Suesstrunk (2003) colorfulness of (..., 3, H, W) RGB on a 0-255 scale -> (...)."""
    r, g, b = rgb255.unbind(-3)
    rg = (r - g).flatten(-2)
    yb = (0.5 * (r + g) - b).flatten(-2)
    std = torch.sqrt(rg.var(-1, unbiased=False) + yb.var(-1, unbiased=False))
    mean = torch.sqrt(rg.mean(-1) ** 2 + yb.mean(-1) ** 2)
    return std + 0.3 * mean
