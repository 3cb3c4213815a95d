"""Encode and mux: colorized video frames, the other streams copied packet for packet.

The writer opens its streams on the first video frame, when size, pixel format and rotation
are known. Audio whose codec the output container cannot hold is transcoded (AAC, or the
container's default) with a warning; SRT and mp4 timed text are rewrapped into each other; other
subtitles the container cannot hold, and streams with a damaged codec header, are dropped with a
warning. Damaged side packets the muxer refuses are skipped and counted. The source's SMPTE timecode
goes on the output's video stream (mov and mp4 write a timecode track from it), moved to a range's start.
"""
from __future__ import annotations

import logging
import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.codec.context import Flags

from .. import __version__
from ..errors import OutputError
from ..outputs import disk_full
from ..timecode import frame_number, shift_smpte, timecode_tag
from .codecs import (
    HDR10_CODECS,
    INTERLACED,
    ONE_FRAME_TIME_BASE,
    EncodeOptions,
    Hdr10,
    coded_time_base,
    encoder_options,
    refusal_hint,
)
from .containers import (
    audio_target,
    channel_layout,
    cover_file,
    format_for,
    is_cover,
    muxer_of,
    muxer_options,
    muxer_takes,
    named_layout,
    sample_rate_for,
)
from .decode import film_start, still_heard, still_shown
from .probe import film_timecode

log = logging.getLogger("vidcolor")

# describe the old encode, or the old file's kind (an mp4's brands, which Matroska would keep as tags and an mp4
# with 'mdta' keys would hold beside its own; a mov track's vendor, "FFMP" or four zero bytes)
_STALE_TAGS = {"duration", "encoder", "software", "number_of_frames", "number_of_bytes", "bps", "major_brand",
               "minor_version", "compatible_brands", "vendor_id"}


def _tags(metadata: dict) -> dict:
    return {k: v for k, v in metadata.items() if k.lower().split("-")[0] not in _STALE_TAGS | {"timecode"}}


_NEEDS_HEADER = {"flac", "alac", "vorbis", "opus"}  # audio codecs that cannot be copied without their extradata
# Plain-text subtitles change wrapping only: SRT into mp4/mov as 3GPP timed text, into webm as WebVTT, and
# back (subrip is FFmpeg's SRT codec; srt its older one)
_TEXT_SUBTITLES = {"srt", "subrip", "mov_text", "webvtt"}
_TEXT_TARGETS = ("subrip", "mov_text", "webvtt")  # in order of preference


def _rewrap_text(packet: av.Packet, out: av.stream.Stream, from_mov_text: bool, to_mov_text: bool) -> av.Packet:
    """SRT and WebVTT packets hold UTF-8 text; mov_text packets a 16-bit big-endian length, then the text."""
    data = bytes(packet)
    if from_mov_text:
        data = data[2:2 + int.from_bytes(data[:2], "big")]
    if to_mov_text:
        data = len(data).to_bytes(2, "big") + data
    new = av.Packet(data)
    new.stream, new.time_base = out, packet.time_base
    new.pts, new.dts, new.duration = packet.pts, packet.dts, packet.duration
    return new


_ADTS_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)


def _adts_rate(packet: av.Packet) -> int | None:
    """The sample rate in an AAC packet's own ADTS header (how MPEG-TS carries AAC), else None."""
    head = bytes(memoryview(packet)[:3])
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xF6 != 0xF0:
        return None
    index = head[2] >> 2 & 0xF
    return _ADTS_RATES[index] if index < len(_ADTS_RATES) else None


