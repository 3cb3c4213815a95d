"""Whether a photo or film already has colors: gray, tinted (one hue: a sepia-toned print, an amber or blue
tinted reel, a yellowed scan) or in color.

Colorizing replaces whatever chroma a picture has. That is what a tint asks for, but the colors of a color
photo or film are its own: a family's box of scans mixes color prints with black-and-white ones, and a
folder's color pictures are left as they are unless asked (folder.py); one given alone is colorized, with
a warning. What tells color from a tint is hue: a tint's colored pixels share one, a color picture's do not.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

# Chroma is measured as BT.601 Cb/Cr in 8-bit full-range codes around 0, on the picture shrunk to about
# SIDE pixels (its short side) by area means. Colored regions stay; noise averages out, and what is left of
# it sets the bar: a tape's chroma noise (VHS: sigma 5-20 codes, smeared along the lines) had made gray
# frames look like color.
SIDE = 32
CHROMATIC = 6.0  # codes from which a pixel counts as colored, at least
NOISE_BAR = 4.0  # and at least this many times the noise left after shrinking
TINT_SHARE = 0.05  # of the pixels colored: tinted or in color; fewer, gray
# A tint's colored pixels lie near their main hue; a color picture's spread out. It is in color where more
# than a share of them lie further than an angle (degrees) from the main hue: a tenth beyond 20 degrees, or
# a fiftieth beyond 60 (the orange flames under a rocket's blue sky), and still once what a plane over the
# picture and a cubic of its tones explain of its chroma is taken away (a cast sliding from warm to cool
# across a print; a toning that follows the silver, shadows one hue and highlights another). On held-out
# photos saved as JPEG (bench/input_color.py): of sepia-toned, split-toned, amber, blue, yellowed, gray and
# mixed-light ones, none; toned two ways (blue shadows, yellow highlights), 1% (57% with the plane alone); of
# gray and cast tape frames under chroma noise, none; of color photos, 80% (81%): the others, of about one
# hue (a sunset, a sandy shore, an orange cat) or whose hues follow their tones, are taken for tints.
OFF_HUE = ((20.0, 0.10), (60.0, 0.02))
COLOR_FRAMES = 0.25  # of a film's sampled frames in color: a color film (tinted ones have none)
# a tint's name by its hue angle (degrees, HSV's: 0 red, 120 green, 240 blue), from the upper bound of each sector
_HUES = ((20, "red"), (50, "sepia"), (75, "yellow"), (165, "green"), (200, "cyan"), (260, "blue"),
         (300, "purple"), (345, "magenta"), (360, "red"))
_YCC_FROM_RGB = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))


@dataclass(frozen=True)
class Coloring:
    """What a picture or film has of color: kind "gray", "tinted" or "color", and a tint's hue names."""

    kind: str = "gray"
    hue: str | None = None

    def said(self, what: str) -> str | None:
        """One line for the user where colorizing replaces colors `what` ("the photo", "the film") has of its
        own (a tint is what colorizing is for: it goes unsaid, in the report only)."""
        if self.kind != "color":
            return None
        return f"{what} already has colors: colorizing replaces them with the network's (the luminance is kept)"


def ycc_of_rgb(pixels: np.ndarray) -> torch.Tensor:
    """(H, W, 1 or 3) integer sRGB -> (3, h, w) BT.601 Y' (0..255) and Cb/Cr codes (8-bit scale, 0 at gray),
    sampled down to about 4 x SIDE (a 100-megapixel scan is not converted whole for this)."""
    if pixels.shape[-1] == 1:
        return torch.zeros(3, 2, 2)
    rgb = _sampled(pixels).astype(np.float32) * (255 / np.iinfo(pixels.dtype).max)
    return torch.einsum("hwc,kc->khw", torch.from_numpy(rgb), torch.tensor(_YCC_FROM_RGB))


