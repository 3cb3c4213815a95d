"""Per-shot smoothing of the network's global vectors, streaming with bounded look-ahead.

Each frame gets the triangular-window mean of the global vectors of the frames within
`window` frames of it *in the same shot*, so the mood of a shot holds still and nothing
crosses a cut. A frame is released once the shot boundaries `window` frames ahead of it are
known; memory is bounded by the window, not by the shot or the film.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .input_color import Coloring, film_coloring
from .motion import box_mean, camera_motion, exposure_free, local_motion, sample


@dataclass
class Pending:
    """A decoded frame waiting to be colorized, with what the first pass found."""

    index: int
    items: list  # side packets that came before the frame in the file, then the frame itself
    g: torch.Tensor  # (D,) global vector of this frame
    L: torch.Tensor | None  # (1, 1, h, w) L*/100 at the working size
    luma: torch.Tensor | None  # (1, 1, ch, cw) planes.chroma_luma: what the chroma conversion needs of Y'
    shot: int | None = None
    coloring: Coloring | None = None  # what the frame has of color, where the film's frames are judged
    shot_kind: str | None = None  # and its shot: "gray", "tinted" or "color" (ShotSmoother)

    def drop_pixels(self) -> None:
        """Once the frame is rendered the smoother still needs its vector for the frames after it (the
        backward window), not its pictures: the window then holds vectors only."""
        self.items, self.L, self.luma = [], None, None


class ShotSmoother:
    """Also judges each shot's colors at its first frame, where the frames are judged (Pending.coloring): as
    a film's (input_color.film_coloring), over its first frames up to the window's end. The shot keeps that
    kind (Pending.shot_kind) unless a whole window ahead is judged gray, or color, and the kind is not: a
    dissolve from archive footage in black and white to a color interview, which the shot detector does
    not cut. A few frames of another kind (a dark moment, a sky) change nothing."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.judged: tuple[int | None, str | None] = (None, None)  # the shot released last, and its kind
        self.buf: deque[Pending] = deque()  # released frames kept for the backward window, then pending
        self.released = 0  # index of the next frame to release
        self.decided = 0  # frames whose shot is known
        self.shot = 0
        self.finished = False

    def add(self, p: Pending) -> None:
        self.buf.append(p)

    def decide(self, index: int, boundary: str | None) -> None:
        """Shot decisions, in frame order: `boundary` is set when frame `index` starts a new shot."""
        if boundary:
            self.shot += 1
        self._at(index).shot = self.shot
        self.decided = index + 1

    def finish(self) -> None:
        self.finished = True

    def _at(self, index: int) -> Pending:
        return self.buf[index - self.buf[0].index]

    def release(self) -> list[tuple[Pending, torch.Tensor]]:
        """Frames whose window is complete, each with its smoothed global vector."""
        out = []
        while self.released < self.decided and (self.finished or self.released + self.window < self.decided):
            t = self.released
            me = self._at(t)
            span = [self._at(j) for j in range(max(self.buf[0].index, t - self.window),
                                                min(self.decided, t + self.window + 1))]
            # one weighted sum, not one small op per neighbour: on a GPU each op is a kernel launch
            w = torch.tensor([float(self.window + 1 - abs(p.index - t)) if p.shot == me.shot else 0.0
                              for p in span], dtype=me.g.dtype).to(me.g.device, non_blocking=True)
            out.append((me, (w[:, None] * torch.stack([p.g for p in span])).sum(0) / w.sum()))
            if me.coloring is not None:  # the film's frames are judged (all of them, or none)
                me.shot_kind = self._shot_kind(me, [p.coloring for p in span if p.shot == me.shot and p.index >= t])
            self.released += 1
            while self.buf and self.buf[0].index < self.released - self.window:
                self.buf.popleft()
        return out

    def _shot_kind(self, me: Pending, ahead: list[Coloring]) -> str:
        """The kind of `me`'s shot, from `ahead`: its frames from `me` on within the window."""
        if self.judged[0] != me.shot:
            self.judged = (me.shot, film_coloring(ahead).kind)
        elif len(ahead) > self.window and len({c.kind for c in ahead}) == 1 and ahead[0].kind in ("gray", "color"):
            self.judged = (me.shot, ahead[0].kind)  # a whole window of one: a dissolve between the two
        return self.judged[1]


