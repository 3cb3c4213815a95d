"""Demux and decode: one pass over the file, video frames and the other streams' packets in file order."""
from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av

from ..errors import InputError

log = logging.getLogger("vidcolor")

MAX_CORRUPT_PACKETS = 100  # bad video packets skipped (and counted) before we give up on a file
# 0: FFmpeg's choice (cores + 1 frame threads for H.264). bench/overlap.py tries others: on a GPU machine
# the decoder's threads compete with x264's for the CPU.
DECODER_THREADS = 0
RANGE_TAIL_S = 2.0  # after the range's last frame, how far other streams are read for their last packets
MAX_HELD_PACKETS = 256  # intra packets kept for a decoder's drain: far more than its threads hold
MAX_SKIPPED_BYTES = 64 << 20  # video packets held while reading to a range: past it, they are decoded as read
SEEK_BACK_S = (0.0, 2.0, 10.0, 60.0)  # how far before a range's start to seek; then from the film's start
_EPS_S = 1e-6
TS_DISCONT = 0x0200  # FFmpeg's AVFMT_TS_DISCONT: formats whose clock may jump (MPEG-TS, MPEG-PS)
JUMP_BACK_S, JUMP_S = 0.1, 10.0  # a clock's jump: back from a stream's own time, on from every stream's
MAX_FILM_RATE = 1000  # fps: above it a rate is a time base, not a film's (parse_rate's bound too)


@dataclass(frozen=True)
class TimeRange:
    """Seconds from the video stream's first frame; end excluded; None is the end of the film."""

    start: float = 0.0
    end: float | None = None


class DecodeStats:
    def __init__(self) -> None:
        self.corrupt_packets = 0
        self.read_error: str | None = None
        self.clock_jumps = 0
        self.clock_end: float | None = None  # seconds, where the mended clock reached (MPEG-TS, -PS)
        self.bytes_read = 0  # how far into the file the demuxer is, where its clock can jump (MPEG-TS, -PS)
        # a range's neighbours, in seconds from the film's start: the last frame decoded before it, the first after
        self.before_range: float | None = None
        self.after_range: float | None = None


def film_start(video: av.video.stream.VideoStream) -> float:
    """Seconds of the video stream's first timestamp: ranges, chapters and shot times count from it
    (MPEG-TS and MPEG-PS films rarely start at 0)."""
    return float(video.start_time * video.time_base) if video.start_time is not None else 0.0


def shown_until(item: av.VideoFrame | av.Packet, period: float) -> float:
    """Seconds at which a timed frame or packet stops being shown or heard: its own duration where the file
    gives one, else `period`."""
    own = _seconds(item.duration, item.time_base) if (item.duration or 0) > 0 else period
    return _seconds(item.pts, item.time_base) + own


def frame_rate(video: av.video.stream.VideoStream) -> Fraction | None:
    """The film's frame rate: the stream's average, which stays right where FFmpeg's base rate counts
    fields (25i H.264 reads 50), unless it cannot be a film's: FFmpeg 8's DV demuxer announces its 1/60000
    time base as the average. Then FFmpeg's guess (25 for PAL DV)."""
    return next((Fraction(r) for r in (video.average_rate, video.guessed_rate) if r and r <= MAX_FILM_RATE), None)


def _time(item: av.VideoFrame | av.Packet) -> float | None:
    return _seconds(item.pts, item.time_base)


def _seconds(ticks: int | None, time_base: Fraction | None) -> float | None:
    """float(ticks * time_base), without the Fraction product: a read to a range calls it for every packet."""
    return None if ticks is None or time_base is None else ticks * time_base.numerator / time_base.denominator


def demux_decode(container: av.container.InputContainer, side_streams: list[av.stream.Stream],
                 stats: DecodeStats, span: TimeRange | None = None) -> Iterator[av.VideoFrame | av.Packet]:
    """Yield decoded video frames and the packets of `side_streams`, interleaved as in the file.

    With `span`, seek to the keyframe before its start, decode forward to the exact frame, and
    yield only what lies inside it: a range at the end of a film costs what one at the start does. MPEG-TS
    and MPEG-PS are read from their start instead, decoding only from the keyframe before the range: parts
    joined into one file restart the clock, and the range counts the time the whole film is written with."""
    if span is None:
        yield from _demux_decode(container, side_streams, stats)
        return
    video = container.streams.video[0]
    origin = film_start(video)
    start, end = origin + span.start, None if span.end is None else origin + span.end
    if span.start <= 0:
        items = _demux_decode(container, side_streams, stats)
    elif container.format.flags & TS_DISCONT:
        items = _demux_decode(container, side_streams, stats, skip=_Skipping(start))
    else:
        items = _decode_from(container, side_streams, stats, start, origin)
    video_done = False
    for item in items:
        t = _time(item)
        if t is not None and t < start - _EPS_S and not (still_shown(item, start) or still_heard(item, start)):
            if isinstance(item, av.VideoFrame):
                stats.before_range = t - origin
            continue
        if end is not None and t is not None and t >= end - _EPS_S:
            if isinstance(item, av.VideoFrame) and not video_done:
                stats.after_range = t - origin
            video_done = video_done or isinstance(item, av.VideoFrame)
            if video_done and (not side_streams or t > end + RANGE_TAIL_S):
                return
            continue
        yield item


