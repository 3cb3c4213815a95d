"""Opening inputs: every PyAV/FFmpeg failure becomes an InputError naming the file."""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av

from ..errors import InputError, UsageError, missing_input
from ..timecode import timecode_tag
from .decode import TS_DISCONT, film_start, frame_rate, joined_end, packets_of, shown_until
from .sequence import (
    DEFAULT_RATE,
    VIDEO_SUFFIXES,
    demuxer_options,
    first_frame,
    is_sequence,
    numbered,
    opened_first,
    parse_rate,
    scan_header,
)


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    frames: int | None  # from the header, or duration x rate; None when neither is known
    duration: float | None  # seconds
    rate: Fraction | None  # average frame rate, a hint only: timing comes from each frame's pts
    estimated: bool = False  # `frames` is duration x rate: the header states no count (mkv, webm)
    end: float | None = None  # when the last frame ends by the header, in the frames' own time (seconds)
    track_end: bool = False  # `end` is the video track's own (Matroska's statistics tag), not the file's
    file_length: bool = False  # `duration` is the file's, its longest track's: the stream states none
    clock_may_jump: bool = False  # MPEG-TS, -PS: parts joined may restart the clock; `duration` is the raw
    # clock's, from its first time to its last, and a later part's times are known only once read to it


def check_readable(path: Path) -> None:
    if not os.path.exists(path):  # False, not an OSError, for a name longer than any file's
        raise missing_input(path)
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a video file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")


def open_input(path: Path, frame_rate: str | float | Fraction | None = None,
               first: int | None = None) -> av.container.InputContainer:
    """Open a media file or an image sequence (`frame_rate`: its rate, default 24; `first`: its first frame's
    number where a reader opened before has listed the folder for it) for reading, or raise InputError with
    the reason."""
    if is_sequence(path):
        first = first_frame(path) if first is None else first
        rate = parse_rate(frame_rate) if frame_rate is not None else \
            scan_header(numbered(path, first)).rate or DEFAULT_RATE
        fmt, options = "image2", demuxer_options(first, rate)
    elif frame_rate is not None:
        raise UsageError("a frame rate is given to image sequences only: a video keeps its own timing")
    else:
        check_readable(path)
        fmt, options = None, None
    try:
        container = av.open(str(path), mode="r", format=fmt, options=options, metadata_errors="replace")
    except av.FFmpegError as ex:
        reason = ex.strerror or str(ex)
        hint = "; the file may be incomplete or damaged" if path.suffix.lower() in VIDEO_SUFFIXES else ""
        raise InputError(f"{path}: not a readable video ({reason}){hint}") from ex
    if not container.streams.video:
        container.close()
        raise InputError(f"{path}: has no video stream")
    return container


# Formats that count time from 0 and state the file's end as its length (and Matroska the track's own, in
# a tag): FFmpeg passes the header's figure on as a length, so a late start (flv: a sound encoder's delay)
# read as frames missing at the end
_LENGTH_IS_END = {"matroska,webm", "flv"}
_DURATION_TAG = re.compile(r"DURATION(-[A-Za-z]+)?")  # mkvmerge adds the track's language
_CLOCK = re.compile(r"(\d+):(\d\d):(\d\d(?:\.\d+)?)")
_LAST_PACKETS_S = 5.0  # how far before a file's end its video's last packets are looked for


def track_end(stream: av.stream.Stream, container: av.container.InputContainer) -> float | None:
    """When a Matroska track ends, from the statistics tag that FFmpeg and mkvmerge write; None where absent,
    unreadable or past the file's end. Matroska states no length per track otherwise, and the file's is
    its longest track's: sound that outlasts the picture made a whole film read as cut short. The plain
    tag comes first: FFmpeg writes it anew at every remux, where mkvmerge's (with a language) is copied
    along and may be stale. (mkvmerge starts its files at 0, where an end is a length.)"""
    for key in sorted((k for k in stream.metadata if _DURATION_TAG.fullmatch(k)), key=len):
        clock = _CLOCK.fullmatch(stream.metadata[key].strip())
        seconds = int(clock[1]) * 3600 + int(clock[2]) * 60 + float(clock[3]) if clock else 0.0
        if 0 < seconds <= container.duration / av.time_base + 0.001:
            return seconds
    return None


