"""Positions in a film as users write them ('hh:mm:ss.ms', 'mm:ss', seconds, or 'f1234', a frame), and the
SMPTE timecode a film carries ('01:00:00:00'; drop-frame '00:59:59;29')."""
from __future__ import annotations

import math
import re
from fractions import Fraction

from .errors import UsageError

_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d*)?)$")


def to_position(text: str | float, rate: Fraction | None, timecode: str | None = None) -> float:
    """Where a range starts or ends, or a preview looks, in seconds from the first frame. Frame n is looked
    for from half a frame before n / rate, so the frames numbered n are those whose time x the rate rounds
    to n (frame_number): frame n is found where its time was rounded down (Matroska counts milliseconds: at
    24 fps frame 2 is at 83 ms, not 83.3, and --start f2 had begun at frame 3), and a variable rate's frames
    are numbered as the shot list and written frames number them. A SMPTE timecode ('01:02:03:04', drop-frame
    '01:02:03;04') names the frame with that label, counted from the film's `timecode` (00:00:00:00 where
    it has none), as an editor's list of shots gives it."""
    if isinstance(text, str) and _SMPTE_POSITION.match(text.strip()):
        return max(0.0, (_frames_into(text.strip(), rate, timecode) - 0.5) / float(rate))
    seconds = to_seconds(text, rate)
    return max(0.0, seconds - 0.5 / float(rate)) if _counts_frames(text) else seconds


def _frames_into(label: str, rate: Fraction | None, timecode: str | None) -> int:
    """The number of the frame a SMPTE `label` names in a film whose first frame is labelled `timecode`."""
    first = timecode or "00:00:00:00"
    try:
        drop = _smpte_fields(first)[3] in ";,"  # the film counts drop-frame: so does a label typed with ':'
        counted = f"{label[:-3]}{';' if drop else label[-3]}{label[-2:]}"
        if int(label[-2:]) >= round(rate or 0):
            raise ValueError("a frame past the second's last")
        n = smpte_frames(counted, rate) - smpte_frames(first, rate)
    except ValueError:
        raise UsageError(f"position {label!r}: the film's frame rate ({rate or 'none'}) and timecode ({first}) "
                         "cannot count it; give hh:mm:ss.ms or f<frame number>") from None
    if n < 0:
        raise UsageError(f"position {label!r}: before the film's first frame, whose timecode is {first}")
    return n


def frame_number(seconds: float, rate: float | Fraction) -> int:
    """The number of a frame `seconds` after the first: its time x the rate, rounded (halves up)."""
    return math.floor(seconds * float(rate) + 0.5)


def names_a_frame(text: str | float | None) -> bool:
    """Whether a position names a frame (f<n>, a SMPTE label) rather than a time."""
    return _counts_frames(text) or (isinstance(text, str) and bool(_SMPTE_POSITION.match(text.strip())))


def said_position(text: str | float | None, seconds: float, rate: Fraction | None) -> str:
    """A position for messages: a frame as typed, with its own time, not the half frame before it that
    `seconds` (from to_position) looks from; frame 0's is 0, where that was clamped."""
    if names_a_frame(text) and rate:
        return f"{str(text).strip()} ({seconds + 0.5 / float(rate) if seconds > 0 else 0.0:.3f} s)"
    return f"{seconds:.3f} s"


def _counts_frames(text: str | float) -> bool:
    return isinstance(text, str) and text.strip().lower().startswith("f")


def to_seconds(text: str | float, rate: Fraction | None) -> float:
    """A position or a length -> seconds. Frame numbers (f<n>) and lengths in timecode (hh:mm:ss:ff, counted
    at the second's frames: 30 at 29.97 fps) need the stream's frame rate."""
    if isinstance(text, (int, float)):  # the API's seconds: checked as the command line's are
        value = float(text)
    else:
        s = text.strip()
        try:
            if _counts_frames(s):
                if not rate:
                    raise UsageError(f"position {text!r}: the video has no frame rate to count frames with")
                value = int(s[1:]) / float(rate)  # 'f-5' too is checked below
            elif _SMPTE_POSITION.match(s):  # a length in timecode (--duration): frames at the second's count
                if not rate:
                    raise UsageError(f"length {text!r}: the video has no frame rate to count frames with")
                value = smpte_frames(s.replace(";", ":"), rate) / float(rate)
            elif m := _CLOCK.match(s):
                hours, minutes, seconds = m.groups()
                value = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
            else:
                value = float(s)
        except ValueError:
            value = -1.0
    if not value >= 0:  # negative or NaN
        raise UsageError(f"position {text!r}: use hh:mm:ss.ms, seconds, f<frame number> or timecode hh:mm:ss:ff")
    return value


def format_clock(seconds: float) -> str:
    """12.5 -> '00:00:12.500'."""
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def timecode_tag(metadata: dict[str, str]) -> str | None:
    """The 'timecode' tag of a stream's or container's metadata, whatever its case (Matroska: TIMECODE)."""
    return next((value for key, value in metadata.items() if key.lower() == "timecode"), None)


_SMPTE = re.compile(r"^(\d+):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")
_SMPTE_POSITION = re.compile(r"^\d+:\d{2}:\d{2}[:;]\d{2}$")  # as typed: hh:mm:ss.ms has a dot


def smpte_frames(timecode: str, rate: Fraction | None) -> int:
    """The frames from 00:00:00:00 to `timecode` at `rate`. Drop-frame timecode (';' before the frames,
    29.97 and 59.94 fps) skips the labels SMPTE 12M skips: frames 0 and 1 (0-3 at 59.94) of each minute
    not divisible by 10. ValueError if it is not SMPTE at this rate."""
    hours, minutes, seconds, sep, ff = _smpte_fields(timecode)
    nominal, drop = _counting(rate, sep)
    total_minutes = 60 * int(hours) + int(minutes)
    n = (3600 * int(hours) + 60 * int(minutes) + int(seconds)) * nominal + int(ff)
    return n - drop * (total_minutes - total_minutes // 10)


def shift_smpte(timecode: str, frames: int, rate: Fraction) -> str:
    """`timecode` moved on by `frames` at `rate`: the timecode of a range's first frame, given the film's,
    drop-frame too (smpte_frames). ValueError if it is not SMPTE."""
    *_, sep, ff = _smpte_fields(timecode)
    nominal, drop = _counting(rate, sep)
    n = smpte_frames(timecode, rate) + frames
    if drop:  # back to labels: add the skipped ones
        per_10min, per_min = 600 * nominal - 9 * drop, 60 * nominal - drop
        tens, rest = divmod(n, per_10min)
        n += 9 * drop * tens + (drop * ((rest - drop) // per_min) if rest > drop else 0)
    ff_out, secs = n % nominal, n // nominal
    return f"{secs // 3600 % 24:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}{sep}{ff_out:0{len(ff)}d}"


def _smpte_fields(timecode: str) -> tuple[str, ...]:
    m = _SMPTE.match(timecode.strip())
    if not m:
        raise ValueError(f"not a SMPTE timecode: {timecode!r}")
    return m.groups()


def _counting(rate: Fraction | None, sep: str) -> tuple[int, int]:
    """Frames a second of timecode counts (30 at 29.97 fps), and the labels dropped each minute (2, 4 at 59.94)."""
    nominal = round(rate) if rate else 0
    if nominal < 1:
        raise ValueError("no frame rate to count timecode with")
    return nominal, nominal // 15 if sep in ";," else 0
