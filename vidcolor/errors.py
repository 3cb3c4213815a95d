"""Errors the library raises; only the CLI turns them into messages and exit codes."""
from __future__ import annotations

import re
from pathlib import Path


class VidcolorError(Exception):
    """Base class: a problem the user can act on. `exit_code` is what the CLI returns."""

    exit_code = 1


class UsageError(VidcolorError):
    """Options that contradict each other or cannot be parsed."""

    exit_code = 2


class InputError(VidcolorError):
    """The input is missing, unreadable, or not something we can decode."""

    exit_code = 3


class OutputError(VidcolorError):
    """The output cannot be written (exists, same as input, folder missing, disk full...)."""

    exit_code = 4


class WeightsError(VidcolorError):
    """The model weights are missing, corrupted, or of an unknown name."""

    exit_code = 5


class AlreadyInColor(VidcolorError):
    """A photo or film that has colors of its own, where the caller asked to leave such ones as they are
    (recolor=False: a folder's color prints among its black-and-white ones)."""


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+:)/+")  # two letters at least: C:/ is a drive


def missing_input(path: Path) -> InputError:
    """No file at `path`. A URL or "-" (standard input) is said to be one: vidcolor reads a film more than
    once (its survey, then the film) and seeks in it, so it reads files only; and Path had folded the URL's
    "//", which "no such file" would have shown."""
    name = str(path)
    if name == "-":
        return InputError("-: reading a film or photo from standard input is not supported: give its file")
    if scheme := _SCHEME.match(name):
        url = scheme[1] + ("///" if scheme[1].lower() == "file:" else "//") + name[scheme.end():]  # file: has no host
        return InputError(f"{url}: vidcolor reads files, not URLs or streams: save it to a file first")
    return InputError(f"{path}: no such file")


EXIT_CODES = {
    0: "success",
    1: "unexpected internal error (rerun with VIDCOLOR_DEBUG=1 for a traceback)",
    2: "bad command-line usage",
    3: "bad input (missing, unreadable, not a video or image, no video stream)",
    4: "output cannot be written (exists without --overwrite, equals the input, folder missing, disk full)",
    5: "model weights missing, corrupted or unknown",
    129: "stopped by SIGHUP (the terminal closed), no partial output left",
    130: "interrupted (Ctrl-C), no partial output left",
    143: "stopped by SIGTERM (kill, timeout, a job scheduler, a container's stop), no partial output left",
}


def one_line(ex: BaseException) -> str:
    """An error's message on one line: libraries' own (libheif's, FFmpeg's) may end in or hold newlines."""
    return " ".join(str(ex).split())
