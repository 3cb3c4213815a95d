"""Color conversions in torch: sRGB <-> CIE L*a*b* (D65) and Y'CbCr chroma.

Every function works on any device and dtype float32/float64, with channels in dim -3:
RGB is (..., 3, H, W) in [0, 1] (gamma-encoded sRGB), Lab is (..., 3, H, W) with L in
[0, 100] and a*, b* roughly in [-110, 110].
"""
from __future__ import annotations

import functools
from collections.abc import Callable

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
# XYZ/white -> linear RGB in one product (the inverse matrix times the white's diagonal).
_XYZN_TO_RGB = tuple(tuple(v * w for v, w in zip(row, _WHITE_D65))
                     for row in torch.linalg.inv(torch.tensor(_RGB_TO_XYZ, dtype=torch.float64)).tolist())
_DELTA = 6.0 / 29.0


# The piecewise curves below are written without torch.where: with u = clamp(x, min=knee), the
# curve is curved(u) + slope * (x - u), which is the linear piece below the knee and the curved one
# above (the pieces meet at the knee). Same values to 3e-8, same gradients, and about twice as
# fast on CPU, where `where` costs as much as ten multiplications.
def srgb_to_linear(c: torch.Tensor) -> torch.Tensor:
    u = c.clamp(min=0.04045)
    return ((u + 0.055) / 1.055) ** 2.4 + (c - u) / 12.92


def linear_to_srgb(c: torch.Tensor) -> torch.Tensor:
    u = c.clamp(min=0.0031308)
    return 1.055 * u ** (1 / 2.4) - 0.055 + 12.92 * (c - u)


def _f(t: torch.Tensor) -> torch.Tensor:
    u = t.clamp(min=_DELTA**3)
    return u ** (1 / 3) + (t - u) / (3 * _DELTA**2)


def _f_inv(t: torch.Tensor) -> torch.Tensor:
    u = t.clamp(min=_DELTA)
    return u.pow(3).add_(t - u, alpha=3 * _DELTA**2)  # in place only on fresh results: gradients still flow


def mix(rows, x: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) -> (..., len(rows), H, W): each output channel is a weighted sum of the input's.
    Written as scaled adds: on CPU twice as fast as einsum, which reorders the tensor for a matmul."""
    x0, x1, x2 = x.unbind(-3)
    return torch.stack([(x0 * r0).add_(x1, alpha=r1).add_(x2, alpha=r2) for r0, r1, r2 in rows], dim=-3)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) sRGB in [0, 1] -> (..., 3, H, W) Lab."""
    lin = srgb_to_linear(rgb)
    xyz = mix([[v / w for v in row] for row, w in zip(_RGB_TO_XYZ, _WHITE_D65)], lin)  # XYZ / white
    fx, fy, fz = _f(xyz).unbind(-3)
    return torch.stack((116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)), dim=-3)


def _lab_to_linear(lab: torch.Tensor) -> torch.Tensor:
    L, a, b = lab.unbind(-3)
    fy = (L + 16) / 116
    return torch.stack(lab_to_linear_with(fy, _f_inv(fy), a, b), dim=-3)


