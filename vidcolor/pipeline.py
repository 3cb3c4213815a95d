"""The film pipeline, the only place that chains the stages:

(the film's survey, sampled over it: its levels, its colors) -> decode (thread) -> analyze (global vectors,
shots) -> smooth within shots -> render (model) -> compose + encode + mux (thread).
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import av
import torch

from .colorizer import Colorizer, changed_options, shared_colorizer
from .defaults import (
    CPU_BATCH_PIXELS,
    DEFAULT_MODEL,
    DEFAULT_SMOOTH_SECONDS,
    DEFAULT_WORK_SIDE,
    MAX_BATCH_SIZE,
    MAX_SMOOTH_SECONDS,
)
from .errors import AlreadyInColor, InputError, OutputError, UsageError, VidcolorError
from .image import is_reference_table, reference_vector, shot_references
from .interrupts import deferred_interrupt
from .levels import Levels
from .media.codecs import HDR10_CODECS, EncodeOptions, encoder_formats, size_refusal, unused_options
from .media.containers import is_cover, video_codec
from .media.decode import DecodeStats, TimeRange, demux_decode, film_start, shown_until
from .media.encode import Writer
from .media.planes import (
    LINEAR_TRC,
    RGB_FORMATS,
    WRITTEN_FORMATS,
    PlaneFormat,
    compose,
    compose_side_by_side,
    plane_format,
    rgb_format,
    to_plane_format,
    to_rgb,
    transparent,
)
from .media.probe import VideoInfo, counted, film_timecode, open_input, video_info
from .media.sequence import image_codec, is_sequence, named, opened_first
from .model_stage import FrameStage, Rendered
from .outputs import atomic_output, check_output
from .progress import FilmBar
from .shots import shot_at
from .streaming import Consumer, run_ahead
from .survey import check_levels, chosen_levels, film_survey, kept_kinds, said_of_film
from .timecode import format_clock, said_position, timecode_tag, to_position, to_seconds
from .workers import slice_workers

log = logging.getLogger("vidcolor")

DECODE_AHEAD_BATCHES = 2  # decoded frames waiting for the model, in batches
ENCODE_BEHIND_BATCHES = 2  # colorized batches waiting for the encoder
DEFAULT_RATE = 25  # frames/s assumed for the smoothing window when a stream gives no rate
EXPECTED_SHARE = 0.97  # fewer frames than this share of the announced count: warn that the file is damaged


def check_batching(batch_size: int | None, smooth_seconds: float) -> None:
    """The API's frames per batch and smoothing window, refused before any work as the command line's are."""
    if batch_size is not None and not batch_size >= 1:
        raise UsageError(f"batch size {batch_size}: use 1 or more")
    if not 0 <= smooth_seconds <= MAX_SMOOTH_SECONDS:
        raise UsageError(f"smooth seconds {smooth_seconds}: use 0 to {MAX_SMOOTH_SECONDS:g} (the frames of a window "
                         "ahead wait in memory)")


def default_batch_size(device: torch.device, width: int, height: int) -> int:
    """Frames per batch: big batches cost fewer hand-offs between the threads; on a CPU the frames
    a batch keeps in flight are capped by their pixels, so 4K does not take gigabytes."""
    if device.type == "cuda":
        return MAX_BATCH_SIZE
    return max(1, min(MAX_BATCH_SIZE, CPU_BATCH_PIXELS // max(1, width * height)))


@dataclass
class VideoReport:
    input: str
    output: str
    frames_in: int = 0
    frames_out: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    shots: int = 0
    corrupt_packets: int = 0
    warnings: list[str] = field(default_factory=list)
    levels: dict = field(default_factory=dict)  # the film's black and white points, as the network sees them
    coloring: dict = field(default_factory=dict)  # what the film has of color: gray, tinted (and its hues) or color
    kept_color_shots: int = 0  # shots that had colors of their own and kept them

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Seen:
    """What a run has read so far: the planes' format and what else the first frame fixes for the whole film,
    and how far the picture and the sound reach (whether the film was read to its end)."""
    fmt: PlaneFormat | None = None
    rgb: str | None = None  # the RGB format the frames become, for encoders without Y'CbCr and image files
    rotation: int = 0
    changes: PictureChanges | None = None
    decoded: int = 0  # frames decoded: the bar shows those waiting for the model
    from_byte: int = 0  # where the frames read begin in the file: the bar's estimate by bytes
    last: float | None = None  # when the last frame colorized ends
    sound: float | None = None  # when the last audio packet read ends
    after: int | None = None  # a sequence's last frame decoded, by its pts: its number from the first file's
    skipped: list[int] = field(default_factory=list)  # the pts between those decoded: damaged files

    def numbered(self, frame: av.VideoFrame) -> None:
        """Note the frames of a sequence missing before this one: files the decoder skipped as damaged."""
        if frame.pts is None:
            return
        if self.after is not None:
            self.skipped += range(self.after + 1, frame.pts)
        self.after = frame.pts if self.after is None else max(self.after, frame.pts)

    def missing(self, frames: int | None) -> list[int]:
        """The pts skipped between the frames decoded, and after the last where the sequence has `frames`."""
        tail = range(self.after + 1, frames) if frames and self.after is not None else []
        return [*self.skipped, *tail]


def check_formats(codec: str) -> None:
    """Refuse an encoder that takes none of the pixel formats vidcolor writes (GIF: palettes), before its
    container is asked (which would name others that hold it) and before the model loads."""
    listed = av.codec.Codec(codec, "w").video_formats
    written = [*WRITTEN_FORMATS, *RGB_FORMATS[8], *RGB_FORMATS[10]]
    if listed and not {f.name for f in listed} & set(written):
        raise UsageError(f"video codec {codec!r}: it takes none of the formats vidcolor writes "
                         f"({', '.join(written)})")


def _stored_format(frame: av.VideoFrame, codec: str, report: VideoReport, image_files: bool,
                   side_by_side: bool) -> tuple[PlaneFormat, str | None]:
    """The planes' format for this film and encoder, and the RGB format they become for encoders without
    Y'CbCr and for `image_files` (few programs read Y'CbCr TIFFs); a warning when the encoder cannot take
    the natural format (ProRes takes no 4:2:0, MPEG-4 part 2 only 8-bit 4:2:0) or the depth. The encoder
    gets pictures twice as wide `side_by_side`."""
    natural = plane_format(frame)
    accepted = encoder_formats(codec, frame.width * (2 if side_by_side else 1), frame.height)
    rgb = rgb_format(accepted, natural.bits) if accepted else None
    if rgb and (image_files or not accepted & WRITTEN_FORMATS.keys()):
        fmt, stored, bits = natural, rgb, 8 if rgb in RGB_FORMATS[8] else 10
    else:
        try:
            fmt = plane_format(frame, accepted)
        except ValueError:
            raise UsageError(f"video codec {codec!r} takes subsampled chroma only, which needs even sides; "
                             f"this film is {frame.width}x{frame.height} (libx264, ffv1 and prores_ks take "
                             "it as it is)") from None  # an encoder that takes none: check_formats
        rgb, stored, bits = None, fmt.pix_fmt, fmt.bits
    if bits != natural.bits or (rgb is None and stored not in (natural.pix_fmt, frame.format.name)):
        refused = dict.fromkeys(f for f in (frame.format.name, natural.pix_fmt) if f not in (accepted or ()))
        reason = f"{codec} cannot take {' or '.join(refused)}" if rgb is None else f"{codec} takes no other RGB"
        rescaled = (f"; luminance rescaled from {natural.bits} to {bits} bits, no longer bit-identical"
                    if bits != natural.bits else "")  # the film's own format is no news
        report.warnings.append(f"video stored as {stored}: {reason}{rescaled}")
    elif (depth := max(c.bits for c in frame.format.components)) > bits:  # 12- and 16-bit scans
        report.warnings.append(f"video stored as {stored}: vidcolor writes at most {max(WRITTEN_FORMATS.values())}"
                               f" bits; luminance rescaled from {depth} bits, no longer bit-identical")
    if frame.color_trc == LINEAR_TRC:
        report.warnings.append("the film is in linear light (OpenEXR): written with the sRGB curve, and tagged so")
    return fmt, rgb


def _side_streams(container: av.container.InputContainer, report: VideoReport,
                  image_files: bool) -> list[av.stream.Stream]:
    """The audio and subtitle streams to copy or transcode, and cover pictures; a warning for each stream
    left out (attached files and covers: the Writer's, which knows whether the output holds them)."""
    side = []
    film = container.streams.video[0].index  # a sound file's cover picture is its only "film"
    for s in container.streams:
        if s.type in ("audio", "subtitle") or (is_cover(s) and s.index != film):
            if image_files:
                report.warnings.append(f"{s.type} stream #{s.index} not written: image files hold pictures only")
            elif s.codec_context is None:
                report.warnings.append(f"{s.type} stream #{s.index} dropped: unknown codec or damaged header")
            elif s.type == "audio" and not (s.codec_context.sample_rate and s.codec_context.channels):
                # an MPEG-TS track listed but never sent (broadcast recordings): no encoder opens on it
                report.warnings.append(f"audio stream #{s.index} dropped: it carries no sound (no sample rate "
                                       "or channels)")
            else:
                side.append(s)
        elif s.index != film and not _is_timecode_track(s) and s.type != "attachment":
            report.warnings.append(f"{s.type} stream #{s.index} dropped: only the first video stream, audio, "
                                   "subtitles and the timecode are kept")
    return side


class PictureChanges:
    """What changes mid-film that one output stream cannot follow (broadcast recordings, films joined from
    several files): the picture's size, to which later frames are stretched back (the encoder cannot
    change size), and its pixel aspect (4:3 and 16:9 on one digital TV channel), of which the first is
    kept; and transparency (an alpha channel: ProRes 4444, GIF, PNG), which the output does not keep. Each
    is said once, from when."""

    def __init__(self, first: av.VideoFrame, stream: av.video.stream.VideoStream) -> None:
        self.size = (first.width, first.height)
        self.stream = stream
        self.aspect = self._aspect()
        self.resized: tuple[str, int] | None = None  # the first other size, and how many frames had one
        self.reshaped: str | None = None  # the first other pixel aspect
        self.alpha = any(c.is_alpha for c in first.format.components)
        self.transparent: str | None = None  # from when the pictures have transparent pixels

    def _aspect(self) -> Fraction:
        """The decoder's latest pixel aspect (FFmpeg keeps it per picture; PyAV's frames do not show it). The
        decoder reads it ahead of the pictures it puts out, by up to one per frame thread (17 on 16 cores),
        so a change is told that much early, and one within a film's first pictures is missed."""
        return self.stream.codec_context.sample_aspect_ratio or Fraction(1)

    def fit(self, frame: av.VideoFrame) -> av.VideoFrame:
        if self.reshaped is None and (aspect := self._aspect()) != self.aspect:
            self.reshaped = f"{aspect.numerator}:{aspect.denominator}{_from(frame)}"
        if self.alpha and self.transparent is None and transparent(frame):  # until one is found: rare formats
            self.transparent = _from(frame)
        if (frame.width, frame.height) == self.size:
            return frame
        first, count = self.resized or (f"{frame.width}x{frame.height}{_from(frame)}", 0)
        self.resized = (first, count + 1)
        return frame.reformat(*self.size)

    def warnings(self) -> list[str]:
        said = []
        if self.resized:
            first, count = self.resized
            said.append(f"the picture changes size ({first}): {count} frames were stretched to "
                        f"{self.size[0]}x{self.size[1]}, the film's first size")
        if self.reshaped:
            said.append(f"the pixel aspect changes ({self.reshaped}): the output keeps "
                        f"{self.aspect.numerator}:{self.aspect.denominator}, the first, so the picture looks "
                        "squeezed or stretched from there")
        if self.transparent is not None:
            said.append(f"the picture has transparent pixels{self.transparent}: the output keeps no alpha channel, "
                        "so they are written opaque, showing the picture stored under them")
        return said


def _from(frame: av.VideoFrame) -> str:
    return f" from {frame.time:.2f} s" if frame.time is not None else ""


def _unkept_in_images(rotation: int, stream: av.video.stream.VideoStream) -> list[str]:
    """Image files hold no rotation or pixel aspect: pictures are written as stored, and the warning says so."""
    sar = stream.sample_aspect_ratio
    lost = ([f"rotation ({rotation} degrees)"] if rotation else []) + (
        [f"pixel aspect ({sar.numerator}:{sar.denominator})"] if sar and sar != 1 else [])
    return [f"image files keep no {' or '.join(lost)}: frames written as stored"] if lost else []


def _chapters(container: av.container.InputContainer, span: TimeRange | None) -> list[dict]:
    """The film's chapters; for a range, those it overlaps, moved to its start and cut at its end."""
    chapters = container.chapters()
    if span is None:
        return chapters
    start = span.start + film_start(container.streams.video[0])
    length = None if span.end is None else span.end - span.start
    kept = []
    for chapter in chapters:
        tb = chapter["time_base"]
        a, b = float(chapter["start"] * tb) - start, float(chapter["end"] * tb) - start
        if b > 0 and (length is None or a < length):
            end = b if length is None else min(b, length)
            kept.append(chapter | {"start": round(max(a, 0.0) / tb), "end": round(end / tb)})
    return kept


def _is_timecode_track(stream: av.stream.Stream) -> bool:
    """A mov/mp4 timecode track: the writer makes a new one from the timecode it carries."""
    return stream.type == "data" and timecode_tag(stream.metadata) is not None


def _time_range(container: av.container.InputContainer, info: VideoInfo, start, end, duration) -> TimeRange | None:
    """The range asked, in seconds from the film's first frame (positions in SMPTE timecode count from that
    frame's: the film's timecode, read only for a range)."""
    if start is None and end is None and duration is None:
        return None
    timecode = film_timecode(container)
    if end is not None and duration is not None:
        raise UsageError("give --end or --duration, not both")
    t0 = to_position(start, info.rate, timecode) if start is not None else 0.0
    t1 = to_position(end, info.rate, timecode) if end is not None else (
        t0 + to_seconds(duration, info.rate) if duration is not None else None)
    if t1 is not None and t1 <= t0:
        raise UsageError(f"empty range: it ends at {said_position(end, t1, info.rate)} and starts at "
                         f"{said_position(start, t0, info.rate)}")
    # refused before reading only when surely past the end: MPEG-PS headers estimate durations 30% short, and
    # parts joined into one MPEG-TS or -PS file may last longer than its raw clock's first to last time
    if info.duration is not None and not info.clock_may_jump and t0 >= 1.5 * info.duration + 5:
        raise UsageError(f"the range starts at {said_position(start, t0, info.rate)}, after the end of the film "
                         f"({info.duration:.3f} s)")
    return TimeRange(t0, t1)


def _reaches_end(info: VideoInfo, last: float | None, sound: float | None, span: TimeRange | None,
                 start: float) -> bool | None:
    """Whether the film, or the range, was read to its end; None where its times cannot tell (a whole film whose
    header states its count, no end, no frame), and the count decides. `last`: when the last frame read ends;
    `sound`: when the sound's last packet ends; `start`: the film's first time (ranges count from it).
    A range that ends inside the film must be read to its own end (its picture, or its sound where the
    film's end is the file's), within half a period: its count is only its length x the average rate,
    which a variable rate misses (a held picture, pauses). Otherwise
    the end is the header's. Where that end is the video track's own (Matroska's statistics tag), the last
    frame must end within half a period of it. Where it is the file's, which is its longest track's, the
    last frame or the sound must end within a period of it: a picture that stops before its sound (flv,
    nut) is whole, and a file cut short stops both. A whole film whose count is only duration x average
    rate (mkv and webm state none) reads fewer frames than that where its rate varies."""
    if last is None or not info.rate or info.end is None:
        return None
    if span is not None and span.end is not None and start + span.end < info.end:
        reach = last if info.track_end else max(last, sound or last)  # a file's end may be its sound's
        return reach >= start + span.end - 0.5 / info.rate
    if span is None and not info.estimated:
        return None
    if info.track_end:
        return last >= info.end - 0.5 / info.rate
    return max(last, sound or last) >= info.end - 1 / info.rate


def _range_frames(info: VideoInfo, span: TimeRange) -> int | None:
    if not info.rate or (span.end is None and info.duration is None):
        return None
    end = span.end if span.end is not None else info.duration
    if info.duration is not None and not (info.clock_may_jump and span.end is not None):
        end = min(end, info.duration)  # a joined file's parts may last longer than its raw clock's first to last
    frames = round((end - span.start) * info.rate)
    return frames if frames > 0 or not info.clock_may_jump else None  # None: where a later part ends is not known


def _moods(colorizer: Colorizer, reference: str | Path | torch.Tensor | None, shot_detect: bool, src: Path,
           span: TimeRange | None, frame_rate: str | float | Fraction | None,
           progress: bool) -> tuple[torch.Tensor | None, dict[int, torch.Tensor] | None]:
    """The global vectors that replace the frames' own: one for every frame (a reference photo's, or a vector),
    or one for each shot a table lists, by the run's shot numbers."""
    if reference is None:
        return None, None
    if not is_reference_table(reference):
        return reference_vector(colorizer, reference), None
    if not shot_detect:
        raise UsageError("a per-shot reference table needs shot detection (drop --no-shot-detect)")
    shot_g = shot_references(colorizer, Path(reference))
    if span is not None and span.start > 0 and shot_g:  # the table numbers the film's shots, the run the
        # range's: the film is read up to the range for the number of its first shot
        log.info("%s: counting the film's shots up to %s, as the reference table numbers them", src,
                 format_clock(span.start))
        first = shot_at(src, span.start, progress, frame_rate)
        shot_g = {shot - first: g for shot, g in shot_g.items() if shot >= first}
    return None, shot_g


def _nothing_decoded(src: Path, info: VideoInfo, span: TimeRange | None, stats: DecodeStats,
                     origin: float) -> VidcolorError:
    """Why no frame came: a range past the film's end or between two frames (usage), or a damaged file."""
    joined = stats.clock_jumps and stats.clock_end is not None
    if span is not None and (joined or info.duration is None or span.start >= info.duration):
        where = (f"its {stats.clock_jumps + 1} joined parts, one after the other, end at "
                 f"{stats.clock_end - origin:.3f} s") if joined else f"its header says {info.duration or 0:.3f} s"
        return UsageError(f"no frame in the range from {span.start:.3f} s: the film ends before it ({where})")
    if span is not None and stats.before_range is not None and not (stats.corrupt_packets or stats.read_error):
        # within the film, frames decoded before the range and none in it: it starts after the last frame
        # does, or falls between two (a variable rate's frame numbers skip)
        if stats.after_range is None:
            return UsageError(f"no frame begins in the range from {span.start:.3f} s: the film's last frame "
                              f"begins at {stats.before_range:.3f} s")
        return UsageError(f"no frame begins in the range from {span.start:.3f} s to {span.end:.3f} s: frames "
                          f"begin at {stats.before_range:.3f} s and {stats.after_range:.3f} s")
    return InputError(f"{src}: no video frame could be decoded"
                      + (f" from {span.start:.3f} s on" if span is not None else ""))


def _written_warnings(writer: Writer, changes: PictureChanges | None, report: VideoReport,
                      span: TimeRange | None) -> list[str]:
    """What the writing left out or changed, and the shots kept, said at the end of the run."""
    warnings = []
    if writer.skipped_packets:
        warnings.append(f"{writer.skipped_packets} damaged audio or subtitle packets were left out")
    if writer.tail_refused:
        warnings.append("a damaged audio or subtitle packet near the end was refused: the sound or subtitles from "
                        "it to the end were left out; every frame is there")
    if changes is not None:
        warnings += changes.warnings()
    if report.kept_color_shots:
        warnings.append(f"{report.kept_color_shots} of its {report.shots} shots have colors of their own and kept "
                        "them (--recolor colorizes them too)")
    if span is not None:  # a whole film's silent track: its packets were damaged, which is said above
        warnings += [f"audio stream #{index}: no sound written, the range begins inside one of its packets and "
                     "ends before the next (copied sound is cut at its packets)" for index in writer.unheard()]
    if writer.dropped_tags:
        warnings.append(f"tags {', '.join(writer.dropped_tags)} not kept: the {writer.out.format.name} container "
                        "cannot hold them (.mkv keeps every tag)")
    if writer.hdr10_unwritten:
        warnings.append(f"the film's HDR10 metadata (mastering display, light levels) is not written: the "
                        f"{writer.opts.codec} encoder takes none from vidcolor ({', '.join(HDR10_CODECS)} do)")
    if writer.bumped_pts:
        warnings.append(f"{writer.bumped_pts} frames had missing or repeated timestamps; they were moved by one "
                        "tick to keep the order")
    return warnings


def _read_warnings(info: VideoInfo, span: TimeRange | None, stats: DecodeStats, complete: bool | None,
                   frames_out: int, damaged: str = "") -> list[str]:
    """What the reading found: a film shorter than announced, damaged packets, a clock that jumps. `damaged`:
    a sequence's frames that did not decode, by their files, which says both of the first two exactly."""
    warnings = []
    expected = info.frames if span is None else _range_frames(info, span)
    if stats.clock_jumps:  # the header's length is the raw clock's, from the first time to the last
        short = False
    elif complete is not None:  # a count that is duration x average rate is rough: the times say
        short = not complete
    else:
        short = bool(expected) and frames_out < EXPECTED_SHARE * expected - 1
    if damaged:
        warnings.append(f"{damaged} could not be decoded and were skipped")
    elif short:
        warnings.append(f"read {frames_out} frames where the file announces about {expected}: it is probably "
                        "truncated or damaged; everything readable was kept")
    if stats.corrupt_packets and not damaged:
        warnings.append(f"{stats.corrupt_packets} damaged video packets were skipped")
    if stats.read_error:
        warnings.append(f"reading stopped early: {stats.read_error}")
    if stats.clock_jumps:
        points = f"{stats.clock_jumps} point{'s' if stats.clock_jumps > 1 else ''}"
        warnings.append(f"the file's clock jumps at {points} (clips joined into one file, or a broadcast splice): "
                        "each part was put right after the one before")
    return warnings


def colorize_video(src: str | Path, dst: str | Path, *, model: str | Path = DEFAULT_MODEL, device: str = "auto",
                   batch_size: int | None = None, work_side: int | None = DEFAULT_WORK_SIDE,
                   encode: EncodeOptions = EncodeOptions(), overwrite: bool = False, progress: bool = True,
                   colorizer: Colorizer | None = None, shot_detect: bool = True,
                   smooth_seconds: float = DEFAULT_SMOOTH_SECONDS, start: str | float | None = None,
                   end: str | float | None = None, duration: str | float | None = None,
                   side_by_side: bool = False, reference: str | Path | torch.Tensor | None = None,
                   saturation: float = 1.0, precision: str = "auto",
                   frame_rate: str | float | Fraction | None = None, levels: str | Levels = "auto",
                   recolor: bool = True, keep_color_shots: bool = True) -> VideoReport:
    """Colorize a video file into `dst`, keeping luminance, timing, audio, subtitles and metadata.

    With `shot_detect`, each frame's global vector is averaged over +-`smooth_seconds` within
    its shot (no flicker, nothing crosses a cut); without, every frame is colorized alone.
    `start`, `end` or `duration` ('hh:mm:ss.ms', seconds or 'f<frame>') colorize a range only:
    the output starts at 0 with that range's sound. `side_by_side` writes the input and the result
    next to each other; `reference` takes the mood (global features) of that color photo (or that global
    vector), or, for a .csv of `shot index,photo` lines, of one photo per listed shot. `saturation` scales the
    predicted a*b* (1: as trained); `precision` is "auto" or "float32" (Colorizer). A `colorizer` given (a model
    loaded once for many films) has these five options of its own: giving them here too is refused. `src` may be an
    image sequence, `scans/reel1_%06d.dpx`, played at `frame_rate` (default: the DPX header's, else 24);
    so may `dst` (RGB DPX, TIFF or PNG files, numbered like the frames they come from). `levels`: "auto"
    (a faded film is shown to the network with more contrast: levels.py), "off", or the film's Levels.
    `recolor`: False raises AlreadyInColor, before anything is written, for a film that has colors of its own
    (input_color.py; True: it is colorized, with a warning). `keep_color_shots` (with shot detection): where
    frames sampled over the film have colors, every frame is judged, and the shots in color keep their own
    colors (a documentary's interviews between black-and-white archive footage); False: every shot is
    colorized."""
    src, dst = Path(src), Path(dst)
    report = VideoReport(str(src), str(dst))
    t0 = time.perf_counter()
    container = open_input(src, frame_rate)
    try:
        image_files = is_sequence(dst)
        check_output(src, dst, overwrite, image_files)  # before the model loads: a refused output should fail fast
        if image_files:
            codec, why = image_codec(dst), None
        else:
            check_formats(encode.codec)
            codec, why = video_codec(dst, encode.codec)
        check_levels(levels)  # and before the film is sampled, as the device and precision are
        check_batching(batch_size, smooth_seconds)
        info = video_info(container)
        size = (info.width * (2 if side_by_side else 1), info.height)  # what the encoder gets
        if not image_files and (why_not := size_refusal(codec, size)):
            raise OutputError(f"{dst}: the {codec} encoder takes no picture of {size[0]}x{size[1]}: {why_not}")
        colorizer = shared_colorizer(colorizer, **changed_options(model=model, device=device, work_side=work_side,
                                                                  saturation=saturation, precision=precision))
        if why:
            report.warnings.append(f"video coded with {codec}: {why}")
        encode = replace(encode, codec=codec)
        report.warnings += unused_options(codec, encode)
        span = _time_range(container, info, start, end, duration)
        first_file = opened_first(container)  # a scan's first number; None for a film
        survey = film_survey(src, frame_rate, info, first_file)
        film = chosen_levels(levels, survey)
        report.levels, report.coloring = asdict(film), asdict(survey.coloring)
        if survey.coloring.kind == "color" and not recolor:
            in_color = sum(c.kind == "color" for c in survey.frames)
            raise AlreadyInColor(f"{src}: already has colors of its own (in {in_color} of the "
                                 f"{len(survey.frames)} frames sampled); not colorized")
        keep = kept_kinds(survey.frames, survey.coloring) if keep_color_shots and shot_detect else frozenset()
        report.warnings += [line for line in (film.said(), said_of_film(survey.coloring, keep)) if line]
        fixed_g, shot_g = _moods(colorizer, reference, shot_detect, src, span, frame_rate, progress)
        batch_size = batch_size or default_batch_size(colorizer.device, info.width, info.height)
        side = _side_streams(container, report, image_files)
        for w in report.warnings:  # known before the first frame (a film in color, a stream dropped): said now,
            log.warning("%s: %s", src, w)  # not after a two-hour run
        told = len(report.warnings)
        stats = DecodeStats()
        with (atomic_output(src, dst, overwrite, image_files) as tmp, deferred_interrupt() as interrupted,
              slice_workers(colorizer.device) as split):
            writer = Writer(tmp, container, side, encode, info.rate, rebase=span is not None or image_files,
                            label=dst, first_number=(first_file or 0) if image_files else None,
                            chapters=_chapters(container, span))
            seen = _Seen()

            def decoded():
                for item in demux_decode(container, side, stats, span):
                    if isinstance(item, av.VideoFrame):
                        seen.decoded += 1
                        if first_file is not None:
                            seen.numbered(item)
                        if seen.fmt is None:
                            seen.from_byte = stats.bytes_read
                            seen.fmt, seen.rgb = _stored_format(item, encode.codec, report, image_files, side_by_side)
                            seen.rotation = item.rotation
                            seen.changes = PictureChanges(item, container.streams.video[0])
                            if image_files:
                                report.warnings += _unkept_in_images(item.rotation, container.streams.video[0])
                        item = to_plane_format(seen.changes.fit(item), seen.fmt)
                    elif item.stream.type == "audio" and item.pts is not None:
                        end = shown_until(item, 0.0)
                        seen.sound = end if seen.sound is None else max(seen.sound, end)
                    yield item

            def write(batch: Rendered) -> None:
                i = 0
                for item in batch.items:
                    if isinstance(item, av.VideoFrame):
                        frame = compose_frame(item, batch.cbcr[i], seen.fmt)
                        if seen.rgb:
                            frame = to_rgb(frame, seen.fmt, seen.rgb)
                        writer.frame(frame, seen.rotation)
                        i += 1
                    else:
                        writer.packet(item)

            compose_frame = compose_side_by_side if side_by_side else compose
            sink = Consumer(write, ENCODE_BEHIND_BATCHES, name="encode")
            # a raw stream announces no length: its packets are counted for the bar's end (and ETA) only; the
            # truncation warning below compares with what the file announces, with or without a bar
            shown = counted(src, frame_rate, info) if progress else info
            bar = FilmBar(src, shown.frames if span is None else _range_frames(shown, span), info, span, progress)

            def emit(batch: Rendered) -> None:
                if batch.frames:  # they come in presentation order
                    seen.last = shown_until(batch.frames[-1], 1 / float(info.rate) if info.rate else 0.0)
                sink.put(batch)
                bar.update(len(batch.frames), seen.decoded, stats, seen.from_byte)
                report.frames_in += len(batch.frames)

            window = round(smooth_seconds * float(info.rate or DEFAULT_RATE)) if shot_detect else 0
            stage: FrameStage | None = None
            try:
                items: list = []
                for item in run_ahead(decoded(), DECODE_AHEAD_BATCHES * batch_size, name="decode"):
                    interrupted()
                    items.append(item)
                    if isinstance(item, av.VideoFrame):
                        if stage is None:
                            stage = FrameStage(colorizer, seen.fmt, batch_size, window, shot_detect, emit,
                                               fixed_g, shot_g, split, film, keep)
                        stage.push(items, item)
                        items = []
                if stage is not None:
                    stage.finish(items)
                    report.shots = 1 + len(stage.boundaries)
                    report.kept_color_shots = len(stage.kept_shots)
                sink.close()
                interrupted()
                complete = _reaches_end(info, seen.last, seen.sound, span,
                                        film_start(container.streams.video[0]))
                if complete or stats.clock_jumps:  # an estimate was high (a variable rate, bytes): the bar
                    bar.end_full()  # ends full, as the film did
            except BaseException:
                sink.cancel()
                writer.abort()
                raise
            finally:
                bar.close()
            if report.frames_in == 0:
                writer.abort()
                raise _nothing_decoded(src, info, span, stats, film_start(container.streams.video[0]))
            writer.close()
            interrupted()  # pressed during the encoder's flush: still no output
            report.frames_out = writer.frames
            report.warnings += _written_warnings(writer, seen.changes, report, span)
    finally:
        container.close()
    report.corrupt_packets = stats.corrupt_packets
    missing = seen.missing(info.frames if span is None else None) if first_file is not None else []
    damaged = f"{len(missing)} frame files ({named(src, [first_file + pts for pts in missing])})" if missing else ""
    report.warnings += _read_warnings(info, span, stats, complete, report.frames_out, damaged)
    report.seconds = round(time.perf_counter() - t0, 3)
    report.fps = round(report.frames_out / max(report.seconds, 1e-9), 2)
    for w in report.warnings[told:]:
        log.warning("%s: %s", src, w)
    return report
