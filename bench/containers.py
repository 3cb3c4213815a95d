"""Container pairs: every frame at its time, the sound kept, for the formats users bring.

    python bench/containers.py [--json] [--seconds 4]

Sources made from the demo (each a film with sound at 25 fps): mp4 (H.264 + AAC), mkv (FFV1 + FLAC or
24-bit PCM, the archivists' formats; H.264 + Opus), mov (ProRes + PCM), MPEG-TS (H.264 + AAC), MPEG-PS (MPEG-2 + MP2),
AVI (MPEG-4 with B-frames + MP3), a raw H.264 stream, a gray PNG sequence (scans, no sound). Each is
colorized (tiny random network: the weights play no part here) into .mp4, .mkv, .mov, .ts, .avi,
.webm, .m4v, .mpg, .mxf, .ogv, .flv and .nut. Per pair: frames in and out, the largest error of a
frame's time against i/25 s after the first, the first frame's time, the audio codec and its start
against the first frame, warnings and errors. A
pair is ok when every frame is there within 1 ms of its time, the audio starts within 50 ms of the
picture (AAC priming: 23 ms), the video is not tagged RGB (players would read Y'CbCr as G, B and R)
and nothing failed.
Then ranges of each source (frames 30-59, 49-50, 75-94, 1-2, 90-99) into .mkv: ok when exactly those
frames come out (each output frame's nearest frame of the decoded source, by luma), without a warning
(a range of a whole film is not "probably truncated"), but for a copied sound track that a range inside
one of its packets leaves without sound (frames 1-2 in one 0.1 s FLAC packet), which must then have none.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import make_clip  # noqa: E402

from vidcolor import colorize_video  # noqa: E402

RATE = 25
# name: (suffix, video codec, its options, audio codec or None)
SOURCES = {
    "mp4 h264+aac": (".mp4", "libx264", {"preset": "veryfast"}, "aac"),
    "mkv ffv1+flac": (".mkv", "ffv1", {}, "flac"),
    "mkv ffv1+pcm24": (".mkv", "ffv1", {}, "pcm_s24le"),  # Matroska names no PCM channels: '2 channels'
    "mkv h264+opus": (".mkv", "libx264", {"preset": "veryfast"}, "libopus"),
    "mov prores+pcm": (".mov", "prores_ks", {}, "pcm_s16le"),
    "ts h264+aac": (".ts", "libx264", {"preset": "veryfast"}, "aac"),
    "mpg mpeg2+mp2": (".mpg", "mpeg2video", {"bf": "2"}, "mp2"),
    "avi mpeg4+mp3": (".avi", "mpeg4", {"bf": "2"}, "libmp3lame"),
    "h264 raw": (".h264", "libx264", {"preset": "veryfast"}, None),
    "png sequence gray": ("_%04d.png", "png", {}, None),  # film scans: read at --frame-rate 25
}
PIX_FMT = {"prores_ks": "yuv422p10le", "png": "gray"}  # else yuv420p
OUTPUTS = (".mp4", ".mkv", ".mov", ".ts", ".avi", ".webm", ".m4v", ".mpg", ".mxf", ".ogv", ".flv", ".nut")
RANGES = ((30, 60), (49, 51), (75, 95), (1, 3), (90, 100))  # frames, end excluded


def make_source(base: Path, path: Path, codec: str, options: dict, audio: str | None) -> Path:
    """The demo clip `base` transcoded into `path` with these codecs, frames 1/25 s apart from 0, its sound
    interleaved second by second."""
    with av.open(str(base)) as src:
        pictures = list(src.decode(video=0))
        src.seek(0)
        sound = np.concatenate([f.to_ndarray() for f in src.decode(audio=0)], axis=1)
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=RATE, options=options)
        v.width, v.height = pictures[0].width, pictures[0].height
        v.pix_fmt = PIX_FMT.get(codec, "yuv420p")
        a = None
        if audio is not None:
            a = out.add_stream(audio, rate=48000 if audio == "libopus" else 44100)
            a.layout = "stereo"
        for i, frame in enumerate(pictures):
            frame = frame.reformat(format=v.pix_fmt)
            frame.pts, frame.time_base = i, Fraction(1, RATE)
            out.mux(v.encode(frame))
            if a is not None and i % RATE == 0:
                second = np.ascontiguousarray(sound[:, i // RATE * 44100:(i // RATE + 1) * 44100])
                chunk = av.AudioFrame.from_ndarray(second, format="fltp", layout="stereo")
                chunk.sample_rate, chunk.pts, chunk.time_base = 44100, i // RATE * 44100, Fraction(1, 44100)
                out.mux(a.encode(chunk))
        out.mux(v.encode(None))
        if a is not None:
            out.mux(a.encode(None))
    return path


def video_times(path: Path) -> list[float]:
    """Presentation times (NaN where a frame has none); for AVI, which stores decode times only, those of
    the frames' packets."""
    with av.open(str(path)) as c:
        avi = c.format.name == "avi"
        times = [f.dts if avi else f.pts for f in c.decode(video=0)]
        return [float(t * c.streams.video[0].time_base) if t is not None else np.nan for t in times]


