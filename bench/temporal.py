"""Shots and temporal consistency, measured: shot F1 (ours vs PySceneDetect) and flicker.

    python bench/temporal.py [--model fusion-small] [--json] [--strip docs/strip.png]

Clips (each turned gray before anything sees it):
  demo       samples/demo_truth.mp4: four photo shots with pans, hard cuts at 50, 100, 150
  cuts       ../shared/samples/cuts_testvideo.mp4: hard cuts 30, 180, plus fades and a dissolve
  airplane   ../shared/samples/color_airplane_audio.mp4: real handheld footage, no cut
  chaplin    ../shared/samples/bw_chaplin_audio.mp4: real B&W film, no cut (F1 and moving flicker: no truth)
  moving     a piece of one demo photo sliding over another, 24 px per frame: no cut (trailing colors)
  joined     airplane 0-99 (with a 2-frame flash at 50) + cuts 30-179 + demo 100-149 + airplane
             150-279, all at 640x360: hard cuts at 100, 250, 300
Shot F1: hard cuts, a detection within 1 frame of a true cut is a hit; summed over all clips.
Flicker: mean over consecutive frame pairs inside true shots of the mean |delta a*b*|, with a*b*
first averaged over blocks of 1/16 of the short side (regional color, not grain); the excess is
ours minus the truth's. PSNR: RGB, 8-bit, mean over frames.
Moving flicker (needs OpenCV): mean |delta a*b*| between consecutive frames on surfaces that moved over
3 px at 320 px wide, followed by a dense optical flow and counted where it holds: people who walk,
which the block-averaged flicker barely sees. moving_share: the share of pixels it counted.
Still drift: mean |delta a*b*| between frames 48 apart where L* stayed within 2 (a still lawn turning
from green to gray over seconds); with a moving camera only the truth's figure is a fair reference.
PySceneDetect (AdaptiveDetector, ContentDetector, default settings) runs on the same gray clips
when it is installed (pip install scenedetect opencv-python-headless; benchmark only).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from vidcolor import colorize_video
from vidcolor.color import lab_to_rgb, rgb_to_lab
from vidcolor.colorizer import Colorizer
from vidcolor.media.codecs import EncodeOptions
from vidcolor.shots import detect_shots

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "samples"
TOLERANCE = 1  # frames
LOSSLESS = EncodeOptions(crf=0)


def read_rgb(path: Path, size: tuple[int, int] | None = None) -> tuple[list[np.ndarray], Fraction]:
    with av.open(str(path)) as c:
        rate = c.streams.video[0].average_rate
        frames = [f.to_ndarray(format="rgb24", width=size[0], height=size[1]) if size else
                  f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    return frames, rate


def write_gray(frames: list[np.ndarray], rate: Fraction, path: Path) -> Path:
    """The clip as a B&W film: luma kept, chroma dropped, losslessly encoded."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=rate, options={"qp": "0", "preset": "veryfast"})
        v.height, v.width = frames[0].shape[:2]
        v.pix_fmt = "yuv420p"
        for i, rgb in enumerate(frames):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            f.planes[1].update(bytes([128]) * f.planes[1].buffer_size)
            f.planes[2].update(bytes([128]) * f.planes[2].buffer_size)
            f.pts, f.time_base = i, 1 / rate
            out.mux(v.encode(f))
        out.mux(v.encode(None))
    return path


def joined_clip() -> tuple[list[np.ndarray], list[int]]:
    size = (640, 360)
    air, _ = read_rgb(SHARED / "color_airplane_audio.mp4", size)
    cuts, _ = read_rgb(SHARED / "cuts_testvideo.mp4", size)
    demo, _ = read_rgb(ROOT / "samples" / "demo_truth.mp4", size)
    first = [f.copy() for f in air[0:100]]
    for k in (50, 51):  # a photographer's flash: not a cut
        first[k] = np.clip(first[k].astype(np.int32) * 2 + 40, 0, 255).astype(np.uint8)
    return first + cuts[30:180] + demo[100:150] + air[150:280], [100, 250, 300]


