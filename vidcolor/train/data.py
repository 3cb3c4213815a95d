"""Training photos: read index.csv from a folder or a .tar shard, decode once into memory.

The whole split is held as one uint8 tensor (N, 3, S, S): 20k photos at 128 px are 1 GB,
which removes JPEG decoding from the training loop (it would starve a GPU at 4,000 img/s).
"""
from __future__ import annotations

import contextlib
import csv
import io
import logging
import tarfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..color import linear_to_srgb, srgb_to_linear
from ..errors import InputError, UsageError
from ..interrupts import leave_stops_to_main
from ..outputs import atomic_output
from ..progress import progress_bar

SCENE_SOURCES = ("miniplaces", "sun-cmu16720-a", "sun-cmu16720-b")  # sources whose labels are scene classes
INDEX = "index.csv"
log = logging.getLogger("vidcolor")


@dataclass
class PhotoSet:
    images: torch.Tensor  # (N, 3, S, S) uint8 RGB
    labels: torch.Tensor  # (N,) int64 scene class, -1 where the photo has none
    paths: list[str]


def read_index(data: Path) -> list[dict]:
    """Rows of index.csv from a folder or a tar shard: a photo's `path` and `split` (train, val) at least;
    its `source` and scene `label` for the classifier, where the source is a scene data set."""
    try:
        if data.is_dir():
            text = (data / INDEX).read_bytes().decode("utf-8")
        else:
            with tarfile.open(data) as tar:
                text = tar.extractfile(INDEX).read().decode("utf-8")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = list(reader)
    except (OSError, KeyError, tarfile.TarError, UnicodeDecodeError, csv.Error) as ex:
        raise InputError(f"{data}: cannot read {INDEX} ({ex})") from ex
    if missing := [c for c in ("path", "split") if c not in (reader.fieldnames or ())]:
        raise InputError(f"{data}: {INDEX} has no {' or '.join(missing)} column (its first line names the "
                         "columns: path,split at least)")
    if odd := next((n for n, r in enumerate(rows, 2) if None in r or None in r.values()), None):
        raise InputError(f"{data}: {INDEX} line {odd} has more or fewer fields than its first line names")
    return rows


def split_rows(data: Path, split: str) -> list[dict]:
    """The index rows of `split`; none is an error that names the splits there are."""
    rows = read_index(data)
    chosen = [r for r in rows if r["split"] == split]
    if not chosen:
        there = ", ".join(sorted({r["split"] for r in rows})) or "none"
        raise InputError(f"{data}: no photos in split {split!r} (its splits: {there})")
    return chosen


def scene_classes(rows: list[dict]) -> list[str]:
    return sorted({r["label"] for r in rows if _labelled(r)})


def _labelled(row: dict) -> bool:
    """A photo whose label is a scene class (MiniPlaces, SUN); others train the colors only."""
    return row.get("source") in SCENE_SOURCES and row.get("label") not in (None, "", "none")


def _decode(item: tuple[bytes, int | None]) -> np.ndarray | str:
    """(3, H, W) uint8 RGB, at size x size when a size is given; or why the photo cannot be read (a damaged
    file among 20,000 is skipped and named, not the end of a run)."""
    data, size = item
    try:
        with Image.open(io.BytesIO(data)) as im:
            im = im.convert("RGB")
            if size is not None and im.size != (size, size):  # photos are square already; keep it cheap
                im = im.resize((size, size), Image.BICUBIC)
            return np.asarray(im).transpose(2, 0, 1).copy()
    except UnidentifiedImageError:
        return "not a picture Pillow reads"
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as ex:
        return f"{type(ex).__name__}: {ex}"


def _readable(data: Path, paths: list[str], decoded: list[np.ndarray | str]) -> list[int]:
    """The indices of the photos that decoded; a warning names each one that did not."""
    for path, why in zip(paths, decoded):
        if isinstance(why, str):
            log.warning("%s: %s cannot be read as a photo (%s); skipped", data, path, why)
    return [i for i, a in enumerate(decoded) if not isinstance(a, str)]


def _read_bytes(data: Path, paths: list[str]) -> Iterator[bytes]:
    """The photos' files, one at a time, from a folder or a tar shard; one listed but missing is named."""
    with contextlib.ExitStack() as stack:
        tar = None if data.is_dir() else stack.enter_context(tarfile.open(data))
        for p in paths:
            try:
                yield (data / p).read_bytes() if tar is None else tar.extractfile(p).read()
            except (OSError, KeyError) as ex:
                raise InputError(f"{data}: {p} is listed in {INDEX} but cannot be read ({ex})") from None


def load_photos(data: Path, split: str, size: int, classes: list[str], limit: int | None = None,
                workers: int = 4, progress: bool = False) -> PhotoSet:
    """Decode the photos of `split` at size x size (20,000 take a minute or two on a few cores: a bar says)."""
    rows = split_rows(data, split)[:limit]
    paths = [r["path"] for r in rows]
    class_of = {c: i for i, c in enumerate(classes)}
    labels = [class_of.get(r["label"], -1) if _labelled(r) else -1 for r in rows]
    blobs = _read_bytes(data, paths)
    with ProcessPoolExecutor(workers, initializer=leave_stops_to_main) as pool:
        decoded = pool.map(_decode, [(b, size) for b in blobs], chunksize=64)
        try:
            arrays = list(progress_bar(progress, iterable=decoded, total=len(paths), unit="photo", desc="decoding"))
        except BaseException:  # Ctrl-C: the workers stop after the photos in hand, not after every other one
            pool.shutdown(cancel_futures=True)
            raise
    kept = _readable(data, paths, arrays)
    if not kept:
        raise InputError(f"{data}: none of the photos of split {split!r} can be read")
    return PhotoSet(torch.from_numpy(np.stack([arrays[i] for i in kept])), torch.tensor(labels)[kept],
                    [paths[i] for i in kept])


