"""A folder of photos and films (a family's box of scans, an archive's reels): each colorized to the same
name under the output folder, with the model loaded once. A file that fails is named and the others go on;
an output already there is kept, so a run stopped midway resumes where it stopped. Film scanned frame by
frame (numbered DPX, TIFF or PNG files) is colorized as the film it is, with its shots smoothed."""
from __future__ import annotations

import logging
import re
import warnings
from collections import defaultdict
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image
from tqdm import tqdm

from .colorizer import Colorizer
from .errors import InputError, OutputError, UsageError, VidcolorError
from .image import GIF, IMAGE_SUFFIXES, colorize_image, is_photo, is_reference_table, reference_vector
from .media.encode import format_for
from .media.probe import VIDEO_SUFFIXES
from .media.sequence import IMAGE_CODECS, frame_files
from .pipeline import colorize_video

log = logging.getLogger("vidcolor")
T = TypeVar("T")
# folders that systems and NAS boxes keep beside the user's files: thumbnails, recycle bins, snapshots
SYSTEM_FOLDERS = {"@eaDir", "#recycle", "#snapshot", "$RECYCLE.BIN", "System Volume Information", "__MACOSX"}
# outputs under another name: a container's usual one, or .mp4 for RealMedia (its muxer takes RealVideo 1 only)
RENAMED = {".qt": ".mov", ".mk3d": ".mkv", ".rm": ".mp4", ".rmvb": ".mp4"}
SCAN_SUFFIXES = set(IMAGE_CODECS)  # film scans' formats, written back as they came: DPX, TIFF, PNG
MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES | SCAN_SUFFIXES | {GIF}
MIN_SCAN_FRAMES = 24  # numbered TIFF or PNG pictures make a film from one second of it; fewer stay photos
# mean gray difference (0-1) of neighbours' 32x32 thumbnails: 150 frames of each of three real films gave at
# most 0.033 / 0.070 / 0.381 (a cut), medians 0.0001-0.008; 200 different photos in a row at least 0.100
ALIKE = 0.08
_LAST_NUMBER = re.compile(r"(.*?)(\d+)(\D*)")  # reel1_000123.tif: 'reel1_', '000123', '.tif'


def media_files(src: Path, skip: Path) -> list[Path]:
    """Photos and films under `src`, subfolders included, in name order; not those under `skip` (an output
    folder inside the input's), nor hidden ones (macOS leaves a "._name.jpg" of metadata beside each file
    on a shared drive), nor those in system folders (a Synology NAS keeps JPEG thumbnails in "@eaDir")."""
    skip = skip.resolve()
    return sorted(p for p in src.rglob("*")
                  if p.suffix.lower() in MEDIA_SUFFIXES and p.is_file()
                  and not any(part.startswith(".") or part in SYSTEM_FOLDERS for part in p.relative_to(src).parts)
                  and skip not in p.resolve().parents)


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
    thumbnails = [(_read(a, _thumbnail), _read(b, _thumbnail)) for a, b in pairs]
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


