"""A folder of photos and films (a family's box of scans, an archive's reels): each colorized to the same
name under the output folder, with the model loaded once. A file that fails is named and the others go on;
an output already there is kept, so a run stopped midway resumes where it stopped."""
from __future__ import annotations

import logging
from pathlib import Path

from tqdm import tqdm

from .colorizer import Colorizer
from .errors import InputError, OutputError, UsageError, VidcolorError
from .image import IMAGE_SUFFIXES, colorize_image, is_reference_table
from .media.encode import format_for
from .media.probe import VIDEO_SUFFIXES
from .pipeline import colorize_video

log = logging.getLogger("vidcolor")
# folders that systems and NAS boxes keep beside the user's files: thumbnails, recycle bins, snapshots
SYSTEM_FOLDERS = {"@eaDir", "#recycle", "#snapshot", "$RECYCLE.BIN", "System Volume Information", "__MACOSX"}


def media_files(src: Path, skip: Path) -> list[Path]:
    """Photos and films under `src`, subfolders included, in name order; not those under `skip` (an output
    folder inside the input's), nor hidden ones (macOS leaves a "._name.jpg" of metadata beside each file
    on a shared drive), nor those in system folders (a Synology NAS keeps JPEG thumbnails in "@eaDir")."""
    skip = skip.resolve()
    return sorted(p for p in src.rglob("*")
                  if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES and p.is_file()
                  and not any(part.startswith(".") or part in SYSTEM_FOLDERS for part in p.relative_to(src).parts)
                  and skip not in p.resolve().parents)


def _output_for(out: Path) -> Path:
    """The same name; a film in a container FFmpeg reads but cannot write (camcorder .mod and .tod, DVD-VR
    .vro, .divx) goes into .mp4."""
    if out.suffix.lower() in VIDEO_SUFFIXES:
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
                    **video_options) -> dict:
    """Colorize every photo and film under `src` into `dst`, keeping their relative names (and so their
    formats). `video_options` go to `colorize_video` (encoder, shots, range). Returns the reports of the
    files colorized, the outputs already there, and the files that failed with their error."""
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise InputError(f"{src}: no such folder")
    if dst.resolve() == src.resolve():
        raise OutputError(f"{dst}: the output folder is the input folder; choose another")
    if dst.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES or (dst.exists() and not dst.is_dir()):
        raise UsageError(f"{dst}: names a file, and a folder is colorized into a folder")
    if reference is not None and is_reference_table(reference):
        raise UsageError("a per-shot reference table belongs to one film; give a folder one color photo")
    files = media_files(src, dst)
    if not files:
        raise InputError(f"{src}: no photos or films in it (by name: {', '.join(sorted(IMAGE_SUFFIXES))}, "
                         f"{', '.join(sorted(VIDEO_SUFFIXES))}); film scans numbered frame by frame are one "
                         "film: give their pattern, like 'scans/reel1_%06d.dpx'")
    colorizer = colorizer or Colorizer()
    report: dict = {"input": str(src), "output": str(dst), "colorized": [], "already_there": [], "failed": []}
    for path in tqdm(files, unit="file", disable=not progress, desc=src.name[:30]):
        out = _output_for(dst / path.relative_to(src))
        if out.exists() and not overwrite:
            report["already_there"].append(str(out))
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            if path.suffix.lower() in IMAGE_SUFFIXES:
                done = colorize_image(path, out, colorizer, overwrite, reference)
            else:
                done = colorize_video(path, out, colorizer=colorizer, overwrite=overwrite, progress=progress,
                                      reference=reference, **video_options).to_dict()
        except Exception as ex:  # this file's problem, a bug on it included: the others go on (Ctrl-C stops)
            report["failed"].append(_failed(path, ex))
            _prune(out.parent, dst)
            continue
        report["colorized"].append(done)
    return report
