"""Image sequences (film scans: DPX, TIFF, PNG or JPEG frames), read and written as films.

A printf pattern names the frames: `scans/reel1_%06d.dpx`. FFmpeg's image2 demuxer reads them, but it
looks for the first frame among five numbers only, and it stops without a word at the first missing
file, which would shorten the film. So the frames on disk are listed here first: the sequence starts
at its lowest number, and a gap is an error that names the missing frames. Written sequences are RGB
files (IMAGE_CODECS), numbered like the frames they come from.
"""
from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError, OutputError, UsageError

if TYPE_CHECKING:  # training runs without PyAV
    import av

DEFAULT_RATE = Fraction(24)  # film; FFmpeg's own default, 25, is PAL television's
IMAGE_CODECS = {".dpx": "dpx", ".tif": "tiff", ".tiff": "tiff", ".png": "png"}  # what sequences are written as
_NUMBER = re.compile(r"%(0\d+)?d")  # %d or %06d, the forms image2 reads
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".qt", ".mkv", ".mk3d", ".webm", ".avi", ".mpg", ".mpeg", ".m2p", ".m2v",
                  ".ts", ".trp", ".m2ts", ".mts", ".m2t", ".wmv", ".asf", ".dvr-ms", ".wtv", ".flv", ".f4v", ".ogv",
                  ".ogm", ".3gp", ".3g2", ".dv", ".mxf", ".vob", ".vro", ".evo", ".mod", ".tod", ".divx", ".rm",
                  ".rmvb", ".y4m"}  # .vob, .vro, .evo: DVD, DVD-VR and HD DVD; .mod, .tod: SD camcorders;
# .rm, .rmvb: RealMedia, the web's home video around 2000; .dvr-ms, .wtv: Windows Media Center recordings
_DPX_FILM_RATE, _DPX_TIMECODE, _DPX_TV_RATE = 1724, 1920, 1940  # byte offsets of SMPTE 268M header fields


def is_sequence(path: Path) -> bool:
    """A file name with one frame-number pattern that is not itself the name of a file, nor a film's name
    (`a%d.mp4`, whose default output `a%d_color.mp4` was refused as a sequence of .mp4 pictures)."""
    return (len(_NUMBER.findall(path.name.replace("%%", "\0"))) == 1 and path.suffix.lower() not in VIDEO_SUFFIXES
            and not path.exists())


def _around_number(name: str) -> tuple[str, str]:
    """The literal text before and after the frame number ('%%' is a literal '%')."""
    head, _, tail = _NUMBER.split(name.replace("%%", "\0"), maxsplit=1)
    return head.replace("\0", "%"), tail.replace("\0", "%")


def base_name(pattern: Path) -> str:
    """The sequence's name without its frame numbers: 'reel1' for reel1_%06d.dpx (else its folder's name)."""
    head = _around_number(pattern.name)[0].rstrip("_-. ")
    return head or pattern.resolve().parent.name or "sequence"


def frame_files(pattern: Path) -> dict[int, Path]:
    """The files on disk that the pattern names, by frame number."""
    folder = pattern.parent
    numbers = map(_number_reader(pattern), names := os.listdir(folder))
    return {n: folder / name for n, name in zip(numbers, names, strict=True) if n is not None}


def frame_test(pattern: Path) -> Callable[[Path], bool]:
    """Whether a path is (or links to) one of the pattern's files, without listing its folder: the folder
    resolved and the name's pattern compiled once, for the many files it is asked about."""
    folder, number = pattern.parent.resolve(), _number_reader(pattern)

    def test(path: Path) -> bool:
        path = path.resolve()
        return path.parent == folder and number(path.name) is not None
    return test


def _number_reader(pattern: Path) -> Callable[[str], int | None]:
    """The frame number of a file name that the pattern names, else None."""
    head, tail = _around_number(pattern.name)
    matcher = re.compile(re.escape(head) + r"(\d+)" + re.escape(tail))

    def number(name: str) -> int | None:
        m = matcher.fullmatch(name)
        return int(m[1]) if m and pattern.name % int(m[1]) == name else None
    return number


def first_frame(pattern: Path) -> int:
    """The number of the first frame on disk; InputError when none matches, numbers are missing between the
    first and the last, or a file is empty (a scanner's failed frame: FFmpeg ends the film there, without a
    word, as at a gap)."""
    folder = pattern.parent
    if not folder.is_dir():
        raise InputError(f"{pattern}: folder {folder} does not exist")
    files = frame_files(pattern)
    numbers = sorted(files)
    if not numbers:
        raise InputError(f"{pattern}: no file in {folder} matches this frame pattern")
    first, last = numbers[0], numbers[-1]
    if len(numbers) != last - first + 1:
        missing = sorted(set(range(first, last + 1)) - set(numbers))
        raise InputError(f"{pattern}: {len(missing)} missing between {pattern.name % first} and "
                         f"{pattern.name % last} ({named(pattern, missing)}); fill the gaps or renumber the files, "
                         "or the film would lose its timing")
    if empty := [n for n in numbers if files[n].stat().st_size == 0]:
        raise InputError(f"{pattern}: {len(empty)} frame files are empty (0 bytes): {named(pattern, empty)}; scan "
                         "them again or put a copy of a neighbour in their place, or the film would end at the first")
    return first


