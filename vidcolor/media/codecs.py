"""The video encoder and its options: each encoder's quality, speed and threads from vidcolor's few
settings (--codec, --crf, --preset), and what it takes.

x264's defaults here are measured choices: the chroma offset and the motion search in bench/x264_settings.py,
the threads in bench/x264_threads.py (docs/throughput.md)."""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from fractions import Fraction

import av
from av.sidedata.sidedata import Type as SideDataType

from ..defaults import MAX_CRF
from ..errors import UsageError

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
        if not 0 <= self.crf <= MAX_CRF:  # the CLI's range, for the API too
            raise UsageError(f"--crf {self.crf}: use 0 (lossless) to {MAX_CRF}")


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


_HARDWARE = ("_nvenc", "_qsv", "_amf", "_vaapi", "_videotoolbox", "_v4l2m2m", "_mf", "_vulkan")


def refusal_hint(codec: str) -> str:
    """Said after an encoder's refusal to open: a hardware encoder that FFmpeg lists may have no chip or driver
    on this machine (h264_nvenc without an NVIDIA GPU said only 'Operation not permitted')."""
    if codec.endswith(_HARDWARE):
        return f"; {codec} is a hardware encoder: it needs its GPU or chip, and its driver, on this machine " \
               "(libx264 runs on any)"
    return ""


def size_refusal(codec: str, size: tuple[int, int]) -> str:
    """Why `codec` takes no picture of `size` (width, height), known before the model loads; '' where it
    may: DNxHR takes none under 256x120 (a home movie digitized at 240x180 got only 'Invalid argument', at
    the first frame)."""
    if codec == "dnxhd" and (size[0] < _DNXHR_MIN[0] or size[1] < _DNXHR_MIN[1]):
        return f"DNxHR takes pictures of {_DNXHR_MIN[0]}x{_DNXHR_MIN[1]} or more (prores_ks and ffv1 take any size)"
    return ""


@dataclass(frozen=True)
class Hdr10:
    """An HDR10 film's static metadata, which a display uses to fit the film to its own range: the mastering
    display (SMPTE ST 2086) and the content light levels (CTA-861.3). FFmpeg's encoders write them only from
    their own options, so the decoded frame's are handed on as those."""

    display: tuple[int, ...] | None  # G, B, R and white point x, y in 0.00002, then L max, min in 0.0001 cd/m2
    light: tuple[int, int] | None  # MaxCLL, MaxFALL in cd/m2

    @classmethod
    def of(cls, frame: av.VideoFrame) -> Hdr10 | None:
        display = light = None
        try:
            sides = list(frame.side_data)
        except ValueError:  # PyAV reads none of a frame's side data where one is of a kind it does not know:
            return None     # 31, which FFmpeg gives TIFF frames (their EXIF, by its number), not an HDR film's
        for side in sides:
            if side.type == SideDataType.MASTERING_DISPLAY_METADATA:  # AVMasteringDisplayMetadata
                v = struct.unpack("<22i", bytes(side)[:88])  # 10 AVRationals, has_primaries, has_luminance
                rx, ry, gx, gy, bx, by, wx, wy, low, high = (Fraction(v[i], v[i + 1] or 1) for i in range(0, 20, 2))
                if v[20] and v[21]:
                    display = (*(round(c * 50000) for c in (gx, gy, bx, by, rx, ry, wx, wy)), round(high * 10000),
                               round(low * 10000))
            elif side.type == SideDataType.CONTENT_LIGHT_LEVEL:
                light = struct.unpack("<2I", bytes(side)[:8])
        return cls(display, light) if display or light else None

    def params(self, codec: str) -> list[str]:
        """The encoder's own parameters for them (x264-params, x265-params, svtav1-params)."""
        said = []
        if self.display:
            gx, gy, bx, by, rx, ry, wx, wy, high, low = self.display
            if codec == "libsvtav1":  # chromaticities and cd/m2 as they are
                xy = [f"{c / 50000:.5f}" for c in self.display[:8]]
                said.append(f"mastering-display=G({xy[0]},{xy[1]})B({xy[2]},{xy[3]})R({xy[4]},{xy[5]})"
                            f"WP({xy[6]},{xy[7]})L({high / 10000:.4f},{low / 10000:.4f})")
            else:
                said.append(f"{'master-display' if codec == 'libx265' else 'mastering-display'}=G({gx},{gy})"
                            f"B({bx},{by})R({rx},{ry})WP({wx},{wy})L({high},{low})")
        if self.light:
            said.append(f"{_LIGHT_LEVELS_PARAM[codec]}={self.light[0]},{self.light[1]}")
        return said