def aged_clip(demo: list[np.ndarray], seed: int = 0) -> tuple[list[np.ndarray], list[int]]:
    """Four still color photos, 40 frames each, aged like old film on their L* only: exposure flicker
    (+-8%), grain and gate weave (1 px). The truth's own a*b* stay put apart from the weave, so any
    frame-to-frame color change beyond the truth's is the colorizer's flicker."""
    rng = np.random.default_rng(seed)
    frames = []
    for still in (demo[25], demo[75], demo[125], demo[175]):
        lab = rgb_to_lab(torch.from_numpy(still).permute(2, 0, 1).double() / 255)
        for _ in range(40):
            L = lab[:1] * rng.uniform(0.92, 1.08) + torch.from_numpy(rng.normal(0, 2.0, lab.shape[1:]))[None]
            aged = torch.cat((L.clamp(0, 100), lab[1:])).roll(tuple(rng.integers(-1, 2, 2)), dims=(1, 2))
            frames.append((lab_to_rgb(aged).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
    return frames, [40, 80, 120]


def moving_clip(demo: list[np.ndarray], step: int = 24, count: int = 60) -> list[np.ndarray]:
    """A still photo with a piece of another photo sliding across it and back, `step` px per frame: one
    shot. Colors that trail behind a moving object (a chroma filter holding on too long) cost PSNR here."""
    back, other = demo[25], demo[125]
    h, w = back.shape[:2]
    ph, pw = h // 2, w // 3
    piece = other[h // 4:h // 4 + ph, w // 3:w // 3 + pw]
    frames = []
    travel = w - pw
    for k in range(count):
        frame = back.copy()
        x = travel - abs(k * step % (2 * travel) - travel)  # back and forth: no jump
        frame[h // 4:h // 4 + ph, x:x + pw] = piece
        frames.append(frame)
    return frames


def clips() -> dict[str, tuple[list[np.ndarray] | None, Fraction, Path | None, list[int]]]:
    """name -> (color truth frames or None, frame rate, source path if it is a file, true hard cuts)."""
    demo, rate = read_rgb(ROOT / "samples" / "demo_truth.mp4")
    aged, aged_cuts = aged_clip(demo)
    out: dict = {"demo": (demo, rate, None, [50, 100, 150]), "aged": (aged, rate, None, aged_cuts),
                 "moving": (moving_clip(demo), rate, None, [])}
    if SHARED.is_dir():
        cuts = json.loads((SHARED / "cuts_testvideo.json").read_text())["hard_cuts"]
        out["cuts"] = (*read_rgb(SHARED / "cuts_testvideo.mp4"), None, cuts)
        out["airplane"] = (*read_rgb(SHARED / "color_airplane_audio.mp4"), None, [])
        out["chaplin"] = (None, rate, SHARED / "bw_chaplin_audio.mp4", [])
        joined, joined_cuts = joined_clip()
        out["joined"] = (joined, Fraction(25), None, joined_cuts)
    return out


def f1_counts(found: list[int], truth: list[int]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives), each truth matched at most once."""
    left, tp = list(truth), 0
    for f in found:
        hit = next((t for t in left if abs(t - f) <= TOLERANCE), None)
        if hit is not None:
            left.remove(hit)
            tp += 1
    return tp, len(found) - tp, len(left)


def f1(tp: int, fp: int, fn: int) -> float:
    return round(2 * tp / max(1, 2 * tp + fp + fn), 4)


def pyscenedetect_cuts(path: Path) -> dict[str, list[int]]:
    try:
        from scenedetect import AdaptiveDetector, ContentDetector, detect
    except ImportError:
        return {}
    out = {}
    for name, det in (("pyscenedetect_adaptive", AdaptiveDetector), ("pyscenedetect_content", ContentDetector)):
        scenes = detect(str(path), det())
        out[name] = [s[0].frame_num for s in scenes[1:]]
    return out


FLICKER_BLOCKS = 16  # a*b* are averaged over blocks of 1/16 of the short side before differencing


def regional_ab(rgb: np.ndarray) -> torch.Tensor:
    """(2, h, w) a*b* averaged over blocks: color flicker is regional ("the coat turns blue, then
    brown"); pixel-level differences are dominated by grain, weave and motion, in the truth too."""
    ab = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1).float() / 255)[1:]
    block = max(1, min(ab.shape[-2:]) // FLICKER_BLOCKS)
    return torch.nn.functional.avg_pool2d(ab[None], block)[0]


def flicker_and_psnr(ours: list[np.ndarray], truth: list[np.ndarray], cuts: list[int]) -> dict:
    assert len(ours) == len(truth), (len(ours), len(truth))
    psnr, fl_ours, fl_truth = [], [], []
    prev = None
    for i, (o, t) in enumerate(zip(ours, truth)):
        mse = np.mean((o.astype(np.float64) - t) ** 2)
        psnr.append(10 * np.log10(255**2 / max(mse, 1e-10)))
        ab = (regional_ab(o), regional_ab(t))
        if prev is not None and i not in cuts:
            fl_ours.append((ab[0] - prev[0]).abs().mean().item())
            fl_truth.append((ab[1] - prev[1]).abs().mean().item())
        prev = ab
    return {"psnr": round(float(np.mean(psnr)), 3), "flicker": round(float(np.mean(fl_ours)), 4),
            "flicker_excess": round(float(np.mean(fl_ours) - np.mean(fl_truth)), 4),
            "flicker_truth": round(float(np.mean(fl_truth)), 4)}


MOVING_PX = 3.0  # px at FLOW_WIDTH: a surface that moved this far between two frames is a moving figure
FLOW_WIDTH = 320


def small_labs(frames: list[np.ndarray]) -> list[np.ndarray]:
    """(3, h, w) L*a*b* of the frames at FLOW_WIDTH wide (area-averaged: grain and resampling noise out)."""
    h = round(frames[0].shape[0] * FLOW_WIDTH / frames[0].shape[1])
    area = lambda f: torch.nn.functional.interpolate(  # noqa: E731
        torch.from_numpy(f).permute(2, 0, 1)[None].float() / 255, size=(h, FLOW_WIDTH), mode="area")[0]
    return [rgb_to_lab(area(f)).numpy() for f in frames]


DRIFT_LAG = 48  # frames (2 s at 24 fps): colors that change this slowly are no flicker, yet a viewer sees them


def still_drift(labs: list[np.ndarray], cuts: list[int]) -> float | None:
    """Mean |delta a*b*| between frames DRIFT_LAG apart in one shot (`labs`: small_labs), on pixels whose L*
    there is within 2, every 4th start frame: a still lawn or wall whose color wanders over seconds. With a
    moving camera such pixels match by chance and their colors need not, so only the truth's figure says
    what is to be expected. None when no pair of frames has 100 such pixels."""
    changes = []
    for t in range(0, len(labs) - DRIFT_LAG, 4):
        if any(t < c <= t + DRIFT_LAG for c in cuts):
            continue
        a, b = labs[t], labs[t + DRIFT_LAG]
        still = np.abs(a[0] - b[0]) < 2
        if still.sum() >= 100:
            changes.append(float(np.linalg.norm(a[1:] - b[1:], axis=0)[still].mean()))
    return round(float(np.mean(changes)), 4) if changes else None


def moving_flicker(labs: list[np.ndarray], cuts: list[int]) -> tuple[float | None, float]:
    """Mean |delta a*b*| between consecutive frames (`labs`: small_labs) on surfaces that moved, each
    followed by OpenCV's DIS flow on the gray picture and counted only where the flow holds (L* within 3
    after the move, the backward flow within 1 px of undoing the forward one): the colors of people who
    walk, which the block-averaged flicker, dominated by still backgrounds, barely sees. Also the share of
    the pixels counted, over all frame pairs: a clip where little moves gives a noisy figure. None without
    OpenCV."""
    try:
        import cv2
    except ImportError:
        return None, 0.0
    size = labs[0].shape[:0:-1]
    gray = [np.clip(lab[0] * 2.55, 0, 255).astype(np.uint8) for lab in labs]
    grid = np.stack(np.meshgrid(np.arange(size[0]), np.arange(size[1])), -1).astype(np.float32)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def moved(x: np.ndarray, flow: np.ndarray) -> np.ndarray:  # x seen from the other frame
        return cv2.remap(x, *(grid + flow).transpose(2, 0, 1), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    changes, counted = [], 0
    for t in range(1, len(labs)):
        if t in cuts:
            continue
        flow = dis.calc(gray[t], gray[t - 1], None)  # frame t's pixel x was at x + flow in frame t - 1
        back = moved(dis.calc(gray[t - 1], gray[t], None), flow)
        holds = (np.abs(moved(labs[t - 1][0], flow) - labs[t][0]) < 3) & (np.linalg.norm(flow + back, axis=-1) < 1)
        figure = holds & (np.linalg.norm(flow, axis=-1) > MOVING_PX)
        n = int(figure.sum())
        counted += n
        if n >= 100:
            ab = np.stack([moved(labs[t - 1][c], flow) for c in (1, 2)])
            changes.append(float(np.linalg.norm(ab - labs[t][1:], axis=0)[figure].mean()))
    share = round(counted / (gray[0].size * max(1, len(labs) - 1)), 4)
    return (round(float(np.mean(changes)), 4) if changes else None), share


def strip(frames_a: list[np.ndarray], frames_b: list[np.ndarray], start: int, count: int, path: Path) -> None:
    """Two rows of consecutive frames (top: per frame, bottom: per shot), for the README."""
    from PIL import Image, ImageDraw

    h, w = frames_a[0].shape[:2]
    scale = 160 / w
    tiles = [[Image.fromarray(f[start + k]).resize((160, round(h * scale))) for k in range(count)]
             for f in (frames_a, frames_b)]
    th, label = tiles[0][0].height, 16
    sheet = Image.new("RGB", (count * 164 + 4, 2 * (th + label + 4) + 4), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (row, name) in enumerate(zip(tiles, ("per frame (--no-shot-detect)", "per shot (default)"))):
        y = 4 + r * (th + label + 4)
        draw.text((4, y + 2), f"{name}: frames {start}-{start + count - 1}", fill="black")
        for k, t in enumerate(row):
            sheet.paste(t, (4 + k * 164, y + label))
    sheet.save(path)


def colorized(gray: Path, truth: list[np.ndarray] | None, cuts: list[int], colorizer: Colorizer,
              stem: Path) -> tuple[dict[str, dict], dict[str, list[np.ndarray]]]:
    """The clip colorized frame by frame and per shot: flicker on moving figures, and where there is a
    truth, PSNR and flicker against it and the truth's own flicker; and the frames."""
    rows, frames = {}, {}
    for mode, detect in (("per_frame", False), ("per_shot", True)):
        out = stem.with_name(f"{stem.name}_{mode}.mkv")
        colorize_video(gray, out, colorizer=colorizer, encode=LOSSLESS, progress=False, shot_detect=detect)
        frames[mode] = read_rgb(out)[0]
        rows[mode] = flicker_and_psnr(frames[mode], truth, cuts) if truth is not None else {}
        labs = small_labs(frames[mode])
        rows[mode]["moving_flicker"], rows[mode]["moving_share"] = moving_flicker(labs, cuts)
        rows[mode]["still_drift"] = still_drift(labs, cuts)
    if truth is not None:  # the truth's own, once
        rows["flicker_truth"] = rows["per_frame"].pop("flicker_truth")
        del rows["per_shot"]["flicker_truth"]
        labs = small_labs(truth)
        rows["moving_flicker_truth"], rows["still_drift_truth"] = moving_flicker(labs, cuts)[0], still_drift(labs, cuts)
    return rows, frames


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="fusion-small")
    p.add_argument("--json", action="store_true")
    p.add_argument("--strip", type=Path, default=None, help="PNG: per-frame vs per-shot frames of the aged clip")
    p.add_argument("--skip-color", action="store_true", help="shot F1 only")
    p.add_argument("--clips", nargs="+", default=None, help="only these clips")
    args = p.parse_args()
    colorizer = Colorizer(args.model)
    totals: dict[str, list[int]] = {}
    result: dict = {"clips": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (truth, rate, source, cuts) in clips().items():
            if args.clips and name not in args.clips:
                continue
            gray = source or write_gray(truth, rate, Path(tmp) / f"{name}.mp4")
            row: dict = {"true_cuts": cuts}
            found = {"vidcolor": [s.start_frame for s in detect_shots(gray) if s.transition == "cut"]}
            found |= pyscenedetect_cuts(gray)
            for det, got in found.items():
                row[det] = got
                counts = f1_counts(got, cuts)
                totals[det] = [a + b for a, b in zip(totals.get(det, [0, 0, 0]), counts)]
            if not args.skip_color:
                rows, frames = colorized(gray, truth, cuts, colorizer, Path(tmp) / name)
                row |= rows
                if args.strip is not None and name == "aged":
                    strip(frames["per_frame"], frames["per_shot"], 84, 6, args.strip)
            result["clips"][name] = row
    result["hard_cut_f1"] = {det: f1(*c) for det, c in totals.items()}
    colored = [r for r in result["clips"].values() if "flicker_truth" in r]
    if colored:
        # Excess counts only flicker beyond the truth's: a clip whose colors move less than the
        # truth's (timid colors on a pan) has none, rather than a negative amount that would hide
        # another clip's flicker in the sum.
        ex_f = sum(max(0.0, r["per_frame"]["flicker_excess"]) for r in colored)
        ex_s = sum(max(0.0, r["per_shot"]["flicker_excess"]) for r in colored)
        result["flicker_excess"] = {"per_frame": round(ex_f / len(colored), 4),
                                    "per_shot": round(ex_s / len(colored), 4),
                                    "reduction": round(1 - ex_s / ex_f, 4) if ex_f > 0 else None}
        result["psnr"] = {m: round(float(np.mean([r[m]["psnr"] for r in colored])), 3)
                          for m in ("per_frame", "per_shot")}
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
