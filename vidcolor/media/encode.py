"""Encode and mux: colorized video frames, the other streams copied packet for packet.

The writer opens its streams on the first video frame, when size, pixel format and rotation
are known. Audio whose codec the output container cannot hold is transcoded (AAC, or the
container's default) with a warning; SRT and mp4 timed text are rewrapped into each other; other
subtitles the container cannot hold, and streams with a damaged codec header, are dropped with a
warning. Damaged side packets the muxer refuses are skipped and counted. The source's SMPTE timecode
goes on the output's video stream (mov and mp4 write a timecode track from it), moved to a range's start.
"""
from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.codec.context import Flags

from .. import __version__
from ..errors import OutputError, UsageError
from ..outputs import disk_full
from ..timecode import shift_smpte, timecode_tag
from .decode import film_start, still_shown
from .sequence import IMAGE_CODECS, is_sequence, numbered, opened_first, scan_header

log = logging.getLogger("vidcolor")

_STALE_TAGS = {"duration", "encoder", "number_of_frames", "number_of_bytes", "bps"}  # describe the old encode


def _tags(metadata: dict) -> dict:
    return {k: v for k, v in metadata.items() if k.lower().split("-")[0] not in _STALE_TAGS | {"timecode"}}


def _source_timecode(source: av.container.InputContainer) -> str | None:
    """The film's SMPTE timecode: a tag of the video stream (mov, mkv), of a timecode track, or of the
    container (mxf); for DPX scans, the first frame's header."""
    if (first := opened_first(source)) is not None:
        return scan_header(numbered(Path(source.name), first)).timecode
    data = [s.metadata for s in source.streams if s.type == "data"]
    tags = (timecode_tag(m) for m in (source.streams.video[0].metadata, *data, source.metadata))
    return next((t for t in tags if t is not None), None)


# x264's and x265's speed presets, fastest first; the other encoders' speeds are named by them too
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")


@dataclass(frozen=True)
class EncodeOptions:
    codec: str = "libx264"
    crf: int = 18  # visually lossless for x264/x265
    preset: str = "veryfast"  # the encoder shares the CPU with the model: see docs/throughput.md

    def __post_init__(self) -> None:
        """An encoder this FFmpeg lacks, or a preset none knows, is refused here, before any work (once for a
        whole folder): the encoder would refuse it only when it opens, at the first colorized frame."""
        try:
            kind = av.codec.Codec(self.codec, "w").type
        except (av.FFmpegError, ValueError):
            kind = None
        if kind != "video":
            raise UsageError(f"--codec {self.codec}: this FFmpeg has no video encoder of that name (libx264, "
                             "libx265, libvpx-vp9, libsvtav1, ffv1, prores_ks, dnxhd, mpeg2video, ...)")
        if self.preset not in PRESETS:
            raise UsageError(f"unknown --preset {self.preset!r}: use one of {', '.join(PRESETS)}")


# DV's profiles (FFmpeg's libavcodec/dv_profile.c): the pixel formats the dvvideo encoder takes at each
# picture size. It lists 4:2:0 too, then refuses an NTSC picture in it: DV25 is 4:1:1 there.
_DV_FORMATS = {(720, 480): {"yuv411p", "yuv422p"}, (720, 576): {"yuv420p", "yuv411p", "yuv422p"},
               (960, 720): {"yuv422p"}, (1280, 1080): {"yuv422p"}, (1440, 1080): {"yuv422p"}}


def encoder_formats(codec: str, width: int, height: int) -> set[str] | None:
    """The pixel formats a video encoder takes for pictures of this size; None when FFmpeg lists none or
    does not know the codec (the Writer names that error). UsageError for a size DV cannot hold."""
    try:
        formats = av.codec.Codec(codec, "w").video_formats
    except (av.FFmpegError, ValueError):
        return None
    names = {f.name for f in formats} if formats else None
    if codec == "mjpeg" and names:  # lists limited range too, then refuses it unless told to break the standard
        names = {n for n in names if n.startswith("yuvj")}
    if codec == "dvvideo" and names:
        if (width, height) not in _DV_FORMATS:
            sizes = ", ".join(f"{w}x{h}" for w, h in _DV_FORMATS)
            raise UsageError(f"DV holds pictures of {sizes} only; this film is {width}x{height}: write it to "
                             ".mkv, .mov or .mp4")
        names &= _DV_FORMATS[width, height]
    return names


