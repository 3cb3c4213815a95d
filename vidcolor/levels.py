"""A faded film's black and white points, so that the network sees the contrast it was trained on.

Faded prints and washed-out transfers have grey blacks and dull whites; the network, trained on photos
with their full range, then colors them little better than gray: real color footage faded to L* 25 +
0.5 L* lost 1.9 and 3.1 dB of its colors' PSNR (bench/levels.py). A single photo cannot tell a faded print
from a hazy day (stretching every held-out photo by its own levels cost 0.14 dB), but a whole film can:
its darkest and brightest pixels over many shots reach near black and white unless the film itself has
faded. So the levels are the film's, from frames sampled over its whole length (survey.py), the same for
every frame, range and preview of it; they change what the network sees only: the output's luminance stays
the input's.
"""
from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
import torch
import torch.nn.functional as F

from .color import gray_to_lightness, tabulated
from .colorizer import picture_boxes, work_size
from .defaults import DEFAULT_WORK_SIDE
from .media.planes import PlaneFormat, luma, luma_to_gray

PERCENTILES = (0.01, 0.99)  # of the pictures' L*: the film's black and white points (dust and specks aside)
# What the network is shown of a faded film's black..white: on 256 training photos faded four ways, the
# targets (0, 0.90), (0, 0.94), (0.02, 0.94), (0.04, 0.94), (0, 0.98) gave 25.62-25.68 dB; (0.02, 0.94) best.
SEEN_BLACK, SEEN_WHITE = 0.02, 0.94
# The film's white - black (L*/100): at or under FADED_RANGE stretched all the way, at or over
# NATURAL_RANGE left as it is, linearly in between (no jump between two nearly equal films). The real
# films at hand measure 0.78 (Chaplin, a 1910s print), 0.86-0.87 (the cut-list clip, the airplane) and 0.93
# (the demo); photos of the training split, each alone, 0.87 at the median, 0.67 at the tenth percentile.
# Faded to L* 25 + 0.5 L*, the demo and the airplane measure 0.46 and 0.43.
FADED_RANGE, NATURAL_RANGE = 0.55, 0.70


@dataclass(frozen=True)
class Levels:
    """The film's black and white points (L*/100) and how far toward SEEN_BLACK..SEEN_WHITE they are
    stretched for the network (0: not at all)."""

    black: float = 0.0
    white: float = 1.0
    weight: float = 0.0

    @classmethod
    def of(cls, L: torch.Tensor) -> Levels:
        """Levels of a film from the L*/100 of its pictures' pixels (any shape)."""
        x = L.flatten().float()  # k-th values: a sort of the samples' pixels took 45 ms
        black, white = (x.kthvalue(max(1, round(p * len(x)))).values.item() for p in PERCENTILES)
        weight = min(1.0, max(0.0, (NATURAL_RANGE - (white - black)) / (NATURAL_RANGE - FADED_RANGE)))
        return cls(round(black, 4), round(white, 4), round(weight, 4))

    def __call__(self, L: torch.Tensor) -> torch.Tensor:
        """L*/100 as the network is to see it."""
        if self.weight == 0:
            return L
        gain = (SEEN_WHITE - SEEN_BLACK) / max(self.white - self.black, 1e-3)
        return torch.lerp(L, (L - self.black) * gain + SEEN_BLACK, self.weight).clamp(0, 1)

    def said(self) -> str | None:
        """One line for the user where the film is stretched."""
        if self.weight == 0:
            return None
        return (f"the film looks faded (black L* {100 * self.black:.0f}, white L* {100 * self.white:.0f}): the "
                f"network sees it with more contrast{'' if self.weight == 1 else ', in part'}; the picture's "
                "luminance is kept (--levels off to show it the film as it is)")


def picture_lightness(frame: av.VideoFrame, fmt: PlaneFormat) -> torch.Tensor:
    """L*/100 of the pixels of a sampled frame's picture (`frame` in the pipeline's plane format `fmt`) at the
    working size, bars and paper margins left out."""
    y = luma(frame, fmt)
    step = max(1, round(min(y.shape) / DEFAULT_WORK_SIDE) // 2)  # every other pixel or fewer, then the area
    # mean down to the working size: a quarter of the work at 480p; the films at hand moved by 0.001 at most
    gray = luma_to_gray(torch.from_numpy(y[::step, ::step].astype(np.int32))[None, None], fmt)
    size = work_size(*gray.shape[-2:], DEFAULT_WORK_SIDE)
    L = tabulated(gray_to_lightness, F.interpolate(gray, size=size, mode="area")) / 100
    top, bottom, left, right, _ = picture_boxes(L)[0]
    return L[..., top:bottom, left:right].flatten()