class _Reencoded:
    """One re-encoded sound track. Digital TV changes a track's layout mid-film (ads in stereo, the film in
    5.1), joined files its rate: the encoder keeps the first part's, and every part is converted to it
    (PyAV's own converter takes only the first part's setup and refuses the rest). Timed from where the
    source's sound starts (MPEG-TS: with the picture, not at 0), then continuously: an encoder refuses time
    going back at a damaged or overlapping packet. Untimed where the muxer places sound by its order (AVI)."""

    def __init__(self, index: int, stream: av.audio.stream.AudioStream, untimed: bool) -> None:
        self.index = index  # the source's
        self.stream = stream
        self.untimed = untimed
        self.changed = False  # said once
        self.next: int | None = None  # the next sample's time, at the encoder's rate
        self.setup: tuple[str, str, int] | None = None  # the part being converted: format, layout, rate
        self.converter: av.AudioResampler | None = None

    def encode(self, frame: av.AudioFrame | None) -> list[av.Packet]:
        """Packets for a decoded frame; None: the last ones."""
        ctx = self.stream.codec_context
        setup = None if frame is None else (frame.format.name, frame.layout.name, frame.sample_rate)
        frames = []
        if self.converter is not None and setup != self.setup:
            frames += self.converter.resample(None)  # the part before: its last samples
            self.converter = None
            if frame is not None and not self.changed:
                self.changed = True
                log.warning("audio stream #%d changes from %s to %s%s: re-encoded as %s %d Hz throughout",
                            self.index, _setup_name(self.setup), _setup_name(setup),
                            f" at {frame.time:.2f} s" if frame.time is not None else "", ctx.layout.name,
                            ctx.sample_rate)
        if frame is not None:
            if self.next is None:
                self.next = round(frame.pts * frame.time_base * ctx.sample_rate) if frame.pts is not None else 0
            if self.converter is None:
                self.setup, self.converter = setup, av.AudioResampler(ctx.format, ctx.layout, ctx.sample_rate)
            frames += self.converter.resample(frame)
        packets = []
        for f in frames:
            f.pts, f.time_base = None if self.untimed else self.next, Fraction(1, ctx.sample_rate)
            self.next += f.samples
            packets += self.stream.encode(f)
        return packets + (self.stream.encode(None) if frame is None else [])


def _without_first(frame: av.AudioFrame, samples: int) -> av.AudioFrame | None:
    """`frame` less its first `samples`, the sound before a range's start (a FLAC packet lasts 0.1 s: a short
    range had no sound, and mov dropped the empty track without a word); None where none are left."""
    if samples >= frame.samples:
        return None
    step = 1 if frame.format.is_planar else len(frame.layout.channels)
    rest = np.ascontiguousarray(frame.to_ndarray()[:, samples * step:])
    cut = av.AudioFrame.from_ndarray(rest, format=frame.format.name, layout=frame.layout)
    cut.sample_rate, cut.time_base = frame.sample_rate, frame.time_base
    cut.pts = frame.pts + round(Fraction(samples, frame.sample_rate) / frame.time_base)
    return cut


def _setup_name(setup: tuple[str, str, int]) -> str:
    return f"{setup[1]} {setup[2]} Hz"


