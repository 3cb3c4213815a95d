"""Film scanned frame by frame among a folder's files: numbered pictures that are one film, to be colorized
as one, with its shots smoothed, rather than picture by picture."""
from __future__ import annotations

import re
import warnings
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from .media.sequence import IMAGE_CODECS

T = TypeVar("T")
SCAN_SUFFIXES = set(IMAGE_CODECS)  # film scans' formats, written back as they came: DPX, TIFF, PNG
MIN_SCAN_FRAMES = 24  # numbered TIFF or PNG pictures make a film from one second of it; fewer stay photos
# mean gray difference (0-1) of neighbours' 32x32 thumbnails (python bench/scans.py): 150 frames of each of
# three real films gave at most 0.033 / 0.070 / 0.381 (a cut), medians 0.0001-0.008; 200 different photos in
# a row at least 0.100
ALIKE = 0.08
_LAST_NUMBER = re.compile(r"(.*?)(\d+)(\D*)")  # reel1_000123.tif: 'reel1_', '000123', '.tif'


def film_scans(files: list[Path]) -> tuple[list[Path], list[Path]]:
    """The frame patterns of the films scanned frame by frame among `files`, and the other files.

    Numbered DPX files are always film. Numbered TIFF or PNG pictures are film when there are at least
    MIN_SCAN_FRAMES of them, of one size, and consecutive ones look alike: a family's flatbed scans are
    numbered too, but each is another picture, and they stay photos."""
    runs: dict[tuple[Path, str, str], dict[int, Path]] = defaultdict(dict)
    for path in files:
        if path.suffix.lower() in SCAN_SUFFIXES and (m := _LAST_NUMBER.fullmatch(path.name)):
            runs[path.parent, m[1], m[3]][int(m[2])] = path
    patterns, taken = [], set()
    for (folder, head, tail), frames in runs.items():
        pattern = folder / (head.replace("%", "%%") + _number_format(frames) + tail.replace("%", "%%"))
        frames = {n: p for n, p in frames.items() if p.name == pattern.name % n}
        if frames and (tail.lower().endswith(".dpx") or _looks_like_film(frames)):
            patterns.append(pattern)
            taken.update(frames.values())
    return sorted(patterns), [p for p in files if p not in taken]


def _number_format(frames: dict[int, Path]) -> str:
    """'%06d' for frames numbered with leading zeros to six digits, '%d' for numbers as they are."""
    digits = [_LAST_NUMBER.fullmatch(p.name)[2] for p in frames.values()]
    padded = [d for d in digits if d.startswith("0") and len(d) > 1]
    return f"%0{min(map(len, padded))}d" if padded else "%d"


def _looks_like_film(frames: dict[int, Path]) -> bool:
    """Damaged frames are left out of the judgement (the film's reading leaves their numbers out), and so are
    gaps: a reel with a frame missing is film, which its reading refuses by name."""
    if len(frames) < MIN_SCAN_FRAMES:
        return False
    if len({size for path in frames.values() if (size := _read(path, lambda im: im.size))}) != 1:
        return False
    # four pairs of neighbours spread over the run: film mostly stays within its shots
    firsts = [n for n in sorted(frames) if n + 1 in frames]
    chosen = sorted({firsts[len(firsts) * k // 5] for k in range(1, 5)}) if firsts else []
    pairs = [(frames[n], frames[n + 1]) for n in chosen]
    thumbnails = [(_read(a, thumbnail), _read(b, thumbnail)) for a, b in pairs]
    alike = [np.abs(a - b).mean() <= ALIKE for a, b in thumbnails if a is not None and b is not None]
    return bool(alike) and sum(alike) >= len(alike) / 2


def _read(path: Path, what: Callable[[Image.Image], T]) -> T | None:
    """`what` of the picture, or None where Pillow cannot read it (without its warnings: the film's reading
    reports the damage)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                return what(im)
    except (OSError, ValueError, SyntaxError, EOFError):
        return None


def thumbnail(im: Image.Image) -> np.ndarray:
    """About 32x32 gray values from 0 to 1 (of the picture's own maximum: exposure aside)."""
    gray = np.asarray(im if im.mode.startswith(("I", "F")) else im.convert("L"), dtype=np.float32)
    gray = gray.mean(axis=2) if gray.ndim == 3 else gray
    by, bx = max(1, gray.shape[0] // 32), max(1, gray.shape[1] // 32)  # block means: film grain averages out
    rows, cols = gray.shape[0] // by, gray.shape[1] // bx
    small = gray[:rows * by, :cols * bx].reshape(rows, by, cols, bx).mean(axis=(1, 3))
    return small / max(float(small.max()), 1e-6)