class ChromaFilter:
    """Motion-gated recursive filter of a*b* within a shot: where the picture did not change, the
    color may not either; where the camera or a figure moved, the colors move with it.

    The gate compares exposure-normalized L* of a frame (old film breathes in brightness) with the
    frame before it, both as it was and moved by the picture's motion (motion.local_motion: the
    camera's map, refined per pixel), blurred over a few pixels; each pixel takes the moved one where it
    matches clearly better. Regions that match take up to MAX_BLEND of the previous color (moved or
    not), the others (new content, motion the flow cannot follow) keep their own. Streaming: the state
    is one frame; it resets at every shot boundary. The gates and motions of a batch can be computed
    anywhere (slice workers); only the blend runs frame by frame."""

    # Session 12, bench/temporal.py per shot (docs/temporal.md): 0.9 without the camera's motion (sessions
    # 6-11): flicker excess 0.0397, PSNR 26.410 dB; 0.97 without: 0.0293, 26.442; 0.97 with, the better
    # match taken: 0.0239, 26.399; moved only where clearly better (0.4 / 0.6): 0.0220 / 0.0214, 26.439 /
    # 26.429. Colors that move with a pan let x264 skip more macroblocks (bench/chroma_cost.py: 0.533 ->
    # 0.564 / 0.572; 0.588 when the better match is taken).
    MAX_BLEND = 0.97  # share of the previous color kept where nothing moved (~30-frame memory)
    MOVED_BETTER = 0.6  # the moved predecessor is taken where its mismatch is under this share of the unmoved one's
    GATE = 0.10  # normalized L* change at which a moved color's blend has fallen to 1/e of MAX_BLEND
    # Where nothing moved, no resampling error builds up, so the blend falls as a Gaussian of the change: it
    # stays near MAX_BLEND through grain and compression noise (a still surface keeps its ~30-frame memory) and
    # falls faster on real change. Session 41, bench/temporal.py per shot: flicker excess 0.0189 -> 0.0082,
    # PSNR 26.428 -> 26.478, the colors' change 48 frames apart on still surfaces of the Chaplin sample 2.25 ->
    # 1.84; at 0.14 a new picture keeps less of the previous colors than before (0.77 a*b* against 1.14 of 20
    # in the chroma filter test). The moved colors keep the shape above: with a Gaussian they drifted off a
    # pan's fine chroma, each warp adding the flow's error (the pan test's error 0.88 of the jittery input's).
    STILL_GATE = 0.14
    BLUR = 3  # px at half the working size

    def __init__(self) -> None:
        self.shot: int | None = None
        self.L: torch.Tensor | None = None
        self.ab: torch.Tensor | None = None

    def predecessors(self, L: torch.Tensor) -> torch.Tensor:
        """(B, 1, h, w) L*/100 of the next frames -> the frame before each (the first's from the previous
        batch, or itself at the start); remembers the last one for the next batch."""
        first = self.L if self.L is not None else L[:1]
        self.L = L[-1:]
        return torch.cat((first, L[:-1]))

    @classmethod
    def gate(cls, L: torch.Tensor, before: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, h, w) L*/100 of frames and of the frames before them -> the share of the previous
        filtered color each pixel keeps, signed: positive where the previous colors are to be moved,
        negative where they stay (B, 1, h, w); and where the motion takes each pixel's previous color
        from (motion.local_motion, (B, h, w, 2)).

        Each pixel takes the moved predecessor only where it matches clearly better (MOVED_BETTER):
        featureless regions (a hazy sky) match both and stay, so the motion steers only what it
        explains."""
        now, then = exposure_free(L), exposure_free(before)
        half = lambda x: F.avg_pool2d(x, 2, ceil_mode=True)  # noqa: E731 (rounded up: 1 px high stays 1 px)
        # The camera's map is fitted at half size, a quarter of the cost (it is fitted to the whole frame),
        # and refined per pixel at the working size, where a walking figure is a few dozen pixels wide.
        # The pictures are compared at half size, where grain averages out.
        small_now, small_then = half(now), half(then)
        theta = camera_motion(small_now, small_then)
        where = local_motion(now, then, theta)
        change = torch.cat([(small_now - x).abs() for x in (small_then, half(sample(then, where)))], 1)
        change = F.interpolate(box_mean(change, cls.BLUR), size=L.shape[-2:], mode="bilinear", align_corners=False)
        still, moved = change.split(1, 1)
        use = moved < cls.MOVED_BETTER * still
        keep = torch.where(use, moved.div(-cls.GATE).exp_(), still.div(cls.STILL_GATE).square_().neg_().exp_())
        keep.mul_(cls.MAX_BLEND)
        return torch.where(use, keep, -keep), where

    def __call__(self, shots: list[int], ab: torch.Tensor, blend: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        """Shot indices, (B, 2, h, w) a*b*, and the gates and motion sources of the next frames -> filtered
        a*b*."""
        out = []
        for shot, own, keep, source in zip(shots, ab, blend, where):
            if shot == self.shot and self.ab is not None:
                previous = torch.where(keep > 0, sample(self.ab[None], source[None])[0], self.ab)
                own = torch.lerp(own, previous, keep.abs())
            self.shot, self.ab = shot, own
            out.append(own)
        return torch.stack(out)