# AVFieldOrder of interlaced video: top field first (TT, TB) or bottom field first (BB, BT)
_TOP_FIRST, _BOTTOM_FIRST = {2, 4}, {3, 5}
_INTERLACED = _TOP_FIRST | _BOTTOM_FIRST


def _encoder_options(codec: str, opts: EncodeOptions, field_order: int = 0) -> dict[str, str]:
    """`field_order`: the source's AVFieldOrder; interlaced video is coded as fields by libx264 (coded
    as frames, its combing would show, and players would not deinterlace it).

    Every encoder gets FFmpeg's own default threads, frame threads where it has them and slices otherwise:
    PyAV opens encoders with slice threads only. x264 then cut each picture into one slice per core,
    none predicting from another: 1-4% more bytes at the same PSNR on three films on 2 cores, 8-13% on 16,
    and its threads waited at every picture's end (bench/x264_threads.py); PNG and TIFF, which have no slice
    threads, coded in one: now 1.9 x as fast at 1080p on 2 cores, the same files (bench/image_threads.py)."""
    return {"thread_type": "frame+slice"} | _codec_options(codec, opts, field_order)


def _codec_options(codec: str, opts: EncodeOptions, field_order: int) -> dict[str, str]:
    if codec == "libx264":
        return _x264_options(opts, field_order)
    if codec == "libx265":  # x265 prints a dozen lines of its own on every run; errors only
        if opts.crf == 0:  # crf 0 is lossless only at 8 bits; qp 0 is lossless at every depth
            return {"qp": "0", "x265-params": "log-level=error:lossless=1", "preset": opts.preset}
        offsets = f"cbqpoffs={CHROMA_QP_OFFSET}:crqpoffs={CHROMA_QP_OFFSET}"
        return {"crf": str(opts.crf), "x265-params": f"log-level=error:{offsets}", "preset": opts.preset}
    if codec == "libvpx-vp9":  # rows in parallel
        return {"crf": str(opts.crf), "b": "0", "row-mt": "1", "cpu-used": _speed(_VPX_SPEED, opts.preset)}
    if codec == "libsvtav1":
        return {"crf": str(opts.crf), "preset": _speed(_SVT_PRESET, opts.preset)}
    if codec == "libaom-av1":
        return {"crf": str(opts.crf)}
    if codec in _QSCALE_CODECS:  # without a quality they code at 200 kb/s, whatever the size
        q = str(qscale(opts.crf))  # their fixed quantizer comes from each frame's quality, which PyAV leaves
        return {"flags": "+qscale", "qmin": q, "qmax": q}  # at 0: the bounds pin it instead
    return {}


# Our chroma is a smooth prediction, not a recording: coded this many quantizer steps coarser than luma by
# x264 it stays 47-53 dB from the colors predicted (the prediction itself is about 25 dB from the truth), for
# 4-21% fewer bytes at the same luma quality on four films, and less of x264's CPU (bench/x264_settings.py,
# docs/throughput.md, session 22); by x265, 3-10% fewer bytes at the same luma on three films
CHROMA_QP_OFFSET = 8


def _x264_options(opts: EncodeOptions, field_order: int) -> dict[str, str]:
    """x264's options: the quality, the chroma offset above, fields for interlaced video, and at veryfast
    (the default, which shares the CPU with the model) a cheaper motion search."""
    if opts.crf == 0:  # crf 0 is lossless only at 8 bits; qp 0 is lossless at every depth, chroma too
        options = {"qp": "0", "preset": opts.preset}
    else:
        options = {"crf": str(opts.crf), "preset": opts.preset, "chromaoffset": str(CHROMA_QP_OFFSET)}
    params = []
    if field_order in _INTERLACED:
        options["flags"] = "+ilme+ildct"
        params.append("tff=1" if field_order in _TOP_FIRST else "bff=1")
    if opts.preset == "veryfast":  # a diamond search instead of a hexagon: -1.2% to +0.4% bytes at the same
        params.append("me=dia")    # luma PSNR on four films, 5-14% less of x264's CPU (bench/x264_settings.py)
    return options | ({"x264-params": ":".join(params)} if params else {})


