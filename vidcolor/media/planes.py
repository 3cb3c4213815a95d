"""Y'CbCr planes: keep the decoded luma plane byte for byte, write new chroma planes.

The output frame is the input's Y plane (bit-identical for 8-bit and 10-bit 4:2:0 input) plus
Cb/Cr computed from the network's a*b* at chroma resolution. Other pixel formats are first
converted to 4:2:0 of the same depth and range.
"""
from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from typing import NamedTuple

import av
import numpy as np
import torch
import torch.nn.functional as F
from av.video.frame import PictureType
from av.video.reformatter import Interpolation

from ..color import (
    BORDER_GRAY,
    BT709_TO_BT2020,
    PQ_SHARE,
    cbcr_rows,
    hlg_light,
    hlg_scene_gain,
    hlg_to_scene,
    lab_to_linear_with,
    lightness,
    linear_to_srgb,
    mix,
    pq_signal,
    pq_to_light,
    scene_to_hlg,
    sdr_light,
    srgb_to_linear,
    tabulated,
)

# Pixel formats written as they come: 4:2:0 and 4:4:4, 8 and 10 bits, limited and full range.
KEPT_FORMATS = {"yuv420p": 8, "yuvj420p": 8, "yuv420p10le": 10, "yuv444p": 8, "yuvj444p": 8, "yuv444p10le": 10}
# And 4:2:2, for encoders that take no 4:2:0 (ProRes). Other input is not kept at 4:2:2: the chroma we
# write is smooth (upsampled from the network's picture), and 4:2:0 plays everywhere.
# And 4:1:1, for NTSC DV (the dvvideo encoder takes nothing else at 720x480 but 4:2:2, DVCPRO50's).
WRITTEN_FORMATS = KEPT_FORMATS | {"yuv422p": 8, "yuvj422p": 8, "yuv422p10le": 10, "yuv411p": 8}
_CHROMA_SHARE = {"420": 0.25, "411": 0.25, "422": 0.5, "444": 1.0}  # chroma samples per luma sample
# AVColorSpace codes -> matrix names in color.YCBCR_COEFFS
_MATRIX_OF_COLORSPACE = {1: "bt709", 5: "bt601", 6: "bt601", 9: "bt2020", 10: "bt2020"}
_TRANSFER_OF_TRC = {16: "pq", 18: "hlg"}  # AVColorTransferCharacteristic codes of HDR; the rest is SDR's
_BT2020_PRIMARIES = 9  # AVColorPrimaries: UHD's wide gamut, in SDR as in HDR
LINEAR_TRC, _SRGB_TRC = 8, 13  # AVColorTransferCharacteristic: linear light (OpenEXR), sRGB's curve
_COLORSPACE_RGB = 0  # AVCOL_SPC_RGB: the tag of RGB and gray pictures (PNG, TIFF, DPX)
_COLOR_RANGE_JPEG, _COLOR_RANGE_MPEG = 2, 1  # AVCOL_RANGE_*: full and limited range
# RGB formats for encoders and image files without Y'CbCr, by the planes' depth, in order of preference
RGB_FORMATS = {8: ("rgb24", "bgr24", "gbrp"), 10: ("gbrp10le", "rgb48le", "rgb48be", "gbrp12le", "gbrp16le")}
_SWS_MATRIX = {"bt709": "itu709", "bt601": "itu601", "bt2020": "bt2020"}  # swscale's names
_SWS_ACCURATE = Interpolation.BICUBIC | Interpolation.FULL_CHR_H_INT | Interpolation.ACCURATE_RND


