"""Frames found by time, a few over a whole film: for preview sheets and the film's survey (its levels and
colors)."""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av

from ..errors import InputError
from .decode import DecodeStats, TimeRange, demux_decode, film_start, first_frames_at
from .probe import VideoInfo, counted, joined_length


def frames_at(container: av.container.InputContainer, info: VideoInfo,
              times: list[float]) -> list[tuple[av.VideoFrame, float] | None]:
    """The first frame at or after each of `times` (seconds), and its time; None past the end. A seek finds
    each where the file has timestamps; where it cannot (raw .h264: none; MPEG-TS and -PS: joined parts
    restart the clock), the file is read once, in time order."""
    video = container.streams.video[0]
    origin = film_start(video)
    if video.start_time is not None and not info.clock_may_jump:
        firsts = (_first_at(container, t) for t in times)
        return [None if f is None else (f, _seconds(f, origin, t)) for f, t in zip(firsts, times)]
    ordered = sorted(set(times))
    found = {t: (f, _seconds(f, origin, t)) for t, f in zip(ordered, first_frames_at(container, ordered))}
    return [found.get(t) for t in times]


def keyframes_at(container: av.container.InputContainer, times: list[float]) -> Iterator[av.VideoFrame]:
    """The keyframe at or before each of `times` (seconds), each decoded once and alone, as many as the film
    has apart (a short film may have one): a few frames spread over a film in about as many milliseconds,
    where frames_at decodes up to a group of pictures for each. Files with timestamps only."""
    video = container.streams.video[0]
    video.thread_count = 1  # one picture at a time: frame threads would only wait for more
    origin, seen = film_start(video), set()
    for t in times:
        container.seek(round((origin + t) / video.time_base), stream=video, backward=True)  # flushes the decoder
        packet = next((p for p in container.demux(video) if p.size), None)
        if packet is None or packet.pts in seen:
            continue
        seen.add(packet.pts)
        yield from (_timed(frame, video) for frame in (video.decode(packet) + video.decode(None))[:1])


def cheap_frames_at(container: av.container.InputContainer, times: list[float]) -> Iterator[av.VideoFrame]:
    """The first decoded frame at or after each of `times` (seconds), in one read of a short film with
    timestamps, decoded as cheaply as a look at its pictures allows: on one thread, its keyframes and P frames
    only (no B frame), without deblocking (an 8 s 480p clip: 0.05 s of CPU, against 0.26 decoded in full on
    FFmpeg's threads)."""
    video = container.streams.video[0]
    video.thread_count = 1
    video.codec_context.skip_frame = "BIDIR"
    video.codec_context.options = {"skip_loop_filter": "all"}
    pending = deque(film_start(video) + t for t in times)
    for frame in container.decode(video):
        if frame.time is not None and frame.time < pending[0]:
            continue
        yield _timed(frame, video)
        if frame.time is None:  # untimed: frames in a row stand for the times in turn
            pending.popleft()
        while pending and frame.time is not None and frame.time >= pending[0]:
            pending.popleft()
        if not pending:
            return


def _timed(frame: av.VideoFrame, video: av.video.stream.VideoStream) -> av.VideoFrame:
    """Frames decoded straight from a stream carry no time base; the pipeline's do, and converting a frame
    (4:2:2 to 4:2:0) copies it."""
    frame.time_base = frame.time_base or video.time_base
    return frame


def _first_at(container: av.container.InputContainer, t: float) -> av.VideoFrame | None:
    """The first frame at or after `t` seconds; None past the end, where a file without an index (flv)
    refuses the seek."""
    try:
        return next(demux_decode(container, [], DecodeStats(), TimeRange(t, None)), None)
    except InputError:
        return None


def _seconds(frame: av.VideoFrame, origin: float, default: float) -> float:
    return frame.time - origin if frame.time is not None else default


def film_length(src: Path, frame_rate: str | float | Fraction | None, info: VideoInfo) -> float | None:
    """The film's length in seconds, that sampled times spread over. For MPEG-TS and -PS, where joined parts
    are put one after the other, the file is read once without decoding: FFmpeg's length is the raw clock's."""
    if not info.clock_may_jump:
        return counted(src, frame_rate, info).duration
    return joined_length(src) or info.duration  # unreadable: the header's length will do


def spread(length: float | None, count: int) -> list[float]:
    """`count` times at the middles of equal parts of the film; its start where the length is unknown."""
    return [length * (k + 0.5) / count for k in range(count)] if length else [0.0]