def _square_jpeg(pixels: np.ndarray, side: int, quality: int) -> bytes:
    """The photo as training reads it (side x side, bicubic), re-encoded smaller."""
    buf = io.BytesIO()
    Image.fromarray(pixels.transpose(1, 2, 0)).resize((side, side), Image.BICUBIC).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def pack_shard(data: Path, out: Path, split: str = "train", start: int = 0, count: int | None = None,
               side: int | None = None, quality: int = 90, overwrite: bool = False, progress: bool = False) -> int:
    """Write photos [start, start+count) of `split` with their index rows into one tar; return the count.

    Training on a lent GPU receives its data as such shards (64 MiB per call, code included); `side`
    stores each photo at the size training decodes it at, which makes the shard smaller. `data` may be a shard
    too. The tar is written under a temporary name and renamed when complete, as vidcolor's other outputs."""
    every = split_rows(data, split)
    rows = every[start: None if count is None else start + count]
    if start < 0 or not rows:
        raise UsageError(f"--start {start}: split {split!r} has photos 0 to {len(every) - 1}")
    packed = []
    with atomic_output(data, out, overwrite) as tmp, tarfile.open(tmp, "w") as tar:
        blobs = _read_bytes(data, [r["path"] for r in rows])
        for r, blob in progress_bar(progress, iterable=zip(rows, blobs), total=len(rows), unit="photo", desc="packing"):
            if side is not None:
                pixels = _decode((blob, None))
                if not _readable(data, [r["path"]], [pixels]):
                    continue
                blob, r["width"], r["height"] = _square_jpeg(pixels, side, quality), str(side), str(side)
            _add(tar, r["path"], blob)
            packed.append(r)
        text = io.StringIO()  # last: it lists the photos packed
        columns = dict.fromkeys([*rows[0], *(("width", "height") if side else ())])
        writer = csv.DictWriter(text, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(packed)
        _add(tar, INDEX, text.getvalue().encode())
    return len(packed)


def _add(tar: tarfile.TarFile, name: str, blob: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(blob)
    tar.addfile(info, io.BytesIO(blob))


def augment(batch: torch.Tensor, size: int, generator: torch.Generator, crop_min: float = 0.6,
            exposure: float = 0.0) -> torch.Tensor:
    """Random scale crop (side `crop_min`-1 of the photo's), aspect jitter and flip of (B, 3, S, S) float
    images, resampled to size x size. `exposure` > 0 also scales each photo's linear light by 2**u stops,
    u uniform in [-exposure, exposure], clipped as a sensor clips: an under- or over-exposed photo of
    the same scene, with L* and a*b* changed together (old films vary in exposure; more variety for a
    network that fits its 20k training photos better than new ones)."""
    n = batch.shape[0]
    rnd = torch.rand(n, 4, generator=generator).to(batch.device)
    scale = crop_min + (1 - crop_min) * rnd[:, 0]  # side of the crop, as a fraction of the photo
    aspect = 0.85 + 0.3 * rnd[:, 1]
    sx, sy = (scale * aspect.sqrt()).clamp(max=1), (scale / aspect.sqrt()).clamp(max=1)
    tx, ty = (1 - sx) * (2 * rnd[:, 2] - 1), (1 - sy) * (2 * rnd[:, 3] - 1)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0).to(batch.device)
    theta = torch.zeros(n, 2, 3, device=batch.device)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = sx * flip, tx, sy, ty
    grid = torch.nn.functional.affine_grid(theta, [n, 3, size, size], align_corners=False)
    out = torch.nn.functional.grid_sample(batch, grid, mode="bilinear", padding_mode="reflection",
                                          align_corners=False)
    if exposure > 0:
        gain = 2 ** (exposure * (2 * torch.rand(n, generator=generator).to(batch.device) - 1))
        out = linear_to_srgb((srgb_to_linear(out.clamp(0, 1)) * gain[:, None, None, None]).clamp(max=1))
    return out


def load_photos_native(data: Path, split: str, limit: int | None, batch_size: int, progress: bool = False):
    """Yield (B, 3, H, W) uint8 batches of `split` at native size, photos of one size per batch. `limit`
    takes photos evenly spread over the index, which lists its sources one after another. `progress`: a bar
    of the photos read."""
    rows = split_rows(data, split)
    if limit is not None and limit < len(rows):
        rows = [rows[i * len(rows) // limit] for i in range(limit)]
    by_size: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        by_size.setdefault((r.get("width"), r.get("height")), []).append(r["path"])
    with progress_bar(progress, total=len(rows), unit="photo", desc="photos") as bar:
        for paths in by_size.values():
            for i in range(0, len(paths), batch_size):
                chunk = paths[i:i + batch_size]
                decoded = [_decode((b, None)) for b in _read_bytes(data, chunk)]
                by_shape: dict[tuple[int, ...], list[np.ndarray]] = {}  # the index's sizes may be wrong
                for k in _readable(data, chunk, decoded):
                    by_shape.setdefault(decoded[k].shape, []).append(decoded[k])
                yield from (torch.from_numpy(np.stack(same)) for same in by_shape.values())
                bar.update(len(chunk))
