"""16-bit photos. Scans made for restoration hold 16 bits per channel, but Pillow reads and writes RGB at 8:
such files are read through FFmpeg, and a colorized copy is written here as 16-bit PNG or TIFF, with the
EXIF, DPI and color profile that Pillow would have kept."""
from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

STRIP_PIXELS = 1 << 21  # pixels converted (every photo) or compressed at a time: tens of MB of temporaries
FORMATS = {"PNG", "TIFF"}  # Pillow's names for the formats written at 16 bits
ORIENTATION = 0x0112
# TIFF fields that describe a file's pixels: a TIFF source's EXIF holds them, a copy must not
PIXEL_TAGS = {254, 255, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 280, 281, 284, 317, 320, 322, 323, 324,
              325, 338, 339, 340, 341, 347, 530, 531, 532, 34675}


def strips(height: int, width: int) -> Iterator[slice]:
    """Row ranges of about STRIP_PIXELS pixels each, top to bottom."""
    step = max(1, STRIP_PIXELS // width)
    return (slice(top, min(top + step, height)) for top in range(0, height, step))


def is_deep(im: Image.Image, path: str) -> bool:
    """More than 8 bits per channel in the file: a 16-bit gray mode, or channels Pillow narrows as it reads
    (its raw mode says so, except for a TIFF stored plane by plane: its bits per sample do, and for JPEG
    2000, archives' master format, whose depth FFmpeg's decoder says)."""
    tiff_bits = getattr(im, "tag_v2", {}).get(258, (8,))
    if im.format == "JPEG2000" and not im.mode.startswith("I"):
        return _decoded_bits(path) > 8
    return im.mode.startswith("I") or any(";16" in str(t.args) for t in im.tile) or max(tiff_bits) > 8


def _decoded_bits(path: str) -> int:
    """Bits per channel of the pictures FFmpeg decodes from `path` (8 where it cannot say, or without PyAV)."""
    try:
        import av
    except ImportError:
        return 8
    try:
        with av.open(path) as container:
            return max(c.bits for c in container.streams.video[0].codec_context.format.components)
    except (av.FFmpegError, IndexError, AttributeError):
        return 8


def read(path: str, orientation: int, alpha: bool) -> np.ndarray:
    """(H, W, 3 or 4) uint16 pixels of a 16-bit picture, upright (EXIF orientation 1-8 applied). ValueError
    if FFmpeg cannot read it."""
    import av  # here: training and evaluation import the photo module on machines without PyAV

    try:
        with av.open(path) as container:
            pixels = next(container.decode(video=0)).to_ndarray(format="rgba64le" if alpha else "rgb48le")
    except (av.FFmpegError, StopIteration) as ex:
        raise ValueError(f"FFmpeg cannot read its 16-bit pixels: {ex}") from ex
    if orientation in (5, 6, 7, 8):  # the picture's sides swap
        pixels = pixels.transpose(1, 0, 2)
    flip_rows = orientation in (3, 4, 7, 8)
    flip_columns = orientation in (2, 3, 6, 7)
    return pixels[::-1 if flip_rows else 1, ::-1 if flip_columns else 1]


def write(path: Path, fmt: str, pixels: np.ndarray, kept: dict) -> None:
    """(H, W, 3 or 4) uint16 pixels -> a 16-bit `fmt` file ("PNG" or "TIFF"), with `kept` (Pillow's save
    options "exif", "dpi", "icc_profile") in that format's own fields."""
    with open(path, "wb") as f:
        f.write(_png(pixels, kept) if fmt == "PNG" else _tiff(pixels, kept))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _deflated(blocks: Iterator[np.ndarray]) -> bytes:
    packer = zlib.compressobj()
    return b"".join([*(packer.compress(block.tobytes()) for block in blocks), packer.flush()])


def _png_scanlines(pixels: np.ndarray) -> Iterator[np.ndarray]:
    """Rows with PNG's "Up" filter (each byte minus the one above it), each led by its filter type, 2."""
    above = None
    for rows in strips(*pixels.shape[:2]):
        block = np.ascontiguousarray(pixels[rows], dtype=">u2").reshape(rows.stop - rows.start, -1).view(np.uint8)
        up = np.diff(block, axis=0, prepend=np.zeros_like(block[:1]) if above is None else above)
        above = block[-1:]
        yield np.hstack((np.full((len(up), 1), 2, np.uint8), up))


def _png(pixels: np.ndarray, kept: dict) -> bytes:
    h, w, channels = pixels.shape
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6 if channels == 4 else 2, 0, 0, 0))]
    if "icc_profile" in kept:
        chunks.append(_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(kept["icc_profile"])))
    if "dpi" in kept:
        x, y = (round(d / 0.0254) for d in kept["dpi"])  # pixels per metre
        chunks.append(_chunk(b"pHYs", struct.pack(">IIB", x, y, 1)))
    if "exif" in kept:
        chunks.append(_chunk(b"eXIf", kept["exif"].tobytes()[6:]))  # without the JPEG marker's "Exif\0\0"
    chunks += [_chunk(b"IDAT", _deflated(_png_scanlines(pixels))), _chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def _tiff_samples(pixels: np.ndarray, order: str) -> Iterator[np.ndarray]:
    """Rows with TIFF's horizontal predictor: each sample minus its left neighbour's."""
    for rows in strips(*pixels.shape[:2]):
        block = pixels[rows]
        samples = block.astype(order + "u2")
        samples[:, 1:] = np.diff(block, axis=1)
        yield samples


def _tiff(pixels: np.ndarray, kept: dict) -> bytes:
    """One deflated strip with the horizontal predictor. The fields go through Pillow's EXIF writer, which
    lays out a TIFF header and its directories (the EXIF one included) and points the strip past them."""
    h, w, channels = pixels.shape
    ifd = Image.Exif()
    if "exif" in kept:
        ifd.load(kept["exif"].tobytes())
    for tag, value in ((256, w), (257, h), (258, (16,) * channels), (259, 8), (262, 2), (273, 0), (277, channels),
                       (278, h), (284, 1), (317, 2)):
        ifd[tag] = value
    if channels == 4:
        ifd[338] = 2  # unassociated alpha
    if "dpi" in kept:
        ifd[282], ifd[283], ifd[296] = *(float(d) for d in kept["dpi"]), 2
    if "icc_profile" in kept:
        ifd[34675] = kept["icc_profile"]
    strip = _deflated(_tiff_samples(pixels, ">" if ifd.tobytes()[6:8] == b"MM" else "<"))
    ifd[279] = len(strip)
    return ifd.tobytes()[6:] + strip
