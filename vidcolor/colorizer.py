"""The predictor: owns the network, the device and precision, resizing, and OOM handling.

The network maps tensors to tensors; this class maps gray pictures to a*b* at the picture's
size. Batches that run out of GPU memory are split in halves and retried, never dropped.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from . import heap
from .color import BORDER_GRAY, gray_to_lightness
from .defaults import DEFAULT_MODEL, DEFAULT_PHOTO_SIDE, DEFAULT_WORK_SIDE, MAX_SATURATION, MIN_WORK_SIDE
from .errors import UsageError, VidcolorError
from .model.fused import fuse_for_cpu
from .model.net import AB_SCALE, FusionNet, fold_batch_norm
from .model.weights import load_model


def pick_device(name: str = "auto") -> torch.device:
    """auto, cpu, cuda or cuda:N -> the device, checked before any work: a name torch does not take, or a
    GPU it does not see, is the user's to fix, not a crash at the first batch."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise UsageError(f"unknown device {name!r}: use auto, cpu, cuda or cuda:N")
    seen = torch.cuda.device_count() if device.type == "cuda" else 0
    if device.type == "cuda" and (device.index or 0) >= seen:
        gpus = f"{seen} CUDA GPU{'s' if seen > 1 else ''} (cuda:0 to cuda:{seen - 1})" if seen else "no CUDA GPU"
        raise UsageError(f"--device {name} was asked for, but torch sees {gpus}")
    return device


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The dtype the network runs in, None for float32. bf16 (fp16 on old GPUs) on CUDA, and on CPUs
    with bf16 instructions (AMX or AVX512-BF16; 2.9x faster on the 2-core Xeon this was measured on,
    the same val PSNR: docs/throughput.md). Other CPUs emulate bf16, slower than float32."""
    if precision == "float32":
        return None
    if precision != "auto":
        raise UsageError(f"unknown precision {precision!r}: use auto or float32")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and any(getattr(torch.cpu, probe, lambda: False)()  # private API: absent -> float32
                                    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")):
        return torch.bfloat16
    return None


def work_size(height: int, width: int, side: int | None) -> tuple[int, int]:
    """Size the network runs at: short side scaled down to `side` (never up), aspect kept."""
    if side is None or min(height, width) <= side:
        return height, width
    s = side / min(height, width)
    return max(1, round(height * s)), max(1, round(width * s))


# L*/100 at and under which a whole edge row or column is a bar, as media.planes keeps bars neutral
_BAR_L = float(gray_to_lightness(torch.tensor(BORDER_GRAY, dtype=torch.float64))) / 100
# A scanned print's paper margin: edge rows and columns within MARGIN_SPREAD of the frame's outermost ring, where
# that ring is at least MARGIN_L (aged paper scans at L* 75-95); margins count only where all four sides have
# one, which a bright sky has not. With a plain threshold of 0.75 instead of the ring's level, 25 of 300 photos
# in margins lost a band of sky with them (1 now: a sky as bright as the paper still goes).
MARGIN_L = 0.75
MARGIN_SPREAD = 0.04
MIN_PICTURE_SHARE = 0.5  # a picture narrower or lower than this share of the frame is no picture in a frame
# An edge line of the picture darker (beside a bar; brighter beside a margin) on average than this share of
# the line inside it is part frame (the resize to the working size mixed them): left out, as one dark line at
# the edge of a featureless sky moved its global vector by half its length (0.565 against 0.007 without it).
MIXED_SHARE = 0.8

Span = tuple[int, int, int, int]  # first and one past the last line of a picture; mixed lines before and after


class Box(NamedTuple):
    """Where a frame's picture is, and the lines around it that the resize mixed with a bar or margin: those
    are painted with the picture's edge colors, the bars and margins beyond them stay neutral."""

    top: int
    bottom: int
    left: int
    right: int
    mixed: tuple[int, int, int, int] = (0, 0, 0, 0)  # lines: left, right, top, bottom (F.pad's order)


