"""What each output container holds: its muxer, the codecs it takes (asked of the muxer itself, which writes
a header in memory) and what FFmpeg does not say, learned from files that read back wrong."""
from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import av

from ..errors import OutputError
from .codecs import EncodeOptions, encoder_formats, encoder_options, refusal_hint
from .sequence import IMAGE_CODECS, is_sequence

_NO_FILM_VIDEO = {None, "none", "png"}  # sound containers' own video: nothing, or a cover picture (mp3, flac)

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
class Muxer:
    """What a muxer needs that FFmpeg does not say: each learned from files that read back wrong."""

    own_video: str | None = None  # holds H.264 but reads it back without frame times: code this instead
    from_zero: bool = False  # streams start at 0, as they read back
    no_reorder: bool = False  # stores no presentation times: with B-frames readers would guess each frame's
    counts_frames: bool = False  # video time in frames: in other units the first frame reads back late
    untimed_sound: bool = False  # places sound by its order: an encoder's priming, timed before 0, shifts the picture
    rates: tuple[int, ...] = ()  # the only sample rates it takes
    video_first: bool = False  # refuses a header without a video stream first
    identified: frozenset[str] | None = None  # the codecs players find in it, where it writes any
    identified_video: frozenset[str] | None = None  # the same for video (MPEG-TS and -PS write ProRes or VP9 as
    # data, and FFmpeg itself read no picture back)
    attachments: bool = False  # holds files (fonts for subtitles, notes, checksums); webm and MPEG-TS take
    # them without an error, and keep none
    cover_art: bool = False  # holds a cover picture as a stream; mov takes one without an error, and keeps none
    hevc_tag: str | None = None  # H.265's sample entry, where FFmpeg's default (hev1) is one Apple's players refuse
    sound_in_frames: bool = False  # stores each frame's sound inside it: sound that falls behind fails the file
    # times samples in decode order: the track lasts as long as their durations add up to, and the last one's
    # is its packet's, which with B-frames is not the last picture shown
    decode_order_times: bool = False
    no_empty_tracks: bool = False  # cannot finish a file in which a track got no packet
    # holds a tag named in reverse DNS (com.apple.quicktime.make) only as an 'mdta' key, when asked
    keyed_tags: bool = False
    unread_tags: frozenset[str] = frozenset()  # tags it holds where FFmpeg reads them back elsewhere
    # holds a track's title only as its handler's name, which players show as the track's name (FFmpeg
    # writes the title tag nowhere there): a commentary track was "SoundHandler"
    titles_as_handler: bool = False


_OGG = Muxer(from_zero=True, counts_frames=True)  # Ogg counts sound (FLAC, Vorbis) in samples from 0, VP8 in frames
_MPEG_VIDEO = frozenset({"mpeg1video", "mpeg2video", "mpeg4", "h264", "hevc"})
# H.264 in MPEG-PS: most frames read back untimed
_MPEG_PS = Muxer(own_video="mpeg2video", identified_video=_MPEG_VIDEO)
_MUXERS = {
    "matroska": Muxer(attachments=True),
    "mp4": Muxer(cover_art=True, hevc_tag="hvc1", decode_order_times=True, keyed_tags=True, titles_as_handler=True),
    "mov": Muxer(hevc_tag="hvc1", decode_order_times=True, keyed_tags=True, titles_as_handler=True),
    "3gp": Muxer(decode_order_times=True), "3g2": Muxer(decode_order_times=True),  # phones' mp4
    # AVI counts frames from its start: in a finer time base (1/600 from MPEG-TS) every gap is an empty frame
    "avi": Muxer(from_zero=True, no_reorder=True, counts_frames=True, untimed_sound=True),
    "ogg": _OGG, "ogv": _OGG, "mpeg": _MPEG_PS, "vob": _MPEG_PS, "dvd": _MPEG_PS,
    # H.264 in MXF reads back in decode order; "only 48khz is implemented"
    "mxf": Muxer(own_video="mpeg2video", rates=(48000,), video_first=True, no_empty_tracks=True),
    "dv": Muxer(video_first=True, sound_in_frames=True),
    # only codecs with an MPEG-TS stream type: FLAC or PCM would be written, and lost to players
    "mpegts": Muxer(identified=frozenset({"mp2", "mp3", "aac", "aac_latm", "ac3", "eac3", "dts", "truehd", "opus",
                                           "dvb_subtitle", "dvb_teletext"}), identified_video=_MPEG_VIDEO,
                    unread_tags=frozenset({"title"})),  # its service's name, a program's tag
}