def _thumbnail(im: Image.Image) -> np.ndarray:
    """About 32x32 gray values from 0 to 1 (of the picture's own maximum: exposure aside)."""
    gray = np.asarray(im if im.mode.startswith(("I", "F")) else im.convert("L"), dtype=np.float32)
    gray = gray.mean(axis=2) if gray.ndim == 3 else gray
    by, bx = max(1, gray.shape[0] // 32), max(1, gray.shape[1] // 32)  # block means: film grain averages out
    rows, cols = gray.shape[0] // by, gray.shape[1] // bx
    small = gray[:rows * by, :cols * bx].reshape(rows, by, cols, bx).mean(axis=(1, 3))
    return small / max(float(small.max()), 1e-6)


def _output_for(out: Path, photo: bool) -> Path:
    """The same name, but for a few. A gray-only Netpbm photo (.pgm, .pbm) becomes color .ppm. A film in a
    container FFmpeg reads but cannot write (camcorder .mod and .tod, DVD-VR .vro, .divx, an animated GIF:
    FFmpeg's GIF muxer holds one picture here) or writes only with codecs of its day (RealMedia: RealVideo 1)
    goes into .mp4, and one under another name for a container it writes (.qt, .mk3d) under the usual name."""
    suffix = out.suffix.lower()
    if photo:
        return out.with_suffix(".ppm") if suffix in (".pgm", ".pbm") else out
    if suffix in RENAMED:
        return out.with_suffix(RENAMED[suffix])
    try:
        format_for(out)
    except OutputError:
        return out.with_suffix(".mp4")
    return out


def _failed(path: Path, ex: Exception) -> dict:
    """A file's failure, logged and as the report lists it: a bug (not a VidcolorError) is exit code 1."""
    known = isinstance(ex, VidcolorError)
    error = str(ex) if known else (f"internal error: {type(ex).__name__}: {ex} (colorize this file alone with "
                                   "VIDCOLOR_DEBUG=1 for details)")
    log.warning("not colorized: %s", error if error.startswith(str(path)) else f"{path}: {error}")
    return {"input": str(path), "error": error, "exit_code": ex.exit_code if known else 1}


def _prune(folder: Path, top: Path) -> None:
    """Remove `folder` and its parents below `top` while they are empty: made for a file that failed."""
    while folder != top and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def colorize_folder(src: str | Path, dst: str | Path, *, colorizer: Colorizer | None = None,
                    overwrite: bool = False, progress: bool = True, reference: str | Path | None = None,
                    frame_rate: str | float | Fraction | None = None, **video_options) -> dict:
    """Colorize every photo and film under `src` into `dst`, keeping their relative names (and so their
    formats); film scans become frames of the same names. `frame_rate` is the scans' (default: each DPX
    header's, else 24), `video_options` go to `colorize_video` (encoder, shots, range). Returns the reports
    of the files colorized, the outputs already there, and the files that failed with their error."""
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise InputError(f"{src}: no such folder")
    if dst.resolve() == src.resolve():
        raise OutputError(f"{dst}: the output folder is the input folder; choose another")
    if dst.suffix.lower() in MEDIA_SUFFIXES or (dst.exists() and not dst.is_dir()):
        raise UsageError(f"{dst}: names a file, and a folder is colorized into a folder")
    if reference is not None and is_reference_table(reference):
        raise UsageError("a per-shot reference table belongs to one film; give a folder one color photo")
    scans, files = film_scans(media_files(src, dst))
    if not scans and not files:
        raise InputError(f"{src}: no photos, films or film scans in it (by name: "
                         f"{', '.join(sorted(IMAGE_SUFFIXES | SCAN_SUFFIXES | {GIF}))}, "
                         f"{', '.join(sorted(VIDEO_SUFFIXES))})")
    colorizer = colorizer or Colorizer()
    # the reference's mood, once for every file (20-30% of the time of a folder of small photos)
    mood = reference_vector(colorizer, reference) if reference is not None else None
    report: dict = {"input": str(src), "output": str(dst), "colorized": [], "already_there": [], "failed": []}
    for path in tqdm(scans + files, unit="file", disable=not progress, desc=src.name[:30]):
        photo = path not in scans and is_photo(path)
        out = _output_for(dst / path.relative_to(src), photo)
        if (out.exists() or path in scans and out.parent.is_dir() and frame_files(out)) and not overwrite:
            report["already_there"].append(str(out))
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            if photo:
                done = colorize_image(path, out, colorizer, overwrite, mood)
            else:
                done = colorize_video(path, out, colorizer=colorizer, overwrite=overwrite, progress=progress,
                                      reference=mood, frame_rate=frame_rate if path in scans else None,
                                      **video_options).to_dict()
        except Exception as ex:  # this file's problem, a bug on it included: the others go on (Ctrl-C stops)
            report["failed"].append(_failed(path, ex))
            _prune(out.parent, dst)
            continue
        report["colorized"].append(done)
    return report
