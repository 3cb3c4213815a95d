"""How well vidcolor tells gray, tinted and color pictures apart (vidcolor.input_color): a folder's color
photos and films are left as they are, and tinted ones are colorized.

    python bench/input_color.py [--limit N] [--figure docs/kept_shots.jpg] [--json]

photos: held-out photos (val split), each made into variants, saved as JPEG (quality 75) and read back:
as they are (color); faded color (saturation 0.35); gray; gray with scanner noise (each channel +-3 codes,
sigma) and a faint cast (a slope of up to 3 codes across the picture); sepia-toned (shadows brown, whites
white); split-toned (shadows brown, highlights cream: the hue moves about 30 degrees); amber- and
blue-tinted (the gray times a color, as a tinted film base); yellowed (gray, and a yellow cast strongest at
the edges, as an old scan's paper); toned two ways (shadows toward blue, highlights toward yellow, up to 3%
of full scale); in mixed light (a cast from warm at the left to cool at the right, +-8 codes: a phone's
photo of a print between a lamp and a window). The share of each variant judged gray, tinted and color.
tape: frames off a tape, as 4:2:0 planes of 640x480 (100 each, the tones of 100 held-out photos): gray or
with a cast of 8 codes, under chroma noise of sigma 5, 10 or 20 codes smeared over 4 chroma samples along
the lines (VHS);
and held-out color photos at 640x480 under the same noise of sigma 10. The share judged color.
films: the films at hand, their frames sampled as a film's are before colorizing: the demo in color and in
black and white; a documentary made of the demo's shots, the first and third in color, the others in black
and white; and where ../shared is there, the airplane footage (color), the cut-list clip (color), the
Chaplin film (black and white) and the Chaplin film sepia-toned. Each is then colorized as a run does by
default (a tiny random network, coded losslessly): its shots, those that kept their own colors, and the
runs of frames whose chroma is the input's to the code (black frames are, colorized or not).
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bars import SHARED, truth_clips
from temporal import ROOT

from vidcolor import colorize_video
from vidcolor.input_color import coloring, ycc_of_planes, ycc_of_rgb
from vidcolor.media.codecs import EncodeOptions
from vidcolor.preview import make_preview
from vidcolor.survey import film_survey
from vidcolor.train.data import load_photos_native

DATA = ROOT.parent / "shared" / "data" / "places-like"
SEPIA_SHADOW = np.array([0.44, 0.26, 0.08])  # the brown of a toned print's shadows, sRGB 0..1
DEMO_SHOT = 50  # frames of each of the demo's four shots
SPLIT_SHADOW, SPLIT_HIGHLIGHT = np.array([0.45, 0.22, 0.10]), np.array([1.0, 0.93, 0.70])


def gray_of(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114])


def sepia(gray: np.ndarray) -> np.ndarray:
    """Toned: dark tones brown, light ones to white (gray 0..1 -> RGB 0..1)."""
    g = gray[..., None]
    return g * (1 - (1 - g) * (1 - SEPIA_SHADOW / SEPIA_SHADOW.max()))


def variants(rgb: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """(H, W, 3) float sRGB 0..1 -> the variants above, float 0..1."""
    gray = gray_of(rgb)
    h, w = gray.shape
    slope = np.linspace(-1, 1, w)[None, :, None] * np.array([3, -2, 1]) / 255
    edge = np.minimum.outer(np.minimum(np.arange(h), np.arange(h)[::-1]) / h,
                            np.minimum(np.arange(w), np.arange(w)[::-1]) / w)
    yellowing = (1 - np.clip(edge * 4, 0, 1))[..., None] * np.array([0, -0.02, -0.12])
    mean = rgb.mean(-1, keepdims=True)
    return {
        "color": rgb,
        "faded_color": mean + 0.35 * (rgb - mean),
        "gray": np.repeat(gray[..., None], 3, -1),
        "gray_noisy": gray[..., None] + rng.normal(0, 3 / 255, (h, w, 3)) + slope,
        "sepia": sepia(gray),
        "split_toned": (1 - gray[..., None]) * gray[..., None] * SPLIT_SHADOW / SPLIT_SHADOW.max() * 1.3
        + gray[..., None] ** 2 * SPLIT_HIGHLIGHT,
        "amber": gray[..., None] * np.array([1.0, 0.78, 0.42]),
        "blue": gray[..., None] * np.array([0.55, 0.72, 1.0]),
        "yellowed": gray[..., None] * 0.95 + 0.05 + yellowing,
        "two_way_toned": gray[..., None] + 4 * (gray * (1 - gray))[..., None]
        * np.where(gray[..., None] < 0.5, [-0.03, 0, 0.03], [0.03, 0.015, -0.03]),
        "mixed_light": gray[..., None] + np.linspace(1, -1, w)[None, :, None] * np.array([8, 2.4, -8]) / 255,
    }


def jpeg(rgb: np.ndarray) -> np.ndarray:
    """As a scan saved at JPEG quality 75 (chroma at half size) reads back."""
    saved = io.BytesIO()
    Image.fromarray(rgb).save(saved, "JPEG", quality=75)
    return np.asarray(Image.open(saved))


def photos(limit: int | None) -> dict:
    rng = np.random.default_rng(0)
    counts: dict[str, Counter] = {}
    hues: dict[str, Counter] = {}
    for batch in load_photos_native(DATA, "val", limit, 32):
        for rgb in batch.permute(0, 2, 3, 1).numpy():
            for name, v in variants(rgb / 255, rng).items():
                c = coloring(ycc_of_rgb(jpeg((v.clip(0, 1) * 255).round().astype(np.uint8))))
                counts.setdefault(name, Counter())[c.kind] += 1
                if c.hue:
                    hues.setdefault(name, Counter())[c.hue] += 1
    return {name: {"photos": sum(c.values()), **{k: round(c[k] / sum(c.values()), 4)
                                                 for k in ("gray", "tinted", "color")},
                   "hues": dict(hues.get(name, Counter()).most_common(3))} for name, c in counts.items()}


def tape(limit: int | None) -> dict:
    rng = np.random.default_rng(0)

    def noisy(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, sigma: float) -> str:
        noise = rng.normal(0, sigma, (2, *cb.shape))
        smeared = sum(np.roll(noise, k, axis=-1) for k in range(4)) / 2  # sigma kept
        smeared = (smeared + np.stack((cb, cr))).round().clip(16, 240).astype(np.uint8)
        return coloring(ycc_of_planes(y, *smeared, 8, False)).kind

    pictures = []  # held-out photos at 640x480 as 4:2:0 planes: Y, then U and V as rows (720, 640)
    for batch in load_photos_native(DATA, "val", limit, 32):
        for rgb in batch.permute(0, 2, 3, 1).numpy():
            frame = av.VideoFrame.from_ndarray(np.asarray(Image.fromarray(rgb).resize((640, 480))), format="rgb24")
            pictures.append(frame.reformat(format="yuv420p").to_ndarray())
    out = {}
    for cast in (0, 8):  # a black-and-white tape: the first 100 photos' tones, no color but the cast and noise
        for sigma in (5, 10, 20):
            cb, cr = (np.full((240, 320), 128 + share * cast) for share in (0.6, 0.8))
            kinds = Counter(noisy(planes[:480], cb, cr, sigma) for planes in pictures[:100])
            out[f"cast{cast}_sigma{sigma}"] = round(kinds["color"] / len(pictures[:100]), 3)
    kinds = Counter(noisy(planes[:480], *(planes[k:k + 120].reshape(240, 320).astype(np.float64) for k in (480, 600)),
                          10) for planes in pictures)
    out["color_photos_sigma10"] = round(kinds["color"] / max(1, len(pictures)), 4)
    return out


def toned_copy(src: Path, dst: Path) -> Path:
    """`src` (a gray film) sepia-toned, picture only."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        v = out.add_stream("libx264", rate=vin.average_rate, options={"crf": "12", "preset": "veryfast"})
        v.width, v.height, v.pix_fmt = vin.width, vin.height, "yuv420p"
        for f in inp.decode(vin):
            toned = sepia(gray_of(f.to_ndarray(format="rgb24") / 255))
            frame = av.VideoFrame.from_ndarray((toned * 255).round().astype(np.uint8), format="rgb24")
            out.mux(v.encode(frame.reformat(format="yuv420p")))
        out.mux(v.encode(None))
    return dst