def lab_to_linear_with(fy: torch.Tensor, lum: torch.Tensor, a: torch.Tensor,
                       b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(..., H, W) f(Y) = (L* + 16) / 116, relative luminance Y and a*, b* -> linear R, G, B planes.
    Video knows fy and Y of each pixel from its luma code (a table), and skips both curves; it takes
    the planes apart, as they come (a stack would copy them once more)."""
    x, z = _f_inv(a.mul(1 / 500).add_(fy)), _f_inv(b.mul(-1 / 200).add_(fy))
    return tuple(x.mul(m0).add_(lum, alpha=m1).add_(z, alpha=m2) for m0, m1, m2 in _XYZN_TO_RGB)


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """(..., 3, H, W) Lab -> (..., 3, H, W) sRGB, clipped to [0, 1] unless `clip` is False."""
    rgb = linear_to_srgb(_lab_to_linear(lab).clamp(min=0))
    return rgb.clamp(0, 1) if clip else rgb


GAMUT_TOLERANCE = 1e-6  # linear RGB: D65 white at L* = 100 lands on 1 within float32 error


def fit_gamut(lab: torch.Tensor, steps: int = 10) -> torch.Tensor:
    """(B, 3, H, W) Lab -> the same with each pixel's a*b* scaled down just enough (bisection, `steps`
    halvings) for sRGB to hold it: L* and hue stay. Clipping RGB instead moves L*: up to 4 units at
    the 99th percentile on a bold prediction, where a photo must keep its own luminance."""
    lin = _lab_to_linear(lab)
    outside = ((lin < -GAMUT_TOLERANCE) | (lin > 1 + GAMUT_TOLERANCE)).any(dim=1)  # (B, H, W)
    if not outside.any():
        return lab
    px = lab.permute(0, 2, 3, 1)[outside]  # (N, 3)
    lo, hi = torch.zeros_like(px[:, 0]), torch.ones_like(px[:, 0])
    for _ in range(steps):
        mid = (lo + hi) / 2
        trial = _lab_to_linear(torch.cat((px[:, :1], px[:, 1:] * mid[:, None]), 1)[..., None, None])
        inside = ((trial >= -GAMUT_TOLERANCE) & (trial <= 1 + GAMUT_TOLERANCE)).flatten(1).all(1)
        lo, hi = torch.where(inside, mid, lo), torch.where(inside, hi, mid)
    fitted = lab.permute(0, 2, 3, 1).clone()
    fitted[outside] = torch.cat((px[:, :1], px[:, 1:] * lo[:, None]), 1)
    return fitted.permute(0, 3, 1, 2)


BORDER_GRAY = 0.08  # gray level under which a whole edge row/column counts as letterbox/pillarbox


def gray_to_lightness(gray: torch.Tensor) -> torch.Tensor:
    """Gamma-encoded gray level in [0, 1] -> L* in [0, 100] (exact for R = G = B = gray)."""
    return lightness(srgb_to_linear(gray))


def lightness(y: torch.Tensor) -> torch.Tensor:
    """Relative luminance (1 = white) -> L* (over 100 for an HDR highlight)."""
    return 116 * _f(y) - 16


# HDR video (BT.2100): light relative to HDR's reference white, 203 cd/m2 (BT.2408), which SDR's white stands for.
HDR_WHITE = 203.0  # cd/m2
_PQ_M1, _PQ_M2, _PQ_C1, _PQ_C2, _PQ_C3 = 2610 / 16384, 2523 / 32, 3424 / 4096, 2413 / 128, 2392 / 128  # ST 2084
_HLG_A, _HLG_B, _HLG_C = 0.17883277, 0.28466892, 0.55991073  # ARIB STD-B67
HLG_PEAK, HLG_GAMMA = 1000.0, 1.2  # BT.2100's reference display for HLG: its peak (cd/m2) and system gamma
SDR_KNEE = 0.8  # HDR light shown to the network is SDR's up to here, its highlights rolled off above
# linear BT.709 RGB -> linear BT.2020 RGB (BT.2087)
BT709_TO_BT2020 = ((0.6274, 0.3293, 0.0433), (0.0691, 0.9195, 0.0114), (0.0164, 0.0880, 0.8956))


def pq_to_light(e: torch.Tensor) -> torch.Tensor:
    """PQ signal in [0, 1] -> light relative to HDR_WHITE (up to 10000 / 203)."""
    p = e.clamp(0, 1) ** (1 / _PQ_M2)
    return 10000 / HDR_WHITE * ((p - _PQ_C1).clamp(min=0) / (_PQ_C2 - _PQ_C3 * p)) ** (1 / _PQ_M1)


PQ_SHARE = HDR_WHITE / 10000  # relative light -> the share of PQ's 10000 cd/m2


def pq_signal(share: torch.Tensor) -> torch.Tensor:
    """Light as a share of 10000 cd/m2 -> PQ signal (a curve on [0, 1]: `tabulated` takes it)."""
    y = share.clamp(0, 1) ** _PQ_M1
    return ((_PQ_C1 + _PQ_C2 * y) / (1 + _PQ_C3 * y)) ** _PQ_M2


def hlg_to_scene(e: torch.Tensor) -> torch.Tensor:
    """HLG signal in [0, 1] -> scene light in [0, 1]."""
    e = e.clamp(0, 1)
    return torch.where(e <= 0.5, e * e / 3, (torch.exp((e - _HLG_C) / _HLG_A) + _HLG_B) / 12)


def scene_to_hlg(e: torch.Tensor) -> torch.Tensor:
    e = e.clamp(0, 1)
    return torch.where(e <= 1 / 12, (3 * e).sqrt(), _HLG_A * torch.log((12 * e - _HLG_B).clamp(min=1e-12)) + _HLG_C)


def hlg_light(scene: torch.Tensor) -> torch.Tensor:
    """Scene light of a neutral pixel -> its light on the reference display, relative to HDR_WHITE (the OOTF)."""
    return HLG_PEAK / HDR_WHITE * scene ** HLG_GAMMA


def hlg_scene_gain(light: torch.Tensor) -> torch.Tensor:
    """Per pixel, what display light relative to HDR_WHITE is multiplied by to give scene light, from the
    pixel's luminance `light` (the inverse OOTF: the system gamma works on luminance, not on each channel)."""
    scene_y = (light * (HDR_WHITE / HLG_PEAK)).clamp(min=1e-12) ** (1 / HLG_GAMMA)
    return HDR_WHITE / HLG_PEAK * scene_y ** (1 - HLG_GAMMA)


