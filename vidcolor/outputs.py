"""Safe output files: written beside the target under a temporary name, renamed when complete.

Any failure, Ctrl-C or stop signal removes the temporary file, so no partial output is ever left, and the
input can never be the output. What a run killed outright leaves (nothing can clean up after kill -9, the
out-of-memory killer or a power cut) the next run of the same output removes. An image sequence is written
into a temporary folder beside its frames, which are moved into place when all are written.
"""
from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError
from .media.sequence import base_name, frame_files, frame_test, is_sequence

try:
    import fcntl
except ImportError:  # Windows: a killed run's temporary output is not found there
    fcntl = None

log = logging.getLogger("vidcolor")

_NEW_S = 60.0  # an empty temporary output younger than this may be another run's, not yet locked
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
    prefix, suffix = _prefix(dst.stem, f".part{dst.suffix}", dst.parent), f".part{dst.suffix}"
    _remove_killed(dst, prefix, suffix)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=dst.parent)
    _lock(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the output gets the usual permissions
    try:
        with _disk_full_named(dst):
            yield tmp
            os.replace(tmp, dst)
    finally:
        os.close(fd)
        tmp.unlink(missing_ok=True)


@contextmanager
def _atomic_frames(dst: Path) -> Iterator[Path]:
    """Yield the pattern inside a temporary folder beside dst; when the body succeeds, move its frames into
    dst's folder, after removing older frames of that name (an older, longer sequence would leave a tail)."""
    # no '%' in the folder's name: image2 would read it as the frame number
    prefix = _prefix(base_name(dst), ".part", dst.parent)
    _remove_killed(dst, prefix, ".part")
    folder = Path(tempfile.mkdtemp(prefix=prefix, suffix=".part", dir=dst.parent))
    fd = os.open(folder, os.O_RDONLY)
    _lock(fd)
    try:
        with _disk_full_named(dst):
            yield folder / dst.name
            for old in frame_files(dst).values():
                old.unlink()
            for new in frame_files(folder / dst.name).values():
                os.replace(new, dst.parent / new.name)
    finally:
        os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)


def _lock(fd: int) -> bool:
    """Take a temporary output's lock, without waiting: a run holds its own while it writes, so that another run
    of the same output knows it is not a killed run's. False where a run holds it or no lock can be taken (a
    file system without locks, Windows)."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _remove_killed(dst: Path, prefix: str, suffix: str) -> None:
    """Remove what a run of this output left when it was killed (out of memory, a power cut, kill -9: nothing
    can clean up after those), said in a warning: a two-hour film's is gigabytes, and its name begins with a
    dot, so it is hidden. A temporary output another run still writes is locked, and stays; so does an empty
    one made in the last minute (a run takes its lock a moment after making it, before it writes to it)."""
    own = re.compile(re.escape(prefix) + r"[a-z0-9_]{8}" + re.escape(suffix))  # as mkstemp and mkdtemp name it
    for path in dst.parent.iterdir():
        if not own.fullmatch(path.name):
            continue
        try:
            st = path.stat()
            empty = not any(path.iterdir()) if stat.S_ISDIR(st.st_mode) else st.st_size == 0
            if empty and time.time() - st.st_mtime < _NEW_S:
                continue
        except OSError:
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            if not _lock(fd):
                continue
            if stat.S_ISDIR(st.st_mode):  # an image sequence's
                size = sum(f.stat().st_size for f in path.iterdir())
                shutil.rmtree(path)
            else:
                size = os.fstat(fd).st_size  # as it is now that it is locked
                path.unlink()
        except OSError:
            continue
        finally:
            os.close(fd)
        log.warning("%s: removed %s (%.1f MB), the partial output of a run of it that was killed", dst, path.name,
                    size / 1e6)


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
