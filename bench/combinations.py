"""Random valid films through random combinations of the main command's options, each run checked.

    python bench/combinations.py [--runs 80] [--seed 0] [--timeout 120] [--json]

Films (tests/conftest.py's make_clip): mp4, mkv, mov, MPEG-TS, AVI or webm (VP9); 96x64 to 322x242, odd
sides too; 4:2:0, 4:2:2, 4:4:4, 10-bit or full range; a constant or variable rate; rotation; pixel aspect;
none, one or two sound tracks (AAC, MP3, MP2, AC-3, ALAC, FLAC, Opus, PCM); subtitles in mkv; a timecode.
Out: mp4, mkv, mov, webm, MPEG-TS or PNG scans. Options: a range by time, by frame number or in the film's
timecode, --side-by-side, --no-shot-detect, --smooth-seconds, --reference, --levels off, --crf,
--batch-size, --work-side, --recolor, one of eight encoders, or an image sequence out. Each run is a
fresh process with the tiny random-init model.

Checks of a run that exits 0: the report's frames in and out and the frames decoded from the output are
the frames the range holds (counted from the input's own times; f<n> and timecode labels from half a
frame before their time, as vidcolor looks for them), the size (twice as wide side by side), as many
sound tracks as the input or a warning that names them, each in its language, and each track's sound where
the input's is within the range (sound_problems). Outcome classes: ok, clean_error (exit 2-4 and one
'vidcolor: error:' line), encoder_refused (such a line from an encoder that would not open for one of these
valid films: vidcolor gave it settings it cannot take, or should have refused before any work, as it refuses
sizes an encoder cannot take), bad_output (a check failed), failure (another exit, a traceback), hang.
Session 39's found `--codec mpeg4` refusing every MPEG-TS film's 90 kHz clock. Session
35's first runs found frame ranges of Matroska films at 24 fps one frame late, and empty ranges called
damaged files; session 36's, a short range of a Matroska film with FLAC sound written to .mov without it.
"""
from __future__ import annotations

import argparse
import collections
import json
import random
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import make_clip

SIZES = [(96, 64), (64, 96), (160, 90), (322, 242), (97, 65), (321, 241)]
LAYOUTS = ["yuv420p", "yuv422p", "yuv444p", "yuv420p10le", "yuvj420p"]
ENCODERS = ["libx264"] * 4 + ["libx265", "ffv1", "prores_ks", "mpeg4", "libvpx-vp9", "mjpeg", "dnxhd"]
OUTPUTS = [".mp4", ".mkv", ".mov", ".webm", ".ts", "_%04d.png"]
TIMECODE = "01:00:00:00"  # a film's, in its tags


def random_film(rng: random.Random, folder: Path) -> tuple[Path, dict]:
    """A film of random shape; its make_clip arguments, for the record."""
    container = rng.choice([".mp4", ".mkv", ".mov", ".mp4", ".mkv", ".mov", ".ts", ".avi", ".webm"])
    width, height = rng.choice(SIZES)
    odd = width % 2 or height % 2
    frames, rate = rng.choice([(7, 30), (12, 25), (30, 24), (40, 25)])
    variable = container != ".avi" and rng.random() < 0.3  # frames on a 1/(3 x rate) grid, unevenly spaced
    sound = {".mp4": [(), ("aac",), ("aac", "aac"), ("mp3",), ("ac3", "aac"), ("alac",)],
             ".mkv": [(), ("flac",), ("opus", "flac"), ("pcm_s16le",), ("ac3",)],  # PCM: one packet for the film
             ".mov": [(), ("aac",), ("aac", "aac"), ("pcm_s24le",), ("alac", "aac")],
             ".ts": [(), ("aac",), ("ac3", "mp2")], ".avi": [(), ("mp3",), ("pcm_s16le",)],
             ".webm": [(), ("opus",)]}[container]
    kw = dict(width=width, height=height, frames=frames, rate=rate, audio=rng.choice(sound),
              pix_fmt="yuv444p" if odd else rng.choice(LAYOUTS[:3] if container == ".webm" else LAYOUTS),
              codec="libvpx-vp9" if container == ".webm" else "libx264", rotation=rng.choice([0, 0, 90, -90, 180]),
              sar=rng.choice([None, Fraction(4, 3), Fraction(8, 9)]),
              photos=rng.choice([("astronaut",), ("astronaut", "coffee")]),
              subtitles=container == ".mkv" and rng.random() < 0.5,
              # MPEG-TS and AVI hold no timecode
              metadata={"timecode": TIMECODE} if container in (".mp4", ".mkv", ".mov") and rng.random() < 0.3 else None)
    if variable:
        kw |= dict(pts=sorted(rng.sample(range(frames * 3), frames)), time_base=Fraction(1, rate * 3))
    return make_clip(folder / f"in{container}", **kw), kw


