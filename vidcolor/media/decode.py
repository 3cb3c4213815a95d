"""Demux and decode: one pass over the file, video frames and the other streams' packets in file order."""
from __future__ import annotations

import logging
from collections.abc import Iterator

import av

from ..errors import InputError

log = logging.getLogger("vidcolor")

MAX_CORRUPT_PACKETS = 100  # bad video packets skipped (and counted) before we give up on a file


class DecodeStats:
    def __init__(self) -> None:
        self.corrupt_packets = 0
        self.read_error: str | None = None


def demux_decode(container: av.container.InputContainer, side_streams: list[av.stream.Stream],
                 stats: DecodeStats) -> Iterator[av.VideoFrame | av.Packet]:
    """Yield decoded video frames and the packets of `side_streams`, interleaved as in the file."""
    video = container.streams.video[0]
    video.thread_type = "AUTO"  # frame + slice threads: decoding must keep up with the GPU
    flushed = False
    try:
        for packet in container.demux(video, *side_streams):
            if packet.stream.index != video.index:
                if packet.size:  # size-0 packets are demuxer flush markers
                    yield packet
                continue
            flushed = packet.size == 0  # demux ends with an empty packet: it flushes the decoder
            try:
                yield from video.decode(packet)
            except av.InvalidDataError as ex:
                stats.corrupt_packets += 1
                if stats.corrupt_packets > MAX_CORRUPT_PACKETS:
                    raise InputError(f"{container.name}: more than {MAX_CORRUPT_PACKETS} corrupt video packets; "
                                     "the file is too damaged") from ex
    except av.FFmpegError as ex:  # a truncated or damaged tail: keep what decoded, as ffmpeg does
        stats.read_error = ex.strerror or str(ex)
        log.warning("%s: stopped reading at a damaged part of the file (%s); the frames before it are kept",
                    container.name, stats.read_error)
    if not flushed:  # reading stopped early: frames still held by the decoder (B-frames, threads)
        try:
            yield from video.decode(None)
        except av.FFmpegError:
            pass