def picture_boxes(L: torch.Tensor) -> list[Box]:
    """(B, 1, h, w) L*/100 -> each frame's picture inside the dark bars at its edges (letterbox,
    pillarbox) and inside a print's paper margins. The network was trained on photos without either: black
    bars around held-out photos cost them 0.9 dB of PSNR, most of what the network gains over gray, paper
    margins 1.0 dB (bench/bars.py). A side along which the picture would span less than MIN_PICTURE_SHARE
    of the frame (a night scene, an iris shot) is kept whole."""
    L = L[:, 0].float()
    h, w = L.shape[-2:]
    ring = torch.cat((L[:, 0], L[:, -1], L[:, :, 0], L[:, :, -1]), -1).mean(-1, keepdim=True)
    stats = torch.cat([ring, *(torch.cat((*torch.aminmax(L, dim=d), L.mean(d)), -1) for d in (-1, -2))], -1)
    boxes = []
    for x in stats.cpu().numpy():  # one wait for a GPU
        ring, rows, cols = x[0], x[1:1 + 3 * h].reshape(3, h), x[1 + 3 * h:].reshape(3, w)
        rows_in, cols_in = _span(rows[1] > _BAR_L, rows[2]), _span(cols[1] > _BAR_L, cols[2])
        if ring >= MARGIN_L:
            margin_rows, margin_cols = _span(_unlike(rows, ring), 1 - rows[2]), _span(_unlike(cols, ring), 1 - cols[2])
            if margin_rows[0] > 0 and margin_rows[1] < h and margin_cols[0] > 0 and margin_cols[1] < w:
                rows_in, cols_in = _tighter(rows_in, margin_rows), _tighter(cols_in, margin_cols)
        boxes.append(Box(rows_in[0], rows_in[1], cols_in[0], cols_in[1],
                         (cols_in[2], cols_in[3], rows_in[2], rows_in[3])))
    return boxes


def _tighter(a: Span, b: Span) -> Span:
    """The later start and the earlier end of two spans, each with its mixed line."""
    start = a if a[0] >= b[0] else b
    end = a if a[1] <= b[1] else b
    return start[0], end[1], start[2], end[3]


def _unlike(lines: np.ndarray, ring: float) -> np.ndarray:
    """(3, n) min, max and mean L*/100 of the lines across a frame -> where a line strays from the ring's level."""
    return (lines[1] - ring > MARGIN_SPREAD) | (ring - lines[0] > MARGIN_SPREAD)


def _span(inside: np.ndarray, depth: np.ndarray) -> Span:
    """(n,) 1 where a line across the frame is not all bar (or margin), and the lines' mean depth into the
    picture (L*/100 beside bars, 1 - L*/100 beside margins) -> where the picture begins and ends (the whole
    frame where it is no picture in a frame), and whether a mixed line was left out at either end."""
    n, on = len(inside), np.flatnonzero(inside)
    if not len(on) or on[-1] + 1 - on[0] < max(3, MIN_PICTURE_SHARE * n):
        return 0, n, 0, 0
    lo, hi = int(on[0]), int(on[-1]) + 1
    mixed_lo = int(lo > 0 and depth[lo] < MIXED_SHARE * depth[lo + 1])
    mixed_hi = int(hi < n and depth[hi - 1] < MIXED_SHARE * depth[hi - 2])
    return lo + mixed_lo, hi - mixed_hi, mixed_lo, mixed_hi


