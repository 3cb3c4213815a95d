"""Shot boundaries in one streaming pass over small gray frames.

Hard cuts: a jump in the mean absolute difference of consecutive 64-px-wide frames that is
large in absolute terms and ADAPTIVE_RATIO times larger than the differences around it (so
camera motion, which changes every frame, does not count), is not a flash (the picture does
not come back within FLASH_FRAMES), and leaves at least MIN_SHOT_FRAMES since the last
boundary (the first may come at once: a range can start a few frames before a cut). Fades:
the picture going to black or coming out of it (with hysteresis) is a boundary too, so that
color does not bleed through a fade. Works on luma only: B&W film.
"""
from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import InputError
from .timecode import frame_number

SMALL_WIDTH = 64  # px: cuts are visible at this size; noise and grain are averaged away
MIN_CUT_SCORE = 12.0  # mean |difference| (0-255 scale) a cut must reach
ADAPTIVE_RATIO = 3.0  # ... and how many times the neighbouring frames' differences
ADAPTIVE_WINDOW = 2  # frames on each side that set the local level
FLASH_FRAMES = 3  # a picture that returns to the previous one within this many frames is a flash
MIN_SHOT_FRAMES = 8  # no two boundaries closer than this
DARK_ENTER, DARK_LEAVE = 0.05, 0.08  # mean gray level (0-1) of a black frame, with hysteresis
LOOKAHEAD = max(ADAPTIVE_WINDOW, FLASH_FRAMES)  # frames a decision waits for


@dataclass(frozen=True)
class Shot:
    start_frame: int
    end_frame: int  # inclusive
    start_time: float
    end_time: float  # end of the last frame
    transition: str  # how it begins: "start", "cut" or "fade"

    def to_dict(self) -> dict:
        return asdict(self)


class ShotDetector:
    """Feed small gray frames in order with `push`; read decisions as they become final.

    Each decision is (frame index, "cut" | "fade" | None), at most LOOKAHEAD frames late."""

    def __init__(self) -> None:
        keep = LOOKAHEAD + FLASH_FRAMES + 2  # from t - FLASH_FRAMES - 1 to t + LOOKAHEAD
        self.frames: deque[np.ndarray] = deque(maxlen=keep)  # frames[i] is frame number first + i
        self.scores: deque[float] = deque(maxlen=keep)
        self.first = 0  # index of frames[0]
        self.count = 0  # frames pushed
        self.decided = 0  # frames decided
        self.last_boundary: int | None = None  # none yet: a range may start a few frames before a cut
        self.dark = False

    def push(self, small: np.ndarray) -> list[tuple[int, str | None]]:
        """small: (h, w) float32 gray in [0, 1]."""
        self.scores.append(float(np.abs(small - self.frames[-1]).mean() * 255) if self.frames else 0.0)
        if len(self.frames) == self.frames.maxlen:
            self.first += 1
        self.frames.append(small)
        self.count += 1
        out = []
        while self.decided + LOOKAHEAD < self.count:
            out.append(self._decide(self.decided))
        return out

    def finish(self) -> list[tuple[int, str | None]]:
        return [self._decide(self.decided) for _ in range(self.decided, self.count)]

    def _get(self, t: int) -> tuple[np.ndarray, float] | None:
        i = t - self.first
        return (self.frames[i], self.scores[i]) if 0 <= i < len(self.frames) and t < self.count else None

    def _decide(self, t: int) -> tuple[int, str | None]:
        self.decided = t + 1
        frame, score = self._get(t)
        kind = None
        apart = t - (self.last_boundary or 0) >= MIN_SHOT_FRAMES  # a film that starts dark is no fade
        if t > 0 and (apart or self.last_boundary is None) and self._is_cut(t, score):
            kind = "cut"
        elif t > 0 and apart and self._dark_changes(frame):
            kind = "fade"
        if t > 0:
            self._update_dark(frame)
        if kind:
            self.last_boundary = t
        return t, kind

    def _is_cut(self, t: int, score: float) -> bool:
        if score < MIN_CUT_SCORE:
            return False
        around = [got[1] for k in range(1, ADAPTIVE_WINDOW + 1) for j in (t - k, t + k)
                  if j > 0 and (got := self._get(j)) is not None]  # frame 0 has no difference
        if score < ADAPTIVE_RATIO * max(float(np.mean(around)) if around else 0.0, 1.0):
            return False
        now, before = self._get(t)[0], self._get(t - 1)[0]
        for k in range(1, FLASH_FRAMES + 1):
            after, earlier = self._get(t + k), self._get(t - 1 - k)
            if after is not None and np.abs(after[0] - before).mean() * 255 < 0.5 * score:
                return False  # the old picture comes back: t starts a flash or a glitch
            if earlier is not None and np.abs(earlier[0] - now).mean() * 255 < 0.5 * score:
                return False  # t returns to a picture seen just before: the end of a flash
        return True

    def _dark_changes(self, frame: np.ndarray) -> bool:
        m = float(frame.mean())
        return (not self.dark and m < DARK_ENTER) or (self.dark and m > DARK_LEAVE)

    def _update_dark(self, frame: np.ndarray) -> None:
        m = float(frame.mean())
        if (not self.dark and m < DARK_ENTER) or (self.dark and m > DARK_LEAVE):
            self.dark = not self.dark