_LIGHT_LEVELS_PARAM = {"libx264": "cll", "libx265": "max-cll", "libsvtav1": "content-light"}
HDR10_CODECS = tuple(_LIGHT_LEVELS_PARAM)  # the encoders that take HDR10's metadata


# AVFieldOrder of interlaced video: top field first (TT, TB) or bottom field first (BB, BT)
_TOP_FIRST, _BOTTOM_FIRST = {2, 4}, {3, 5}
INTERLACED = _TOP_FIRST | _BOTTOM_FIRST


def encoder_options(codec: str, opts: EncodeOptions, field_order: int = 0, pix_fmt: str = "",
                    hdr10: Hdr10 | None = None) -> dict[str, str]:
    """`field_order`: the source's AVFieldOrder; interlaced video is coded as fields by libx264 (coded
    as frames, its combing would show, and players would not deinterlace it). `pix_fmt`: the planes the
    encoder gets (DNxHR's profile follows them). `hdr10`: the film's HDR10 metadata, for the encoders that
    write it (HDR10_CODECS).

    Every encoder gets FFmpeg's own default threads, frame threads where it has them and slices otherwise:
    PyAV opens encoders with slice threads only. x264 then cut each picture into one slice per core,
    none predicting from another: 1-4% more bytes at the same PSNR on three films on 2 cores, 8-13% on 16,
    and its threads waited at every picture's end (bench/x264_threads.py); PNG and TIFF, which have no slice
    threads, coded in one: now 1.9 x as fast at 1080p on 2 cores, the same files (bench/image_threads.py)."""
    options = _codec_options(codec, opts, field_order, pix_fmt)
    if hdr10 is not None and codec in HDR10_CODECS:
        key = f"{codec.removeprefix('lib')}-params"  # x264-params, x265-params, svtav1-params
        options[key] = ":".join(filter(None, (options.get(key), *hdr10.params(codec))))
    return {"thread_type": "frame+slice"} | options


# DNxHD proper takes a few broadcast sizes, each at bit rates of its own, and refused every film without one
# (1920x1080 too); DNxHR takes any size from 256x120 at a quality tier: its "high quality" tiers, by depth
_DNXHR_MIN = (256, 120)  # px: FFmpeg's DNxHR encoder refuses smaller pictures
_DNXHR_PROFILES = {"yuv422p": "dnxhr_hq", "yuv422p10le": "dnxhr_hqx", "yuv444p10le": "dnxhr_444",
                   "gbrp10le": "dnxhr_444"}


def _codec_options(codec: str, opts: EncodeOptions, field_order: int, pix_fmt: str) -> dict[str, str]:
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
        os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1's own banner, read as it opens: errors only
        return {"crf": str(opts.crf), "preset": _speed(_SVT_PRESET, opts.preset)}
    if codec == "libaom-av1":
        return {"crf": str(opts.crf)}
    if codec == "dnxhd" and pix_fmt in _DNXHR_PROFILES:
        return {"profile": _DNXHR_PROFILES[pix_fmt]}
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
    if field_order in INTERLACED:
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
ONE_FRAME_TIME_BASE = {"mpeg1video", "mpeg2video"}  # encoders that count time in frames (no variable rate)
# MPEG-4 part 2 counts a second's ticks in 16 bits (vop_time_increment_resolution): FFmpeg's encoder refuses a
# finer time base, and MPEG-TS films (1/90000) have one
_MAX_TICKS_A_SECOND = {"mpeg4": 65535}


def coded_time_base(codec: str, time_base: Fraction, rate: Fraction | None) -> Fraction:
    """The time base to encode frames of `time_base` in: theirs, or for an encoder that counts fewer ticks a
    second, a whole number of theirs it can count, where the frame period at `rate` is still a whole number
    of ticks (25 and 29.97 frames a second at 1/90000: 1/45000 and 1/30000), else the finest it can."""
    most = _MAX_TICKS_A_SECOND.get(codec)
    if most is None or time_base.denominator <= most:
        return time_base
    fewest = -(-time_base.denominator // most)  # the film's ticks in one coded tick, at the least
    fitting = [time_base * k for k in range(fewest, fewest + 1000) if (time_base * k).denominator <= most]
    exact = [tb for tb in fitting if rate and (1 / (Fraction(rate) * tb)).denominator == 1]
    return (exact or fitting or [Fraction(1, most)])[0]
