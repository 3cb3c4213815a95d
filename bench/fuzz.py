"""Fuzz: random corruptions of generated clips, each colorized in a fresh process with a timeout.

    python bench/fuzz.py [--runs 200] [--seed 0] [--timeout 60] [--photos] [--containers mp4,mkv,ts,avi]
                         [--command colorize|preview|shots] [--progress] [--json]

Corruptions: bit flips, cut points (truncation), zeroed ranges, random byte ranges, on mp4, mkv,
MPEG-TS and AVI clips with sound (AVI with B-frames, timed by decode order), or, with --containers, the
others of FILMS (flv, nut, mov, WebM, MPEG program stream, MXF, Ogg, WMV, DV), "joined" (two MPEG-TS
clips joined with `cat`, the clock starting again), "ffv1" (an FFV1 + FLAC master) and "mixed" (mp4, a
shot in color, whose colors it keeps, then one in black and white); every third run colorizes a range,
which seeks. `--photos`: on photos instead (JPEG with EXIF, 8-bit gray PNG and 16-bit gray TIFF with a
gray profile, 16-bit RGB PNG and TIFF read through FFmpeg, WebP with alpha, JPEG 2000, HEIC).
`--command preview` makes a contact sheet of each corrupted film instead (every third run at a time
given, which seeks), `--command shots` lists its shots as JSON (ok: exit 0 and a JSON list on stdout).
`--progress`: films run with their progress bar (an MPEG-TS or -PS film's then has a thread that measures
its joined parts); its lines are left out of the error's.
Outcome classes: ok (exit 0, valid output), clean_error (exit 3/4 and a one-line 'vidcolor: error:'
message; exit 2 too for a range, which may start past a truncated film's end), internal_error (any other
exit), traceback, hang (timeout), partial_output (a failure that left the output or a temporary file),
input_changed.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import adobe_rgb, gray_rgb, make_clip, photo, write_rgb48

# the films that are corrupted, by container: H.264 with sound (and subtitles in mkv), or each container's
# own codecs: VP9 and Opus in WebM, MPEG-2 in program streams and MXF, VP8 in Ogg, WMV in ASF, DV
FILMS = {"mp4": {"audio": ("aac",)}, "mkv": {"audio": ("flac",), "subtitles": True}, "ts": {"audio": ("aac",)},
         "avi": {"audio": ("mp3",)}, "flv": {"audio": ("aac",)}, "nut": {"audio": ("aac",)},
         "mov": {"audio": ("pcm_s16le",)}, "webm": {"codec": "libvpx-vp9", "audio": ("opus",)},
         "mpg": {"codec": "mpeg2video", "audio": ("mp2",)},
         "mxf": {"codec": "mpeg2video", "audio": ("pcm_s16le",), "audio_rate": 48000},
         "ogv": {"codec": "libvpx", "audio": ("flac",)}, "wmv": {"codec": "wmv2", "audio": ("mp3",)},
         "dv": {"codec": "dvvideo", "width": 720, "height": 576, "audio": ("pcm_s16le",)}}
SPECIAL = ("joined", "ffv1", "mixed")  # films made another way (film_seed)
CONTAINERS = (*FILMS, *SPECIAL)  # the names --containers takes


def corrupt(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    b = bytearray(data)
    kind = rng.choice(["bitflips", "truncate", "zero_range", "random_range"])
    if kind == "bitflips":
        for i in rng.integers(0, len(b), int(rng.integers(1, 50))):
            b[i] ^= 1 << int(rng.integers(0, 8))
    elif kind == "truncate":
        b = b[: int(rng.integers(0, len(b)))]
    else:
        start = int(rng.integers(0, len(b)))
        n = int(rng.integers(1, 4096))
        fill = bytes(n) if kind == "zero_range" else rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        b[start:start + n] = fill[: len(b) - start]
    return bytes(b), str(kind)


def film_seed(tmp: Path, name: str) -> tuple[str, Path]:
    """A 30-frame film of FILMS[name]; "joined": two MPEG-TS ones joined byte for byte (`cat`), the second's
    clock starting again, which the decoder mends; "ffv1": an FFV1 + FLAC master in Matroska."""
    if name == "joined":
        part = make_clip(tmp / "part.ts", frames=30, **FILMS["ts"])
        (tmp / "seed_joined.ts").write_bytes(part.read_bytes() * 2)
        return ".ts", tmp / "seed_joined.ts"
    if name == "ffv1":  # an archive's master: FFV1 (FFmpeg's default, a keyframe every 12 frames) and FLAC
        return ".mkv", make_clip(tmp / "seed_ffv1.mkv", frames=30, codec="ffv1", audio=("flac",))
    if name == "mixed":  # a shot in color and one in black and white: every frame's colors are judged
        return ".mp4", make_clip(tmp / "seed_mixed.mp4", frames=30, photos=("astronaut", "coffee"),
                                 color_photos=("astronaut",), **FILMS["mp4"])
    return f".{name}", make_clip(tmp / f"seed.{name}", frames=30, **FILMS[name])


def photo_seeds(tmp: Path) -> list[tuple[str, Path]]:
    import pillow_heif
    from PIL import Image

    from vidcolor.icc import gray_profile

    gray = gray_rgb(photo("coffee", 120, 90))
    deep = gray.astype(np.uint16) * 257
    profile = gray_profile(2.2).tobytes()
    Image.fromarray(gray).save(tmp / "seed.jpg", exif=Image.Exif().tobytes(), dpi=(300, 300))
    Image.fromarray(gray[..., 0]).save(tmp / "seed.png", icc_profile=profile)
    Image.fromarray(deep[..., 0]).save(tmp / "seed.tif", icc_profile=profile)
    write_rgb48(tmp / "seed48.png", deep)
    write_rgb48(tmp / "seed48.tif", deep)
    Image.fromarray(gray).convert("RGBA").save(tmp / "seed.webp")
    Image.fromarray(gray).save(tmp / "seed_adobe.png", icc_profile=adobe_rgb().tobytes())
    Image.fromarray(gray[..., 0]).save(tmp / "seed.jp2")
    pillow_heif.register_heif_opener()
    Image.fromarray(gray).save(tmp / "seed.heic", exif=Image.Exif().tobytes())
    return [(p.suffix, p) for p in sorted(tmp.glob("seed*"))]


def classify(code: int | None, err: str, src: Path, before: str, out_dir: Path, dst: Path | None,
             ranged: bool) -> str:
    """`ranged`: the run asked for a range, which may start past a truncated film's end (exit 2, usage).
    `dst` None: the command writes no file (shots), and the caller has checked its stdout."""
    if hashlib.sha256(src.read_bytes()).hexdigest() != before:
        return "input_changed"
    if code is None:
        return "hang"
    if "Traceback" in err:
        return "traceback"
    leftovers = [p for p in out_dir.iterdir() if ".part" in p.name]
    if leftovers or (code != 0 and dst is not None and dst.exists()):
        return "partial_output"
    if code == 0:
        return "ok" if dst is None or dst.exists() else "partial_output"
    clean_codes = (2, 3, 4) if ranged else (3, 4)
    if code in clean_codes and err.strip().startswith("vidcolor: error:") and err.strip().count("\n") == 0:
        return "clean_error"
    return "internal_error"


def _command(command: str, src: Path, out_dir: Path, ranged: bool, progress: bool) -> tuple[Path | None, list]:
    """The output (None for shots, which prints) and the command line of one run."""
    base = [sys.executable, "-m", "vidcolor"]
    quiet = [] if progress else ["-q"]
    if command == "shots":
        return None, [*base, "shots", str(src), "--json", *quiet]
    if command == "preview":
        dst = out_dir / "sheet.png"
        return dst, [*base, "preview", str(src), "-o", str(dst), "--model", "tiny-random", "--count", "3",
                     *quiet, *(["--at", "0.3"] if ranged else [])]
    dst = out_dir / f"out{src.suffix}"
    return dst, [*base, str(src), "-o", str(dst), "--model", "tiny-random", *quiet,
                 *(["--start", "f5", "--duration", "0.4"] if ranged else [])]


def _json_list(text: str) -> bool:
    try:
        return isinstance(json.loads(text), list)
    except ValueError:
        return False


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--keep", type=Path, default=None, help="copy inputs that failed badly into this folder")
    p.add_argument("--photos", action="store_true", help="corrupt photos instead of clips")
    p.add_argument("--containers", default="mp4,mkv,ts,avi",
                   help=f"the films to corrupt, in turn (of {', '.join(CONTAINERS)}; the default "
                        "is the first seeds')")
    p.add_argument("--command", choices=("colorize", "preview", "shots"), default="colorize")
    p.add_argument("--progress", action="store_true", help="films with their progress bar")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.photos and args.command != "colorize":
        p.error("--photos: photos are colorized only (a sheet and a shot list are a film's)")
    unknown = set(args.containers.split(",")) - set(CONTAINERS)
    if unknown:
        p.error(f"--containers: no {', '.join(sorted(unknown))} (of {', '.join(CONTAINERS)})")
    rng = np.random.default_rng(args.seed)
    counts: collections.Counter = collections.Counter()
    by_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    bad_examples = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        seeds = photo_seeds(tmp) if args.photos else [film_seed(tmp, name) for name in args.containers.split(",")]
        for i in range(args.runs):
            suffix, seed = seeds[i % len(seeds)]
            data, kind = corrupt(seed.read_bytes(), rng)
            src = tmp / f"in{suffix}"
            src.write_bytes(data)
            out_dir = tmp / "out"
            out_dir.mkdir(exist_ok=True)
            for f in out_dir.iterdir():
                f.unlink()
            before = hashlib.sha256(data).hexdigest()
            ranged = i % 3 == 2 and not args.photos and args.command != "shots"
            dst, cmd = _command(args.command, src, out_dir, ranged, args.progress)
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                                      env={**os.environ, "PYTHONWARNINGS": "ignore"})
                code, err = done.returncode, done.stderr
                if args.command == "shots" and code == 0 and not _json_list(done.stdout):
                    code, err = 1, f"not a JSON list on stdout: {done.stdout[:200]!r}"
            except subprocess.TimeoutExpired as ex:
                code, err = None, ex.stderr.decode() if isinstance(ex.stderr, bytes) else (ex.stderr or "")
            bar = f"{src.name}:"  # the progress bar's lines, each update after a carriage return
            err = "\n".join(line for line in err.splitlines()
                             if not line.startswith("vidcolor: warning:") and not line.lstrip("\r").startswith(bar))
            outcome = classify(code, err, src, before, out_dir, dst, ranged)
            counts[outcome] += 1
            by_kind[kind][outcome] += 1
            if outcome not in ("ok", "clean_error") and args.keep is not None:
                args.keep.mkdir(parents=True, exist_ok=True)
                (args.keep / f"run{i}_{kind}{suffix}").write_bytes(data)
            if outcome not in ("ok", "clean_error") and len(bad_examples) < 5:
                bad_examples.append({"run": i, "kind": kind, "outcome": outcome, "stderr": err[-300:]})
    result = {"runs": args.runs, "outcomes": dict(counts), "by_corruption": {k: dict(v) for k, v in by_kind.items()},
              "failures": {k: counts[k] for k in ("traceback", "hang", "partial_output", "input_changed",
                                                  "internal_error")},
              "examples": bad_examples}
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