def ycc_of_planes(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, bits: int, full_range: bool) -> torch.Tensor:
    """A frame's Y', Cb and Cr planes (codes at `bits`) -> (3, h, w) as ycc_of_rgb gives them, Y' where the
    chroma samples lie (every other pixel of a 4:2:0 frame's)."""
    steps = [-(-a // b) for a, b in zip(y.shape, cb.shape)]
    y = y[::steps[0], ::steps[1]][:cb.shape[0], :cb.shape[1]]
    ycc = np.stack([_sampled(p) for p in (y, cb, cr)]).astype(np.float32)
    ycc *= 2 ** (8 - bits)
    ycc[1:] -= 128
    if not full_range:
        ycc[0] = (ycc[0] - 16) * (255 / 219)
        ycc[1:] *= 255 / 224
    return torch.from_numpy(ycc)


def _sampled(x: np.ndarray) -> np.ndarray:
    """(H, W, ...) -> every step-th column, and rows four by four every step rows (at least 4), where the
    short side is over 4 x SIDE: coloring takes the noise from lines two apart (step lines apart, they would
    differ by the picture's detail)."""
    step = min(x.shape[:2]) // (4 * SIDE)
    if step < 2:
        return x
    rows = (np.arange(0, x.shape[0] - 3, max(step, 4))[:, None] + np.arange(4)).ravel()
    return x[rows, ::step]


def coloring(ycc: torch.Tensor) -> Coloring:
    """A picture's Coloring from its (3, h, w) Y' and chroma codes. Its lines are shrunk in two sets, lines 4k
    and 4k + 1 and lines 4k + 2 and 4k + 3, whose chroma's difference is the noise: a tape's is not alike from
    line to line, a picture's colors are; and each set holds both fields of an interlaced frame, which a pan
    moves apart (taken line by line, the fields' difference hid a color film's colors)."""
    quads = ycc.shape[1] // 4
    if quads == 0:
        return Coloring()
    lines = ycc[:, :4 * quads].reshape(3, quads, 4, -1)
    # each set as one contiguous plane: the area means of strided ones took ten times as long (4 ms at 480p)
    first, second = (lines[:, :, k:k + 2].reshape(3, 2 * quads, -1).contiguous() for k in (0, 2))
    h, w = first.shape[-2:]
    size = (max(1, round(h * SIDE / min(h, w))), max(1, round(w * SIDE / min(h, w)))) if min(h, w) > SIDE else (h, w)
    first, second = (F.interpolate(x[None], size=size, mode="area")[0] for x in (first, second))
    # the rms noise of the two's mean from the median of their differences (a Rayleigh's median is 1.665 x
    # this rms): the edges of a small picture's colors are in the differences too, and the rms took them in
    noise = torch.hypot(*(first[1:] - second[1:])).median().item() / 1.665
    bar = max(CHROMATIC, NOISE_BAR * noise)
    mean = ((first + second) / 2).flatten(1)
    c = mean[1:].T
    kind, main = _hues(c, bar)
    if kind == "color":  # unless all that differs is a cast that slides across the picture (a print between a
        # lamp and a window) or a hue that follows the tones (a print toned two ways, its shadows blue and its
        # highlights yellow): fitted to the place and the tone by least squares, they are taken away, and
        # objects' colors stay
        y, x = (t.flatten() for t in torch.meshgrid(*(torch.linspace(-1, 1, n) for n in size), indexing="ij"))
        tone = mean[0] / 255
        fit = torch.stack((torch.ones_like(x), x, y, tone, tone ** 2, tone ** 3), -1)
        if _hues(c - fit @ torch.linalg.lstsq(fit, c).solution, bar)[0] == "color":
            return Coloring("color")
    return Coloring() if main is None else Coloring("tinted", hue_name(*main.tolist()))


def _hues(c: torch.Tensor, bar: float) -> tuple[str, torch.Tensor | None]:
    """(N, 2) chroma -> "gray", "tinted" or "color" by the hues of the pixels over `bar`, and their main hue
    (a unit vector; None for gray)."""
    norm = torch.hypot(c[:, 0], c[:, 1])  # linalg's norm took 0.35 ms on these 3,600 pairs
    colored = c[norm > bar] / norm[norm > bar, None]  # their hues, as unit vectors
    if len(colored) < TINT_SHARE * len(c):
        return "gray", None
    main = colored.mean(0) / colored.mean(0).norm().clamp(min=1e-9)
    off = torch.rad2deg(torch.acos((colored @ main).clamp(-1, 1)))
    return "color" if any((off > angle).float().mean() > share for angle, share in OFF_HUE) else "tinted", main


def hue_name(cb: float, cr: float) -> str:
    """The name of the hue of the chroma direction (cb, cr), by HSV's hue of that color on a mid gray."""
    r, g, b = 1.402 * cr, -0.344136 * cb - 0.714136 * cr, 1.772 * cb  # BT.601 full range, around gray
    angle = math.degrees(math.atan2(math.sqrt(3) * (g - b), 2 * r - g - b)) % 360
    return next(name for bound, name in _HUES if angle < bound)


def film_coloring(frames: list[Coloring]) -> Coloring:
    """A film's, from sampled frames': in color where COLOR_FRAMES of them are (a color film's shots of one
    hue, a sky or a sunset, look tinted alone); else tinted where half are (a silent film tinted amber by day
    and blue by night: its tints, the most common first)."""
    kinds = Counter(f.kind for f in frames)
    if kinds["color"] and kinds["color"] >= COLOR_FRAMES * len(frames):
        return Coloring("color")
    if kinds["tinted"] and 2 * kinds["tinted"] >= len(frames):
        hues = Counter(f.hue for f in frames if f.kind == "tinted")
        return Coloring("tinted", ", ".join(h for h, _ in hues.most_common()))
    return Coloring()
