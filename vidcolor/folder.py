"""A folder of photos and films (a family's box of scans, an archive's reels): each colorized to the same
name under the output folder, with the model loaded once. A file that fails is named and the others go on;
an output already there is kept, so a run stopped midway resumes where it stopped. Film scanned frame by
frame (numbered DPX, TIFF or PNG files) is colorized as the film it is, with its shots smoothed. Photos
and films that have colors of their own are left as they are unless asked (input_color.py)."""
from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

from .colorizer import MODEL_OPTIONS, Colorizer, shared_colorizer
from .defaults import DEFAULT_SMOOTH_SECONDS
from .errors import AlreadyInColor, InputError, OutputError, UsageError, VidcolorError, one_line
from .image import colorize_image, is_reference_table, reference_vector
from .media.codecs import EncodeOptions
from .media.probe import VIDEO_SUFFIXES
from .media.sequence import frame_files
from .naming import GIF, IMAGE_SUFFIXES, is_photo, output_for
from .outputs import check_name
from .pipeline import check_batching, colorize_video
from .progress import progress_bar
from .scans import SCAN_SUFFIXES, film_scans
from .survey import check_levels

log = logging.getLogger("vidcolor")
# folders that systems and NAS boxes keep beside the user's files: thumbnails, recycle bins, snapshots
SYSTEM_FOLDERS = {"@eaDir", "#recycle", "#snapshot", "$RECYCLE.BIN", "System Volume Information", "__MACOSX"}
MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES | SCAN_SUFFIXES | {GIF}


def media_files(src: Path, skip: Path) -> list[Path]:
    """Photos and films under `src`, subfolders included, in name order; not those under `skip` (an output
    folder inside the input's), nor hidden ones (macOS leaves a "._name.jpg" of metadata beside each file
    on a shared drive), nor those in system folders (a Synology NAS keeps JPEG thumbnails in "@eaDir")."""
    skip = skip.resolve()
    return sorted(p for p in src.rglob("*")
                  if p.suffix.lower() in MEDIA_SUFFIXES and p.is_file()
                  and not any(part.startswith(".") or part in SYSTEM_FOLDERS for part in p.relative_to(src).parts)
                  and skip not in p.resolve().parents)


def _failed(path: Path, ex: Exception) -> dict:
    """A file's failure, logged and as the report lists it: a bug (not a VidcolorError) is exit code 1."""
    known = isinstance(ex, VidcolorError)
    error = one_line(ex) if known else (f"internal error: {type(ex).__name__}: {one_line(ex)} (colorize this file "
                                        "alone with VIDCOLOR_DEBUG=1 for details)")
    log.warning("not colorized: %s", error if error.startswith(str(path)) else f"{path}: {error}")
    return {"input": str(path), "error": error, "exit_code": ex.exit_code if known else 1}


def _prune(folder: Path, top: Path) -> None:
    """Remove `folder` and its parents below `top` while they are empty: made for a file that failed."""
    while folder != top and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def colorize_folder(src: str | Path, dst: str | Path, *, colorizer: Colorizer | None = None,
                    overwrite: bool = False, progress: bool = True, reference: str | Path | None = None,
                    frame_rate: str | float | Fraction | None = None, recolor: bool = False,
                    **video_options) -> dict:
    """Colorize every photo and film under `src` into `dst`, keeping their relative names (and so their
    formats); film scans become frames of the same names. Those that have colors of their own (color prints
    in a box of black-and-white ones) are left as they are, and listed, unless `recolor`. `frame_rate` is
    the scans' (default: each DPX header's, else 24), `video_options` go to `colorize_video` (encoder,
    shots, range), except the model's (colorizer.MODEL_OPTIONS), which build the one Colorizer all files share.
    Returns the reports of the files colorized, the outputs already there, the files in color, and the files
    that failed with their error."""
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise InputError(f"{src}: no such folder")
    check_name(dst)
    if dst.resolve() == src.resolve():
        raise OutputError(f"{dst}: the output folder is the input folder; choose another")
    if dst.suffix.lower() in MEDIA_SUFFIXES or (dst.exists() and not dst.is_dir()):
        raise UsageError(f"{dst}: names a file, and a folder is colorized into a folder")
    if reference is not None and is_reference_table(reference):
        raise UsageError("a per-shot reference table belongs to one film; give a folder one color photo")
    check_levels(video_options.get("levels", "auto"))  # refused once, not by every film in turn
    check_batching(video_options.get("batch_size"), video_options.get("smooth_seconds", DEFAULT_SMOOTH_SECONDS))
    scans, files = film_scans(media_files(src, dst))
    if not scans and not files:
        raise InputError(f"{src}: no photos, films or film scans in it (by name: "
                         f"{', '.join(sorted(IMAGE_SUFFIXES | SCAN_SUFFIXES | {GIF}))}, "
                         f"{', '.join(sorted(VIDEO_SUFFIXES))})")
    # the model's options build the one colorizer every file shares (passed on to each film, they were ignored)
    colorizer = shared_colorizer(colorizer, **{k: video_options.pop(k) for k in MODEL_OPTIONS if k in video_options})
    # the reference's mood, once for every file (20-30% of the time of a folder of small photos)
    mood = reference_vector(colorizer, reference) if reference is not None else None
    report: dict = {"input": str(src), "output": str(dst), "colorized": [], "already_there": [], "in_color": [],
                    "failed": []}
    codec = video_options.get("encode", EncodeOptions()).codec
    for path in progress_bar(progress, iterable=scans + files, unit="file", desc=src.name[:30]):
        scan = path in scans
        photo = not scan and is_photo(path)
        out = output_for(dst / path.relative_to(src), photo, codec)
        if (out.exists() or scan and out.parent.is_dir() and frame_files(out)) and not overwrite:
            report["already_there"].append(str(out))
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            if photo:
                done = colorize_image(path, out, colorizer, overwrite, mood, recolor)
            else:
                done = colorize_video(path, out, colorizer=colorizer, overwrite=overwrite, progress=progress,
                                      reference=mood, frame_rate=frame_rate if scan else None, recolor=recolor,
                                      keep_color_shots=not recolor,
                                      **video_options).to_dict()
        except AlreadyInColor as ex:
            log.warning("%s", ex)
            report["in_color"].append(str(path))
            _prune(out.parent, dst)
            continue
        except Exception as ex:  # this file's problem, a bug on it included: the others go on (Ctrl-C stops)
            report["failed"].append(_failed(path, ex))
            _prune(out.parent, dst)
            continue
        report["colorized"].append(done)
    return report