@dataclass(frozen=True)
class PlaneFormat:
    pix_fmt: str  # the output's pixel format, one of WRITTEN_FORMATS
    bits: int
    full_range: bool
    matrix: str  # Y'CbCr matrix used to turn RGB into Cb/Cr
    transfer: str = "sdr"  # how codes map to light: "sdr" (a gamma curve), "pq" or "hlg" (HDR)
    wide: bool = False  # BT.2020 primaries: the colors are made in BT.709's (sRGB's), then converted

    @property
    def dtype(self) -> type:
        return np.uint16 if self.bits > 8 else np.uint8

    @property
    def layout(self) -> str:
        """"420", "411", "422" or "444"."""
        return _layout(self.pix_fmt)

    @property
    def taps(self) -> int:
        """Luma samples per chroma sample: 4 (4:2:0: a 2x2 block; 4:1:1: 4 in a row), 2 (4:2:2) or 1 (4:4:4)."""
        return round(1 / _CHROMA_SHARE[self.layout])


def _layout(pix_fmt: str) -> str:
    return next(layout for layout in _CHROMA_SHARE if layout in pix_fmt)


def _fits(pix_fmt: str, width: int, height: int) -> bool:
    """Subsampled chroma needs even sides (4:2:0 H.264 cannot have odd sizes), 4:1:1 a width of fours."""
    layout = _layout(pix_fmt)
    return layout == "444" or not (width % (4 if layout == "411" else 2) or (layout == "420" and height & 1))


def plane_format(frame: av.VideoFrame, accepted: Collection[str] | None = None) -> PlaneFormat:
    """The Y'CbCr format we write for frames like this one, and how its values map to light.

    4:2:0 and 4:4:4 input keep their layout; anything else becomes 4:2:0 of the same depth and
    range, or 4:4:4 when a side is odd. `accepted`: the encoder's pixel formats; when the natural
    choice is not among them, the nearest one is (never less depth or chroma when avoidable).
    ValueError when the encoder takes none of WRITTEN_FORMATS."""
    name = frame.format.name
    bits = 10 if max(c.bits for c in frame.format.components) > 8 else 8
    # swscale reads gray as full range whatever its tag (scans: FFV1, PNG, TIFF, DPX)
    full = name.startswith(("yuvj", "gray")) or frame.color_range == _COLOR_RANGE_JPEG
    if name in KEPT_FORMATS and _fits(name, frame.width, frame.height):
        pix_fmt = name
    else:
        layout = "444" if (frame.width | frame.height) & 1 or "444" in name else "420"
        pix_fmt = f"yuv{layout}p10le" if bits > 8 else f"yuv{'j' if full else ''}{layout}p"
    if accepted is not None and pix_fmt not in accepted:
        fitting = [f for f in WRITTEN_FORMATS if f in accepted and _fits(f, frame.width, frame.height)]
        pix_fmt = _nearest(pix_fmt, fitting)
    # swscale turns a yuvj input into limited range when the format has no "j"
    full = pix_fmt.startswith("yuvj") or (full and not name.startswith("yuvj"))
    # Untagged video: HD follows BT.709, SD follows BT.601 (what players assume).
    matrix = _MATRIX_OF_COLORSPACE.get(frame.colorspace, "bt709" if frame.height >= 720 else "bt601")
    return PlaneFormat(pix_fmt, WRITTEN_FORMATS[pix_fmt], full, matrix, _TRANSFER_OF_TRC.get(frame.color_trc, "sdr"),
                       frame.color_primaries == _BT2020_PRIMARIES)


def _nearest(wanted: str, candidates: list[str]) -> str:
    """Among `candidates`, the format closest to `wanted`: no less depth, then no less chroma, if any
    candidate allows; then the nearest chroma share, depth and range."""
    if not candidates:
        raise ValueError("none of the candidates")
    bits, share = WRITTEN_FORMATS[wanted], _CHROMA_SHARE[_layout(wanted)]
    return min(candidates, key=lambda c: (WRITTEN_FORMATS[c] < bits, _CHROMA_SHARE[_layout(c)] < share,
                                          abs(_CHROMA_SHARE[_layout(c)] - share), abs(WRITTEN_FORMATS[c] - bits),
                                          c.startswith("yuvj") != wanted.startswith("yuvj")))


