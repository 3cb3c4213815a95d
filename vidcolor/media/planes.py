"""Y'CbCr planes: keep the decoded luma plane byte for byte, write new chroma planes.

The output frame is the input's Y plane (bit-identical for 8-bit and 10-bit 4:2:0 input) plus
Cb/Cr computed from the network's a*b* at chroma resolution. Other pixel formats are first
converted to 4:2:0 of the same depth and range.
"""
from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
import torch
import torch.nn.functional as F

from ..color import gray_to_lightness, lab_to_rgb, rgb_to_cbcr

# Pixel formats written as they come: 4:2:0 and 4:4:4, 8 and 10 bits, limited and full range.
KEPT_FORMATS = {"yuv420p": 8, "yuvj420p": 8, "yuv420p10le": 10, "yuv444p": 8, "yuvj444p": 8, "yuv444p10le": 10}
# AVColorSpace codes -> matrix names in color.YCBCR_COEFFS
_MATRIX_OF_COLORSPACE = {1: "bt709", 5: "bt601", 6: "bt601", 9: "bt2020", 10: "bt2020"}
_COLOR_RANGE_JPEG = 2  # AVCOL_RANGE_JPEG: full range


@dataclass(frozen=True)
class PlaneFormat:
    pix_fmt: str  # the output's pixel format, one of KEPT_FORMATS
    bits: int
    full_range: bool
    matrix: str  # Y'CbCr matrix used to turn RGB into Cb/Cr

    @property
    def dtype(self) -> type:
        return np.uint16 if self.bits > 8 else np.uint8


def plane_format(frame: av.VideoFrame) -> PlaneFormat:
    """The Y'CbCr format we write for frames like this one, and how its values map to light.

    4:2:0 and 4:4:4 input keep their layout; anything else becomes 4:2:0 of the same depth and
    range, or 4:4:4 when a side is odd (4:2:0 H.264 cannot have odd sizes)."""
    name = frame.format.name
    bits = 10 if max(c.bits for c in frame.format.components) > 8 else 8
    full = name.startswith("yuvj") or frame.color_range == _COLOR_RANGE_JPEG
    if name in KEPT_FORMATS and not (name.startswith(("yuv420", "yuvj420")) and (frame.width | frame.height) & 1):
        pix_fmt = name
    else:
        layout = "444" if (frame.width | frame.height) & 1 or "444" in name else "420"
        pix_fmt = f"yuv{layout}p10le" if bits > 8 else f"yuv{'j' if full else ''}{layout}p"
    # Untagged video: HD follows BT.709, SD follows BT.601 (what players assume).
    matrix = _MATRIX_OF_COLORSPACE.get(frame.colorspace, "bt709" if frame.height >= 720 else "bt601")
    return PlaneFormat(pix_fmt, KEPT_FORMATS[pix_fmt], full, matrix)


def to_plane_format(frame: av.VideoFrame, fmt: PlaneFormat) -> av.VideoFrame:
    if frame.format.name == fmt.pix_fmt:
        return frame
    out = frame.reformat(format=fmt.pix_fmt)
    out.pts, out.time_base = frame.pts, frame.time_base
    return out