def _speed(speeds: dict[str, int], preset: str) -> str:
    """An encoder's own speed setting for one of x264's preset names."""
    return str(speeds[preset])


def unused_options(codec: str, opts: EncodeOptions) -> list[str]:
    """Warnings for the options set away from their defaults that `codec` takes no notice of (lossless and
    profile-driven encoders: FFV1, ProRes, DNxHD, image files): said rather than silently dropped."""
    unused = [name for name, changed, codecs in (
        ("--crf", opts.crf != EncodeOptions.crf, _CRF_CODECS | _QSCALE_CODECS),
        ("--preset", opts.preset != EncodeOptions.preset, _PRESET_CODECS)) if changed and codec not in codecs]
    return [f"{name} has no effect on the {codec} encoder" for name in unused]


def qscale(crf: int) -> int:
    """The fixed quantizer (1 best, 31 worst) that FFmpeg's MPEG-1/2/4 and MJPEG encoders get for `crf`:
    18, x264's visually lossless, is their 2, the quantizer commonly used for masters; 4 crf steps per step."""
    return max(1, min(31, round(2 + (crf - 18) / 4)))


_CRF_CODECS = {"libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1"}
_PRESET_CODECS = {"libx264", "libx265", "libvpx-vp9", "libsvtav1"}
# x264's preset names as libvpx speeds (cpu-used, 0 slowest): veryfast, the default, is speed 4, 2x libvpx's
# default speed for 5% more bytes (480p); medium is libvpx's default
_VPX_SPEED = {"ultrafast": 8, "superfast": 6, "veryfast": 4, "faster": 3, "fast": 2, "medium": 1, "slow": 1,
              "slower": 0, "veryslow": 0, "placebo": 0}
# and as SVT-AV1 presets (13 fastest): veryfast is SVT's own default, 8, as before
_SVT_PRESET = {"ultrafast": 12, "superfast": 10, "veryfast": 8, "faster": 7, "fast": 6, "medium": 5, "slow": 4,
               "slower": 3, "veryslow": 2, "placebo": 1}
_QSCALE_CODECS = {"mpeg1video", "mpeg2video", "mpeg4", "msmpeg4", "msmpeg4v2", "mjpeg", "h263", "h263p", "flv",
                  "wmv1", "wmv2"}
_ONE_FRAME_TIME_BASE = {"mpeg1video", "mpeg2video"}  # encoders that count time in frames (no variable rate)
_NO_FILM_VIDEO = {None, "none", "png"}  # sound containers' own video: nothing, or a cover picture (mp3, flac)
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


# Apple's .m4v files are MP4 (video and sound); FFmpeg's m4v muxer writes a bare MPEG-4 part 2 video stream
_MUXER_FOR_SUFFIX = {"m4v": "mp4"}
_MANY_FILES = {"hls", "dash", "segment", "stream_segment", "ssegment", "smoothstreaming", "webm_chunk",
               "webm_dash_manifest", "tee", "fifo"}
_ONE_PICTURE = {"image2", "apng", "gif", "webp"}  # a single file name: one image (sequences are patterns)


def format_for(path: Path) -> str | None:
    """The muxer FFmpeg would pick for this file name (the temporary name hides the real one)."""
    if is_sequence(path):
        return "image2"
    suffix = path.suffix.lower().lstrip(".")
    if suffix in _MUXER_FOR_SUFFIX:
        return _MUXER_FOR_SUFFIX[suffix]
    names = []
    for name in sorted(av.formats_available):
        try:
            if suffix in av.format.ContainerFormat(name, "w").extensions:
                names.append(name)
        except ValueError:  # a demuxer only
            continue
    if not names:
        raise OutputError(f"{path}: unknown output format {path.suffix!r} (use .mp4, .mkv, .mov, ...)")
    fmt = suffix if suffix in names else names[0]
    if fmt in _MANY_FILES:  # they would write their segments under the temporary name, and leave them
        raise OutputError(f"{path}: {fmt} writes a playlist and many segment files; write one film (.mp4, "
                          ".mkv) and package it for streaming afterwards")
    if fmt in _ONE_PICTURE:
        raise OutputError(f"{path}: an image file holds one picture; for every frame name a sequence "
                          f"({path.stem}_%06d{path.suffix if path.suffix.lower() in IMAGE_CODECS else '.png'}), "
                          "for a contact sheet use `vidcolor preview`")
    return fmt