def to_plane_format(frame: av.VideoFrame, fmt: PlaneFormat) -> av.VideoFrame:
    """The frame in `fmt`. RGB and gray pictures become Y'CbCr by `fmt`'s matrix and are tagged with it:
    left tagged RGB, the encoder would tell players to read Y'CbCr as G, B and R. Linear light (OpenEXR
    scans) gets the sRGB curve first: swscale only scales the values, and the picture came out dark."""
    if frame.format.name == fmt.pix_fmt:
        return frame
    if frame.color_trc == LINEAR_TRC:
        frame = _gamma_encoded(frame)
    rgb = frame.colorspace == _COLORSPACE_RGB
    # full-range planes in a format without a "j" variant (10 bits) must be asked for
    out = frame.reformat(format=fmt.pix_fmt, dst_colorspace=_SWS_MATRIX[fmt.matrix] if rgb else None,
                         dst_color_range=_COLOR_RANGE_JPEG if fmt.full_range else None)
    out.pts, out.time_base = frame.pts, frame.time_base  # swscale tags the matrix it was given
    return out


def _gamma_encoded(frame: av.VideoFrame) -> av.VideoFrame:
    """A linear-light picture with the sRGB curve (light over 1 clipped), as float RGB, tagged so."""
    rgb = torch.from_numpy(frame.reformat(format="gbrpf32le").to_ndarray())
    out = av.VideoFrame.from_ndarray(linear_to_srgb(rgb.clamp(0, 1)).numpy(), format="gbrpf32le")
    out.pts, out.time_base, out.color_trc = frame.pts, frame.time_base, _SRGB_TRC
    out.colorspace, out.color_primaries = _COLORSPACE_RGB, frame.color_primaries
    return out


def rgb_format(accepted: Collection[str], bits: int) -> str | None:
    """The RGB format to hand an encoder that takes these pixel formats: the planes' depth if it can,
    else the other; None when it takes none of RGB_FORMATS."""
    other = 18 - bits  # 8 <-> 10
    return next((f for f in RGB_FORMATS[bits] + RGB_FORMATS[other] if f in accepted), None)


def to_rgb(frame: av.VideoFrame, fmt: PlaneFormat, pix_fmt: str) -> av.VideoFrame:
    """Colored planes -> RGB, read with the matrix and range their chroma was computed for (swscale would
    take untagged HD for BT.601), with accurate rounding: its fast path is off by a code on average."""
    out = frame.reformat(format=pix_fmt, src_colorspace=_SWS_MATRIX[fmt.matrix],
                         src_color_range=_COLOR_RANGE_JPEG if fmt.full_range else _COLOR_RANGE_MPEG,
                         dst_color_range=_COLOR_RANGE_JPEG, interpolation=_SWS_ACCURATE)
    out.pts = frame.pts
    if frame.time_base is not None:
        out.time_base = frame.time_base
    return out