class Colorizer:
    def __init__(self, model: FusionNet | str | Path = DEFAULT_MODEL, device: str = "auto",
                 work_side: int | None = DEFAULT_WORK_SIDE, saturation: float = 1.0,
                 precision: str = "auto", photo_side: int | None = DEFAULT_PHOTO_SIDE) -> None:
        """`work_side` and `photo_side`: the short side (px) the network sees a film's frames and a photo at
        (None: as they are); a film's is smaller for speed (defaults.py). `saturation` scales the predicted
        a*b* on top of the gain the weights file carries (1: as shipped): how vivid a film should look is the
        restorer's call (docs/quality.md, Which levers pay). `precision`: "auto" (see autocast_dtype) or
        "float32"."""
        for side in (work_side, photo_side):
            if side is not None and not side >= MIN_WORK_SIDE:  # the API's, refused as the command line's
                raise UsageError(f"work side {side}: use {MIN_WORK_SIDE} px or more")
        if not 0 <= saturation <= MAX_SATURATION:
            raise UsageError(f"saturation {saturation}: use 0 (gray) to {MAX_SATURATION:g}")
        self.device = pick_device(device)
        if self.device.type == "cpu":
            heap.keep_freed_memory()
        self.saturation = saturation
        self.dtype = autocast_dtype(self.device, precision)
        net = model if isinstance(model, FusionNet) else load_model(model)
        fused = fuse_for_cpu(net, self.dtype or torch.float32) if self.device.type == "cpu" else None
        # The fused layers carry their own dtypes; the others run under autocast.
        self.autocast_dtype = None if fused is not None else self.dtype
        if fused is not None:
            self.net = fused
        else:  # batch norm folded into the layers: one pass fewer per layer; exact in float32, and in bf16
            # as close to float32 as unfolded (FusionNet.low_features keeps the sensitive layer float32)
            self.net = fold_batch_norm(net).to(self.device)
            if self.dtype is not None:  # the layout cuDNN runs reduced precision fastest in
                self.net = self.net.to(memory_format=torch.channels_last)
        self.work_side, self.photo_side = work_side, photo_side

    def _autocast(self):
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def work_lightness(self, L: torch.Tensor, photo: bool = False) -> torch.Tensor:
        """(B, 1, H, W) L*/100 of film frames (or of photos) -> the same on the device, area-resized to the
        working size (or the photos' own)."""
        L = L.to(self.device, non_blocking=True).float()
        size = work_size(*L.shape[-2:], self.photo_side if photo else self.work_side)
        return F.interpolate(L, size=size, mode="area") if size != tuple(L.shape[-2:]) else L

    @torch.inference_mode()
    def global_features(self, L: torch.Tensor) -> torch.Tensor:
        """(B, 1, h, w) L/100 -> (B, D) float32 global vectors of the pictures inside their bars or margins."""
        return self._on_pictures(self._global, L, on_canvas=False)

    @torch.inference_mode()
    def ab(self, L: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1, h, w) L/100 (+ optional (B, D) global vectors) -> (B, 2, h, w) float32 a*b*: predicted
        for the pictures inside their bars or margins, 0 (neutral) on those but for a line the resize to
        the working size mixed with the picture (picture_boxes)."""
        boxes = picture_boxes(L)
        if g is None:
            g = self._on_pictures(self._global, L, on_canvas=False, boxes=boxes)

        def run(x: torch.Tensor, gg: torch.Tensor) -> torch.Tensor:
            return self.net.colorize(x, gg).float() * (AB_SCALE * self.net.chroma_gain * self.saturation)

        return self._on_pictures(run, L, g, on_canvas=True, boxes=boxes)

    def _global(self, L: torch.Tensor) -> torch.Tensor:
        return self.net.global_features(L).float()

    def _on_pictures(self, fn: Callable[..., torch.Tensor], L: torch.Tensor, *per_frame: torch.Tensor,
                     on_canvas: bool, boxes: list[Box] | None = None) -> torch.Tensor:
        """fn(L cropped to a picture box, the rows of `per_frame` for its frames), halved on out-of-memory,
        for each group of frames that share a box (almost always one: the whole frame, run as it is); the
        results in frame order, on a zero canvas of the frames' size where `on_canvas`. `boxes`: L's
        picture_boxes, where the caller has them already."""
        groups: dict[Box, list[int]] = {}
        for i, box in enumerate(boxes or picture_boxes(L)):
            groups.setdefault(box, []).append(i)
        if list(groups) == [Box(0, L.shape[-2], 0, L.shape[-1])]:
            return self._split_on_oom(fn, L, *per_frame)
        out = None
        for (top, bottom, left, right, mixed), rows in groups.items():
            index = slice(None) if len(rows) == len(L) else torch.tensor(rows, device=L.device)
            part = self._split_on_oom(fn, L[index, :, top:bottom, left:right].contiguous(),
                                      *(t[index] for t in per_frame))
            if out is None:
                shape = (*part.shape[:-2], *L.shape[-2:]) if on_canvas else part.shape
                out = part.new_zeros((len(L), *shape[1:]))
            if on_canvas:  # mixed lines take the picture's edge colors
                out[index, :, top - mixed[2]:bottom + mixed[3], left - mixed[0]:right + mixed[1]] = F.pad(
                    part, mixed, mode="replicate")
            else:
                out[index] = part
        return out

    def _split_on_oom(self, fn, *batch: torch.Tensor) -> torch.Tensor:
        """Run fn on the batch; on CUDA out-of-memory, run it on each half instead."""
        try:
            with self._autocast():
                if self.autocast_dtype is not None:
                    batch = tuple(b.contiguous(memory_format=torch.channels_last) if b.ndim == 4 else b
                                  for b in batch)
                return fn(*batch)
        except torch.OutOfMemoryError as ex:
            n = batch[0].shape[0]
            if n == 1:
                raise VidcolorError("out of GPU memory even for one frame: use --device cpu or a smaller "
                                    "--work-side") from ex
            torch.cuda.empty_cache()
            half = n // 2
            return torch.cat([self._split_on_oom(fn, *(b[:half] for b in batch)),
                              self._split_on_oom(fn, *(b[half:] for b in batch))])


_PARAMETERS = inspect.signature(Colorizer).parameters
MODEL_OPTIONS = tuple(_PARAMETERS)  # model, device, work_side, saturation, precision, photo_side


def changed_options(**options) -> dict:
    """Those of Colorizer's `options` that differ from its defaults: what a call that also takes a colorizer
    was given, where its signature repeats the defaults."""
    return {name: value for name, value in options.items() if value != _PARAMETERS[name].default}


def shared_colorizer(colorizer: Colorizer | None, **options) -> Colorizer:
    """`colorizer` (a model loaded once for many films), or one built from `options`, Colorizer's own
    arguments. Options beside a colorizer are refused: it has its own, and they had been dropped without a
    word (colorize_video, colorize_folder)."""
    if colorizer is None:
        return Colorizer(**options)
    if options:
        raise UsageError(f"{', '.join(options)}: give them to the Colorizer, or give no colorizer")
    return colorizer
