"""End-to-end vs model-only vs plain-transcode speed, measured in one run on the same clip.

    python bench/throughput.py [--height 480] [--seconds 4] [--rounds 1] [--model fusion-small]
                               [--precision float32] [--json]

end_to_end: vidcolor on the clip (decode + model + encode, overlapped in threads).
model_only: the model stage alone on frames decoded beforehand (what colorizing costs).
transcode: PyAV decode + encode with the same encoder settings, no model (the I/O floor).
shared_cores_fps: 1 / (1/model_only + 1/transcode), the end-to-end speed when the model and the codecs
take turns on the same cores (a CPU): overlap can beat it only with cores the model leaves idle;
end_to_end_over_shared_cores says how close the pipeline comes to it.
*_cores: CPU seconds (all threads) over wall seconds: how many cores the transcode and the pipeline kept busy.
*_cpu_ms: CPU milliseconds (all threads) per frame, of the model stage alone and of end to end;
model_share_of_cpu, their ratio, is what end_to_end_over_model_only comes to when both keep the cores
equally busy (on a CPU, where the model and the codecs share them).
--rounds N measures the three N times in turn; each figure is then the median of the rounds' (each ratio
computed within its round), and "rounds" lists them all: on a shared machine the speed of one measurement
moves by 10-15%, so one round's ratio compares a fast moment with a slow one.
"""
from __future__ import annotations

import argparse
import functools
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import av
import torch
from av.video.frame import PictureType

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import make_clip, wide

from vidcolor import colorize_video, pipeline, workers
from vidcolor.colorizer import Colorizer
from vidcolor.media import decode
from vidcolor.media.codecs import EncodeOptions, encoder_options
from vidcolor.media.planes import plane_format
from vidcolor.model_stage import FrameStage
from vidcolor.pipeline import default_batch_size
from vidcolor.workers import slice_workers


def encode_all(frames: Iterable[av.VideoFrame], dst: Path, opts: EncodeOptions, rate: Fraction,
               extra: dict[str, str] | None = None) -> int:
    """Encode yuv420p frames into dst with the pipeline's encoder settings (plus `extra` options); return
    how many."""
    n = 0
    with av.open(str(dst), "w") as out:
        v = out.add_stream(opts.codec, rate=rate, options=encoder_options(opts.codec, opts) | (extra or {}))
        for f in frames:
            if n == 0:
                v.width, v.height, v.pix_fmt = f.width, f.height, "yuv420p"
            f.pict_type = PictureType.NONE  # the encoder's own frame types, as in the pipeline (planes.compose)
            out.mux(v.encode(f))
            n += 1
        out.mux(v.encode(None))
    return n


def cpu_seconds() -> float:
    """User + system time of every thread of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def transcode_fps(src: Path, dst: Path, opts: EncodeOptions) -> tuple[float, float]:
    """Frames per second, and cores kept busy."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    with av.open(str(src)) as inp:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        n = encode_all(inp.decode(vin), dst, opts, vin.average_rate)
    wall = time.perf_counter() - t0
    return n / wall, (cpu_seconds() - c0) / wall


def model_stage(src: Path, colorizer: Colorizer, batch_size: int, frames: int,
                shot_detect: bool) -> tuple[Callable[[], None], int]:
    """A run of the model stage (analysis, shots, smoothing, rendering), as the pipeline runs it, over the
    first `frames` of `src`, decoded here beforehand; and how many frames it takes."""
    with av.open(str(src)) as inp:
        decoded = [f for _, f in zip(range(frames), inp.decode(video=0))]
    fmt = plane_format(decoded[0])

    def run() -> None:
        with slice_workers(colorizer.device) as split:
            stage = FrameStage(colorizer, fmt, batch_size, window=25 if shot_detect else 0,
                               detect_shots=shot_detect, emit=lambda batch: None, split=split)
            for f in decoded:
                stage.push([f], f)
            stage.finish([])
        if colorizer.device.type == "cuda":
            torch.cuda.synchronize()

    return run, len(decoded)


def model_fps(src: Path, colorizer: Colorizer, batch_size: int, frames: int, shot_detect: bool) -> tuple[float, float]:
    """The model stage on frames decoded beforehand: frames per second, and CPU milliseconds per frame."""
    run, n = model_stage(src, colorizer, batch_size, frames, shot_detect)
    run()  # warm-up
    t0, c0 = time.perf_counter(), cpu_seconds()
    run()
    return n / (time.perf_counter() - t0), 1000 * (cpu_seconds() - c0) / n


