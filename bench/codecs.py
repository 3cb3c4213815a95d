"""Every --codec into every container: a film that plays back, or a clean refusal before any work.

    python bench/codecs.py [--source ts] [--json]

A 1 s clip of the demo (H.264 + AAC, 25 fps) is colorized (tiny random network: the weights play no
part here) with each encoder a user may name into each container. Outcomes:
ok (every frame decodes back from the file, and its sound is there), refused (a VidcolorError, one
line, no file left), and the failures: encoder_refused (the encoder would not open once the work had begun:
vidcolor gave it settings it cannot take, or should have refused before any work), unreadable (a file
written and reported as such, whose frames or sound do not read back: an empty file, or a stream FFmpeg does
not find), error (any other exception), left (a refusal that left a file). Session 33: VP9 into .mov wrote
an empty file reported as written, and ProRes into .ts a stream no player reads; both are now refused before
the model loads. `--source ts`: the clip in MPEG-TS, whose clock counts 90,000 ticks a second (session 39:
MPEG-4 part 2, which counts 65,535 at most, had refused every such film, then counted among the refusals).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import make_clip  # noqa: E402

from vidcolor import colorize_video  # noqa: E402
from vidcolor.errors import VidcolorError  # noqa: E402
from vidcolor.media.codecs import EncodeOptions  # noqa: E402

CODECS = ("libx264", "libx265", "libvpx-vp9", "libvpx", "libsvtav1", "mpeg2video", "mpeg4", "prores_ks", "ffv1",
          "mjpeg", "dnxhd", "utvideo", "png")
CONTAINERS = (".mp4", ".mov", ".mkv", ".avi", ".ts", ".webm", ".mxf", ".flv", ".nut", ".mpg", ".ogv", ".wmv",
              ".m4v", ".3gp")


def outcome(src: Path, dst: Path, codec: str, frames: int) -> tuple[str, str]:
    """What colorizing `src` into `dst` with `codec` gave, and its message."""
    try:
        colorize_video(src, dst, model="tiny-random", encode=EncodeOptions(codec=codec), progress=False)
    except VidcolorError as ex:
        message = str(ex).split(": ", 1)[-1]
        if dst.exists() or any(dst.parent.glob(".*part*")):
            return "left", message
        return ("encoder_refused" if "encoder refused this video" in message else "refused"), message
    except Exception as ex:  # noqa: BLE001 - any other is the failure this counts
        return "error", f"{type(ex).__name__}: {ex}"
    try:
        with av.open(str(dst)) as c:
            decoded = sum(1 for _ in c.decode(video=0))
            sound = len(c.streams.audio)
    except (av.FFmpegError, IndexError) as ex:
        return "unreadable", f"{type(ex).__name__}: {ex}"
    if decoded != frames or sound != 1:
        return "unreadable", f"{decoded} of {frames} frames, {sound} sound streams"
    return "ok", ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", choices=("mp4", "ts"), default="mp4")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the warnings (sound re-encoded for the container) are not counted
    results: dict[str, dict[str, list[str]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = make_clip(Path(tmp) / f"in.{args.source}", 320, 240, 1.0)
        with av.open(str(src)) as c:
            frames = sum(1 for _ in c.decode(video=0))
        for codec in CODECS:
            for suffix in CONTAINERS:
                out = Path(tmp) / codec / f"out{suffix}"
                out.parent.mkdir(exist_ok=True)
                kind, message = outcome(src, out, codec, frames)
                results.setdefault(codec, {})[suffix] = [kind, message]
                if not args.json:
                    print(f"{codec:>11} {suffix:<5} {kind:<10} {message[:100]}")
    counts: dict[str, int] = {}
    for by_container in results.values():
        for kind, _ in by_container.values():
            counts[kind] = counts.get(kind, 0) + 1
    summary = {"pairs": len(CODECS) * len(CONTAINERS), **{k: counts.get(k, 0) for k in
                                                             ("ok", "refused", "encoder_refused", "unreadable",
                                                              "error", "left")}}
    if args.json:
        print(json.dumps({"results": results, "summary": summary}))
    else:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