def plane_view(plane, dtype: type, height: int, width: int) -> np.ndarray:
    """(height, width) numpy view of a frame plane, skipping the row padding."""
    a = np.frombuffer(plane, dtype=dtype)
    return a.reshape(-1, plane.line_size // a.itemsize)[:height, :width]


def luma(frame: av.VideoFrame, fmt: PlaneFormat) -> np.ndarray:
    return plane_view(frame.planes[0], fmt.dtype, frame.height, frame.width)


def luma_to_gray(y: torch.Tensor, fmt: PlaneFormat) -> torch.Tensor:
    """Integer Y' codes -> gamma-encoded gray in [0, 1] (= R = G = B of a neutral pixel)."""
    scale = 1 << (fmt.bits - 8)
    y = y.float()
    if fmt.full_range:
        return (y / (255 * scale)).clamp(0, 1)
    return ((y - 16 * scale) / (219 * scale)).clamp(0, 1)


BORDER_GRAY = 0.08  # gray level under which a whole edge row/column counts as letterbox/pillarbox


def border_mask(gray: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) -> bool mask of dark bands touching the frame edges: they must stay neutral."""
    def from_edges(dark: torch.Tensor) -> torch.Tensor:  # contiguous dark lines starting at either edge
        return dark.cumprod(-1).bool() | dark.flip(-1).cumprod(-1).flip(-1).bool()

    cols = from_edges((gray.amax(dim=-2) <= BORDER_GRAY).int())  # (B, 1, W)
    rows = from_edges((gray.amax(dim=-1) <= BORDER_GRAY).int())  # (B, 1, H)
    return cols[..., None, :] | rows[..., :, None]


CPU_CHUNK_PIXELS = 1 << 17  # converted at a time on CPU: the temporaries stay in cache (1.4x faster at 1080p)


def block_means(y: torch.Tensor) -> torch.Tensor:
    """(..., H, W) integer codes, even sides -> (..., H/2, W/2) float means of the 2x2 blocks.
    Summed as integers: 4x cheaper on CPU than avg_pool2d of floats."""
    y = y.to(torch.int16)  # 4 x 1023 fits
    rows = y[..., 0::2, :] + y[..., 1::2, :]
    return (rows[..., 0::2] + rows[..., 1::2]).float() / 4


def chroma_planes(y: torch.Tensor, ab: torch.Tensor, fmt: PlaneFormat) -> torch.Tensor:
    """(B, 1, H, W) integer Y' codes and (B, 2, h, w) a*b* -> (B, 2, ch, cw) integer Cb, Cr codes at
    chroma size (4:2:0 planes have even sides: plane_format sees to it)."""
    gray_c = luma_to_gray(y if "444" in fmt.pix_fmt else block_means(y), fmt)
    ab_c = F.interpolate(ab, size=gray_c.shape[-2:], mode="bilinear", align_corners=False)
    lab = torch.cat((gray_to_lightness(gray_c), ab_c), dim=1)
    if gray_c.device.type == "cpu":
        codes = torch.empty_like(ab_c)
        rows = max(1, CPU_CHUNK_PIXELS // lab.shape[-1])
        for i in range(len(lab)):
            for r in range(0, lab.shape[-2], rows):
                codes[i, :, r:r + rows] = _cbcr_codes(lab[i, :, r:r + rows], fmt)
    else:
        codes = _cbcr_codes(lab, fmt)
    return codes.masked_fill_(border_mask(gray_c), 128 << (fmt.bits - 8))  # letterbox bands stay neutral


def _cbcr_codes(lab: torch.Tensor, fmt: PlaneFormat) -> torch.Tensor:
    scale = 1 << (fmt.bits - 8)
    span, low, high = (255, 0, 256 * scale - 1) if fmt.full_range else (224, 16 * scale, 240 * scale)
    codes = rgb_to_cbcr(lab_to_rgb(lab), fmt.matrix).mul_(span * scale).add_(128 * scale)
    return codes.round_().clamp_(low, high)


def compose(frame: av.VideoFrame, cbcr: np.ndarray, fmt: PlaneFormat) -> av.VideoFrame:
    """A new frame: `frame`'s Y plane copied exactly, chroma from (2, ch, cw) `cbcr`, same pts and tags."""
    out = av.VideoFrame(frame.width, frame.height, fmt.pix_fmt)
    plane_view(out.planes[0], fmt.dtype, frame.height, frame.width)[:] = luma(frame, fmt)
    for i in (1, 2):
        p = out.planes[i]
        plane_view(p, fmt.dtype, p.height, p.width)[:] = cbcr[i - 1]
    _copy_timing_and_tags(frame, out)
    return out


def compose_side_by_side(frame: av.VideoFrame, cbcr: np.ndarray, fmt: PlaneFormat) -> av.VideoFrame:
    """A frame twice as wide: the input as it is on the left, the colorized one on the right."""
    out = av.VideoFrame(2 * frame.width, frame.height, fmt.pix_fmt)
    for src, right in ((frame, False), (compose(frame, cbcr, fmt), True)):
        for p, sp in zip(out.planes, src.planes):
            w = min(sp.width, p.width)
            x = p.width - w if right else 0  # with odd widths the halves share one chroma column
            plane_view(p, fmt.dtype, p.height, p.width)[:, x:x + w] = plane_view(sp, fmt.dtype, sp.height, w)
    _copy_timing_and_tags(frame, out)
    return out


def _copy_timing_and_tags(src: av.VideoFrame, dst: av.VideoFrame) -> None:
    dst.pts, dst.time_base = src.pts, src.time_base
    dst.colorspace, dst.color_range = src.colorspace, src.color_range
    dst.color_primaries, dst.color_trc = src.color_primaries, src.color_trc