def muxer_of(fmt: str) -> Muxer:
    return _MUXERS.get(fmt, Muxer())


def muxer_options(path: Path, fmt: str | None, tags: dict[str, str], cover: bool) -> dict[str, str]:
    """What the muxer opens with. A phone's or an editing system's tags are named in reverse DNS
    (com.apple.quicktime.make, .creationdate, com.android.version), which mov and mp4 hold only as 'mdta'
    keys: asked for those, FFmpeg writes every tag so, in place of the classic title and artist atoms other
    players read, and drops mp4's cover art without a word. So only where the film has such a tag (its own
    file held them so) and no `cover` picture goes along where the container keeps one. An AVCHD camcorder's
    .MTS is a Blu-ray stream, 192-byte packets each with its arrival time, as .m2ts is: FFmpeg writes those
    for the name .m2ts only, and a plain 188-byte stream under a camcorder's name otherwise."""
    muxer = muxer_of(fmt or "")
    if path.suffix.lower() == ".mts":
        return {"mpegts_m2ts_mode": "1"}
    if muxer.keyed_tags and not (cover and muxer.cover_art) and any("." in key for key in tags):
        return {"movflags": "use_metadata_tags"}
    return {}


def muxer_takes(fmt: str, stream: av.stream.Stream, codec: str | None = None) -> bool:
    """Whether the `fmt` muxer holds a copy of `stream` (or, with `codec`, the stream re-encoded to it) in
    a form players read. Asked of the muxer itself, which writes a header in memory: FFmpeg's codec lists
    are short for formats without a codec table (MPEG-TS takes AAC and AC-3, not only MP2) and too long
    for others (mov lists FLAC and Opus, then refuses them; avi refuses AAC without its header)."""
    name, muxer = codec or stream.codec_context.codec.canonical_name, muxer_of(fmt)
    if muxer.identified is not None and name not in muxer.identified:
        return False
    try:
        with _in_memory(fmt) as probe:
            if muxer.video_first:
                _add_probe_video(probe, probe.default_video_codec)
            if codec is None:
                named_layout(probe.add_stream_from_template(stream), stream)
            else:
                rate = sample_rate_for(codec, stream.codec_context.sample_rate, fmt)
                probe.add_stream(codec, rate=rate).layout = channel_layout(stream)
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


def _add_probe_video(probe: av.container.OutputContainer, codec: str) -> av.video.stream.VideoStream:
    """A PAL picture (the muxers that want their video first open its encoder on it, and DV's takes
    broadcast sizes only), 4:2:0 where the encoder takes it, else in a format it does; the encoder's own
    options (DNxHR's profile; x265 and SVT-AV1 print no banner as they open)."""
    formats = sorted(encoder_formats(codec, 720, 576) or ())  # MJPEG's as it takes them: full range
    pix_fmt = "yuv420p" if "yuv420p" in formats or not formats else formats[0]
    v = probe.add_stream(codec, rate=25, options=encoder_options(codec, EncodeOptions(codec=codec), pix_fmt=pix_fmt))
    v.width, v.height, v.pix_fmt = 720, 576, pix_fmt
    return v


def channel_layout(stream: av.audio.stream.AudioStream) -> av.AudioLayout:
    """The stream's channel layout; where the file names no channels (PCM in mkv reads back as '2
    channels'), the usual layout of that many: mp4 refuses an unnamed one at its trailer, and the AAC and
    MP2 encoders refuse to open with one."""
    layout = stream.codec_context.layout
    if layout.nb_channels and all(c.name == "NONE" for c in layout.channels):
        return av.AudioLayout(f"{layout.nb_channels}c")
    return layout


def named_layout(out: av.stream.Stream, source: av.stream.Stream) -> av.stream.Stream:
    """`out`, a copy of `source`, with its channels named (channel_layout); the packets are the same."""
    if source.type == "audio":
        out.codec_context.layout = channel_layout(source)
    return out


def sample_rate_for(codec: str, rate: int, fmt: str) -> int:
    """`rate` if the encoder and the `fmt` muxer take it, else the nearest rate above it that they take
    (Opus: 48 kHz only; MXF: 48 kHz only)."""
    rates = muxer_of(fmt).rates or av.codec.Codec(codec, "w").audio_rates
    if not rates or rate in rates:
        return rate
    return min((r for r in rates if r >= rate), default=max(rates))