def named(pattern: Path, numbers: list[int]) -> str:
    """The files of a few frame numbers, for a message: the first three of them."""
    return ", ".join(pattern.name % n for n in numbers[:3]) + (", ..." if len(numbers) > 3 else "")


@dataclass(frozen=True)
class ScanHeader:
    """What a scanner wrote in a DPX file's header, where it wrote it (SMPTE 268M)."""

    rate: Fraction | None = None  # the original film's frame rate, else the television rate
    timecode: str | None = None  # of this frame, 'HH:MM:SS:FF'


def scan_header(path: Path) -> ScanHeader:
    """The frame rate and SMPTE timecode in a DPX file's film and television headers (FFmpeg reads neither
    for an image sequence): scans of an 18 fps silent film play at 18, and the colorized frames carry the
    timecode the edit conforms to. Fields the scanner left undefined (all ones, zero, or out of range) are
    None; so is everything for other files."""
    if path.suffix.lower() != ".dpx":
        return ScanHeader()
    with path.open("rb") as f:
        head = f.read(_DPX_TV_RATE + 4)
    order = {b"SDPX": ">", b"XPDS": "<"}.get(head[:4])
    if order is None or len(head) < _DPX_TV_RATE + 4 or struct.unpack(order + "I", head[4:8])[0] < len(head):
        return ScanHeader()  # not DPX, or a header without the film and television parts
    rates = [struct.unpack(order + "f", head[at:at + 4])[0] for at in (_DPX_FILM_RATE, _DPX_TV_RATE)]
    rate = next((parse_rate(f"{r:.3f}") for r in rates if 1 <= r <= 300), None)  # NaN (all ones) fails too
    return ScanHeader(rate, _bcd_timecode(struct.unpack(order + "I", head[_DPX_TIMECODE:_DPX_TIMECODE + 4])[0]))


def _bcd_timecode(value: int) -> str | None:
    """'HH:MM:SS:FF' from SMPTE 12M's binary-coded decimal, one byte per field; None when undefined."""
    fields = [(value >> shift) & 0xFF for shift in (24, 16, 8, 0)]
    digits = [(b >> 4, b & 0xF) for b in fields]
    if value in (0, 0xFFFFFFFF) or any(d > 9 for pair in digits for d in pair):
        return None
    hh, mm, ss, ff = (10 * tens + ones for tens, ones in digits)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}" if hh < 24 and mm < 60 and ss < 60 else None


def opened_first(container: av.container.InputContainer) -> int | None:
    """The first frame's number of a sequence that `open_input` opened (None for other inputs): what it
    listed the folder for, kept in the demuxer's options, so that the folder (100,000 files: half a second)
    is listed once per run."""
    number = container.options.get("start_number")
    return int(number) if number is not None else None


def numbered(pattern: Path, number: int) -> Path:
    """The file of frame `number`."""
    return pattern.with_name(pattern.name % number)


def image_codec(pattern: Path) -> str:
    """The encoder of a written sequence, from its suffix."""
    try:
        return IMAGE_CODECS[pattern.suffix.lower()]
    except KeyError:
        raise OutputError(f"{pattern}: image sequences are written as {', '.join(IMAGE_CODECS)} files") from None


def demuxer_options(first: int, rate: Fraction) -> dict[str, str]:
    return {"framerate": f"{rate.numerator}/{rate.denominator}", "start_number": str(first),
            "pattern_type": "sequence"}


def parse_rate(text: str | float | Fraction) -> Fraction:
    """'24', '18', '24000/1001' or '23.976' (read as 24000/1001, as editors mean it) -> an exact rate."""
    try:
        rate = Fraction(str(text)) if not isinstance(text, Fraction) else text
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"frame rate {text!r}: give a number such as 24, 18 or 24000/1001") from None
    if not 0 < rate <= 1000:
        raise UsageError(f"frame rate {text!r}: must be above 0 and at most 1000")
    ntsc = round(rate * Fraction(1001, 1000))
    if rate.denominator != 1 and abs(rate - Fraction(ntsc * 1000, 1001)) < Fraction(1, 100):
        return Fraction(ntsc * 1000, 1001)
    return rate