def video_info(container: av.container.InputContainer) -> VideoInfo:
    stream = container.streams.video[0]
    ctx = stream.codec_context
    if ctx is None:
        raise InputError(f"{container.name}: the video stream's codec is unknown or its header is damaged")
    if not ctx.width or not ctx.height:
        # FFmpeg 8 reads an animated WebP's frames as one still it cannot decode: no size either
        hint = "; an animated WebP: convert it to a video first" if ctx.name == "webp" else ""
        raise InputError(f"{container.name}: its {ctx.name} video has no picture size: a damaged header, or a "
                         f"kind of {ctx.name} this FFmpeg cannot decode{hint}")
    if ctx.name == "rawvideo" and ctx.format is None:  # AVI's bit depth and compression zeroed (bench/fuzz.py)
        raise InputError(f"{container.name}: its raw video names no pixel format: a damaged header")
    rate = frame_rate(stream)
    duration, start, own_end, file_length = None, None, None, False
    if stream.duration is not None:
        duration = float(stream.duration * stream.time_base)
        start = None if stream.start_time is None else float(stream.start_time * stream.time_base)
    elif container.format.name in _LENGTH_IS_END and stream.start_time is not None and container.duration:
        start = float(stream.start_time * stream.time_base)
        own_end = track_end(stream, container)
        duration, file_length = (own_end or container.duration / av.time_base) - start, own_end is None
    elif container.duration is not None:
        duration, file_length = container.duration / av.time_base, True
        start = None if container.start_time is None else container.start_time / av.time_base
    frames = stream.frames or None
    estimated = frames is None and bool(duration and rate)
    if estimated:
        frames = round(duration * rate)
    end = None if start is None or duration is None else start + duration
    return VideoInfo(ctx.width, ctx.height, frames, duration, rate, estimated, end, own_end is not None, file_length,
                     bool(container.format.flags & TS_DISCONT))


def counted(path: Path, frame_rate: str | float | Fraction | None, info: VideoInfo) -> VideoInfo:
    """`info`, with its length made good for a progress bar's end (and ETA) and previews spread over the
    film: a stream that announces none (raw .h264) counted packet by packet at its rate, one pass over the
    file without decoding; a length that is only the file's measured to the picture's own end."""
    if info.estimated and info.file_length and not is_sequence(path):
        return _to_last_picture(path, info)
    if info.duration or info.frames or not info.rate:
        return info
    container = open_input(path, frame_rate)
    try:
        packets = sum(1 for packet in packets_of(container, container.streams.video[0]) if packet.size)
    except av.FFmpegError:  # damaged: decoding will say so; the length stays unknown
        return info
    finally:
        container.close()
    return replace(info, frames=packets, duration=float(packets / info.rate)) if packets else info


def joined_length(path: Path, stop: threading.Event | None = None) -> float | None:
    """An MPEG-TS or -PS film's length with its joined parts one after the other (decode.joined_end): one
    pass over the file without decoding. None where it cannot be read, or once `stop` is set."""
    try:
        container = open_input(path)
    except InputError:
        return None
    try:
        return joined_end(container, stop)
    except av.FFmpegError:  # damaged: decoding will say so
        return None
    finally:
        container.close()


def film_timecode(source: av.container.InputContainer) -> str | None:
    """The film's SMPTE timecode: a tag of the video stream (mov, mkv), of a timecode track, or of the
    container (mxf); for DPX scans, the first frame's header."""
    if (first := opened_first(source)) is not None:
        return scan_header(numbered(Path(source.name), first)).timecode
    data = [s.metadata for s in source.streams if s.type == "data"]
    tags = (timecode_tag(m) for m in (source.streams.video[0].metadata, *data, source.metadata))
    return next((t for t in tags if t is not None), None)


def readable_length(path: Path, frame_rate: str | float | Fraction | None, info: VideoInfo) -> float | None:
    """How far a damaged film's picture can be read, in seconds from its start: one pass over the file without
    decoding, to its last video packet (None without one). A preview spread over the length the header
    announces can find no frame in a film cut short."""
    container = open_input(path, frame_rate)
    video, period, end = container.streams.video[0], 1 / float(info.rate or DEFAULT_RATE), None
    try:
        for packet in packets_of(container, video):
            if packet.pts is not None and packet.size:
                end = max(end or 0.0, shown_until(packet, period))
    except av.FFmpegError:  # the damaged part: what came before it is what can be read
        pass
    finally:
        container.close()
    return None if end is None else end - film_start(video)


def _to_last_picture(path: Path, info: VideoInfo) -> VideoInfo:
    """flv, nut and Matroska without its statistics tags state only the file's length, which is its longest
    track's: sound that runs on after the picture made the frames announced too many. The video's last
    packets tell when the picture ends: one seek to near the file's end."""
    container = open_input(path)
    try:
        if info.end is None or not container.duration:
            return info
        video = container.streams.video[0]
        container.seek(max(0, container.duration - round(_LAST_PACKETS_S * av.time_base)), backward=True)
        start = film_start(video)  # the file's start may be its sound's
        period = 1 / float(info.rate)  # a packet's duration where flv states none
        end = max((shown_until(p, period) for p in packets_of(container, video) if p.pts is not None and p.size),
                  default=None)
    except av.FFmpegError:  # no seek, or damaged near the end: the estimate stays
        return info
    finally:
        container.close()
    if end is None or not start < end < info.end:
        return info
    return replace(info, frames=round((end - start) * info.rate), duration=end - start)