def random_options(rng: random.Random, kw: dict, reference: Path) -> tuple[str, list[str]]:
    """The output's suffix and the options of one run (a range in the film's timecode where it has one)."""
    frames, rate = kw["frames"], kw["rate"]
    suffix = rng.choice(OUTPUTS)
    codec = "libvpx-vp9" if suffix == ".webm" else rng.choice(ENCODERS)
    opts = [] if suffix.endswith(".png") else ["--codec", codec]
    kind = rng.random()
    if kind < 0.2:
        first = rng.randrange(frames)
        opts += ["--start", f"f{first}", "--end", f"f{rng.randrange(first + 1, frames + 3)}"]
    elif kind < 0.4:
        opts += ["--start", f"{rng.uniform(0, frames / rate):.3f}", "--duration", f"{rng.uniform(0.05, 1):.3f}"]
    elif kind < 0.5:
        opts += ["--end", f"{rng.uniform(0.05, frames / rate):.3f}"]
    elif kind < 0.7 and kw["metadata"]:
        first = rng.randrange(frames)
        opts += ["--start", label(first, rate), "--end", label(rng.randrange(first + 1, frames + 3), rate)]
    extras = [(0.25, ["--side-by-side"]), (0.2, ["--no-shot-detect"]),
              (0.2, ["--smooth-seconds", rng.choice(["0", "0.3", "2"])]), (0.15, ["--reference", str(reference)]),
              (0.15, ["--levels", "off"]), (0.15, ["--crf", rng.choice(["0", "30", "51"])]),
              (0.15, ["--batch-size", rng.choice(["1", "3", "64"])]), (0.1, ["--work-side", rng.choice(["64", "200"])]),
              (0.1, ["--recolor"])]
    for chance, extra in extras:
        if rng.random() < chance:
            opts += extra
    return suffix, opts


def label(frame: int, rate: int) -> str:
    """The SMPTE label of a frame `frame` frames after TIMECODE's (the same hour), at a rate counted `rate`."""
    return f"{TIMECODE[:6]}{frame // rate:02d}:{frame % rate:02d}"


def film_frames(src: Path) -> tuple[list[float], float, float]:
    """The input's frames' times from its video's start, its rate, and where its video starts (what ranges
    count from), in seconds. AVI holds no frame times: its frames are shown one period after another (FFmpeg's
    guesses from the decode order, with B-frames, put them out of order and a period late)."""
    with av.open(str(src)) as c:
        video = c.streams.video[0]
        origin = float(video.start_time * video.time_base) if video.start_time is not None else 0.0
        times = [float(f.time) - origin for f in c.decode(video=0)]
        rate = float(video.average_rate or 25)
        return [k / rate for k in range(len(times))] if c.format.name == "avi" else times, rate, origin


def range_bounds(opts: list[str], times: list[float], rate: float) -> tuple[float, float] | None:
    """The options' range in seconds from the video's start (the end inf where it has none; f<n> and timecode
    labels from half a frame before their time, as vidcolor looks for them); None where a frame lies within 2 ms
    of a bound (a rounding there is not a fault)."""

    def at(name: str) -> float | None:
        if name not in opts:
            return None
        text = opts[opts.index(name) + 1]
        if text.count(":") == 3:  # a label from TIMECODE: seconds and frames of a second of round(rate)
            seconds, frame = text.split(":")[2:]
            return max(0.0, (int(seconds) * round(rate) + int(frame) - 0.5) / rate)
        return max(0.0, (int(text[1:]) - 0.5) / rate) if text.startswith("f") else float(text)

    start, end = at("--start") or 0.0, at("--end")
    if end is None:
        end = start + float(opts[opts.index("--duration") + 1]) if "--duration" in opts else float("inf")
    cut = [bound for bound in (start, end) if 0 < bound < float("inf")]  # a film's own start or end is no cut
    if any(abs(t - bound) < 2e-3 for t in times for bound in cut):
        return None
    return start, end


def sound_spans(path: Path) -> list[tuple[float, float, float]]:
    """Each sound track's span (first packet's start, last one's end) and its longest packet, in seconds."""
    with av.open(str(path)) as c:  # read from the start, no seek: mp4 seeks each track to the picture's first time
        packets: dict[int, list[av.Packet]] = collections.defaultdict(list)
        for p in c.demux(*c.streams.audio) if c.streams.audio else []:  # demux() with no stream reads them all
            if p.size and p.pts is not None:
                packets[p.stream.index].append(p)
    spans = []
    for _, ps in sorted(packets.items()):
        tick = ps[0].time_base  # one a stream
        spans.append((float(min(p.pts for p in ps) * tick), float(max(p.pts + p.duration for p in ps) * tick),
                      float(max(p.duration for p in ps) * tick)))
    return spans