def sdr_light(light: torch.Tensor) -> torch.Tensor:
    """HDR light relative to its reference white -> SDR light in [0, 1]: the same up to SDR_KNEE, highlights
    above rolled off toward 1, so that the network sees an HDR film as it saw the SDR photos it learnt from."""
    over = (light - SDR_KNEE).clamp(min=0)
    return light.clamp(max=SDR_KNEE) + (1 - SDR_KNEE) * -torch.expm1(-over / (1 - SDR_KNEE))


# Luma coefficients (Kr, Kb) of the Y'CbCr matrices that video streams tag.
YCBCR_COEFFS = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}


def cbcr_rows(matrix: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The Cb and Cr rows of a Y'CbCr matrix: weights of R', G', B'."""
    kr, kb = YCBCR_COEFFS[matrix]
    y = (kr, 1 - kr - kb, kb)
    cb = tuple(((i == 2) - y[i]) / (2 * (1 - kb)) for i in range(3))  # (B' - Y') / (2 (1 - Kb))
    cr = tuple(((i == 0) - y[i]) / (2 * (1 - kr)) for i in range(3))  # (R' - Y') / (2 (1 - Kr))
    return cb, cr


def hasler_colorfulness(rgb255: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """Hasler & Suesstrunk (2003) colorfulness of (..., 3, H, W) RGB on a 0-255 scale -> (...).
    The measure scales with the RGB scale. `eps` > 0 keeps its gradient finite on gray pictures
    (a training loss); 0 is the exact measure."""
    r, g, b = rgb255.unbind(-3)
    rg = (r - g).flatten(-2)
    yb = (0.5 * (r + g) - b).flatten(-2)
    std = torch.sqrt(rg.var(-1, unbiased=False) + yb.var(-1, unbiased=False) + eps)
    mean = torch.sqrt(rg.mean(-1) ** 2 + yb.mean(-1) ** 2 + eps)
    return std + 0.3 * mean


# Curves on [0, 1] as tables indexed by the top bits of a float32's bit pattern: its exponent and
# the mantissa's top 11 bits. 260k float32 entries (1 MB) cover 0 to 1.
TABLE_SHIFT = 12
_ONE_BITS = 0x3F800000  # the bits of float32 1.0
_SMALLEST_NORMAL = torch.finfo(torch.float32).tiny  # clamped to: positive, so its bit pattern is a valid index


@functools.cache
def _curve_table(curve: Callable[[torch.Tensor], torch.Tensor], device: torch.device) -> torch.Tensor:
    index = torch.arange((_ONE_BITS >> TABLE_SHIFT) + 1, dtype=torch.int64)
    low, high = ((i << TABLE_SHIFT).to(torch.int32).view(torch.float32).double() for i in (index, index + 1))
    return curve(((low + high) / 2).clamp(max=1)).float().to(device)  # each step's middle, in float64


def tabulated(curve: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """curve(x) for float32 `x`, clamped to [0, 1], from a table: two operations per value (a shift and
    a lookup) where a power function costs a dozen. The steps are relative (1/2048 of the value), so
    dark tones are as fine as light ones: sRGB within 8e-5 of the exact curve, L* within 0.013 units
    (tests/test_color.py). `curve` is a module-level function: its table is built once per device."""
    bits = x.clamp(_SMALLEST_NORMAL, 1).view(torch.int32).bitwise_right_shift_(TABLE_SHIFT)
    return _curve_table(curve, x.device).index_select(0, bits.flatten()).view(x.shape)
