"""Preview sheets: a few frames of a film, gray | color, found by seeking (seconds, not minutes)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .colorizer import Colorizer
from .errors import InputError
from .image import colorize_array
from .media.decode import DecodeStats, TimeRange, demux_decode, film_start
from .media.probe import open_input, video_info
from .outputs import atomic_output
from .timecode import format_clock, to_seconds

TILE_WIDTH = 320  # px of each picture in the sheet
LABEL_HEIGHT = 18  # px


def _frame_at(container, seconds: float) -> tuple[np.ndarray, float] | None:
    """(H, W, 3) float gray RGB of the first frame at or after `seconds`, and its time."""
    for frame in demux_decode(container, [], DecodeStats(), TimeRange(seconds, None)):
        gray = frame.to_ndarray(format="gray").astype(np.float32) / 255
        t = float(frame.pts * frame.time_base) - film_start(container.streams.video[0]) if frame.pts is not None \
            else seconds
        return np.repeat(gray[..., None], 3, axis=2), t
    return None


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
        elif info.duration:
            times = [info.duration * (k + 0.5) / count for k in range(count)]
        else:
            times = [0.0]
        colorizer = colorizer or Colorizer()
        for t in times:
            found = _frame_at(container, t)
            if found is None:
                raise InputError(f"{src}: no frame at or after {format_clock(t)}")
            gray, t_frame = found
            color = colorize_array(gray, colorizer)
            rows.append((format_clock(t_frame), gray, color))
    finally:
        container.close()
    h = round(rows[0][1].shape[0] * TILE_WIDTH / rows[0][1].shape[1])
    sheet = Image.new("RGB", (2 * TILE_WIDTH + 12, len(rows) * (h + LABEL_HEIGHT + 4) + 4), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (label, gray, color) in enumerate(rows):
        y = 4 + r * (h + LABEL_HEIGHT + 4)
        draw.text((4, y + 2), f"{label}   gray | vidcolor", fill="black")
        for c, pic in enumerate((gray, color)):
            tile = Image.fromarray((pic * 255 + 0.5).astype(np.uint8)).resize((TILE_WIDTH, h), Image.BILINEAR)
            sheet.paste(tile, (4 + c * (TILE_WIDTH + 4), y + LABEL_HEIGHT))
    with atomic_output(src, dst, overwrite) as tmp:
        sheet.save(tmp, format="PNG")
    return {"input": str(src), "output": str(dst), "times": [r[0] for r in rows]}