def plane_view(plane, dtype: type, height: int, width: int) -> np.ndarray:
    """(height, width) numpy view of a frame plane, skipping the row padding."""
    a = np.frombuffer(plane, dtype=dtype)
    return a.reshape(-1, plane.line_size // a.itemsize)[:height, :width]


def transparent(frame: av.VideoFrame) -> bool:
    """Whether a picture with an alpha channel has a pixel that is not opaque. GIFs decode with one, opaque
    all through in most. A planar alpha (ProRes 4444's) is read as it is: through swscale a 4K picture took
    14 ms; a packed one (GIF's BGRA) is read at 8 bits, swscale's."""
    alpha = next(c for c in frame.format.components if c.is_alpha)
    if frame.format.is_planar and not frame.format.is_big_endian:
        codes = plane_view(frame.planes[alpha.plane], np.uint16 if alpha.bits > 8 else np.uint8, frame.height,
                           frame.width)
        return bool((codes < (1 << alpha.bits) - 1).any())
    return bool((plane_view(frame.reformat(format="yuva420p").planes[3], np.uint8, frame.height,
                            frame.width) < 255).any())


def luma(frame: av.VideoFrame, fmt: PlaneFormat) -> np.ndarray:
    return plane_view(frame.planes[0], fmt.dtype, frame.height, frame.width)


def luma_to_gray(y: torch.Tensor, fmt: PlaneFormat) -> torch.Tensor:
    """Integer Y' codes -> gamma-encoded gray in [0, 1] (= R = G = B of a neutral pixel), as the network sees
    it: an HDR film's light as SDR's (color.sdr_light), so that it looks as the photos it learnt from."""
    signal = _signal(y, fmt)
    return signal if fmt.transfer == "sdr" else linear_to_srgb(sdr_light(_hdr_light(signal, fmt.transfer)))


def gray_levels(frame: av.VideoFrame) -> np.ndarray:
    """What each of the 256 levels of swscale's gray picture of `frame` (full range) is to the network: the
    level / 255, or, for an HDR film, its light as SDR's (luma_to_gray). The shot list's frames see them."""
    fmt = PlaneFormat("yuvj444p", 8, True, "bt709", _TRANSFER_OF_TRC.get(frame.color_trc, "sdr"))
    return luma_to_gray(torch.arange(256), fmt).numpy()


def luma_to_light(y: torch.Tensor, fmt: PlaneFormat) -> torch.Tensor:
    """Integer Y' codes -> the relative luminance of a neutral pixel (1: white; HDR's reference white), in
    float64: it makes the chroma tables."""
    signal = _signal(y, fmt).double()
    return srgb_to_linear(signal) if fmt.transfer == "sdr" else _hdr_light(signal, fmt.transfer)


def _signal(y: torch.Tensor, fmt: PlaneFormat) -> torch.Tensor:
    scale = 1 << (fmt.bits - 8)
    y = y.float()
    if fmt.full_range:
        return (y / (255 * scale)).clamp(0, 1)
    return ((y - 16 * scale) / (219 * scale)).clamp(0, 1)


def _hdr_light(signal: torch.Tensor, transfer: str) -> torch.Tensor:
    return pq_to_light(signal) if transfer == "pq" else hlg_light(hlg_to_scene(signal))


def border_bands(dark_cols: torch.Tensor, dark_rows: torch.Tensor) -> torch.Tensor | None:
    """(B, 1, W) and (B, 1, H) bool: columns and rows that are dark from end to end -> (B, 1, H, W) bool
    mask of the dark bands that touch the frame edges (letterbox, pillarbox), which must stay
    neutral; None where there are none (most films: no full-size mask to build)."""
    def from_edges(line: torch.Tensor) -> torch.Tensor:  # contiguous dark lines starting at either edge
        line = line.int()
        return line.cumprod(-1).bool() | line.flip(-1).cumprod(-1).flip(-1).bool()

    cols, rows = from_edges(dark_cols), from_edges(dark_rows)
    if not (cols.any() or rows.any()):
        return None
    return cols[..., None, :] | rows[..., :, None]


CPU_CHUNK_PIXELS = 1 << 17  # converted at a time on CPU: the temporaries stay in cache (1.4x faster at 1080p)


def block_sums(y: torch.Tensor) -> torch.Tensor:
    """(..., H, W) integer codes, even sides -> (..., H/2, W/2) int16 sums of the 2x2 blocks.
    Summed as integers: 4x cheaper on CPU than avg_pool2d of floats."""
    return _pair_sums(y[..., 0::2, :].to(torch.int16).add_(y[..., 1::2, :]))  # half the rows converted


def _pair_sums(x: torch.Tensor) -> torch.Tensor:
    """(..., W) integer codes or sums, even W -> (..., W/2) int16 sums of neighbours in a row (4 x 1023 fits)."""
    return x[..., 0::2].to(torch.int16) + x[..., 1::2]


class LumaTables(NamedTuple):
    """For every sum of `taps` Y' codes (1 pixel, a pair or a 2x2 block): values that would otherwise cost a
    curve per pixel (a lookup costs a tenth of the two curves)."""

    gray: torch.Tensor  # gamma-encoded gray of the mean code, in [0, 1], as the network sees it
    fy: torch.Tensor  # f(Y) = (L* + 16) / 116
    lum: torch.Tensor  # relative luminance Y (over 1 in an HDR highlight)
    dark_limit: int  # the largest sum that is dark border


@functools.cache
def luma_tables(fmt: PlaneFormat, taps: int, device: torch.device) -> LumaTables:
    codes = torch.arange(taps * ((1 << fmt.bits) - 1) + 1, dtype=torch.float64) / taps
    gray, lum = luma_to_gray(codes, fmt), luma_to_light(codes, fmt)
    dark_limit = int((gray <= BORDER_GRAY).sum()) - 1
    return LumaTables(*(t.float().to(device) for t in (gray, (lightness(lum) + 16) / 116, lum)), dark_limit)


def _lookup(table: torch.Tensor, sums: torch.Tensor) -> torch.Tensor:
    """(..., 1, h, w) integer sums -> (..., h, w) table values."""
    return table.index_select(0, sums.flatten()).view(sums.shape[:-3] + sums.shape[-2:])


def block_gray(sums: torch.Tensor, fmt: PlaneFormat) -> torch.Tensor:
    """(B, 1, h, w) 2x2 block sums of Y' codes -> (B, 1, h, w) gamma-encoded gray of the block means."""
    return _lookup(luma_tables(fmt, 4, sums.device).gray, sums.int()).unsqueeze(-3)


def chroma_luma(y: torch.Tensor, fmt: PlaneFormat) -> torch.Tensor:
    """(B, 1, H, W) integer Y' codes -> the luma that goes with each chroma sample: the sum of its 2x2
    block (4:2:0), of its 4 (4:1:1) or 2 (4:2:2) in a row (plane_format sees to the sides), or the code
    itself (4:4:4), as small integers."""
    if fmt.layout == "420":
        return block_sums(y)
    if fmt.layout == "411":
        return _pair_sums(_pair_sums(y))
    return y if fmt.taps == 1 else _pair_sums(y)


def chroma_planes(sums: torch.Tensor, ab: torch.Tensor, fmt: PlaneFormat) -> torch.Tensor:
    """(B, 1, ch, cw) chroma_luma of the frames and (B, 2, h, w) a*b* -> (B, 2, ch, cw) integer Cb, Cr
    codes at chroma size."""
    sums = sums.int()  # index_select's index type
    ab_c = F.interpolate(ab, size=sums.shape[-2:], mode="bilinear", align_corners=False)
    tables = luma_tables(fmt, fmt.taps, sums.device)
    codes = torch.empty_like(ab_c)
    if sums.device.type == "cpu":
        rows = max(1, CPU_CHUNK_PIXELS // sums.shape[-1])
        for i in range(len(sums)):
            for r in range(0, sums.shape[-2], rows):
                _cbcr_codes(sums[i, :, r:r + rows], ab_c[i, :, r:r + rows], tables, fmt, codes[i, :, r:r + rows])
    else:
        _cbcr_codes(sums, ab_c, tables, fmt, codes)
    bands = border_bands(sums.amax(dim=-2) <= tables.dark_limit, sums.amax(dim=-1) <= tables.dark_limit)
    return codes if bands is None else codes.masked_fill_(bands, 128 << (fmt.bits - 8))


def _cbcr_codes(sums: torch.Tensor, ab: torch.Tensor, tables: LumaTables, fmt: PlaneFormat,
                out: torch.Tensor) -> torch.Tensor:
    """(..., 1, h, w) luma sums and (..., 2, h, w) a*b* -> Cb, Cr codes written into `out` (..., 2, h, w)."""
    lum = _lookup(tables.lum, sums)
    linear = lab_to_linear_with(_lookup(tables.fy, sums), lum, *ab.unbind(-3))
    rgb = _encoded(linear, lum, fmt)
    scale = 1 << (fmt.bits - 8)
    span, low, high = (255 * scale, 0, 256 * scale - 1) if fmt.full_range else (224 * scale, 16 * scale, 240 * scale)
    for code, (r, g, b) in zip(out.unbind(-3), cbcr_rows(fmt.matrix)):
        torch.mul(rgb[0], r * span, out=code).add_(rgb[1], alpha=g * span).add_(rgb[2], alpha=b * span)
        code.add_(128 * scale).round_().clamp_(low, high)
    return out


def _encoded(linear: tuple[torch.Tensor, ...], lum: torch.Tensor, fmt: PlaneFormat) -> list[torch.Tensor]:
    """Linear BT.709 R, G, B planes (1: white) and their luminance -> R', G', B' signals of the film's primaries
    and transfer, each curve from a table; HLG's system gamma works on the pixel's luminance, so its scene
    light comes from `lum`."""
    if fmt.wide:
        linear = mix(BT709_TO_BT2020, torch.stack(linear, -3)).unbind(-3)
    if fmt.transfer == "pq":
        return [tabulated(pq_signal, c * PQ_SHARE) for c in linear]
    if fmt.transfer == "hlg":
        gain = hlg_scene_gain(lum)
        return [tabulated(scene_to_hlg, c * gain) for c in linear]
    return [tabulated(linear_to_srgb, c) for c in linear]


def compose(frame: av.VideoFrame, cbcr: np.ndarray, fmt: PlaneFormat) -> av.VideoFrame:
    """`frame` colored in place with the chroma planes `cbcr` (2, ch, cw). Its Y plane, pts, color tags and
    side data (closed captions, HDR metadata) go on to the encoder as they were decoded. A frame the
    decoder still holds as a reference picture is copied first (make_writable), so decoding goes on
    from intact pictures."""
    frame.make_writable()
    for i in (1, 2):
        p = frame.planes[i]
        plane_view(p, fmt.dtype, p.height, p.width)[:] = cbcr[i - 1]
    frame.pict_type = PictureType.NONE  # decoded as I, P or B: left set, it would force the encoder's choices
    return frame


def own_chroma(frame: av.VideoFrame, fmt: PlaneFormat) -> np.ndarray:
    """(2, ch, cw) the frame's own Cb and Cr planes, as compose takes them: a shot that keeps its colors."""
    return np.stack([plane_view(p, fmt.dtype, p.height, p.width) for p in frame.planes[1:3]])


def compose_side_by_side(frame: av.VideoFrame, cbcr: np.ndarray, fmt: PlaneFormat) -> av.VideoFrame:
    """A frame twice as wide: the input as it is on the left, the colorized one on the right."""
    out = av.VideoFrame(2 * frame.width, frame.height, fmt.pix_fmt)
    _paste(frame, out, fmt, right=False)  # before compose colors `frame`
    _paste(compose(frame, cbcr, fmt), out, fmt, right=True)
    _copy_timing_and_tags(frame, out)
    return out


def _paste(src: av.VideoFrame, dst: av.VideoFrame, fmt: PlaneFormat, right: bool) -> None:
    for p, sp in zip(dst.planes, src.planes):
        w = min(sp.width, p.width)
        x = p.width - w if right else 0  # with odd widths the halves share one chroma column
        plane_view(p, fmt.dtype, p.height, p.width)[:, x:x + w] = plane_view(sp, fmt.dtype, sp.height, w)


def _copy_timing_and_tags(src: av.VideoFrame, dst: av.VideoFrame) -> None:
    dst.pts, dst.time_base, dst.duration = src.pts, src.time_base, src.duration
    dst.colorspace, dst.color_range = src.colorspace, src.color_range
    dst.color_primaries, dst.color_trc = src.color_primaries, src.color_trc