def shot_at(src: str | Path, seconds: float, progress: bool = False, frame_rate: str | float | None = None) -> int:
    """The film's number, as `vidcolor shots` counts them, of the shot of the first frame at or after `seconds`:
    a range's first shot, where a per-shot reference table numbers the whole film's (a range from f<n>
    starts half a frame before frame n, which may be the first of its shot). The film is read up to there."""
    shots, times = _shots_and_times(src, progress, frame_rate, until=seconds)
    first = next((t for t in times if t >= seconds - 1e-6), times[-1])
    return max(0, sum(shot.start_time <= first + 1e-6 for shot in shots) - 1)


def shots_from_decisions(starts: list[tuple[int, str]], times: list[float], end_time: float,
                         rate: Fraction | None) -> list[Shot]:
    """Boundaries [(first frame, transition)] and per-frame start times -> the shot list. With the film's
    `rate`, frames are numbered by their time, as --start f<n> counts them (on a variable rate, or where a
    damaged frame was skipped, the count of frames decoded is another number); without, counted."""
    def number(i: int) -> int:
        return i if rate is None else frame_number(times[i], rate)

    bounds = [(0, "start"), *[s for s in starts if s[0] > 0]]
    shots = []
    for i, (first, kind) in enumerate(bounds):
        last = (bounds[i + 1][0] if i + 1 < len(bounds) else len(times)) - 1
        end = times[last + 1] if last + 1 < len(times) else end_time
        shots.append(Shot(number(first), number(last), round(times[first], 6), round(end, 6), kind))
    return shots


def detect_shots(src: str | Path, progress: bool = False, frame_rate: str | float | None = None,
                 until: float | None = None) -> list[Shot]:
    """The shots of a video file or image sequence (`frame_rate`: its rate), from one decoding pass (luma
    only, scaled by swscale); with `until` (seconds from the film's start), the film is read only up to there
    and the few frames after it that decide a boundary there, and the last shot listed is cut short."""
    return _shots_and_times(src, progress, frame_rate, until)[0]


def _shots_and_times(src: str | Path, progress: bool, frame_rate: str | float | None,
                     until: float | None) -> tuple[list[Shot], list[float]]:
    """detect_shots, and the times of the frames read, in seconds from the film's start."""
    from av.video.reformatter import VideoReformatter

    from .media.decode import DecodeStats, demux_decode, film_start
    from .media.planes import gray_levels
    from .media.probe import open_input, video_info
    from .progress import progress_bar

    container = open_input(Path(src), frame_rate)
    detector, decisions, times, levels = ShotDetector(), [], [], None
    frame_duration = 0.0
    try:
        info = video_info(container)
        height = max(1, round(info.height * SMALL_WIDTH / info.width))
        origin = film_start(container.streams.video[0])
        rate = float(info.rate or 25)
        stop = None if until is None else until + (LOOKAHEAD + 1) / rate  # the boundaries up to `until` decided
        read = None if stop is None else int(stop * rate) + 1  # frames up to `stop`
        total, desc = (info.frames, None) if read is None else (min(info.frames or read, read), "shots before")
        scale = VideoReformatter()  # one for the film: a new one a frame set swscale up each time (1.4-1.9 x the run)
        with progress_bar(progress, total=total, unit="frame", desc=desc) as bar:
            for frame in demux_decode(container, [], DecodeStats()):
                # from the film's start, as --start counts
                t = float(frame.time) - origin if frame.time is not None else len(times) / rate
                if stop is not None and t > stop:
                    break
                small = scale.reformat(frame, width=SMALL_WIDTH, height=height, format="gray").to_ndarray()
                levels = gray_levels(frame) if levels is None else levels  # the gray a run's detector sees
                frame_duration = t - times[-1] if times else frame_duration
                times.append(t)
                decisions += detector.push(levels[small])
                bar.update()
    finally:
        container.close()
    if not times:
        raise InputError(f"{src}: no video frame could be decoded")
    decisions += detector.finish()
    cuts = [(i, k) for i, k in decisions if k]
    return shots_from_decisions(cuts, times, times[-1] + frame_duration, info.rate), times