def figure(tmp: Path, path: Path) -> None:
    """The documentary's preview sheet with the shipped weights, a frame of each shot: the first shot keeps
    its colors, the others are colorized (the third, in color but of about one hue, too)."""
    sheet = tmp / "sheet.png"
    make_preview(documentary(tmp / "documentary_sheet.mp4"), sheet, count=4)
    Image.open(sheet).save(path, quality=90)


def films(tmp: Path) -> dict:
    clips = {name: path for name, path in truth_clips().items()} | {"demo_bw": ROOT / "samples" / "demo_bw.mp4"}
    if SHARED.is_dir():
        clips |= {"cuts": SHARED / "cuts_testvideo.mp4", "chaplin": SHARED / "bw_chaplin_audio.mp4",
                  "chaplin_sepia": toned_copy(SHARED / "bw_chaplin_audio.mp4", tmp / "chaplin_sepia.mp4")}
    clips["documentary"] = documentary(tmp / "documentary.mp4")
    out = {}
    for name, path in clips.items():
        survey = film_survey(path)
        out[name] = {"kind": survey.coloring.kind, "hue": survey.coloring.hue,
                     "frames": dict(Counter(c.kind for c in survey.frames)), **kept_shots(path, tmp / "out.mkv")}
    return out


def documentary(dst: Path) -> Path:
    """The demo's four shots, the first and third in color (demo_truth), the second and fourth in black and
    white (demo_bw): a documentary's color interviews between archive footage. The same frames, so that the
    shots are found where the demo's are."""
    with av.open(str(ROOT / "samples" / "demo_truth.mp4")) as a, av.open(str(ROOT / "samples" / "demo_bw.mp4")) as b:
        pairs = list(zip(a.decode(video=0), b.decode(video=0)))
    with av.open(str(dst), "w") as out:
        v = out.add_stream("libx264", rate=25, options={"crf": "12", "preset": "veryfast"})
        v.width, v.height, v.pix_fmt = pairs[0][0].width, pairs[0][0].height, "yuv420p"
        for i, (color, gray) in enumerate(pairs):
            frame = av.VideoFrame.from_ndarray((color if (i // DEMO_SHOT) % 2 == 0 else gray).to_ndarray(),
                                               format="yuv420p")
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    return dst


def kept_shots(src: Path, dst: Path) -> dict:
    """The film colorized as a run does by default (a tiny random network: the colors play no part, coded
    losslessly): its shots, those that kept their own colors, and the frames whose chroma is the input's to
    the code, as runs of frame numbers."""
    report = colorize_video(src, dst, model="tiny-random", progress=False, overwrite=True, encode=EncodeOptions(crf=0))
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        same = [np.array_equal(x.to_ndarray()[x.height:], y.to_ndarray()[y.height:])
                for x, y in zip(a.decode(video=0), b.decode(video=0), strict=True)]
    runs = [[i, i] for i, (k, before) in enumerate(zip(same, [False] + same)) if k and not before]
    for run in runs:
        while run[1] + 1 < len(same) and same[run[1] + 1]:
            run[1] += 1
    return {"shots": report.shots, "kept_shots": report.kept_color_shots, "kept_frames": runs}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--limit", type=int, default=None, help="held-out photos (default: all)")
    p.add_argument("--figure", type=Path, default=None, help="write the documentary's preview sheet here")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        if args.figure is not None:
            figure(Path(tmp), args.figure)
        result = {"films": films(Path(tmp)), "photos": photos(args.limit) if DATA.is_dir() else None,
                  "tape": tape(args.limit) if DATA.is_dir() else None}
    if args.json:
        print(json.dumps(result))
        return
    for name, r in result["films"].items():
        print(f"film {name:14s} {r['kind']:7s} {r['hue'] or '':12s} sampled frames {r['frames']}; shots "
              f"{r['shots']}, kept {r['kept_shots']}, frames kept {r['kept_frames']}")
    for name, r in (result["photos"] or {}).items():
        print(f"photos {name:12s} gray {r['gray']:.3f}  tinted {r['tinted']:.3f}  color {r['color']:.3f}  {r['hues']}")
    for name, share in (result["tape"] or {}).items():
        print(f"tape {name:20s} color {share:.3f}")


if __name__ == "__main__":
    main()