@dataclass(frozen=True)
class _Muxer:
    """What a muxer needs that FFmpeg does not say: each learned from files that read back wrong."""

    own_video: str | None = None  # holds H.264 but reads it back without frame times: code this instead
    from_zero: bool = False  # streams start at 0, as they read back
    no_reorder: bool = False  # stores no presentation times: with B-frames readers would guess each frame's
    counts_frames: bool = False  # video time in frames: in other units the first frame reads back late
    untimed_sound: bool = False  # places sound by its order: an encoder's priming, timed before 0, shifts the picture
    rates: tuple[int, ...] = ()  # the only sample rates it takes
    video_first: bool = False  # refuses a header without a video stream first
    identified: frozenset[str] | None = None  # the codecs players find in it, where it writes any
    attachments: bool = False  # holds files (fonts for subtitles, notes, checksums); webm and MPEG-TS take
    # them without an error, and keep none
    cover_art: bool = False  # holds a cover picture as a stream; mov takes one without an error, and keeps none
    hevc_tag: str | None = None  # H.265's sample entry, where FFmpeg's default (hev1) is one Apple's players refuse
    sound_in_frames: bool = False  # stores each frame's sound inside it: sound that falls behind fails the file
    # times samples in decode order: the track lasts as long as their durations add up to, and the last one's
    # is its packet's, which with B-frames is not the last picture shown
    decode_order_times: bool = False
    no_empty_tracks: bool = False  # cannot finish a file in which a track got no packet


_OGG = _Muxer(from_zero=True, counts_frames=True)  # Ogg counts sound (FLAC, Vorbis) in samples from 0, VP8 in frames
_MPEG_PS = _Muxer(own_video="mpeg2video")  # H.264 in MPEG-PS: most frames read back untimed
_MUXERS = {
    "matroska": _Muxer(attachments=True),
    "mp4": _Muxer(cover_art=True, hevc_tag="hvc1", decode_order_times=True),
    "mov": _Muxer(hevc_tag="hvc1", decode_order_times=True),
    "3gp": _Muxer(decode_order_times=True), "3g2": _Muxer(decode_order_times=True),  # phones' mp4
    # AVI counts frames from its start: in a finer time base (1/600 from MPEG-TS) every gap is an empty frame
    "avi": _Muxer(from_zero=True, no_reorder=True, counts_frames=True, untimed_sound=True),
    "ogg": _OGG, "ogv": _OGG, "mpeg": _MPEG_PS, "vob": _MPEG_PS, "dvd": _MPEG_PS,
    # H.264 in MXF reads back in decode order; "only 48khz is implemented"
    "mxf": _Muxer(own_video="mpeg2video", rates=(48000,), video_first=True, no_empty_tracks=True),
    "dv": _Muxer(video_first=True, sound_in_frames=True),
    # only codecs with an MPEG-TS stream type: FLAC or PCM would be written, and lost to players
    "mpegts": _Muxer(identified=frozenset({"mp2", "mp3", "aac", "aac_latm", "ac3", "eac3", "dts", "truehd", "opus",
                                           "dvb_subtitle", "dvb_teletext"})),
}


def _muxer(fmt: str) -> _Muxer:
    return _MUXERS.get(fmt, _Muxer())