def video_codec(path: Path, codec: str) -> tuple[str, str | None]:
    """`codec` and None, unless it is the default, H.264, and the container cannot hold it or holds it badly:
    then the container's own encoder (VP9 for webm, MPEG-2 for MPEG-PS and MXF) and the reason. Whether it
    holds H.264 is asked of the muxer, which writes a header in memory: Ogg takes an H.264 stream, then
    refuses it at its header. A codec given that the container does not hold is refused, naming those that
    do (DNxHD in .mkv had failed at the first frame, as 'not available'; VP9 in .mov wrote an empty file)."""
    fmt = format_for(path)
    if codec != EncodeOptions.codec:
        if (hint := refusal_hint(codec)) and not _opens(codec):  # refused at the first frame, after the model
            raise OutputError(f"{path}: the {codec} encoder did not open{hint}")
        if not _holds_video(fmt, codec):
            others = holders(codec)
            raise OutputError(f"{path}: the {path.suffix} container cannot hold {codec} video" +
                              (f" ({', '.join(others)} can)" if others else ""))
        return codec, None
    if own := muxer_of(fmt).own_video:
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


# Named where a container refuses a codec, most used first; MXF (DNxHD's broadcast container) and WebM (VP9's)
# last, and only where their header takes the codec (_holds_video)
_FILM_SUFFIXES = (".mov", ".mkv", ".mp4", ".avi", ".mxf", ".webm")


def holders(codec: str) -> list[str]:
    """The film containers (suffixes, most used first) that hold `codec`'s video."""
    return [suffix for suffix in _FILM_SUFFIXES if _holds_video(format_for(Path(f"film{suffix}")), codec)]


def holding(path: Path, codec: str) -> Path:
    """`path`, or, where its container cannot hold `codec`'s video, the same name in the first that does
    (ProRes from a .mp4: .mov): for the names vidcolor chooses, not for one the user gave."""
    if codec == EncodeOptions.codec or is_sequence(path) or _holds_video(format_for(path), codec):
        return path  # film scans are written back as pictures of their own format
    others = holders(codec)
    return path.with_suffix(others[0]) if others else path


def _opens(codec: str) -> bool:
    """Whether the encoder opens on the probe's picture (in Matroska's sibling NUT, which takes any codec)."""
    try:
        with _in_memory("nut") as probe:
            _add_probe_video(probe, codec).codec_context.open()
    except (av.FFmpegError, ValueError):
        return False
    return True


@cache  # the same answer for every film of a folder: its name is chosen, then its run checks it again
def _holds_video(fmt: str, codec: str) -> bool:
    """Whether the muxer holds `codec`'s video where players find it: FFmpeg's list, which PyAV checks as the
    stream is added, then the header, written in memory (MXF lists every codec, then refuses those it has no
    label for; mov refuses VP9 and AV1 there, Ogg all but its own). True where the encoder does not open on
    the probe's picture (hardware encoders are asked first, by `_opens`): the run will say why."""
    if (known := muxer_of(fmt).identified_video) is not None:
        return av.codec.Codec(codec, "w").canonical_name in known
    try:
        with _in_memory(fmt) as probe:
            v = _add_probe_video(probe, codec)
            try:
                v.codec_context.open()
            except av.FFmpegError:
                return True
            probe.start_encoding()
    except (av.FFmpegError, ValueError):
        return False
    return True


def audio_target(fmt: str, stream: av.audio.stream.AudioStream, default: str) -> str:
    """The codec for audio the container cannot hold as it is: lossless stays lossless where the container
    takes a lossless codec (PCM of the source's depth first, as editors expect in mov and avi; ALAC first in
    mp4, where players know it better), else AAC, else the container's default."""
    ctx = stream.codec_context
    candidates: tuple[str, ...] = ("aac",)
    if ctx.codec.lossless:
        pcm = "pcm_s24le" if ctx.format.bits > 16 else "pcm_s16le"
        candidates = (("alac", pcm) if fmt == "mp4" else (pcm, "alac")) + ("flac", "aac")
    return next((c for c in candidates if muxer_takes(fmt, stream, c)), default)


def is_cover(stream: av.stream.Stream) -> bool:
    """A cover picture: a video stream of one attached picture (mp4's cover art, Matroska's image files)."""
    return stream.type == "video" and bool(stream.disposition & av.stream.Disposition.attached_pic)


def cover_file(stream: av.stream.Stream) -> tuple[str, str]:
    """File name and type of a cover: Matroska's own, else from its codec (mp4 covers are JPEG or PNG)."""
    png = stream.codec_context.name == "png"
    return (stream.metadata.get("filename") or ("cover.png" if png else "cover.jpg"),
            stream.metadata.get("mimetype") or ("image/png" if png else "image/jpeg"))