class Writer:
    """Owns the output container. Call `frame()` and `packet()` in file order, then `close()`."""

    def __init__(self, path: Path, source: av.container.InputContainer, side_streams: list[av.stream.Stream],
                 opts: EncodeOptions, rate: Fraction | None, rebase: bool = False, label: Path | None = None,
                 first_number: int | None = None, chapters: list[dict] | None = None) -> None:
        """`rebase`: shift every stream so that the first video frame is at time 0 (for ranges; and always
        for a film that starts before 0, such as an MPEG-TS recording across its clock's 26.5-hour wrap,
        whose earlier part FFmpeg times below 0: mp4 and mov would hide those frames as pre-roll).
        `label`: the path to name in messages (`path` is a temporary file beside it). `first_number`: for
        an image sequence, the film's first frame's number (a scan's own, else 0); the frames written are
        numbered by their time from there (a range's too), so a frame that could not be decoded leaves its
        number out instead of shifting all that follow. `chapters`: as
        PyAV's `chapters()` gives them (the pipeline's, cut to a range)."""
        self.source, self.opts, self.rate = source, opts, rate
        self.file, self.path = path, label or path
        self.side_streams = side_streams
        self.first_number = first_number
        self.origin = film_start(source.streams.video[0])  # ranges, timecode and frame numbers count from it
        self.chapters = chapters or []
        self.tags = _tags(source.metadata)  # the film's own, to write and to read back
        fmt = format_for(self.path)
        options = ({"frame_pts": "1"} if first_number is not None  # file names from pts
                   else muxer_options(self.path, fmt, self.tags, any(is_cover(s) for s in side_streams)))
        try:
            self.out = av.open(str(path), mode="w", format=fmt, options=options)
        except (av.FFmpegError, ValueError) as ex:
            raise OutputError(f"{path}: cannot write this kind of file ({ex})") from ex
        self.video: av.video.stream.VideoStream | None = None
        self.mapping: dict[int, av.stream.Stream] = {}  # input stream index -> output stream (copied)
        self.transcode: dict[int, _Reencoded] = {}  # input audio index -> its re-encoded output
        self.aac_rates: dict[int, int | None] = {}  # copied AAC -> its first rate, until a change is said
        self.retext: dict[int, tuple[av.stream.Stream, bool, bool]] = {}  # text subtitles: stream, from/to mov_text
        self.pending: list[av.Packet] = []  # side packets that came before the first frame
        self.frames = 0
        self.coded = 0  # video packets handed to the muxer
        self.shown_until = 0  # when the last picture coded so far ends, in the encoder's time base (mp4, mov)
        self.first_times: tuple[int, int] | None = None  # the first video packet's pts and dts
        self.tail_refused = False  # the muxer refused a copied packet while it finished the file (close)
        self.last_pts: int | None = None
        self.bumped_pts = 0
        self.dropped_tags: list[str] = []  # the film's tags the written file does not hold (close)
        self.skipped_packets = 0  # damaged audio/subtitle packets left out
        self.hdr10_unwritten = False  # the film's HDR10 metadata, which this encoder takes no option for
        self.filled: set[int] = set()  # output streams that got a packet
        self.heard: set[int] = set()  # input sound tracks with a packet that reached the writer
        self.muxer = muxer_of(self.out.format.name)
        self.rebase = rebase or self.muxer.from_zero
        self.offset_s = 0.0  # seconds subtracted from every timestamp

    def _open_streams(self, frame: av.VideoFrame, rotation: int) -> None:
        """The output's streams, at the first frame: the video stream it sets up, then the side streams
        copied, transcoded or dropped, then the container's tags, chapters and attachments."""
        timecode = self._timecode()
        self.video = self._video_stream(frame, rotation, timecode)
        self._side_streams()
        self.out.metadata.update(self.tags)
        if timecode and timecode_tag(self.source.metadata):
            self.out.metadata["timecode"] = timecode
        if self.chapters:
            self.out.set_chapters(self.chapters)
        self._attach()

    def _video_stream(self, frame: av.VideoFrame, rotation: int, timecode: str | None) -> av.video.stream.VideoStream:
        src_video = self.source.streams.video[0]
        # read here, where the frame is the encoder's: PyAV keeps a frame's side data as first read, and the
        # frame's own moves when it is made writable (compose)
        hdr10 = Hdr10.of(frame)
        self.hdr10_unwritten = hdr10 is not None and self.opts.codec not in HDR10_CODECS
        try:
            field_order = src_video.codec_context.field_order
            v = self.out.add_stream(self.opts.codec, rate=self.rate or Fraction(25),
                                    options=encoder_options(self.opts.codec, self.opts, field_order,
                                                            frame.format.name, hdr10)
                                    | ({"bf": "0"} if self.muxer.no_reorder else {}))
        except (av.FFmpegError, ValueError) as ex:
            raise OutputError(f"{self.path}: video codec {self.opts.codec!r} is not available ({ex})") from ex
        v.width, v.height, v.pix_fmt = frame.width, frame.height, frame.format.name
        if v.codec_context.codec.canonical_name == "hevc" and self.muxer.hevc_tag:
            v.codec_tag = self.muxer.hevc_tag
        if field_order in INTERLACED:
            v.codec_context.field_order = field_order  # the container's flag: players deinterlace
        v.time_base = coded_time_base(self.opts.codec, frame.time_base or src_video.time_base, self.rate)
        if (self.opts.codec in ONE_FRAME_TIME_BASE or self.first_number is not None
                or self.muxer.counts_frames) and self.rate:
            v.time_base = 1 / Fraction(self.rate)  # frames are rescaled to it in frame()
        v.codec_context.time_base = v.time_base
        # each frame's duration goes to its packet: a last picture held for a while (a variable rate's end)
        # is held as long, where encoders gave it one period
        v.codec_context.flags |= Flags.frame_duration
        if src_video.sample_aspect_ratio:
            v.codec_context.sample_aspect_ratio = src_video.sample_aspect_ratio
        for attr in ("colorspace", "color_range", "color_primaries", "color_trc"):
            setattr(v.codec_context, attr, getattr(frame, attr))
        v.metadata.update(self._track_tags({k: val for k, val in src_video.metadata.items()
                                            if k in ("language", "title", "name")}))
        # the video track names what made it, where FFmpeg names itself ("Lavc libx264"): mp4 and mov hold
        # it as the track's compressor name (32 bytes), Matroska as its ENCODER tag; the container's own
        # "encoder" FFmpeg always overwrites, and the source's comment stays the source's. Not for MPEG-2,
        # whose compressor name in mov tells editing systems an XDCAM format
        if self.opts.codec != "mpeg2video":
            v.metadata["encoder"] = f"vidcolor {__version__} {self.opts.codec}"
        if timecode:
            v.metadata["timecode"] = timecode  # mov and mp4 muxers write it as a timecode track
        # not an attached picture, even when the source's "film" was one (a sound file's cover): mp4 takes
        # only JPEG, PNG or BMP as one, and refused H.264 at its end
        v.disposition = src_video.disposition & ~av.stream.Disposition.attached_pic
        if rotation:
            v.set_display_rotation(rotation)
        return v

    def _side_streams(self) -> None:
        supported = self.out.supported_codecs
        fmt = self.out.format.name
        for s in self.side_streams:
            if is_cover(s):  # a file in Matroska (_attach); a stream in mp4, as in the source
                if self.muxer.cover_art and muxer_takes(fmt, s):
                    self.mapping[s.index] = self.out.add_stream_from_template(s)
                    self.mapping[s.index].disposition = s.disposition
                continue
            name = s.codec_context.codec.canonical_name  # mp3, not its decoder mp3float
            if name in _NEEDS_HEADER and not s.codec_context.extradata_size:
                log.warning("%s stream #%d (%s) dropped: its codec header is damaged", s.type, s.index, name)
                continue
            if muxer_takes(fmt, s):
                o = named_layout(self.out.add_stream_from_template(s), s)
                self.mapping[s.index] = o
                if name == "aac" and fmt != "mpegts":  # keeps one header for the track, not each packet's
                    self.aac_rates[s.index] = None
            elif name in _TEXT_SUBTITLES and (text := next((t for t in _TEXT_TARGETS if t in supported), None)):
                o = self.out.add_mux_stream(text)
                o.time_base = s.time_base
                self.retext[s.index] = (o, name == "mov_text", text == "mov_text")
            elif s.type == "audio" and self.out.default_audio_codec not in (None, "none"):
                target = audio_target(fmt, s, self.out.default_audio_codec)
                log.warning("audio stream #%d (%s) re-encoded to %s: the %s container cannot hold %s",
                            s.index, name, target, fmt, name)
                o = self.out.add_stream(target, rate=sample_rate_for(target, s.codec_context.sample_rate, fmt))
                o.layout = channel_layout(s)
                self.transcode[s.index] = _Reencoded(s.index, o, self.muxer.untimed_sound)
            else:
                log.warning("%s stream #%d (%s) dropped: the %s container cannot hold it", s.type, s.index, name, fmt)
                continue
            o.metadata.update(self._track_tags(_tags(s.metadata)))
            o.disposition = s.disposition

    def _track_tags(self, tags: dict[str, str]) -> dict[str, str]:
        """A track's tags as the output holds them. Its title: mov and mp4 store it as the track's 'name', read
        back under that key, which Matroska would keep as a plain tag, not as the name players show (nor would
        mov and mp4 write it again); in mov and mp4 also as its handler's name, the one their players show."""
        title = tags.get("title") or tags.get("name")
        held = {key: value for key, value in tags.items() if key != "name"}
        if title:
            held["title"] = title
            if self.muxer.titles_as_handler:
                held["handler_name"] = title
        return held

    def _attach(self) -> None:
        """The source's attached files (fonts its subtitles need, notes, checksums) and cover pictures,
        where the output holds them. A cover is a one-packet video stream whose packet comes before the
        film's first frame: it is pending now."""
        files = [(s.index, s.name, s.mimetype, s.data) for s in self.source.streams if s.type == "attachment"]
        files += [(p.stream.index, *cover_file(p.stream), bytes(p)) for p in self.pending
                  if is_cover(p.stream) and p.stream.index not in self.mapping]
        for index, name, mimetype, data in files:
            if self.muxer.attachments and name and data is not None:
                self.out.add_attachment(name, mimetype or "application/octet-stream", data)
            else:
                log.warning("attached file #%d (%s) dropped: the %s container cannot hold it", index, name,
                            self.out.format.name)

    def _timecode(self) -> str | None:
        """The source's timecode, moved to the output's first frame when a range starts later."""
        timecode = film_timecode(self.source)
        if timecode is None or not self.rebase:
            return timecode
        try:  # without a frame rate, shift_smpte refuses too
            return shift_smpte(timecode, round((self.offset_s - self.origin) * (self.rate or 0)), self.rate)
        except ValueError as ex:
            log.warning("timecode %r dropped: it cannot be moved to the range's start (%s)", timecode, ex)
            return None

    def _number(self, frame: av.VideoFrame) -> int | None:
        """A scan's number, where the film has a rate: its time from the film's first frame x the rate,
        rounded, as ranges and `vidcolor shots` count (not the first's number plus the rounded offset, which
        on a variable rate can be one off)."""
        if self.first_number is None or frame.pts is None or not self.rate:
            return None
        return self.first_number + frame_number(float(frame.pts * frame.time_base) - self.origin, self.rate)

    def frame(self, frame: av.VideoFrame, rotation: int = 0) -> None:
        number = self._number(frame)
        if self.video is None:
            start = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
            if self.rebase or start < 0:
                self.rebase, self.offset_s = True, start
            self._open_streams(frame, rotation)
            self._start(frame)
            for packet in self.pending:
                self.packet(packet)
            self.pending.clear()
        if self.offset_s and frame.pts is not None:
            frame.pts -= round(self.offset_s / frame.time_base)
        # in the encoder's time base: the stream's changes when the muxer writes its header (mkv: 1 ms)
        coded = self.video.codec_context.time_base
        if frame.time_base and frame.time_base != coded:
            scale = frame.time_base / coded
            if frame.pts is not None:  # halves up, not to even: frames half a tick off (MPEG-PS starts) would meet
                frame.pts = math.floor(frame.pts * scale + Fraction(1, 2))  # pairwise
            frame.duration, frame.time_base = round(max(frame.duration, 0) * scale), coded  # 0: unknown
        if self.first_number is not None and frame.pts is not None:
            frame.pts = number if number is not None else frame.pts + self.first_number
        if frame.pts is None or (self.last_pts is not None and frame.pts <= self.last_pts):
            # Encoders need strictly increasing pts; broken files repeat or omit them.
            frame.pts = 0 if self.last_pts is None else self.last_pts + 1
            self.bumped_pts += 1
        self.last_pts = frame.pts
        try:
            packets = self.video.encode(frame)
        except av.FFmpegError as ex:
            if self.frames:
                raise
            raise self._refused(frame, ex) from ex  # some take the first frame only to refuse it (VC-2)
        self._mux_video(packets)
        self.frames += 1

    def _start(self, frame: av.VideoFrame) -> None:
        """The encoder opened, then the header written, before any packet, so that each refusal is named. The
        first packet had written the header, and a muxer that refused it there refused every packet after it:
        VP9 in mov or an unlabelled codec in MXF left an empty file, reported as written, and the copied sound
        counted as damaged packets."""
        try:
            self.video.codec_context.open(strict=False)
        except av.FFmpegError as ex:  # some refuse sizes or rates (DNxHD at 96x64), or have no chip here
            raise self._refused(frame, ex) from ex
        try:
            self.out.start_encoding()
        except av.FFmpegError as ex:
            if full := disk_full(ex, self.path):
                raise full from ex
            streams = " and ".join(f"{s.codec_context.name} {s.type}" for s in self.out.streams if s.codec_context)
            raise OutputError(f"{self.path}: the {self.out.format.name} container cannot start a file of {streams} "
                              f"(FFmpeg: {ex.strerror or ex}); try another container") from ex

    def _refused(self, frame: av.VideoFrame, ex: av.FFmpegError) -> OutputError:
        hint = refusal_hint(self.opts.codec)
        return OutputError(f"{self.path}: the {self.opts.codec} encoder refused this video ({frame.width}x"
                           f"{frame.height} {frame.format.name}): {ex}{hint}")

    def packet(self, packet: av.Packet) -> None:
        if self.video is None:
            self.pending.append(packet)
            return
        index = packet.stream.index
        if packet.stream.type == "audio":
            self.heard.add(index)
        if self.rebase and packet.pts is not None:
            shift = round(self.offset_s / packet.time_base)
            # starts before the first frame (a range's; AAC priming, in AVI); re-encoded sound that goes on
            # into the range is kept, and cut at its start once decoded
            if packet.pts < shift and not (index in self.transcode and still_heard(packet, self.offset_s)):
                if still_shown(packet, self.offset_s):
                    packet.duration -= shift - packet.pts  # a subtitle still on screen: from the range's start
                elif not (self.muxer.sound_in_frames and packet.pts + (packet.duration or 0) > shift):
                    return
                # else sound that DV must have with the first frame: NTSC's 1601.6 samples a frame put the
                # range's start inside a packet, which starts with the frame, less than a frame early
                packet.dts = packet.pts = shift
            packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
        if index in self.aac_rates:
            self._watch_rate(index, packet)
        if index in self.mapping:
            packet.stream = self.mapping[index]
            try:
                self._mux([packet])
            except av.FFmpegError:  # damaged or mistimed: the muxer refuses it; the rest plays on
                self.skipped_packets += 1
        elif index in self.retext:
            try:
                self._mux([_rewrap_text(packet, *self.retext[index])])
            except av.FFmpegError:
                self.skipped_packets += 1
        elif index in self.transcode:
            try:
                for f in packet.decode():
                    if self.rebase and f.pts is not None and f.pts < 0:  # begun before the range
                        f = _without_first(f, round(-f.pts * f.time_base * f.sample_rate))
                    if f is not None:
                        self._mux(self.transcode[index].encode(f))
            except av.FFmpegError:
                self.skipped_packets += 1

    def _watch_rate(self, index: int, packet: av.Packet) -> None:
        """Joined recordings can change AAC's sample rate mid-track. A copy keeps one rate for the track, so
        the later part would play at the wrong speed; copying cannot wait for the whole track to judge, so
        the change is said."""
        rate, first = _adts_rate(packet), self.aac_rates[index]
        if rate is None:
            return
        if first is None:
            self.aac_rates[index] = rate
        elif rate != first:
            del self.aac_rates[index]  # said once: the track's other packets are not looked at
            when = f" from {float(packet.pts * packet.time_base):.2f} s" if packet.pts is not None else ""
            log.warning("audio stream #%d changes its sample rate (%d Hz%s, %d Hz before): the %s track holds one "
                        "rate, so that part plays at the wrong speed; write to .ts to keep it", index, rate, when,
                        first, self.path.suffix.lstrip(".") or self.out.format.name)

    def _mux(self, packets) -> None:
        """Packets into the file, one at a time. The muxer interleaves the streams: a packet handed over now
        may be written during a later call, so a damaged copied packet (a one-byte AAC frame in MPEG-TS)
        can be refused while our own video is handed over. Our encoders' packets are sound: invalid data, or
        an invalid argument (a damaged flv's sound stream whose header Matroska cannot parse), is then a copied
        packet's, left out and counted; the packets queued with it are written later."""
        for packet in packets:
            try:
                self.out.mux(packet)
                self.filled.add(packet.stream.index)
            except (av.InvalidDataError, av.ArgumentError) as ex:
                if isinstance(ex, av.ArgumentError) and self.muxer.sound_in_frames:
                    raise OutputError(f"{self.path}: DV stores each frame's sound inside it, and this film's sound "
                                      "does not keep pace with its picture (it starts late, or has gaps): write it "
                                      "to .mkv or .mov") from ex
                if not (self.mapping or self.retext):
                    raise
                self.skipped_packets += 1
            except OSError as ex:  # PyAV's errors are OSErrors too
                raise disk_full(ex, self.path) or ex

    def _mux_video(self, packets: list[av.Packet], final: bool = False) -> None:
        """`final`: the encoder's last packets, from its flush."""
        self.coded += sum(1 for p in packets if p.size)
        if self.muxer.decode_order_times:  # only these need when the pictures end
            for p in packets:
                if self.first_times is None and p.pts is not None and p.dts is not None:
                    self.first_times = p.pts, p.dts
                if p.pts is not None:
                    self.shown_until = max(self.shown_until, p.pts + max(p.duration or 0, 0))
            if final and packets:
                self._hold_last_picture(packets[-1])
        self._mux(packets)

    def _hold_last_picture(self, last: av.Packet) -> None:
        """mp4 and mov time samples in decode order: the track lasts as long as the samples' durations add up
        to, from the first packet's decode time, and the last one's is its packet's. With B-frames that
        packet is not the last picture shown, and a held last picture (a title card; a variable rate's end)
        would be cut to one period: the last packet lasts until the last picture ends (for frames of one
        period, that is its own duration)."""
        if self.first_times is None or last.dts is None:
            return
        first_pts, first_dts = self.first_times
        last.duration = max(last.duration or 0, self.shown_until - first_pts - (last.dts - first_dts))

    def close(self) -> None:
        """Flush the encoders and write the trailer."""
        try:
            if self.video is not None:
                self._mux_video(self.video.encode(None), final=True)
                for sound in self.transcode.values():
                    self._mux(sound.encode(None))
            self._refuse_empty_tracks()
        except BaseException:
            self.abort()
            raise
        try:
            self.out.close()  # writes the trailer: the disk can fill here too
        except av.InvalidDataError as ex:
            self._refused_while_closing(ex)
        except OSError as ex:
            raise disk_full(ex, self.path) or OutputError(
                f"{self.path}: could not finish the file ({ex.strerror or ex}); nothing was left") from ex
        if self.first_number is None:  # image files hold pictures only, which is said already
            self.dropped_tags = self._dropped_tags()

    def unheard(self) -> list[int]:
        """Input sound tracks whose packets reached the writer and none was written: a copied track's packets
        are whole, and a range inside one of them (PCM in one packet, FLAC's 0.1 s) began after its start.
        mp4 and mov then leave the track out."""
        written = self.mapping | {i: t.stream for i, t in self.transcode.items()}
        return sorted(i for i in self.heard if i in written and written[i].index not in self.filled)

    def _dropped_tags(self) -> list[str]:
        """The film's tags that the written file does not read back: each muxer holds its own set (mp4 has
        no DATE_RECORDED, mov no description, MPEG-TS nothing but its title) and leaves the others out
        without a word."""
        try:
            with av.open(str(self.file)) as written:
                kept = {key.lower() for key in written.metadata} | self.muxer.unread_tags
        except (av.FFmpegError, OSError):  # a stream FFmpeg writes and cannot read back: no word on its tags
            return []
        dropped = {key for key in self.tags if key.lower() not in kept}
        # mov's and mp4's strings come twice, the second named with their language (location-eng): said once
        return sorted((key for key in dropped if "-" not in key or key.rsplit("-", 1)[0] not in dropped),
                      key=str.lower)

    def _refuse_empty_tracks(self) -> None:
        """MXF fails to finish a file with a track that holds nothing (FFmpeg's 'unknown error'): a range past
        the end of a truncated film's sound, or a track whose every packet was damaged. Said by name."""
        if not self.muxer.no_empty_tracks:
            return
        empty = [s for s in self.out.streams if s.index not in self.filled]
        if empty:
            named = ", ".join(f"{s.type} track {s.index}" for s in empty)
            raise OutputError(f"{self.path}: MXF cannot finish a track that holds nothing, and {named} got no "
                              "packet (the sound may end before the range, or be damaged): write to .mov or .mkv, "
                              "or choose a range with sound")

    def _refused_while_closing(self, error: av.InvalidDataError) -> None:
        """The muxer writes the packets it still holds for interleaving when it finishes the file, and stops
        at one it refuses: a damaged copied packet near the end (a short AAC frame, into MPEG-TS) failed
        the whole film there. FFmpeg still writes the trailer; the file is kept when every video packet
        made it in (only sound or subtitles after the damaged packet are lost), else refused by name."""
        if not (self.mapping or self.retext) or self.video is None:
            raise error
        with av.open(str(self.file)) as written:
            kept = sum(1 for p in written.demux(written.streams.video[0]) if p.size)
        if kept < self.coded:
            raise OutputError(f"{self.path}: a damaged sound or subtitle packet near the end was refused while "
                              f"the file was finished, and the last {self.coded - kept} video frames with it; "
                              "nothing was left") from error
        self.tail_refused = True

    def abort(self) -> None:
        try:
            self.out.close()
        except av.FFmpegError:
            pass