def first_frames_at(container: av.container.InputContainer, times: list[float]) -> Iterator[av.VideoFrame]:
    """The first frame at or after each of `times` (seconds from the film's start, ascending), in one pass from
    the file's start, where seeking cannot find them: MPEG-TS and -PS, whose joined parts restart the clock,
    decode only the group of pictures that holds each time; streams without timestamps (raw .h264) decode
    every frame. Ends early where the film does."""
    origin = film_start(container.streams.video[0])
    pending = deque(origin + t for t in times)
    skip = _Skipping(pending[0]) if container.format.flags & TS_DISCONT else None
    for frame in _demux_decode(container, [], DecodeStats(), skip=skip):
        shown = _time(frame)
        if shown is None or shown < pending[0] - _EPS_S:
            continue
        while pending and shown >= pending[0] - _EPS_S:
            pending.popleft()
            yield frame
        if not pending:
            return
        if skip is not None:
            skip.to = pending[0]


def joined_end(container: av.container.InputContainer, stop: threading.Event | None = None) -> float | None:
    """Where the picture ends, in seconds from the film's start, with the parts of an MPEG-TS or -PS file
    put one after the other as the film is written: one pass without decoding. (FFmpeg's length is the raw
    clock's, from its first time to its last: a later part may restart it.) None without a timed frame, or
    once `stop` is set."""
    video = container.streams.video[0]
    mend, end = _Continuous(DecodeStats()), None
    period = 1 / float(frame_rate(video) or 25)
    for packet in packets_of(container, video, *container.streams.audio):
        if stop is not None and stop.is_set():
            return None
        mend(packet)
        if packet.stream.index == video.index and packet.size and packet.pts is not None and packet.time_base:
            end = max(end or 0.0, shown_until(packet, period))
    return None if end is None else end - film_start(video)


def still_shown(item: av.VideoFrame | av.Packet, at: float) -> bool:
    """A subtitle that began earlier and is still on screen at `at` seconds."""
    return _goes_on(item, "subtitle", at)


def still_heard(item: av.VideoFrame | av.Packet, at: float) -> bool:
    """Sound that began earlier and still plays at `at` seconds: where it is re-encoded, its samples from
    there are kept (a FLAC packet lasts 0.1 s, longer than a short range)."""
    return _goes_on(item, "audio", at)


def _goes_on(item: av.VideoFrame | av.Packet, kind: str, at: float) -> bool:
    return (isinstance(item, av.Packet) and item.stream.type == kind and bool(item.duration)
            and float((item.pts + item.duration) * item.time_base) > at + _EPS_S)


def _decode_from(container: av.container.InputContainer, side_streams: list[av.stream.Stream], stats: DecodeStats,
                 start: float, origin: float) -> Iterator[av.VideoFrame | av.Packet]:
    """Decoding that begins at or before `start` seconds. A seek lands on the keyframe before it where the
    file has an index; where it has none, FFmpeg's guess can land after it (DV: in the tests, 2 s further
    back found it), so the first frame is checked and the seek goes further back, at last to before the
    film's start. Streams without timestamps (raw .h264) cannot seek: they are read from their start."""
    video = container.streams.video[0]
    if video.start_time is None:  # a seek would read through the whole stream, then fail
        yield from _demux_decode(container, side_streams, stats)
        return
    for back in (*SEEK_BACK_S, None):
        # None: before the film's start (a guess can land after a keyframe even when asked for its time)
        target = origin - 10.0 if back is None else start - back
        try:
            _seek(container, target, origin)
        except av.FFmpegError as ex:
            raise InputError(f"{container.name}: cannot seek to {start - origin:.3f} s ({ex})") from ex
        items = _demux_decode(container, side_streams, stats, sought=True)
        held = []
        for item in items:
            held.append(item)
            if isinstance(item, av.VideoFrame):
                break
        first = _time(held[-1]) if held and isinstance(held[-1], av.VideoFrame) else None
        if (first is not None and first <= start + _EPS_S) or back is None:  # first None: landed at the end
            yield from held
            yield from items
            return