def _muxer_takes(fmt: str, stream: av.stream.Stream, codec: str | None = None) -> bool:
    """Whether the `fmt` muxer holds a copy of `stream` (or, with `codec`, the stream re-encoded to it) in
    a form players read. Asked of the muxer itself, which writes a header in memory: FFmpeg's codec lists
    are short for formats without a codec table (MPEG-TS takes AAC and AC-3, not only MP2) and too long
    for others (mov lists FLAC and Opus, then refuses them; avi refuses AAC without its header)."""
    name, muxer = codec or stream.codec_context.codec.canonical_name, _muxer(fmt)
    if muxer.identified is not None and name not in muxer.identified:
        return False
    try:
        with _in_memory(fmt) as probe:
            if muxer.video_first:
                _add_probe_video(probe, probe.default_video_codec)
            if codec is None:
                _named_layout(probe.add_stream_from_template(stream), stream)
            else:
                rate = _sample_rate(codec, stream.codec_context.sample_rate, fmt)
                probe.add_stream(codec, rate=rate).layout = _layout(stream)
            probe.start_encoding()
    except (av.FFmpegError, ValueError):
        return False
    return True


@contextmanager
def _in_memory(fmt: str) -> Iterator[av.container.OutputContainer]:
    """A muxer that writes to memory, to ask it what it takes: an error while it writes its header is the
    answer. Its trailer is not: MXF refuses to close without frames."""
    probe = av.open(io.BytesIO(), "w", format=fmt)
    try:
        yield probe
    finally:
        with suppress(av.FFmpegError):
            probe.close()


def _add_probe_video(probe: av.container.OutputContainer, codec: str) -> None:
    """A PAL picture: the muxers that want their video first open its encoder on it, and DV's takes
    broadcast sizes only."""
    v = probe.add_stream(codec, rate=25)
    v.width, v.height, v.pix_fmt = 720, 576, "yuv420p"


def _layout(stream: av.audio.stream.AudioStream) -> av.AudioLayout:
    """The stream's channel layout; where the file names no channels (PCM in mkv reads back as '2
    channels'), the usual layout of that many: mp4 refuses an unnamed one at its trailer, and the AAC and
    MP2 encoders refuse to open with one."""
    layout = stream.codec_context.layout
    if layout.nb_channels and all(c.name == "NONE" for c in layout.channels):
        return av.AudioLayout(f"{layout.nb_channels}c")
    return layout


def _named_layout(out: av.stream.Stream, source: av.stream.Stream) -> av.stream.Stream:
    """`out`, a copy of `source`, with its channels named (_layout); the packets are the same."""
    if source.type == "audio":
        out.codec_context.layout = _layout(source)
    return out


def _sample_rate(codec: str, rate: int, fmt: str) -> int:
    """`rate` if the encoder and the `fmt` muxer take it, else the nearest rate above it that they take
    (Opus: 48 kHz only; MXF: 48 kHz only)."""
    rates = _muxer(fmt).rates or av.codec.Codec(codec, "w").audio_rates
    if not rates or rate in rates:
        return rate
    return min((r for r in rates if r >= rate), default=max(rates))


def video_codec(path: Path, codec: str) -> tuple[str, str | None]:
    """`codec` and None, unless it is the default, H.264, and the container cannot hold it or holds it badly:
    then the container's own encoder (VP9 for webm, MPEG-2 for MPEG-PS and MXF) and the reason. Whether it
    holds H.264 is asked of the muxer, which writes a header in memory: Ogg takes an H.264 stream, then
    refuses it at its header."""
    if codec != EncodeOptions.codec:
        return codec, None
    fmt = format_for(path)
    if own := _muxer(fmt).own_video:
        return own, f"H.264 in {path.suffix} files reads back without its frames' times"
    try:
        with _in_memory(fmt) as probe:
            own = probe.default_video_codec
            _add_probe_video(probe, codec)
            probe.start_encoding()
        return codec, None
    except (av.FFmpegError, ValueError):
        pass
    if own in _NO_FILM_VIDEO:
        raise OutputError(f"{path}: the {fmt} container holds sound only (write .mkv, .mp4, .mov or .webm)")
    try:
        return av.codec.Codec(own, "w").name, f"the {path.suffix} container cannot hold {codec}"
    except (av.FFmpegError, ValueError):
        raise OutputError(f"{path}: the {fmt} container holds {own} video, and this FFmpeg build has no {own} "
                          "encoder (write .mkv, .mp4, .mov or .webm)") from None


