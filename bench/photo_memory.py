"""Peak memory (RSS) and time of colorizing big scans: an 8-bit gray PNG and a 16-bit gray TIFF of 10 and
40 megapixels. Archives scan prints and negatives at 100 megapixels and more; memory per pixel must stay
small, and what does not grow with the size (the model, the libraries) shows as the difference.

    python bench/photo_memory.py [--sizes 10,40] [--model fusion-small] [--json]

Each run is a fresh process, so the peaks do not mix; ru_maxrss of the child is its peak RSS.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data as skdata

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import measure

CHILD = """
import resource, sys, json, time
from vidcolor import Colorizer, colorize_image
colorizer = Colorizer(sys.argv[3])
t0 = time.perf_counter()
colorize_image(sys.argv[1], sys.argv[2], colorizer)
print(json.dumps({"seconds": round(time.perf_counter() - t0, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def scan(path: Path, megapixels: int, bits: int) -> Path:
    """A public-domain photo (scikit-image's camera man) enlarged to a 3:2 gray scan of that size."""
    height = round((megapixels * 1e6 / 1.5) ** 0.5)
    gray = Image.fromarray(skdata.camera()).resize((round(height * 1.5), height), Image.BICUBIC)
    if bits == 16:
        gray = Image.fromarray(np.asarray(gray, np.uint16) * 257)
    gray.save(path)
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10,40", help="megapixels, comma-separated")
    p.add_argument("--model", default="fusion-small")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for bits, suffix in ((8, ".png"), (16, ".tif")):
            runs = {}
            for mp in sizes:
                src = scan(Path(tmp) / f"scan{mp}{suffix}", mp, bits)
                runs[f"{mp}MP"] = measure(CHILD, src, Path(tmp) / f"color{mp}{suffix}", args.model)
                src.unlink()
            small, big = runs[f"{sizes[0]}MP"], runs[f"{sizes[-1]}MP"]
            runs["bytes_per_added_pixel"] = round((big["peak_rss_mb"] - small["peak_rss_mb"]) * 2**20
                                                  / ((sizes[-1] - sizes[0]) * 1e6), 1)
            result[f"{bits}-bit {suffix}"] = runs
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