def _seek(container: av.container.InputContainer, target: float, origin: float) -> None:
    """To the keyframe at or before `target` seconds. A time before the film's start that the demuxer refuses
    (AVI: 'Operation not permitted') is the start: a range near the start of an AVI whose seek landed late
    had been refused ('cannot seek'), and a preview sheet of it had found no frame."""
    video = container.streams.video[0]
    try:
        container.seek(int(target / video.time_base), stream=video, backward=True)
    except av.FFmpegError:
        if target >= origin:
            raise
        container.seek(int(origin / video.time_base), stream=video, backward=True)


class _FrameTimes:
    """Presentation times where the file has none usable. AVI stores frames in decode order without their
    presentation times, so with B-frames each decoded frame carries another's; the decode-order time of the
    packet that completed it, less the decoder's delay, is its own. Raw streams (.h264) carry none at all:
    each frame comes one frame period (at the stream's rate) after the one before. A frame without a time
    base (a damaged flv's) takes the stream's, which its time is counted in."""

    def __init__(self, video: av.video.stream.VideoStream, decode_order: bool) -> None:
        self.time_base = video.time_base
        self.period = 1 / ((frame_rate(video) or 25) * video.time_base)
        self.decode_order = decode_order
        self.start = video.start_time or 0
        self.first_dts: int | None = None  # of the first video packet
        self.delay: int | None = None
        self.last: int | None = None

    def packet(self, packet: av.Packet) -> None:
        if self.first_dts is None:
            self.first_dts = packet.dts

    def __call__(self, frames: list[av.VideoFrame]) -> list[av.VideoFrame]:
        for frame in frames:
            if self.decode_order:  # the decoder's last frames (flushed) have no packet time
                if self.delay is None and frame.dts is not None and self.first_dts is not None:
                    self.delay = frame.dts - self.first_dts
                frame.pts = None if frame.dts is None or self.delay is None else frame.dts - self.delay
            if frame.pts is None:
                frame.pts = self.start if self.last is None else round(self.last + self.period)
            if frame.time_base is None:
                frame.time_base = self.time_base
            self.last = frame.pts
        return frames


class _Continuous:
    """MPEG-TS and MPEG-PS files may restart or jump their clock mid-file: clips joined with `cat`
    (camcorders' .MTS, a recording saved in parts, DVD titles), a splice in a broadcast. A video or audio
    packet more than 0.1 s before where its stream was due next (ffmpeg's bound), or more than 10 s after
    every stream's latest, starts a new part, and every stream's times from there on are moved by that
    jump, so the parts follow each other (with the clock's jumps left in, the encoder got the second
    part's frames one tick apart, and the muxer refused its sound). ffmpeg also takes 10 s ahead of the
    packet's own stream for a jump; a picture that stops for longer while the sound goes on (lost
    reception) then moved back and forth at every packet.

    At a join the other streams are not quite in step. The demuxer ends a PES packet only when the next
    one of its stream begins, so the part before may still send one packet of each stream after the jump:
    one that begins in the file before the packet that jumped, and follows on from its stream with the old
    move, keeps that move (with the new one it read as a second jump, 1.2 s on, and the join got a 1.2 s
    pause). And a stream of the new part may begin up to 0.1 s before its last part ended (sound does:
    one encoder's padding, the next one's priming): that stream then follows on, late by the overlap
    until the next jump, so that no packet is refused as out of order."""

    def __init__(self, stats: DecodeStats) -> None:
        self.stats = stats
        self.base = 0.0  # seconds added to every stream's times since the last jump
        self.shift: dict[int, float] = {}  # stream index -> its own, where it follows on late
        self.before: dict[int, float] = {}  # stream index -> its seconds added before the last jump
        self.waiting: set[int] = set()  # streams that have sent nothing of the part after the last jump
        self.tail: set[int] = set()  # of those, the ones whose last packet of the part before may still come
        self.jump_at = -1  # where in the file the packet that jumped began
        self.due: dict[int, float] = {}  # stream index -> the time its next packet is due
        # stream index -> its time base in seconds (float: Fractions took most of a read's time, and a
        # packet's times are whole ticks, so a move rounds to the exact tick), and whether it is timed
        self.streams: dict[int, tuple[float, bool]] = {}

    @property
    def latest(self) -> float:
        """The latest time any stream is due: kept in the stats, where a range past the end reads it."""
        return self.stats.clock_end or 0.0

    def __call__(self, packet: av.Packet) -> None:
        pos = packet.pos if packet.pos is not None else -1  # -1: not known
        if pos >= 0:
            self.stats.bytes_read = pos + packet.size
        index = packet.stream.index
        if index not in self.streams:
            if packet.time_base is None:
                return
            self.streams[index] = float(packet.time_base), packet.stream.type in ("video", "audio")
        tb, timed = self.streams[index]
        if packet.dts is None:
            return
        raw = packet.dts * tb
        due = self.due.get(index)  # none for subtitles: seconds apart or minutes, as spoken
        shift = self.shift.get(index, self.base)
        if index in self.waiting:
            if index in self.tail and 0 <= pos < self.jump_at \
                    and abs(raw + self.before[index] - due) <= JUMP_BACK_S:  # the part before's last packet
                shift = self.before[index]
                self.tail.discard(index)
            else:
                self.waiting.discard(index)
                if 0 < due - (raw + shift) <= JUMP_BACK_S:  # begins before its stream's last part ended
                    shift = self.shift[index] = due - raw
        t = raw + shift
        if due is not None and (t < due - JUMP_BACK_S or t > self.latest + JUMP_S):
            self.before = {i: self.shift.get(i, self.base) for i in self.due}
            self.base, self.shift = due - raw, {}
            self.waiting = set(self.due) - {index}
            self.tail, self.jump_at = set(self.waiting), pos
            shift, t = self.base, due
            self.stats.clock_jumps += 1
        if moved := round(shift / tb):
            packet.dts += moved
            if packet.pts is not None:
                packet.pts += moved
        if timed:
            self.due[index] = t + (packet.duration or 0) * tb
            self.stats.clock_end = max(self.latest, self.due[index])