def _audio_target(fmt: str, stream: av.audio.stream.AudioStream, default: str) -> str:
    """The codec for audio the container cannot hold as it is: lossless stays lossless where the container
    takes a lossless codec (PCM of the source's depth first, as editors expect in mov and avi; ALAC first in
    mp4, where players know it better), else AAC, else the container's default."""
    ctx = stream.codec_context
    candidates: tuple[str, ...] = ("aac",)
    if ctx.codec.lossless:
        pcm = "pcm_s24le" if ctx.format.bits > 16 else "pcm_s16le"
        candidates = (("alac", pcm) if fmt == "mp4" else (pcm, "alac")) + ("flac", "aac")
    return next((c for c in candidates if _muxer_takes(fmt, stream, c)), default)


def is_cover(stream: av.stream.Stream) -> bool:
    """A cover picture: a video stream of one attached picture (mp4's cover art, Matroska's image files)."""
    return stream.type == "video" and bool(stream.disposition & av.stream.Disposition.attached_pic)


def _cover_file(stream: av.stream.Stream) -> tuple[str, str]:
    """File name and type of a cover: Matroska's own, else from its codec (mp4 covers are JPEG or PNG)."""
    png = stream.codec_context.name == "png"
    return (stream.metadata.get("filename") or ("cover.png" if png else "cover.jpg"),
            stream.metadata.get("mimetype") or ("image/png" if png else "image/jpeg"))


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
        an image sequence, the first frame's number; the others are numbered by their time, so a frame
        that could not be decoded leaves its number out instead of shifting all that follow. `chapters`: as
        PyAV's `chapters()` gives them (the pipeline's, cut to a range)."""
        self.source, self.opts, self.rate = source, opts, rate
        self.file, self.path = path, label or path
        self.side_streams = side_streams
        self.first_number = first_number
        self.chapters = chapters or []
        options = {"frame_pts": "1"} if first_number is not None else None  # file names from pts
        try:
            self.out = av.open(str(path), mode="w", format=format_for(self.path), options=options)
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
        self.skipped_packets = 0  # damaged audio/subtitle packets left out
        self.filled: set[int] = set()  # output streams that got a packet (kept where the muxer needs it)
        self.muxer = _muxer(self.out.format.name)
        self.rebase = rebase or self.muxer.from_zero
        self.offset_s = 0.0  # seconds subtracted from every timestamp

    def _open_streams(self, frame: av.VideoFrame, rotation: int) -> None:
        """The output's streams, at the first frame: the video stream it sets up, then the side streams
        copied, transcoded or dropped, then the container's tags, chapters and attachments."""
        timecode = self._timecode(self.source.streams.video[0])
        self.video = self._video_stream(frame, rotation, timecode)
        self._side_streams()
        self.out.metadata.update(_tags(self.source.metadata))
        if timecode and timecode_tag(self.source.metadata):
            self.out.metadata["timecode"] = timecode
        if self.chapters:
            self.out.set_chapters(self.chapters)
        self._attach()

    def _video_stream(self, frame: av.VideoFrame, rotation: int, timecode: str | None) -> av.video.stream.VideoStream:
        src_video = self.source.streams.video[0]
        if self.opts.codec == "libsvtav1":
            os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1's own banner, read at its start: errors only
        try:
            field_order = src_video.codec_context.field_order
            v = self.out.add_stream(self.opts.codec, rate=self.rate or Fraction(25),
                                    options=_encoder_options(self.opts.codec, self.opts, field_order)
                                    | ({"bf": "0"} if self.muxer.no_reorder else {}))
        except (av.FFmpegError, ValueError) as ex:
            raise OutputError(f"{self.path}: video codec {self.opts.codec!r} is not available ({ex})") from ex
        v.width, v.height, v.pix_fmt = frame.width, frame.height, frame.format.name
        if v.codec_context.codec.canonical_name == "hevc" and self.muxer.hevc_tag:
            v.codec_tag = self.muxer.hevc_tag
        if field_order in _INTERLACED:
            v.codec_context.field_order = field_order  # the container's flag: players deinterlace
        v.time_base = frame.time_base or src_video.time_base
        if (self.opts.codec in _ONE_FRAME_TIME_BASE or self.first_number is not None
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
        v.metadata.update({k: val for k, val in src_video.metadata.items() if k in ("language", "title")})
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
                if self.muxer.cover_art and _muxer_takes(fmt, s):
                    self.mapping[s.index] = self.out.add_stream_from_template(s)
                    self.mapping[s.index].disposition = s.disposition
                continue
            name = s.codec_context.codec.canonical_name  # mp3, not its decoder mp3float
            if name in _NEEDS_HEADER and not s.codec_context.extradata_size:
                log.warning("%s stream #%d (%s) dropped: its codec header is damaged", s.type, s.index, name)
                continue
            if _muxer_takes(fmt, s):
                o = _named_layout(self.out.add_stream_from_template(s), s)
                self.mapping[s.index] = o
                if name == "aac" and fmt != "mpegts":  # keeps one header for the track, not each packet's
                    self.aac_rates[s.index] = None
            elif name in _TEXT_SUBTITLES and (text := next((t for t in _TEXT_TARGETS if t in supported), None)):
                o = self.out.add_mux_stream(text)
                o.time_base = s.time_base
                self.retext[s.index] = (o, name == "mov_text", text == "mov_text")
            elif s.type == "audio" and self.out.default_audio_codec not in (None, "none"):
                target = _audio_target(fmt, s, self.out.default_audio_codec)
                log.warning("audio stream #%d (%s) re-encoded to %s: the %s container cannot hold %s",
                            s.index, name, target, fmt, name)
                o = self.out.add_stream(target, rate=_sample_rate(target, s.codec_context.sample_rate, fmt))
                o.layout = _layout(s)
                self.transcode[s.index] = _Reencoded(s.index, o, self.muxer.untimed_sound)
            else:
                log.warning("%s stream #%d (%s) dropped: the %s container cannot hold it", s.type, s.index, name, fmt)
                continue
            o.metadata.update(_tags(s.metadata))
            o.disposition = s.disposition

    def _attach(self) -> None:
        """The source's attached files (fonts its subtitles need, notes, checksums) and cover pictures,
        where the output holds them. A cover is a one-packet video stream whose packet comes before the
        film's first frame: it is pending now."""
        files = [(s.index, s.name, s.mimetype, s.data) for s in self.source.streams if s.type == "attachment"]
        files += [(p.stream.index, *_cover_file(p.stream), bytes(p)) for p in self.pending
                  if is_cover(p.stream) and p.stream.index not in self.mapping]
        for index, name, mimetype, data in files:
            if self.muxer.attachments and name and data is not None:
                self.out.add_attachment(name, mimetype or "application/octet-stream", data)
            else:
                log.warning("attached file #%d (%s) dropped: the %s container cannot hold it", index, name,
                            self.out.format.name)

    def _timecode(self, src_video: av.video.stream.VideoStream) -> str | None:
        """The source's timecode, moved to the output's first frame when a range starts later."""
        timecode = _source_timecode(self.source)
        if timecode is None or not self.rebase:
            return timecode
        try:  # without a frame rate, shift_smpte refuses too
            return shift_smpte(timecode, round((self.offset_s - film_start(src_video)) * (self.rate or 0)), self.rate)
        except ValueError as ex:
            log.warning("timecode %r dropped: it cannot be moved to the range's start (%s)", timecode, ex)
            return None

    def frame(self, frame: av.VideoFrame, rotation: int = 0) -> None:
        if self.video is None:
            start = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
            if self.rebase or start < 0:
                self.rebase, self.offset_s = True, start
            self._open_streams(frame, rotation)
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
            frame.pts += self.first_number
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
            # FFmpeg opens the encoder on the first frame: some refuse sizes or rates (DNxHD: broadcast sizes only)
            raise OutputError(f"{self.path}: the {self.opts.codec} encoder refused this video ({frame.width}x"
                              f"{frame.height} {frame.format.name}): {ex}") from ex
        self._mux_video(packets)
        self.frames += 1

    def packet(self, packet: av.Packet) -> None:
        if self.video is None:
            self.pending.append(packet)
            return
        if self.rebase and packet.pts is not None:
            shift = round(self.offset_s / packet.time_base)
            if packet.pts < shift:  # starts before the first frame (a range's; AAC priming, in AVI)
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
        index = packet.stream.index
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
                if self.muxer.no_empty_tracks:
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