def rgb_tagged(path: Path) -> bool:
    """Y'CbCr video tagged with the RGB matrix: players would read it as G, B and R."""
    with av.open(str(path)) as c:
        ctx = c.streams.video[0].codec_context
        return ctx.colorspace == 0 and not ctx.pix_fmt.startswith(("rgb", "bgr", "gbr"))


def audio_start(path: Path) -> tuple[str | None, float | None]:
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return None, None
        stream = c.streams.audio[0]
        packet = next((p for p in c.demux(stream) if p.size and p.pts is not None), None)
        start = None if packet is None else float(packet.pts * packet.time_base)
        return stream.codec_context.codec.canonical_name, start


def _rate(src: Path) -> dict:
    """An image sequence is read at the rate it was written at; a film keeps its own. (No argument for
    films: older code, run through PYTHONPATH to compare, has none.)"""
    return {"frame_rate": str(RATE)} if "%" in src.name else {}


def run_pair(src: Path, dst: Path, frames: int, has_audio: bool) -> dict:
    row: dict = {}
    try:
        report = colorize_video(src, dst, model="tiny-random", progress=False, **_rate(src))
    except Exception as ex:  # noqa: BLE001 - the point is to record it
        return {"ok": False, "error": f"{type(ex).__name__}: {ex}"}
    times = video_times(dst)
    codec, start = audio_start(dst)
    errors = np.abs(np.array(times) - times[0] - np.arange(len(times)) / RATE) if times else np.array([np.inf])
    error = float(errors.max())  # NaN when a frame has no time
    row |= {"frames": [frames, len(times)], "max_time_error_ms": round(1000 * error, 2) if error == error else None,
            "first_frame_ms": round(1000 * times[0], 1) if times else None, "audio": codec,
            "audio_start_ms": None if start is None else round(1000 * (start - times[0]), 1),
            "warnings": report.warnings, "rgb_tagged": rgb_tagged(dst)}
    row["ok"] = (len(times) == frames and error <= 0.001 and not row["rgb_tagged"]
                 and (not has_audio or (start is not None and abs(start - times[0]) < 0.05)))
    return row


def run_ranges(src: Path, dst: Path, gray: list[np.ndarray]) -> dict:
    """Each range: the source frames that came out, by nearest luma, against those asked for, and its warnings."""
    rows = {}
    for first, end in RANGES:
        try:
            report = colorize_video(src, dst, model="tiny-random", progress=False, overwrite=True,
                                    start=f"f{first}", end=f"f{end}", **_rate(src))
            with av.open(str(dst)) as c:
                out = [f.to_ndarray(format="gray").astype(int) for f in c.decode(video=0)]
                c.seek(0)
                heard = sum(p.size for p in c.demux(audio=0)) if c.streams.audio else 0
            got = [int(np.argmin([np.abs(y - g).mean() for g in gray])) for y in out]
            # the one true warning: a range inside one copied packet (FLAC's 0.1 s) has no sound, which it says
            unheard = [w for w in report.warnings if "no sound written" in w]
            said = len(unheard) == len(report.warnings) and (not unheard or heard == 0)
            rows[f"f{first}-f{end}"] = {"ok": got == list(range(first, end)) and said,
                                        "frames": [got[0], got[-1], len(got)], "warnings": report.warnings}
        except Exception as ex:  # noqa: BLE001 - the point is to record it
            rows[f"f{first}-f{end}"] = {"ok": False, "error": f"{type(ex).__name__}: {ex}"}
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    logging.getLogger("vidcolor").setLevel(logging.ERROR)  # warnings are in the rows
    result: dict = {"pairs": {}, "ranges": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = make_clip(tmp / "base.mp4", 320, 240, args.seconds)
        frames = round(args.seconds * RATE)
        for name, (suffix, codec, options, audio) in SOURCES.items():
            src = make_source(base, tmp / f"src{suffix}", codec, options, audio)
            for out in OUTPUTS:
                row = run_pair(src, tmp / f"out{out}", frames, audio is not None)
                result["pairs"][f"{name} -> {out}"] = row
                if not args.json:
                    print(f"{name:>16} -> {out:<5} {'ok ' if row['ok'] else 'BAD'} {json.dumps(row)}")
                (tmp / f"out{out}").unlink(missing_ok=True)
            with av.open(str(src)) as c:  # the source's own pictures: the output's luma is theirs
                gray = [f.to_ndarray(format="gray").astype(int) for f in c.decode(video=0)]
            result["ranges"][name] = run_ranges(src, tmp / "range.mkv", gray)
            if not args.json:
                print(f"{name:>16} ranges {json.dumps(result['ranges'][name])}")
    rows = result["pairs"].values()
    ranges = [r for per_source in result["ranges"].values() for r in per_source.values()]
    result["summary"] = {"pairs": len(rows), "ok": sum(r["ok"] for r in rows),
                         "errors": sum("error" in r for r in rows),
                         "ranges": len(ranges), "ranges_ok": sum(r["ok"] for r in ranges)}
    print(json.dumps(result) if args.json else json.dumps(result["summary"]))


if __name__ == "__main__":
    main()