def packets_of(container: av.container.InputContainer, *streams) -> Iterator[av.Packet]:
    """`container.demux(*streams)`, ending where PyAV's own ending fails. MPEG-TS can add streams mid-file:
    FFmpeg counts them, PyAV's stream list does not, and its closing loop of empty flush packets indexes
    past that list (IndexError). Every packet read from the file has come out by then."""
    demuxed = container.demux(*streams)
    while True:
        try:
            packet = next(demuxed)
        except (StopIteration, IndexError):
            return
        yield packet


class _Skipping:
    """Video packets read up to `to` seconds without being decoded. The ones from the last keyframe at or
    before it are held, and go to the decoder once a packet reaches it: a keyframe after it, or a packet
    decoded at or after it (or too many held: then all from there are decoded). Then every packet goes to
    the decoder until `to` is set again."""

    def __init__(self, to: float | None) -> None:
        self.to = to
        self.gop: list[av.Packet] = []
        self.held = 0  # bytes

    def __call__(self, packet: av.Packet) -> list[av.Packet]:
        """The packets to decode now, this one last; none while skipping."""
        if self.to is None:
            return [packet]
        shown, decoded = _time(packet), _seconds(packet.dts, packet.time_base)
        if packet.is_keyframe and shown is not None and shown <= self.to + _EPS_S:
            self.gop, self.held = [packet], packet.size
            return []
        self.gop.append(packet)
        self.held += packet.size
        if (packet.size == 0 or (packet.is_keyframe and shown is not None) or self.held > MAX_SKIPPED_BYTES
                or (decoded is not None and decoded >= self.to - _EPS_S)):
            gop, self.to, self.gop, self.held = self.gop, None, [], 0
            return gop
        return []


def _demux_decode(container: av.container.InputContainer, side_streams: list[av.stream.Stream],
                  stats: DecodeStats, sought: bool = False,
                  skip: _Skipping | None = None) -> Iterator[av.VideoFrame | av.Packet]:
    """`sought`: reading starts where a seek landed, whose first packets may go back in time (MPEG-PS):
    the clock's jumps are mended only in a read from the file's start. `skip`: video up to its time (on the
    mended clock) is read but not decoded, but for the group of pictures that holds it."""
    video = container.streams.video[0]
    if not video.codec_context.is_open:
        video.thread_type = "AUTO"  # frame + slice threads: decoding must keep up with the GPU
        video.thread_count = DECODER_THREADS
    timed = _FrameTimes(video, decode_order=container.format.name == "avi")
    held = _HeldPackets(in_order=video.codec_context.name == "ffv1")
    continuous = _Continuous(stats) if container.format.flags & TS_DISCONT and not sought else None
    flushed = False
    try:
        for packet in packets_of(container, video, *side_streams):
            if continuous is not None:
                continuous(packet)
            if packet.stream.index != video.index:
                if packet.size:  # size-0 packets are demuxer flush markers
                    yield packet
                continue
            for packet in [packet] if skip is None else skip(packet):
                flushed = packet.size == 0  # demux ends with an empty packet: it flushes the decoder
                timed.packet(packet)
                held.sent(packet)
                try:
                    frames = video.decode(packet)
                except av.InvalidDataError as ex:
                    held.answered(1)
                    _count_corrupt(container, stats, ex)
                    continue
                held.answered(len(frames))
                yield from timed(frames)
    except av.FFmpegError as ex:  # a truncated or damaged tail: keep what decoded, as ffmpeg does
        stats.read_error = ex.strerror or str(ex)
        log.warning("%s: stopped reading at a damaged part of the file (%s); the frames before it are kept",
                    container.name, stats.read_error)
    if not flushed:  # reading stopped early: frames still held by the decoder (B-frames, threads)
        try:
            frames = video.decode(None)
            held.answered(len(frames))
            yield from timed(frames)
        except av.FFmpegError:
            pass
    if held.packets:  # the drain stopped at a damaged packet: the ones after it are decoded again
        yield from timed(list(_decode_held(container, held.packets, timed.last, stats)))


