"""Preview sheets: a few frames of a film, gray | color, found by seeking (seconds, not minutes)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .colorizer import Colorizer
from .errors import InputError
from .image import colorize_pixels
from .media.decode import DecodeStats, TimeRange, demux_decode, film_start, first_frames_at
from .media.probe import VideoInfo, counted, joined_length, open_input, video_info
from .outputs import atomic_output
from .timecode import format_clock, to_seconds

TILE_WIDTH = 320  # px of each picture in the sheet
LABEL_HEIGHT = 18  # px


def _frames_at(container, info: VideoInfo, times: list[float]) -> list[tuple[np.ndarray, float] | None]:
    """(H, W, 3) uint8 gray RGB of the first frame at or after each of `times` (seconds), and its time; None
    past the end. A seek finds each where the file has timestamps; where it cannot (raw .h264: none; MPEG-TS
    and -PS: joined parts restart the clock), the file is read once, in time order."""
    video = container.streams.video[0]
    origin = film_start(video)
    if video.start_time is not None and not info.clock_may_jump:
        firsts = (_first_at(container, t) for t in times)
        return [None if f is None else (_gray(f), _seconds(f, origin, t)) for f, t in zip(firsts, times)]
    ordered = sorted(set(times))
    found = {t: (_gray(f), _seconds(f, origin, t)) for t, f in zip(ordered, first_frames_at(container, ordered))}
    return [found.get(t) for t in times]


def _first_at(container, t: float):
    """The first frame at or after `t` seconds; None past the end, where a file without an index (flv)
    refuses the seek."""
    try:
        return next(demux_decode(container, [], DecodeStats(), TimeRange(t, None)), None)
    except InputError:
        return None


def _length(src: Path, frame_rate: str | float | None, info: VideoInfo) -> float | None:
    """The film's length in seconds, that the sheet's times spread over. For MPEG-TS and -PS, where joined parts
    are put one after the other, the file is read once without decoding: FFmpeg's length is the raw clock's."""
    if not info.clock_may_jump:
        return counted(src, frame_rate, info).duration
    return joined_length(src) or info.duration  # unreadable: the header's length will do


def _gray(frame) -> np.ndarray:
    return np.repeat(frame.to_ndarray(format="gray")[..., None], 3, axis=2)


def _seconds(frame, origin: float, default: float) -> float:
    return frame.time - origin if frame.time is not None else default


def make_preview(src: str | Path, dst: str | Path, at: list[str] | None = None, count: int = 6,
                 colorizer: Colorizer | None = None, overwrite: bool = False,
                 frame_rate: str | float | None = None) -> dict:
    """Write a PNG contact sheet: one row per time, gray | color, labelled with the frame's time
    (`frame_rate`: an image sequence's rate)."""
    src, dst = Path(src), Path(dst)
    container = open_input(src, frame_rate)
    rows = []
    try:
        info = video_info(container)
        if at:
            times = [to_seconds(t, info.rate) for t in at]
        elif duration := _length(src, frame_rate, info):
            times = [duration * (k + 0.5) / count for k in range(count)]
        else:
            times = [0.0]
        colorizer = colorizer or Colorizer()
        for t, found in zip(times, _frames_at(container, info, times)):
            if found is None and at:
                raise InputError(f"{src}: no frame at or after {format_clock(t)}")
            if found is None:  # spread over a length the picture does not fill (sound that runs on, in flv)
                continue
            gray, t_frame = found
            color = colorize_pixels(gray, colorizer)
            rows.append((format_clock(t_frame), gray, color))
    finally:
        container.close()
    if not rows:
        raise InputError(f"{src}: no video frame could be decoded")
    h = round(rows[0][1].shape[0] * TILE_WIDTH / rows[0][1].shape[1])
    sheet = Image.new("RGB", (2 * TILE_WIDTH + 12, len(rows) * (h + LABEL_HEIGHT + 4) + 4), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (label, gray, color) in enumerate(rows):
        y = 4 + r * (h + LABEL_HEIGHT + 4)
        draw.text((4, y + 2), f"{label}   gray | vidcolor", fill="black")
        for c, pic in enumerate((gray, color)):
            tile = Image.fromarray(pic).resize((TILE_WIDTH, h), Image.BILINEAR)
            sheet.paste(tile, (4 + c * (TILE_WIDTH + 4), y + LABEL_HEIGHT))
    with atomic_output(src, dst, overwrite) as tmp:
        sheet.save(tmp, format="PNG")
    return {"input": str(src), "output": str(dst), "times": [r[0] for r in rows]}
