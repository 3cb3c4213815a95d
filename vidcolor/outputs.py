"""Safe output files: written beside the target under a temporary name, renamed when complete.

Any failure or Ctrl-C removes the temporary file, so no partial output is ever left, and the
input can never be the output. An image sequence is written into a temporary folder beside its
frames, which are moved into place when all are written.
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError
from .media.sequence import base_name, frame_files, frame_test, is_sequence

DISK_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}  # the disk (or a quota or size limit) is full


def disk_full(ex: BaseException, dst: Path) -> OutputError | None:
    """An OutputError for `dst` if `ex` says the disk is full, else None."""
    if getattr(ex, "errno", None) in DISK_ERRNOS:
        return OutputError(f"{dst}: disk full (or file size limit reached) while writing; no output was left")
    return None


def check_output(src: Path, dst: Path, overwrite: bool, frames: bool = False) -> None:
    """Refuse outputs that would damage the input or existing files, or that cannot be written. `frames`: dst
    is an image sequence's pattern (a photo or a preview sheet named `p%d.jpg` is one file of that name)."""
    if str(dst) == "-":  # had been "unknown output format ''"
        raise OutputError("-: writing to standard output is not supported: name an output file (vidcolor writes it "
                          "under a temporary name beside it, then renames it)")
    check_name(dst)
    same_file = dst.exists() and src.exists() and os.path.samefile(src, dst)  # also through links
    if same_file or dst.resolve() == src.resolve():
        raise OutputError(f"{dst}: the output is the input; choose another output path")
    if dst.is_dir():
        raise OutputError(f"{dst}: is a directory")
    if dst.exists() and not dst.is_file():  # the rename at the end would put a file in the pipe's place
        raise OutputError(f"{dst}: is a named pipe or a device, not a file: vidcolor writes a file and renames it "
                          "into place")
    if dst.exists() and not overwrite:
        raise OutputError(f"{dst}: already exists (use --overwrite to replace it)")
    check_folder(dst)
    if frames:
        _check_frames(src, dst, overwrite)


def check_name(dst: Path) -> None:
    """A name longer than the file system takes is refused before the work, not by the rename after it."""
    longest, length = _name_max(dst.parent), len(os.fsencode(dst.name))
    if length > longest:
        raise OutputError(f"{dst.name[:40]}...: the output's name is too long ({length} bytes; its folder takes "
                          f"{longest}): choose a shorter one")


def check_folder(dst: Path) -> None:
    """The folder `dst` goes in exists and can be written: said before the work that ends in writing it (a
    training run, an evaluation's sheet), not after."""
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{dst}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{dst}: folder {parent} is not writable")


def _check_frames(src: Path, dst: Path, overwrite: bool) -> None:
    """A written sequence replaces existing frames of its name only with `overwrite`, and never the input's."""
    existing = frame_files(dst).values()
    source = src.resolve()
    is_input = frame_test(src) if is_sequence(src) else (lambda p: p.resolve() == source)
    if any(map(is_input, existing)):
        raise OutputError(f"{dst}: the output would replace the input's frames; choose another name or folder")
    if existing and not overwrite:
        raise OutputError(f"{dst}: {len(existing)} frames of this name already exist (use --overwrite to "
                          "replace them)")


@contextmanager
def atomic_output(src: Path, dst: Path, overwrite: bool = False, frames: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside dst (same suffix); rename it to dst only if the body succeeds."""
    check_output(src, dst, overwrite, frames)
    if frames:
        with _atomic_frames(dst) as tmp:
            yield tmp
        return
    fd, name = tempfile.mkstemp(prefix=_prefix(dst.stem, f".part{dst.suffix}", dst.parent), suffix=f".part{dst.suffix}",
                                dir=dst.parent)
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the output gets the usual permissions
    try:
        with _disk_full_named(dst):
            yield tmp
            os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _atomic_frames(dst: Path) -> Iterator[Path]:
    """Yield the pattern inside a temporary folder beside dst; when the body succeeds, move its frames into
    dst's folder, after removing older frames of that name (an older, longer sequence would leave a tail)."""
    # no '%' in the folder's name: image2 would read it as the frame number
    folder = Path(tempfile.mkdtemp(prefix=_prefix(base_name(dst), ".part", dst.parent), suffix=".part", dir=dst.parent))
    try:
        with _disk_full_named(dst):
            yield folder / dst.name
            for old in frame_files(dst).values():
                old.unlink()
            for new in frame_files(folder / dst.name).values():
                os.replace(new, dst.parent / new.name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _name_max(folder: Path) -> int:
    """The longest file name, in bytes, that the file system of `folder` takes (255 where it cannot be asked)."""
    try:
        return os.pathconf(folder if folder.is_dir() else ".", "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf on Windows
        return 255


def _prefix(name: str, suffix: str, folder: Path) -> str:
    """`.name.` for a temporary file's or folder's name, `name` cut short where the whole would be longer than the
    file system takes with tempfile's 8 random characters and `suffix` (an output's name may use all of it)."""
    room = _name_max(folder) - len(os.fsencode(suffix)) - 8 - 2
    while len(os.fsencode(name)) > room:
        name = name[:-1]
    return f".{name}."


@contextmanager
def _disk_full_named(dst: Path) -> Iterator[None]:
    """A full disk raises the OutputError that names dst; other errors pass unchanged."""
    try:
        yield
    except OSError as ex:
        full = disk_full(ex, dst)
        if full is not None:
            raise full from ex
        raise