def _count_corrupt(container: av.container.InputContainer, stats: DecodeStats, ex: av.InvalidDataError) -> None:
    stats.corrupt_packets += 1
    if stats.corrupt_packets > MAX_CORRUPT_PACKETS:
        raise InputError(f"{container.name}: more than {MAX_CORRUPT_PACKETS} corrupt video packets; "
                         "the file is too damaged") from ex


class _HeldPackets:
    """The packets sent to the decoder that gave no frame yet, where each packet gives one frame, in order:
    every packet a keyframe (scans, ProRes, DPX, MJPEG), or FFV1, which never reorders. FFmpeg's frame
    threads hold one each; when a damaged one is among them at the end of the file, the drain stops there
    without an error and the frames after it are lost (17 threads: 6 of 14 scans came out; FFV1 with a
    keyframe every 300 frames, the 37th of 40 damaged: 36). So the ones left can be decoded again."""

    def __init__(self, in_order: bool) -> None:
        self.packets: deque[av.Packet] | None = deque()
        self.in_order = in_order  # inter-coded packets count too

    def sent(self, packet: av.Packet) -> None:
        if self.packets is not None and packet.size:
            if (packet.is_keyframe or self.in_order) and len(self.packets) < MAX_HELD_PACKETS:
                self.packets.append(packet)
            else:  # a packet may give no frame, or be reordered: nothing can be paired, nothing is held
                self.packets = None

    def answered(self, frames: int) -> None:
        for _ in range(min(frames, len(self.packets or ()))):
            self.packets.popleft()


def _decode_held(container: av.container.InputContainer, held: deque[av.Packet], after: int | None,
                 stats: DecodeStats) -> Iterator[av.VideoFrame]:
    """Held packets (_HeldPackets) on a fresh decoder without frame threads: a damaged one is reported and
    skipped. Intra packets decode alone. FFV1's others need every frame from their keyframe on: the file is
    sought back to it and read again to the last held one, and only the frames after the last one shown
    (`after`, a pts) come out. The decoder gets the stream's header (raw video and FFV1 need its size and
    pixel format); where it cannot be opened even so, none of them can be decoded."""
    video = container.streams.video[0]
    codec = video.codec_context
    decoder = av.CodecContext.create(codec.name, "r")
    decoder.extradata = codec.extradata
    decoder.width, decoder.height = codec.width, codec.height
    if codec.format is not None:
        decoder.pix_fmt = codec.format.name
    try:
        decoder.open()
    except av.FFmpegError:
        return
    first = None  # the first held packet's pts, where packets before it are read again
    packets: Iterator[av.Packet] = iter(held)
    if not all(p.is_keyframe for p in held) and held[0].pts is not None and held[-1].pts is not None:
        first, last = held[0].pts, held[-1].pts
        try:
            container.seek(first, stream=video, backward=True)
        except av.FFmpegError:
            return
        packets = itertools.takewhile(lambda p: p.pts is None or p.pts <= last, packets_of(container, video))

    def shown(frame: av.VideoFrame) -> bool:
        return after is None or frame.pts is None or frame.pts > after

    for packet in packets:
        try:
            yield from filter(shown, decoder.decode(packet))
        except av.InvalidDataError as ex:
            if first is None or (packet.pts is not None and packet.pts >= first):  # the others were counted
                _count_corrupt(container, stats, ex)
    try:
        yield from filter(shown, decoder.decode(None))
    except av.FFmpegError:
        pass
