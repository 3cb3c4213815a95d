"""What an input is by its name, and the names vidcolor gives outputs: decided without torch, so the command
line refuses an output (there already, the input itself) at once, not after the 2-5 s the model's libraries
take to load. A photo's name never loads PyAV; a film's asks its container (media/containers.py)."""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from .errors import OutputError
from .media.sequence import base_name, is_sequence

HEIF_SUFFIXES = {".heic", ".heif"}  # what phones photograph old prints in
# JPEG 2000: archives' still-image masters (the Library of Congress's, lossless); Pillow writes it lossless.
# Netpbm: what SANE's scanimage writes (16-bit gray too); PCX and TGA: scans of the 1990s
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".jp2", ".j2k", ".jpf", ".jpx",
                  ".pgm", ".ppm", ".pbm", ".pnm", ".avif", ".pcx", ".tga"} | HEIF_SUFFIXES
GIF = ".gif"  # a photo, or an animated short film: is_photo looks
# outputs under another name: a container's usual one, or .mp4 for RealMedia (its muxer takes RealVideo 1 only)
RENAMED = {".qt": ".mov", ".mk3d": ".mkv", ".rm": ".mp4", ".rmvb": ".mp4"}


def is_photo(path: Path) -> bool:
    """A still photo by its suffix, or a GIF holding one picture: an animated GIF is a short film, which
    FFmpeg reads frame by frame (the film path also names the problem of one Pillow cannot open)."""
    if path.suffix.lower() != GIF:
        return path.suffix.lower() in IMAGE_SUFFIXES
    try:
        with Image.open(path) as im:
            return getattr(im, "n_frames", 1) == 1
    except (OSError, ValueError, SyntaxError, EOFError):
        return False


def register_heif(path: Path) -> None:
    """Pillow reads and writes HEIC through pillow-heif's plugin, registered when a HEIC is met rather than
    at import: nothing else needs it (training on a bare GPU machine does not have it)."""
    if path.suffix.lower() in HEIF_SUFFIXES:
        import pillow_heif

        pillow_heif.register_heif_opener()


def image_format(dst: Path) -> str:
    """Pillow's format for a photo's copy or a contact sheet named `dst`, from its suffix: one it cannot write
    is refused before the work (an evaluation's sheet named .xyz had failed once every photo was measured, a
    photo's copy once it was colorized)."""
    register_heif(dst)
    fmt = Image.registered_extensions().get(dst.suffix.lower())
    if fmt not in Image.SAVE:
        raise OutputError(f"{dst}: unknown image format {dst.suffix!r} (write .png, .jpg, .tif or .webp)")
    return fmt


def beside(input: Path, tag: str, suffix: str) -> Path:
    """A default output next to the input: film.mkv -> film_color.mkv, reel_%06d.dpx -> reel_color.mp4."""
    return input.with_name(f"{base_name(input) if is_sequence(input) else input.stem}_{tag}{suffix}")


def output_for(out: Path, photo: bool, codec: str) -> Path:
    """The name of a copy: the same, but for a few (a folder's copies, and the command's default output). A
    gray-only Netpbm photo (.pgm, .pbm) becomes color .ppm. A film in a
    container FFmpeg reads but cannot write (camcorder .mod and .tod, DVD-VR .vro, .divx, an animated GIF:
    FFmpeg's GIF muxer holds one picture here) or writes only with codecs of its day (RealMedia: RealVideo 1)
    goes into .mp4, and one under another name for a container it writes (.qt, .mk3d) under the usual name.
    A film coded with a `codec` its container cannot hold goes into one that can (ProRes from .mp4: .mov)."""
    suffix = out.suffix.lower()
    if photo:
        return out.with_suffix(".ppm") if suffix in (".pgm", ".pbm") else out
    from .media.containers import format_for, holding  # PyAV: for films only

    if suffix in RENAMED:
        out = out.with_suffix(RENAMED[suffix])
    try:
        format_for(out)
    except OutputError:
        out = out.with_suffix(".mp4")
    return holding(out, codec)