def one_round(clip: Path, tmp: Path, colorizer: Colorizer, batch: int, opts: EncodeOptions, model_frames: int,
              shot_detect: bool) -> dict:
    """Transcode, model stage (on the first `model_frames`) and end to end, in turn, on `clip`."""
    transcode, transcode_cores = transcode_fps(clip, tmp / "plain.mp4", opts)
    model, model_cpu_ms = model_fps(clip, colorizer, batch, model_frames, shot_detect)
    t0, c0 = time.perf_counter(), cpu_seconds()
    report = colorize_video(clip, tmp / "color.mp4", colorizer=colorizer, batch_size=batch, encode=opts,
                            progress=False, shot_detect=shot_detect, overwrite=True)
    end_to_end_cpu = cpu_seconds() - c0
    end_to_end_cores = end_to_end_cpu / (time.perf_counter() - t0)
    end_to_end_cpu_ms = 1000 * end_to_end_cpu / report.frames_out
    return {
        "frames": report.frames_out,
        "end_to_end_fps": round(report.fps, 2), "model_only_fps": round(model, 2), "transcode_fps": round(transcode, 2),
        "shared_cores_fps": round(1 / (1 / model + 1 / transcode), 2),
        "end_to_end_over_shared_cores": round(report.fps * (1 / model + 1 / transcode), 3),
        "end_to_end_over_model_only": round(report.fps / model, 3),
        "end_to_end_over_transcode": round(report.fps / transcode, 3),
        "output_bytes": (tmp / "color.mp4").stat().st_size,
        "transcode_cores": round(transcode_cores, 2), "end_to_end_cores": round(end_to_end_cores, 2),
        "model_only_cpu_ms": round(model_cpu_ms, 2), "end_to_end_cpu_ms": round(end_to_end_cpu_ms, 2),
        "model_share_of_cpu": round(model_cpu_ms / end_to_end_cpu_ms, 3),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--model", default="fusion-small")
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--precision", default="auto", help="auto or float32 (see Colorizer)")
    p.add_argument("--preset", default=EncodeOptions.preset)
    p.add_argument("--no-shot-detect", dest="shot_detect", action="store_false")
    p.add_argument("--decoder-threads", type=int, default=decode.DECODER_THREADS,
                   help="the pipeline's decoder threads (0: FFmpeg's choice, one per core and one more)")
    p.add_argument("--slices", type=int, default=None,
                   help="CPU: batches in this many slices, the cores shared among them (0: whole batches on "
                        "torch's threads; default: the pipeline's choice for this many cores)")
    p.add_argument("--rounds", type=int, default=1, help="measure this many times in turn; medians (see above)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    decode.DECODER_THREADS = args.decoder_threads
    if args.slices is not None:
        global slice_workers
        slice_workers = pipeline.slice_workers = functools.partial(workers.slice_workers, n=args.slices)
    width = wide(args.height)
    opts = EncodeOptions(preset=args.preset)
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip.mp4", width, args.height, args.seconds)
        colorizer = Colorizer(args.model, args.device, precision=args.precision)
        batch = args.batch_size or default_batch_size(colorizer.device, width, args.height)
        model_frames = min(100, round(args.seconds * 25))
        rounds = [one_round(clip, Path(tmp), colorizer, batch, opts, model_frames, args.shot_detect)
                  for _ in range(args.rounds)]
    result = {
        "device": str(colorizer.device), "dtype": str(colorizer.dtype or torch.float32).removeprefix("torch."),
        "torch_threads": torch.get_num_threads(),
        "size": f"{width}x{args.height}", "frames": rounds[0]["frames"], "batch_size": batch,
        "preset": args.preset, "encoder_options": encoder_options(opts.codec, opts),
        "decoder_threads": args.decoder_threads, "shot_detect": args.shot_detect,
        "slices": args.slices,
        **{k: round(statistics.median(r[k] for r in rounds), 3) for k in rounds[0] if k != "frames"},
    }
    if args.rounds > 1:
        result["rounds"] = rounds
    print(json.dumps(result) if args.json else "\n".join(f"{k:28s} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
