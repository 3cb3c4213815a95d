"""The model stage: decoded frames in, their Cb/Cr planes out, in file order.

analyze (per batch): Y' -> L* at working size -> global vector, shot decisions (shots.py)
-> hold within shots (smoothing.py: global vectors averaged, each shot's colors judged)
-> render (per batch of released frames): L* + smoothed global vector -> a*b* (colorizer.py) -> Cb/Cr codes
(media/planes.py). The pipeline feeds it from the decode thread and hands what it emits to the encoder.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np
import torch
import torch.nn.functional as F

from .color import gray_to_lightness, tabulated
from .colorizer import Colorizer, work_size
from .levels import Levels
from .media.planes import (
    PlaneFormat,
    block_gray,
    block_sums,
    chroma_luma,
    chroma_planes,
    luma,
    luma_to_gray,
    own_chroma,
)
from .shots import SMALL_WIDTH, ShotDetector
from .smoothing import ChromaFilter, Pending, ShotSmoother
from .survey import frame_coloring
from .workers import Batch, torch_threads, whole

# Cb/Cr codes leave the device as the narrowest type that holds them (8-bit: a quarter of int32's bytes)
_CODE_DTYPE = {8: torch.uint8, 10: torch.int16}


@dataclass
class Rendered:
    items: list  # frames and side packets, in file order
    frames: list[av.VideoFrame]
    cbcr: np.ndarray | None = None  # (B, 2, ch, cw) chroma codes of `frames`


class FrameStage:
    """The model stage, in two steps joined by the shot smoother:

    analyze (per batch): gray -> L* at working size -> global vector, plus shot decisions;
    render (per batch of released frames): L* + smoothed global vector -> a*b* -> Cb/Cr codes.
    `emit` receives the rendered batches in file order."""

    def __init__(self, colorizer: Colorizer, fmt: PlaneFormat, batch_size: int, window: int,
                 detect_shots: bool, emit: Callable[[Rendered], None], fixed_g: torch.Tensor | None = None,
                 shot_g: dict[int, torch.Tensor] | None = None, split: Callable[..., Batch] = whole,
                 levels: Levels = Levels(), keep: frozenset[str] = frozenset()) -> None:
        """`fixed_g`: one global vector (D,) for every frame, e.g. a reference photo's; `shot_g`: one
        for some shots (by 0-based index), the others keep their own. `split(fn, *batch)` runs the
        per-frame work, in slices over the CPU cores (workers.slice_workers) or whole. `levels`: how the
        network is to see the film's L* (shots and the chroma filter see it as it is). `keep`: the kinds of
        shot ("color", "tinted": ShotSmoother judges them) that keep their own colors; every frame's colors
        are judged where it names any."""
        self.colorizer, self.fmt, self.batch_size, self.emit = colorizer, fmt, batch_size, emit
        self.levels, self.keep = levels, keep
        self.kept_shots: set[int] = set()
        self.split = split
        self.fixed_g, self.shot_g = fixed_g, shot_g or {}
        self.detector = ShotDetector() if detect_shots else None
        self.smoother = ShotSmoother(window)
        self.chroma_filter = ChromaFilter() if detect_shots else None
        self.incoming: list[tuple[list, av.VideoFrame]] = []
        self.ready: list[tuple[Pending, torch.Tensor]] = []
        self.count = 0
        self.boundaries: list[tuple[int, str]] = []
        self.staging: torch.Tensor | None = None  # pinned host buffer for Y planes on their way to a GPU
        self.staged: torch.cuda.Event | None = None

    def luma(self, frames: list[av.VideoFrame]) -> torch.Tensor:
        """(B, 1, H, W) integer Y' codes on the device, from the frames' Y planes.

        On CUDA the planes are gathered by numpy straight into a reused pinned buffer: one copy, and
        no torch CPU op, whose thread pool would fight the decoder's and encoder's threads for cores."""
        planes = [luma(f, self.fmt) for f in frames]
        if self.colorizer.device.type != "cuda":
            ys = np.stack(planes)
            return torch.from_numpy(ys.astype(np.int32) if self.fmt.bits > 8 else ys)[:, None]
        if self.staging is None:
            dtype = torch.uint8 if self.fmt.bits == 8 else torch.int16  # 10-bit codes fit in int16
            self.staging = torch.empty((self.batch_size, *planes[0].shape), dtype=dtype, pin_memory=True)
            self.staged = torch.cuda.Event()
        self.staged.synchronize()  # the previous batch has left the buffer
        buffer = self.staging[:len(planes)]
        np.stack(planes, out=buffer.numpy().view(planes[0].dtype))
        y = buffer.to(self.colorizer.device, non_blocking=True)[:, None]
        self.staged.record()
        return y

    def push(self, items: list, frame: av.VideoFrame) -> None:
        """`items`: the side packets read since the previous frame, then this frame."""
        self.incoming.append((items, frame))
        if len(self.incoming) == self.batch_size:
            self._analyze()

    def finish(self, trailing: list) -> None:
        """End of the film: flush everything; `trailing` are side packets after the last frame."""
        self._analyze()
        self._decide(self.detector.finish() if self.detector else [])
        self.smoother.finish()
        self.ready += self.smoother.release()
        self._render(final=True)
        self.emit(Rendered(trailing, []))

    def _analyze(self) -> None:
        if not self.incoming:
            return
        frames = [f for _, f in self.incoming]
        L, g, small, sums = self.split(self._look, self.luma(frames))
        has = [None] * len(frames)
        if self.keep:
            with torch_threads(1):  # small pictures (the survey's reason)
                has = [frame_coloring(f, self.fmt) for f in frames]
        for i, (items, _) in enumerate(self.incoming):
            self.smoother.add(Pending(self.count + i, items, g[i], L[i:i + 1], sums[i:i + 1], coloring=has[i]))
        if self.detector is not None:
            self._decide([d for s in small.cpu().numpy() for d in self.detector.push(s)])
        else:
            self._decide([(self.count + i, None) for i in range(len(frames))])
        self.count += len(frames)
        self.incoming = []
        self.ready += self.smoother.release()
        self._render(final=False)

    def _look(self, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(B, 1, H, W) Y' codes -> L*/100 at the working size, global vectors, the gray picture at the
        shot detector's width (empty without detection), and the chroma_luma that rendering will need
        (computed once, and on a GPU the Y' planes cross the bus once)."""
        sums = chroma_luma(y, self.fmt)
        size = work_size(*y.shape[-2:], self.colorizer.work_side)
        if y.shape[-2] % 2 == 0 and y.shape[-1] % 2 == 0 and 2 * size[0] <= y.shape[-2]:
            # 2x2 block means (480p and above): the area resize below reads a quarter of the pixels
            gray = block_gray(sums if self.fmt.layout == "420" else block_sums(y), self.fmt)
        else:
            gray = luma_to_gray(y, self.fmt)
        gray_w = F.interpolate(gray, size=size, mode="area") if size != tuple(gray.shape[-2:]) else gray
        L = tabulated(gray_to_lightness, gray_w) / 100
        g = self.colorizer.global_features(self.levels(L)) if self.fixed_g is None else \
            self.fixed_g.expand(len(L), -1)
        if self.detector is None:
            return L, g, gray.new_empty(len(gray), 0), sums
        h = max(1, round(gray.shape[-2] * SMALL_WIDTH / gray.shape[-1]))
        return L, g, F.interpolate(gray, size=(h, SMALL_WIDTH), mode="area")[:, 0].float(), sums

    def _paint(self, L: torch.Tensor, g: torch.Tensor, before: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """a*b* of frames from L*/100 and global vectors, and the chroma filter's gates and motion sources
        (`before`: the frames before them): all per frame, so the slice workers run them."""
        return self._ab(L, g), *ChromaFilter.gate(L, before)

    def _ab(self, L: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return self.colorizer.ab(self.levels(L), g)

    def _codes(self, sums: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        """(B, 1, ch, cw) chroma_luma and (B, 2, h, w) a*b* -> (B, 2, ch, cw) Cb/Cr codes in the narrowest
        integer type that holds them (they leave the device next)."""
        return chroma_planes(sums, ab, self.fmt).to(_CODE_DTYPE[self.fmt.bits])

    def _decide(self, decisions: list[tuple[int, str | None]]) -> None:
        for index, kind in decisions:
            self.smoother.decide(index, kind)
            if kind:
                self.boundaries.append((index, kind))

    def _render(self, final: bool) -> None:
        while len(self.ready) >= self.batch_size or (final and self.ready):
            chunk, self.ready = self.ready[:self.batch_size], self.ready[self.batch_size:]
            frames = [p.items[-1] for p, _ in chunk]
            kept = [p.shot_kind in self.keep for p, _ in chunk]
            if any(kept):  # their own chroma, and the network only for the others
                rest = [c for c, k in zip(chunk, kept) if not k]
                colored = iter(self._colored(rest) if rest else ())
                codes = np.stack([own_chroma(f, self.fmt) if k else next(colored) for f, k in zip(frames, kept)])
                self.kept_shots.update(p.shot for (p, _), k in zip(chunk, kept) if k)
            else:
                codes = self._colored(chunk)
            self.emit(Rendered([it for p, _ in chunk for it in p.items], frames, codes))
            for p, _ in chunk:
                p.drop_pixels()

    def _colored(self, chunk: list[tuple[Pending, torch.Tensor]]) -> np.ndarray:
        """(B, 2, ch, cw) Cb/Cr codes of the chunk's frames from the network (the chroma filter runs over
        these frames alone: it starts again at each shot, and a kept shot lies between shots)."""
        L = torch.cat([p.L for p, _ in chunk])
        vectors = torch.stack([self.shot_g.get(p.shot, g) for p, g in chunk])
        if self.chroma_filter is None:
            ab = self.split(self._ab, L, vectors)
        else:
            ab, blend, where = self.split(self._paint, L, vectors, self.chroma_filter.predecessors(L))
            ab = self.chroma_filter([p.shot for p, _ in chunk], ab, blend, where)
        cbcr = self.split(self._codes, torch.cat([p.luma for p, _ in chunk]), ab)
        return cbcr.cpu().numpy().astype(self.fmt.dtype, copy=False)
