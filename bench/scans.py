"""Film scans or photos: the threshold behind `scans.film_scans`, measured on real media.

    python bench/scans.py [--frames 150] [--photos 200] [--json]

Writes the first frames of each film in ../shared/samples as numbered gray TIFFs (a reel scanned frame by
frame), and held-out photos of ../shared/data/places-like as numbered gray TIFFs of one size (a family's
flatbed scans), then reports for each folder the mean gray difference of every pair of neighbours' 32x32
thumbnails (what `scans.ALIKE` is compared with) and what `film_scans` judges it: film or photos.
"""
from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

import av
import numpy as np
from PIL import Image

from vidcolor.scans import ALIKE, film_scans, thumbnail

SHARED = Path(__file__).resolve().parents[2] / "shared"


def neighbours(files: list[Path]) -> np.ndarray:
    """The mean gray difference of every pair of neighbours' thumbnails."""
    thumbnails = []
    for path in files:
        with Image.open(path) as im:
            thumbnails.append(thumbnail(im))
    return np.array([np.abs(a - b).mean() for a, b in zip(thumbnails, thumbnails[1:])])


def reel(film: Path, folder: Path, frames: int) -> list[Path]:
    folder.mkdir()
    with av.open(str(film)) as container:
        for i, frame in zip(range(frames), container.decode(video=0)):
            frame.to_image().convert("L").save(folder / f"reel_{i:06d}.tif")
    return sorted(folder.iterdir())


def album(photos: list[Path], folder: Path) -> list[Path]:
    folder.mkdir()
    for i, path in enumerate(photos):
        Image.open(path).convert("L").resize((400, 300)).save(folder / f"scan_{i + 1:03d}.tif")
    return sorted(folder.iterdir())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--photos", type=int, default=200)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    data = SHARED / "data" / "places-like"
    with open(data / "index.csv") as f:
        val = [data / row["path"] for row in csv.DictReader(f) if row["split"] == "val"][:args.photos]
    result: dict = {"alike_at_most": ALIKE}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {film.stem: reel(film, Path(tmp) / film.stem, args.frames)
                   for film in sorted((SHARED / "samples").glob("*.mp4"))}
        folders["places-like val photos"] = album(val, Path(tmp) / "album")
        for name, files in folders.items():
            d = neighbours(files)
            scans, _ = film_scans(files)
            result[name] = {"files": len(files), "judged": "film" if scans else "photos",
                            "median": round(float(np.median(d)), 4), "p90": round(float(np.percentile(d, 90)), 4),
                            "min": round(float(d.min()), 4), "max": round(float(d.max()), 4),
                            "share_alike": round(float((d <= ALIKE).mean()), 3)}
    print(json.dumps(result) if args.json else "\n".join(f"{k:28s} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