def sound_problems(src: Path, out: Path, first_out: float, zero: float, end: float, ranged: bool) -> list[str]:
    """Each sound track of the output (whose first frame is at `first_out`) against the input's up to `end`, as
    heard from the input's time `zero`, the range's first frame (a whole film's sound that begins before its
    picture, not `ranged`, begins before it still): it starts and ends where the input's does, give or take one
    of the input's packets (copied sound is cut at its packets) and 30 ms (an encoder's priming, Matroska's
    milliseconds)."""
    heard, heard_out = sound_spans(src), sound_spans(out)
    if len(heard) != len(heard_out):
        return []
    problems = []
    for n, ((a, b, packet), (a_out, b_out, _)) in enumerate(zip(heard, heard_out)):
        want = ((max(a, zero) if ranged else a) - zero, min(b, end) - zero)
        got = (a_out - first_out, b_out - first_out)
        if max(abs(want[0] - got[0]), abs(want[1] - got[1])) > packet + 0.03:
            problems.append(f"sound track {n} from {got[0]:.3f} to {got[1]:.3f} s, the input's in the range from "
                            f"{want[0]:.3f} to {want[1]:.3f} s")
    return problems


def sound_languages(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        return [s.language or "und" for s in c.streams.audio]  # AVI holds none; mp4 says "und"


def check(src: Path, kw: dict, opts: list[str], report: dict, out: Path) -> list[str]:
    """What is wrong with a run's output; nothing when all is right."""
    first_out = None
    if "%" in out.name:
        written = sorted(out.parent.glob(out.name.split("%")[0] + "*"))
        count, size, tracks = len(written), Image.open(written[0]).size if written else None, None
    else:
        with av.open(str(out)) as c:
            decoded = list(c.decode(video=0))
            count, tracks = len(decoded), len(c.streams.audio)
            size = (decoded[0].width, decoded[0].height) if decoded else None
            first_out = float(decoded[0].time) if decoded else None
    problems = []
    times, rate, origin = film_frames(src)
    bounds = range_bounds(opts, times, rate)
    kept = [] if bounds is None else [t for t in times if bounds[0] <= t < bounds[1]]
    if bounds is not None and count != len(kept):
        problems.append(f"{count} frames written, the range holds {len(kept)}")
    if tracks is not None and first_out is not None and kept:
        ranged = any(name in opts for name in ("--start", "--end", "--duration"))  # else what leads stays
        problems += sound_problems(src, out, first_out, origin + kept[0], origin + bounds[1], ranged)
    if tracks == len(kw["audio"]) and (languages := sound_languages(out)) != (held := sound_languages(src)):
        problems.append(f"sound tracks in {languages}, not {held}")
    if not report["frames_in"] == report["frames_out"] == count:
        problems.append(f"report: {report['frames_in']} in, {report['frames_out']} out, {count} in the file")
    width = kw["width"] * (2 if "--side-by-side" in opts else 1)
    if size != (width, kw["height"]):
        problems.append(f"size {size}, not {(width, kw['height'])}")
    said = any("audio" in w or "sound" in w for w in report["warnings"])
    if tracks is not None and tracks != len(kw["audio"]) and not said:
        problems.append(f"{tracks} sound tracks of {len(kw['audio'])}, unsaid")
    return problems


def one_run(n: int, rng: random.Random, root: Path, reference: Path, timeout: float) -> dict:
    folder = root / f"run{n}"
    folder.mkdir()
    src, kw = random_film(rng, folder)
    suffix, opts = random_options(rng, kw, reference)
    out = folder / f"out{suffix}"
    record = {"run": n, "input": src.suffix, "film": {k: str(v) for k, v in kw.items() if k != "pts"}, "options": opts,
              "output": suffix}
    cmd = [sys.executable, "-m", "vidcolor", str(src), "-o", str(out), "--model", "tiny-random", "-q", "--json",
           *opts]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return record | {"outcome": "hang"}
    err = done.stderr.strip()
    if done.returncode == 0:
        problems = check(src, kw, opts, json.loads(done.stdout), out)
        return record | {"outcome": "bad_output" if problems else "ok", "problems": problems}
    errors = [line for line in err.splitlines() if line.startswith("vidcolor: error:")]
    if done.returncode in (2, 3, 4) and len(errors) == 1 and "Traceback" not in err:
        refused = "encoder refused this video" in errors[0]
        return record | {"outcome": "encoder_refused" if refused else "clean_error", "error": errors[0]}
    return record | {"outcome": "failure", "exit": done.returncode, "error": err[-2000:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=80)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        reference = root / "reference.png"
        Image.fromarray(np.random.default_rng(args.seed).integers(0, 256, (48, 64, 3), np.uint8)).save(reference)
        runs = [one_run(n, rng, root, reference, args.timeout) for n in range(args.runs)]
    outcomes = collections.Counter(r["outcome"] for r in runs)
    result = {"runs": args.runs, "seed": args.seed, "outcomes": dict(outcomes),
              "not_ok": [r for r in runs if r["outcome"] in ("encoder_refused", "bad_output", "failure", "hang")],
              # to read: a clean error can still be the wrong one (an empty range had been called damage)
              "clean_errors": [r["error"].replace(str(root), "") for r in runs if r["outcome"] == "clean_error"]}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(dict(outcomes))
        for r in result["not_ok"]:
            print(r)


if __name__ == "__main__":
    main()
