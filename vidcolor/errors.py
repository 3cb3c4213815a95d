"""Errors the library raises; only the CLI turns them into messages and exit codes."""
from __future__ import annotations


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


EXIT_CODES = {
    0: "success",
    1: "unexpected internal error (rerun with VIDCOLOR_DEBUG=1 for a traceback)",
    2: "bad command-line usage",
    3: "bad input (missing, unreadable, not a video or image, no video stream)",
    4: "output cannot be written (exists without --overwrite, equals the input, folder missing, disk full)",
    5: "model weights missing, corrupted or unknown",
    130: "interrupted (Ctrl-C); no partial output is left",
}


def one_line(ex: BaseException) -> str:
    """An error's message on one line: libraries' own (libheif's, FFmpeg's) may end in or hold newlines."""
    return " ".join(str(ex).split())
