"""Positions in a film as users write them: 'hh:mm:ss.ms', 'mm:ss', seconds, or 'f1234' (a frame)."""
from __future__ import annotations

import re
from fractions import Fraction

from .errors import UsageError

_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d*)?)$")


def to_seconds(text: str | float, rate: Fraction | None) -> float:
    """A position -> seconds from the first frame. Frame numbers need the stream's frame rate."""
    if isinstance(text, (int, float)):
        return float(text)
    s = text.strip()
    try:
        if s.lower().startswith("f"):
            if not rate:
                raise UsageError(f"position {text!r}: the video has no frame rate to count frames with")
            return int(s[1:]) / float(rate)
        m = _CLOCK.match(s)
        if m:
            hours, minutes, seconds = m.groups()
            return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
        value = float(s)
    except ValueError:
        value = -1.0
    if not value >= 0:  # negative or NaN
        raise UsageError(f"position {text!r}: use hh:mm:ss.ms, seconds, or f<frame number>")
    return value


def format_clock(seconds: float) -> str:
    """12.5 -> '00:00:12.500'."""
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
