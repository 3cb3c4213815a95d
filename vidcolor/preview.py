"""Preview sheets: a few frames of a film, gray | color, found by seeking (seconds, not minutes)."""
from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from .colorizer import Colorizer
from .defaults import MAX_PREVIEW_COUNT
from .errors import InputError, UsageError
from .image import colorize_pixels
from .input_color import film_coloring
from .levels import Levels
from .media.planes import luma, luma_to_gray, plane_format, to_plane_format
from .media.probe import film_timecode, open_input, readable_length, video_info
from .media.sampling import film_length, frames_at, spread
from .media.sequence import is_sequence, opened_first
from .naming import image_format, is_photo
from .outputs import atomic_output
from .survey import check_levels, chosen_levels, film_survey, frames_colorings, kept_kinds, said_of_film
from .timecode import format_clock, names_a_frame, said_position, to_position

log = logging.getLogger("vidcolor")

TILE_WIDTH = 320  # px of each picture in the sheet
LABEL_HEIGHT = 18  # px


def _gray(frame) -> np.ndarray:
    """The frame's luminance as sRGB gray, as the network sees it (an HDR film's light as SDR's, linear light
    with the sRGB curve)."""
    fmt = plane_format(frame)
    y = torch.from_numpy(luma(to_plane_format(frame, fmt), fmt).astype(np.int32))
    return np.repeat((luma_to_gray(y, fmt) * 255).round().byte().numpy()[..., None], 3, axis=2)


def make_preview(src: str | Path, dst: str | Path, at: list[str] | None = None, count: int = 6,
                 colorizer: Colorizer | None = None, overwrite: bool = False,
                 frame_rate: str | float | None = None, levels: str | Levels = "auto",
                 keep_color_shots: bool = True) -> dict:
    """Write a PNG contact sheet: one row per time, gray | color, labelled with the frame's time
    (`frame_rate`: an image sequence's rate; `levels`: as colorize_video takes it, the whole film's, so that
    the sheet shows what the film will look like). With `keep_color_shots`, as a run has it, a frame that has
    colors of its own where the run would keep its shot's is shown as it is."""
    src, dst = Path(src), Path(dst)
    check_levels(levels)
    if not at and not 1 <= count <= MAX_PREVIEW_COUNT:  # 0 had read as a film with no frame (exit 3)
        raise UsageError(f"count {count}: use 1 to {MAX_PREVIEW_COUNT}")
    if is_photo(src) and not is_sequence(src):  # FFmpeg reads it as a film of one frame, found at no time
        raise UsageError(f"{src}: a photo; a preview sheet shows frames of a film: colorize the photo itself "
                         f"(vidcolor {src})")
    fmt = image_format(dst)  # before the work, as the output's other checks
    container = open_input(src, frame_rate)
    rows = []
    try:
        info = video_info(container)
        # the film's length and survey, where the times or the levels need them (an MPEG-TS file is read
        # through for its length, once); not for --at times with --levels off, whose quick path reads no more
        # and judges the film's colors by the frames it shows
        sampled = not at or levels == "auto"
        length = film_length(src, frame_rate, info) if sampled else None
        timecode = film_timecode(container) if at else None  # for --at in SMPTE timecode
        times = [to_position(t, info.rate, timecode) for t in at] if at else spread(length, count)
        surveyed = film_survey(src, frame_rate, info, opened_first(container), length) if sampled else None
        film = chosen_levels(levels, surveyed)
        frames = frames_at(container, info, times)
        if not at and not any(frames):  # a damaged film whose picture ends long before its header says
            readable = readable_length(src, frame_rate, info)
            log.warning("%s: no frame at the times spread over the %s its header announces (a damaged file?): "
                        "the sheet spreads them over the %s that can be read", src, format_clock(length or 0),
                        format_clock(readable or 0))
            container.close()
            container = open_input(src, frame_rate)  # read from its start again
            times = [0.0, *spread(readable, count)[1:]]  # from its first frame: a film cut to one frame has it
            frames = frames_at(container, info, times)
        shown = frames_colorings(found[0] for found in frames if found)
        has = surveyed.coloring if surveyed else film_coloring(shown)
        keep = kept_kinds(surveyed.frames if surveyed else shown, has) if keep_color_shots else frozenset()
        for line in (film.said(), said_of_film(has, keep)):
            if line:
                log.warning("%s: %s", src, line)
        colorizer = colorizer or Colorizer()
        judged = iter(shown)  # the frames found, in turn
        for i, (t, found) in enumerate(zip(times, frames)):
            if found is None and at:
                where = said_position(at[i], t, info.rate) if names_a_frame(at[i]) else f"or after {format_clock(t)}"
                raise UsageError(f"{src}: no frame at {where}: the picture ends before it")
            if found is None:  # spread over a length the picture does not fill (sound that runs on, in flv)
                continue
            frame, t_frame = found
            gray, kept = _gray(frame), next(judged).kind in keep
            color = frame.to_ndarray(format="rgb24") if kept else colorize_pixels(gray, colorizer, levels=film)
            rows.append((format_clock(t_frame), gray, color, kept))
    finally:
        container.close()
    if not rows:
        raise InputError(f"{src}: no video frame could be decoded")
    h = round(rows[0][1].shape[0] * TILE_WIDTH / rows[0][1].shape[1])
    sheet = Image.new("RGB", (2 * TILE_WIDTH + 12, len(rows) * (h + LABEL_HEIGHT + 4) + 4), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (label, gray, color, kept) in enumerate(rows):
        y = 4 + r * (h + LABEL_HEIGHT + 4)
        draw.text((4, y + 2), f"{label}   gray | {'its own colors, kept' if kept else 'vidcolor'}", fill="black")
        for c, pic in enumerate((gray, color)):
            tile = Image.fromarray(pic).resize((TILE_WIDTH, h), Image.BILINEAR)
            sheet.paste(tile, (4 + c * (TILE_WIDTH + 4), y + LABEL_HEIGHT))
    with atomic_output(src, dst, overwrite) as tmp:
        sheet.save(tmp, format=fmt)
    return {"input": str(src), "output": str(dst), "times": [r[0] for r in rows], "levels": asdict(film),
            "coloring": asdict(has), "kept": [r[0] for r in rows if r[3]]}
