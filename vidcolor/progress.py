"""The progress bar: frames done of the film's (or the range's), with fps and ETA, and an end that is made
good as the film is read where the header's is only an estimate."""
from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from .timecode import format_clock

if TYPE_CHECKING:  # training and evaluation show bars too, and run without PyAV
    from .media.decode import DecodeStats, TimeRange
    from .media.probe import VideoInfo

LOG_INTERVAL_S = 10.0  # between a bar's updates where stderr is a log file or a pipe, not a terminal


def progress_bar(enabled: bool, **options) -> tqdm:
    """A tqdm bar on stderr. In a terminal it redraws ten times a second; where stderr is a batch job's log,
    each redraw is a line kept in the file (about 65 bytes, ten a second: 80,000 lines over a two-hour film
    colorized at 1080p on a 2-core CPU, 8,000 s), so there it is written every LOG_INTERVAL_S. Where there is no
    stderr at all (a program started with it closed; pythonw), there is no bar: its first redraw had failed."""
    enabled = enabled and sys.stderr is not None
    tty = enabled and sys.stderr.isatty()
    size = {"dynamic_ncols": True}
    if tty and 0 in os.get_terminal_size(sys.stderr.fileno()):  # a terminal that tells no size (`script`, a serial
        size = {"ncols": 80, "nrows": 24}  # console, `docker run -t` from a pipe): tqdm took it for none, drew nothing
    return tqdm(disable=not enabled, mininterval=0.1 if tty else LOG_INTERVAL_S, **size, **options)


class _JoinedLength:
    """The progress bar's end for an MPEG-TS or -PS film. Its header's length is the raw clock's, from the first
    time to the last, and clips joined into one file restart that clock: a thread measures the parts one after
    the other (probe.joined_length, a read without decoding) while the film is colorized. Until it is done,
    once the clock has jumped, the bytes left tell how much film is left."""

    def __init__(self, src: Path, rate: Fraction | None, span: TimeRange | None) -> None:
        self.stop = threading.Event()
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="length")
        from .media.probe import joined_length

        self.length = self.pool.submit(joined_length, src, self.stop)
        self.file_bytes = src.stat().st_size
        self.rate, self.span = rate, span

    def total(self, decoded: int, stats: DecodeStats, first_byte: int) -> int | None:
        """Frames in the film (or its range); None: the header's count stands. `decoded`: frames so far,
        from `first_byte` of the file on."""
        length = self.length.result() if self.length.done() and self.length.exception() is None else None
        if length is not None and self.rate:
            end = length if self.span is None or self.span.end is None else min(length, self.span.end)
            return round((end - (self.span.start if self.span else 0.0)) * self.rate)
        read = stats.bytes_read - first_byte
        if stats.clock_jumps and read > 0 and (self.span is None or self.span.end is None):
            return round(decoded * (self.file_bytes - first_byte) / read)
        return None

    def close(self) -> None:
        self.stop.set()
        self.pool.shutdown(wait=True)


class FilmBar:
    """One tqdm bar in frames (off where not `enabled`), which ends at `total` unless the film says otherwise:
    an MPEG-TS or -PS film's end is measured as it is colorized (_JoinedLength), and a range of one reads the
    file up to it before any frame comes, which the bar says."""

    def __init__(self, src: Path, total: int | None, info: VideoInfo, span: TimeRange | None, enabled: bool) -> None:
        self.bar = progress_bar(enabled, total=total, unit="frame", desc=src.name[:30])
        self.reading = span is not None and span.start > 0 and info.clock_may_jump
        if self.reading:
            self.bar.set_postfix_str(f"reading the file to {format_clock(span.start)}")
        self.joined = _JoinedLength(src, info.rate, span) if enabled and info.clock_may_jump and src.is_file() \
            else None

    def update(self, frames: int, decoded: int, stats: DecodeStats, first_byte: int) -> None:
        """`frames` more done; `decoded` frames read so far, from `first_byte` of the file on."""
        if self.reading:
            self.reading = False
            self.bar.set_postfix_str("", refresh=False)
        if self.joined is not None and (end := self.joined.total(decoded, stats, first_byte)):
            self.bar.total = max(self.bar.n + frames, end)
        self.bar.update(frames)

    def end_full(self) -> None:
        """The film was read to its end: an end that was only an estimate becomes the frames done."""
        self.bar.total = self.bar.n

    def close(self) -> None:
        self.bar.close()
        if self.joined is not None:
            self.joined.close()
