"""What a film is like over its whole length, from frames sampled before it is colorized: its levels (is it
faded? levels.py) and its colors (gray, tinted or in color? input_color.py). Seen once per film, they hold
for every frame, range and preview of it."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import torch

from .errors import UsageError, VidcolorError
from .input_color import Coloring, coloring, film_coloring, ycc_of_planes
from .levels import Levels, picture_lightness
from .media.decode import first_frames_at
from .media.planes import PlaneFormat, plane_format, plane_view, to_plane_format
from .media.probe import VideoInfo, open_input, video_info
from .media.sampling import cheap_frames_at, film_length, keyframes_at, spread
from .streaming import run_ahead
from .workers import torch_threads

log = logging.getLogger("vidcolor")

SAMPLES = 24  # frames sampled over the film: one seek each
# A film of fewer keyframes than this (x264 puts one at each cut and every 250 frames) is read once from its
# start instead, where it is this short: its 3 keyframes made the airplane footage look darker than it is
# (white L* 81 against 89 over all its frames), and stretched, its colors lost 1.2 dB.
MIN_KEYFRAMES, ONE_PASS_FRAMES = SAMPLES // 2, 1500


@dataclass(frozen=True)
class Survey:
    """A film's levels and coloring, and each sampled frame's coloring; a film that could not be sampled
    (damaged, no index) gets the defaults: seen as it is, gray."""

    levels: Levels = Levels()
    coloring: Coloring = Coloring()
    frames: tuple[Coloring, ...] = ()


def _as_read(frames: Iterable[av.VideoFrame]) -> Iterator[tuple[av.VideoFrame, PlaneFormat]]:
    """Each frame in its plane format, as the pipeline reads it (RGB and gray scans become Y'CbCr), one at a
    time: 24 4K frames held at once would take 300 MB."""
    for frame in frames:
        fmt = plane_format(frame)
        yield to_plane_format(frame, fmt), fmt


def _looked(frames: Iterable[av.VideoFrame]) -> tuple[list[torch.Tensor], list[Coloring]]:
    """The L*/100 of each sampled frame's picture and its coloring."""
    pixels, colorings = [], []
    read = run_ahead(frames, 2, name="survey")  # read and decoded on the other core: 0.10 s, not 0.13-0.15
    try:
        with torch_threads(1):  # small pictures: a second thread spins more than it works (0.50 s of CPU, not 0.15)
            for frame, fmt in _as_read(read):
                pixels.append(picture_lightness(frame, fmt))
                colorings.append(frame_coloring(frame, fmt))
    finally:
        read.close()  # the reader stopped before its container closes, even on Ctrl-C
    return pixels, colorings


def frame_coloring(frame: av.VideoFrame, fmt: PlaneFormat) -> Coloring:
    """The Coloring of a frame already in its plane format (the pipeline's frames, a survey's samples)."""
    y, cb, cr = (plane_view(p, fmt.dtype, p.height, p.width) for p in frame.planes[:3])
    return coloring(ycc_of_planes(y, cb, cr, fmt.bits, fmt.full_range))


def frames_colorings(frames: Iterable[av.VideoFrame]) -> list[Coloring]:
    """Each decoded frame's Coloring, as a survey judges its samples (a preview's frames)."""
    with torch_threads(1):
        return [frame_coloring(frame, fmt) for frame, fmt in _as_read(frames)]


def said_of_film(film: Coloring, keep: frozenset[str]) -> str | None:
    """What is said of a film's colors before its first frame, where it keeps the shots of kinds `keep`."""
    if film.kind == "color" and keep:
        return "the film already has colors: its shots in color keep them, the gray ones are colorized (--recolor: all)"
    return film.said("the film")


def kept_kinds(sampled: Iterable[Coloring], film: Coloring) -> frozenset[str]:
    """The kinds of shot (input_color's) that keep their own colors in a film whose sampled frames are
    `sampled`: none where none is in color (no frame is judged then); in a film in color, those not gray
    (its shots of one hue, a sky, look tinted); in one mostly black and white, those in color (a
    documentary's color interviews between archive footage)."""
    if not any(c.kind == "color" for c in sampled):
        return frozenset()
    return frozenset(("color", "tinted") if film.kind == "color" else ("color",))


def film_survey(src: Path, frame_rate: str | float | Fraction | None = None, info: VideoInfo | None = None,
                first: int | None = None, length: float | None = None) -> Survey:
    """The Survey of the film in `src` from SAMPLES frames spread over it; the run itself will say what is
    wrong with a film that cannot be sampled. `first`: an image sequence's first number, as open_input takes
    it; `length`: media.sampling.film_length's, where the caller has it (an MPEG-TS file is read through
    for it)."""
    try:
        container = open_input(src, frame_rate, first)
    except VidcolorError:
        return Survey()
    try:
        info = info or video_info(container)
        times = spread(length or film_length(src, frame_rate, info), SAMPLES)
        seekable = container.streams.video[0].start_time is not None and not info.clock_may_jump
        pixels, colorings = _looked(keyframes_at(container, times)) if seekable else ([], [])
        if seekable and len(pixels) < MIN_KEYFRAMES and (info.frames or ONE_PASS_FRAMES + 1) <= ONE_PASS_FRAMES:
            container.close()  # a short film of few keyframes: read it once from its start instead
            container = open_input(src, frame_rate, first)
            pixels, colorings = _looked(cheap_frames_at(container, times))
        elif not seekable:  # MPEG-TS and -PS, raw .h264 too, as a preview sheet reads them
            pixels, colorings = _looked(first_frames_at(container, times))
        if not pixels:
            return Survey()
        return Survey(Levels.of(torch.cat(pixels)), film_coloring(colorings), tuple(colorings))
    except (VidcolorError, av.FFmpegError, ValueError) as ex:
        log.debug("%s: not sampled: %s", src, ex)
        return Survey()
    finally:
        container.close()


def check_levels(levels: str | Levels) -> None:
    """`levels` as colorize_video, make_preview and colorize_folder take it: "auto", "off" or a film's Levels;
    anything else is refused before the film is sampled."""
    if not isinstance(levels, Levels) and levels not in ("auto", "off"):
        raise UsageError(f"levels: {levels!r} is not one of auto, off")


def chosen_levels(levels: str | Levels, survey: Survey | None) -> Levels:
    """`levels` -> Levels; `survey`: the film's (needed for "auto")."""
    check_levels(levels)
    if isinstance(levels, Levels):
        return levels
    return survey.levels if levels == "auto" else Levels()
