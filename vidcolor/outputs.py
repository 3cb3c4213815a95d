"""Safe output files: written beside the target under a temporary name, renamed when complete.

Any failure or Ctrl-C removes the temporary file, so no partial output is ever left, and the
input can never be the output.
"""
from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError

DISK_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}  # the disk (or a quota or size limit) is full


def disk_full(ex: BaseException, dst: Path) -> OutputError | None:
    """An OutputError for `dst` if `ex` says the disk is full, else None."""
    if getattr(ex, "errno", None) in DISK_ERRNOS:
        return OutputError(f"{dst}: disk full (or file size limit reached) while writing; no output was left")
    return None


def check_output(src: Path, dst: Path, overwrite: bool) -> None:
    """Refuse outputs that would damage the input or existing files, or that cannot be written."""
    same_file = dst.exists() and src.exists() and os.path.samefile(src, dst)  # also through links
    if same_file or dst.resolve() == src.resolve():
        raise OutputError(f"{dst}: the output is the input; choose another output path")
    if dst.is_dir():
        raise OutputError(f"{dst}: is a directory")
    if dst.exists() and not overwrite:
        raise OutputError(f"{dst}: already exists (use --overwrite to replace it)")
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{dst}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{dst}: folder {parent} is not writable")


@contextmanager
def atomic_output(src: Path, dst: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside dst (same suffix); rename it to dst only if the body succeeds."""
    check_output(src, dst, overwrite)
    fd, name = tempfile.mkstemp(prefix=f".{dst.stem}.", suffix=f".part{dst.suffix}", dir=dst.parent or ".")
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the output gets the usual permissions
    try:
        yield tmp
        os.replace(tmp, dst)
    except OSError as ex:
        full = disk_full(ex, dst)
        if full is not None:
            raise full from ex
        raise
    finally:
        tmp.unlink(missing_ok=True)
