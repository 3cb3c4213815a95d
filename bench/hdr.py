"""HDR masters against their SDR twins: the same black-and-white pictures, colorized from an HDR10 (PQ) or HLG
master and from SDR, compared on an HDR display's terms.

    python bench/hdr.py [--size 256x192] [--json]

Each of scikit-image's public-domain photos, in gray, is written as an SDR film and as the HDR master that shows
it (SDR's white at HDR's reference white, 203 cd/m2; BT.2020; FFV1, lossless), both colorized with the shipped
weights, the HDR output decoded to display light by the standards' own math (tests/test_hdr.py). Printed per
transfer: the colorfulness of the HDR output over the SDR output's (1: the same), and their mean |RGB| apart
(of 255), the mean over the photos.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import gray_rgb, photo
from test_hdr import FFV1, HLG, PQ, chroma, shown, write_hdr, write_sdr

from vidcolor import colorize_video
from vidcolor.colorizer import Colorizer

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="256x192")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    logging.getLogger("vidcolor").setLevel(logging.ERROR)  # the twins' levels warnings, alike
    colorizer = Colorizer()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for trc, name in ((PQ, "pq"), (HLG, "hlg")):
            ratios, apart = [], []
            for picture in PHOTOS:
                gray = gray_rgb(photo(picture, width, height))
                sdr, hdr = Path(tmp) / f"{picture}.mkv", Path(tmp) / f"{picture}_{name}.mkv"
                write_sdr(sdr, [gray] * 2)
                write_hdr(hdr, [gray] * 2, trc)
                for film in (sdr, hdr):
                    colorize_video(film, film.with_suffix(".out.mkv"), colorizer=colorizer, encode=FFV1,
                                   progress=False, overwrite=True)
                with av.open(str(sdr.with_suffix(".out.mkv"))) as c:
                    ours_sdr = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(float)
                ours_hdr = shown(hdr.with_suffix(".out.mkv"), trc)[0]
                ratios.append(chroma(ours_hdr) / chroma(ours_sdr))
                apart.append(float(np.abs(ours_hdr - ours_sdr).mean()))
            rows[name] = {"colorfulness_over_sdr": round(float(np.mean(ratios)), 3),
                          "rgb_apart": round(float(np.mean(apart)), 2),
                          "each": {k: round(r, 3) for k, r in zip(PHOTOS, ratios)}}
    result = {"size": args.size, "photos": list(PHOTOS), **rows}
    if args.json:
        print(json.dumps(result))
    else:
        for name in ("pq", "hlg"):
            print(f"{name}: colorfulness {rows[name]['colorfulness_over_sdr']} x the SDR twin's, "
                  f"{rows[name]['rgb_apart']} of 255 apart")


if __name__ == "__main__":
    main()
