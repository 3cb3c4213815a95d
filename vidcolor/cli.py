"""Command line: a thin typer layer over the library. Only this module prints errors and exits."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .defaults import (
    CPU_BATCH_PIXELS,
    DEFAULT_MODEL,
    DEFAULT_PHOTO_SIDE,
    DEFAULT_SMOOTH_SECONDS,
    DEFAULT_WORK_SIDE,
    MAX_BATCH_SIZE,
    MAX_CRF,
    MAX_PREVIEW_COUNT,
    MAX_SATURATION,
    MAX_SMOOTH_SECONDS,
    MIN_WORK_SIDE,
)
from .errors import EXIT_CODES, UsageError, VidcolorError, missing_input, one_line
from .interrupts import STOP_SIGNALS, stop_signals
from .media.sequence import DEFAULT_RATE, is_sequence
from .naming import beside, image_format, is_photo, output_for
from .outputs import check_output

if TYPE_CHECKING:
    from .colorizer import Colorizer

EXIT_HELP = "Exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()) + "."

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Colorize black-and-white films and photos.\n\n"
                       "vidcolor INPUT -o OUTPUT is short for vidcolor colorize INPUT -o OUTPUT.\n\n" + EXIT_HELP)


SATURATION = typer.Option(1.0, min=0.0, max=MAX_SATURATION,
                          help="Scale the colors (1: as the weights file calibrates them; 1.2: more vivid; "
                          "0.8: quieter).")
FRAME_RATE = typer.Option(None, "--frame-rate", help="Rate of an image sequence (scans/reel_%06d.dpx) or of "
                          f"the film scans in a folder [default: the DPX header's, else {DEFAULT_RATE}]; 18, "
                          "24000/1001 and 23.976 work too.")
LEVELS = typer.Option("auto", help="auto: a film whose blacks and whites have faded (measured on frames sampled "
                      "over it) is shown to the network with more contrast; the picture's luminance is kept. off: "
                      "as it is.")
PRECISION = typer.Option("auto", help="auto: bf16 on GPUs and on CPUs with bf16 instructions (AMX, AVX512-BF16), "
                         "else float32; or float32.")


def _versions(asked: bool) -> None:
    """vidcolor's version and those of the libraries it runs on (for a bug report), without loading torch."""
    if not asked:
        return
    from importlib.metadata import PackageNotFoundError, version

    import av

    from . import __version__

    try:
        torch = version("torch")
    except PackageNotFoundError:
        torch = "not installed"
    typer.echo(f"vidcolor {__version__}; torch {torch}; PyAV {av.__version__}, FFmpeg "
               f"{av.ffmpeg_version_info}; Python {sys.version.split()[0]}")
    raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_versions, is_eager=True,
                                          help="Print the versions of vidcolor, torch, PyAV and FFmpeg.")) -> None:
    """Options before the command."""


def _found(input: Path) -> Path:
    """The input, refused at once when there is no such file: the model's libraries take 2-5 s to load, and the
    library's own check (the same message) comes after them."""
    if not is_sequence(input) and not os.path.exists(input):  # a sequence's folder and frames: its reader's check
        raise missing_input(input)
    return input


def _into(output: Path | None, named: Path) -> Path:
    """The output given, or `named` (the default name) where none is, or inside the existing folder given."""
    if output is None:
        return named
    return output / named.name if os.path.isdir(output) else output  # False for a name too long to be one


def _print_json(obj: dict | list) -> None:
    """On stdout, where there is one (typer says nothing where a program was started with it closed)."""
    typer.echo(json.dumps(obj, indent=None))


def _tell(report: dict, json_out: bool, quiet: bool, line: str) -> None:
    """A command's end: its report as JSON on stdout, or one line on stderr, or nothing."""
    if json_out:
        _print_json(report)
    elif not quiet:
        typer.echo(line, err=True)


@app.command(epilog=EXIT_HELP)
def colorize(
    input: str = typer.Argument(..., help="Video (anything FFmpeg reads), image sequence (scans/reel_%06d.dpx), "
                                "photo, or a folder of photos and videos."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Output file, image sequence "
                                       "(graded/reel_%06d.dpx, .tif, .png), or folder for a folder "
                                       "[default: INPUT_color.EXT, INPUT_color/; in an existing folder for a "
                                       "file: INPUT_color.EXT there]."),
    model: str = typer.Option(DEFAULT_MODEL, help="Model name or path to a .safetensors file."),
    device: str = typer.Option("auto", help="auto, cuda or cpu."),
    batch_size: int | None = typer.Option(None, min=1, help=f"Frames per batch [default: {MAX_BATCH_SIZE}; on a "
                                          f"CPU fewer for bigger frames: {CPU_BATCH_PIXELS // (1280 * 720)} at 720p, "
                                          f"{CPU_BATCH_PIXELS // (1920 * 1080)} at 1080p, 1 at 4K]."),
    work_side: int | None = typer.Option(None, min=MIN_WORK_SIDE, help="Short side (px) the network sees "
                                         f"[default: {DEFAULT_WORK_SIDE} for films, {DEFAULT_PHOTO_SIDE} for photos]."),
    saturation: float = SATURATION,
    precision: str = PRECISION,
    codec: str = typer.Option("libx264", help="Video encoder (webm: VP9 unless given; image sequences: from the "
                              "suffix)."),
    crf: int = typer.Option(18, min=0, max=MAX_CRF, help="Quality (x264/x265: 0 lossless, 18 visually lossless; "
                             "MPEG-2/MPEG-4/MJPEG: 18 is quantizer 2, each 4 more one more)."),
    preset: str = typer.Option("veryfast", help="Encoder speed preset (slow: smaller files, slower)."),
    shot_detect: bool = typer.Option(True, "--shot-detect/--no-shot-detect",
                                     help="Hold colors steady within each shot (global features averaged)."),
    smooth_seconds: float = typer.Option(DEFAULT_SMOOTH_SECONDS, min=0.0, max=MAX_SMOOTH_SECONDS,
                                         help="Half-width of the averaging window in a shot."),
    start: str | None = typer.Option(None, help="Range start: hh:mm:ss.ms, seconds, f<frame>, or the film's "
                                     "SMPTE timecode hh:mm:ss:ff."),
    end: str | None = typer.Option(None, help="Range end (excluded), same forms."),
    duration: str | None = typer.Option(None, help="Range length, instead of --end: seconds, hh:mm:ss.ms, "
                                        "f<frames> or hh:mm:ss:ff."),
    side_by_side: bool = typer.Option(False, "--side-by-side", help="Output the input and the result side by side."),
    reference: Path | None = typer.Option(None, help="Color photo whose mood (global features) to use, or a .csv "
                                          "of 'shot index,photo' lines (per-shot moods)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
    frame_rate: str | None = FRAME_RATE,
    levels: str = LEVELS,
    recolor: bool = typer.Option(False, "--recolor", help="Colorize what has colors of its own too: a "
                                 "folder's color photos and films (by default left as they are, and listed) "
                                 "and a film's shots in color (by default they keep their colors). A photo "
                                 "given alone is colorized, with a warning."),
) -> None:
    """Colorize a video, an image sequence, a photo, or every one in a folder (the default command)."""
    input = _found(Path(input))  # not typer's check, which would exit 2 (bad usage) and not name a URL as one
    folder = os.path.isdir(input)
    if not folder:
        photo, output = _output_of(input, output, codec)
        check_output(input, output, overwrite, frames=not photo and is_sequence(output))  # before torch loads
        if photo:
            image_format(output)
    from .image import colorize_image
    from .media.codecs import EncodeOptions
    from .pipeline import colorize_video

    if folder:
        _colorize_folder(input, output or input.with_name(f"{input.name}_color"), json_out, quiet,
                         colorizer=_colorizer(model, device, work_side, saturation, precision),
                         overwrite=overwrite, progress=not quiet, reference=reference, batch_size=batch_size,
                         encode=EncodeOptions(codec, crf, preset), shot_detect=shot_detect,
                         smooth_seconds=smooth_seconds, start=start, end=end, duration=duration,
                         side_by_side=side_by_side, frame_rate=frame_rate, levels=levels, recolor=recolor)
        return
    if photo:
        report = colorize_image(input, output, _colorizer(model, device, work_side, saturation, precision),
                                overwrite=overwrite, reference=reference)
    else:
        report = colorize_video(input, output, model=model, device=device, batch_size=batch_size,
                                work_side=work_side or DEFAULT_WORK_SIDE, encode=EncodeOptions(codec, crf, preset),
                                overwrite=overwrite, progress=not quiet, shot_detect=shot_detect,
                                smooth_seconds=smooth_seconds, start=start, end=end,
                                duration=duration, side_by_side=side_by_side, reference=reference,
                                saturation=saturation, precision=precision, frame_rate=frame_rate,
                                levels=levels, keep_color_shots=not recolor).to_dict()
    _tell(report, json_out, quiet, f"wrote {output}")


def _colorizer(model: str, device: str, work_side: int | None, saturation: float, precision: str) -> Colorizer:
    """The colorize command's model: `--work-side` given is for films and photos alike; without it each has
    its own default."""
    from .colorizer import Colorizer

    sides = {} if work_side is None else {"work_side": work_side, "photo_side": work_side}
    return Colorizer(model, device, saturation=saturation, precision=precision, **sides)


def _output_of(input: Path, output: Path | None, codec: str) -> tuple[bool, Path]:
    """Whether `input` is a photo, and the file to write: the one given, or the default name beside the input
    (film.mod, an animated GIF: .mp4; ProRes: .mov) or in the folder given."""
    sequence = is_sequence(input)
    photo = is_photo(input) and not sequence
    named = beside(input, "color", ".mp4" if sequence or not input.suffix else input.suffix)
    return photo, _into(output, output_for(named, photo, codec))


def _colorize_folder(input: Path, output: Path, json_out: bool, quiet: bool, **options) -> None:
    """The folder form of `colorize`: a summary line, and the exit code of the first file that failed."""
    from .folder import colorize_folder

    report = colorize_folder(input, output, **options)
    in_color = f", {len(report['in_color'])} in color left as they are (--recolor)" if report["in_color"] else ""
    count = len(report["colorized"])
    _tell(report, json_out, quiet, f"wrote {count} file{'' if count == 1 else 's'} to {output} "
          f"({len(report['already_there'])} already there{in_color}, {len(report['failed'])} failed)")
    if report["failed"]:
        raise typer.Exit(report["failed"][0]["exit_code"])


@app.command()
def preview(
    input: Path = typer.Argument(..., help="Video file or image sequence."),
    output: Path | None = typer.Option(None, "-o", "--output", help="The sheet: .png, .jpg, .tif or .webp "
                                       "[default: INPUT_preview.png, "
                                       "there if a folder is given]."),
    at: list[str] | None = typer.Option(None, "--at", help="A time to show (repeat); hh:mm:ss.ms, s, f<n> or "
                                        "hh:mm:ss:ff (timecode)."),
    count: int = typer.Option(6, min=1, max=MAX_PREVIEW_COUNT,
                              help="Frames spread over the film, when no --at is given."),
    model: str = typer.Option(DEFAULT_MODEL), device: str = typer.Option("auto"),
    work_side: int = typer.Option(DEFAULT_WORK_SIDE, min=MIN_WORK_SIDE),
    overwrite: bool = typer.Option(False, "--overwrite"),
    saturation: float = SATURATION, precision: str = PRECISION, frame_rate: str | None = FRAME_RATE,
    levels: str = LEVELS,
    recolor: bool = typer.Option(False, "--recolor", help="Colorize the frames that have colors of their own "
                                 "too (by default they are shown as they are, as a run keeps their shots')."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No line at the end."),
    json_out: bool = typer.Option(False, "--json", help="Print the report (times shown, levels, coloring) as "
                                  "JSON on stdout."),
) -> None:
    """A contact sheet of a few frames, gray | color, to choose settings before the whole film."""
    _found(input)
    output = _into(output, beside(input, "preview", ".png"))
    check_output(input, output, overwrite)  # before torch loads
    from .colorizer import Colorizer
    from .preview import make_preview

    report = make_preview(input, output, at, count, Colorizer(model, device, work_side, saturation, precision),
                          overwrite, frame_rate, levels, keep_color_shots=not recolor)
    _tell(report, json_out, quiet, f"wrote {output} ({', '.join(report['times'])})")


@app.command()
def shots(
    input: Path = typer.Argument(..., help="Video file or image sequence."),
    json_out: bool = typer.Option(False, "--json", help="JSON list on stdout."),
    csv_out: bool = typer.Option(False, "--csv", help="CSV on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    frame_rate: str | None = FRAME_RATE,
) -> None:
    """List the shots of a video (hard cuts and fades), frames 0-based in decode order."""
    from .shots import detect_shots

    if json_out and csv_out:  # JSON had been printed, and --csv dropped without a word
        raise UsageError("--json and --csv: give one")
    progress = not quiet and not (json_out or csv_out)
    found = [s.to_dict() for s in detect_shots(input, progress=progress, frame_rate=frame_rate)]
    if json_out:
        _print_json(found)
    elif csv_out:
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=list(found[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(found)
        typer.echo(table.getvalue(), nl=False)
    else:
        for s in found:
            typer.echo(f"{s['start_frame']:>7} {s['end_frame']:>7}  {s['start_time']:>10.3f}s {s['end_time']:>10.3f}s"
                       f"  {s['transition']}")


@app.command("eval")
def eval_cmd(
    data: Path = typer.Argument(..., help="Folder (or .tar shard) with index.csv and photos."),
    split: str = typer.Option("val"),
    limit: int | None = typer.Option(None, min=1, help="Only N photos, spread evenly over the split."),
    model: str = typer.Option(DEFAULT_MODEL, help="Model name, .safetensors file, or training checkpoint (.pt)."),
    device: str = typer.Option("auto"),
    work_side: int | None = typer.Option(None, min=MIN_WORK_SIDE, help="Short side (px) the network sees "
                                         f"[default: {DEFAULT_PHOTO_SIDE}, as the photo command's; a film's is "
                                         f"{DEFAULT_WORK_SIDE}]."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    sheet: Path | None = typer.Option(None, help="Write a gray | vidcolor | truth contact sheet (.png, .jpg, "
                                      ".tif or .webp)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing sheet."),
    saturation: float = SATURATION,
    precision: str = PRECISION,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Colorize the photos of a split from L* alone and compare with the truth."""
    from .colorizer import Colorizer
    from .train.evaluate import evaluate
    from .train.loop import load_network

    net = load_network(model)
    colorizer = Colorizer(net, device, saturation=saturation, precision=precision,
                          photo_side=work_side or DEFAULT_PHOTO_SIDE)
    metrics = evaluate(colorizer, data, split, limit, sheet, overwrite=overwrite, progress=not quiet)
    if json_out:
        _print_json(metrics)
    else:
        for k, v in metrics.items():
            typer.echo(f"{k:20s} {v}")


@app.command()
def train(
    data: Path = typer.Argument(..., help="Folder (or .tar shard) with index.csv; split=train is used."),
    checkpoint: Path = typer.Option(..., help="Checkpoint to write; resumed from if it exists."),
    init: str | None = typer.Option(None, help="Start from these weights (model name, .safetensors file or "
                                    "training checkpoint), e.g. to fine-tune the shipped model; shape and classes "
                                    "come with them."),
    widen: int | None = typer.Option(None, help="Grow the --init network to this width first; it starts "
                                     "with the same output and more channels to learn with."),
    variant: str = typer.Option("pooled", help="pooled (default) or paper (FC global head)."),
    width: int = typer.Option(64, min=8, help="Channels of the first conv, which the others scale from (the "
                              "paper's: 64)."),
    size: int = typer.Option(128, min=16, help="Side of the training crops (px)."),
    load_size: int | None = typer.Option(None, min=16, help="Side the photos are decoded at, which crops are "
                                         "taken from [default: --size]."),
    global_size: int = typer.Option(128, min=16, help="Side of the global path's picture (the paper's: 224; at "
                                    "--size it sees the crop itself)."),
    batch_size: int = typer.Option(64, min=1, help="Photos per step."),
    steps: int = typer.Option(10_000, min=0, help="Length of the schedule, counted across resumed runs."),
    lr: float = typer.Option(2e-3, help="Peak learning rate: warm-up, then cosine decay to 2% of it."),
    alpha: float = typer.Option(1 / 300, help="Classification loss weight."),
    rebalance: float = typer.Option(0.0, help="0: plain MSE; 0-1: weight rare (vivid) a*b* up."),
    colorfulness: float = typer.Option(0.0, help="Weight of a per-photo penalty on colour the prediction "
                                       "lacks against the truth (Hasler-Suesstrunk colorfulness); 0: off."),
    crop_min: float = typer.Option(0.6, min=0.1, max=1.0, help="Random crops take this much of the photo's "
                                   "side at least."),
    exposure: float = typer.Option(0.0, min=0.0, help="Random exposure change, +- this many stops."),
    optimizer: str = typer.Option("adamw", help="adamw or adadelta (paper)."),
    seed: int = typer.Option(0, help="Seed of the crops and the photos' order (and of the first weights)."),
    limit: int | None = typer.Option(None, min=1, help="Only the first N training photos."),
    minutes: float | None = typer.Option(None, min=0.0, help="Stop and save after this wall time."),
    device: str = typer.Option("auto", help="auto, cuda or cpu."),
    workers: int = typer.Option(4, min=1, help="Processes that decode the photos."), precision: str = PRECISION,
) -> None:
    """Train the fusion network (resumes from --checkpoint; Ctrl-C or SIGTERM stops it after its step and saves it)."""
    from .train.loop import TrainArgs
    from .train.loop import train as run_train

    args = TrainArgs(str(data), str(checkpoint), init, widen, variant, width, size, load_size, global_size,
                     batch_size, steps, lr, alpha=alpha, rebalance=rebalance,
                     colorfulness=colorfulness, crop_min=crop_min, exposure=exposure, optimizer=optimizer, seed=seed,
                     limit=limit, minutes=minutes, device=device, workers=workers, precision=precision)
    _print_json(run_train(args))


@app.command()
def export(
    checkpoint: Path = typer.Argument(..., help="Training checkpoint (.pt), or a weights file (.safetensors)."),
    output: Path = typer.Option(..., "-o", "--output", help="The .safetensors file to write."),
    chroma_gain: float | None = typer.Option(None, min=0.1, max=3.0, help="The a*b* gain the file asks for at "
                                             "inference (default: the source's; 1 for a checkpoint)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
) -> None:
    """Write a network as fp16 safetensors with its inference settings; print its sha256."""
    from .model.weights import save_weights
    from .outputs import atomic_output
    from .train.loop import load_network

    with atomic_output(checkpoint, output, overwrite) as tmp:  # checked first: exporting onto its source had
        net = load_network(checkpoint)  # rewritten it
        if chroma_gain is not None:
            net.chroma_gain = chroma_gain
        sha = save_weights(net, tmp, net.classes, net.train_info)
    _print_json({"output": str(output), "sha256": sha, "bytes": output.stat().st_size})


@app.command()
def pack(
    data: Path = typer.Argument(..., help="Folder (or .tar shard) with index.csv and photos."),
    output: Path = typer.Option(..., "-o", "--output", help="The .tar shard to write."),
    split: str = typer.Option("train"),
    start: int = typer.Option(0, min=0, help="The split's first photo to pack (0-based, in index order)."),
    count: int | None = typer.Option(None, min=1, help="Photos to pack [default: the rest of the split]."),
    side: int | None = typer.Option(None, min=16, help="Store photos as side x side JPEGs (smaller shards)."),
    quality: int = typer.Option(90, min=50, max=100, help="JPEG quality with --side."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Pack photos of a split into one .tar shard (to send training data to a GPU machine)."""
    from .train.data import pack_shard

    photos = pack_shard(data, output, split, start, count, side, quality, overwrite, progress=not quiet)
    _print_json({"output": str(output), "photos": photos, "bytes": output.stat().st_size})


COMMANDS = {"colorize", "preview", "shots", "eval", "train", "export", "pack"}


def run(argv: list[str]) -> int:
    """Run the CLI on argv (without the program name); return the exit code. Used by main and tests."""
    with stop_signals() as stop:
        code = _run(argv)
    if code != 130:  # typer's code for any KeyboardInterrupt: Ctrl-C's, or a stop signal's
        return code
    how = "interrupted" if stop.signum is None else f"stopped by {signal.Signals(stop.signum).name}"
    with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
        typer.echo(f"vidcolor: {how}; no partial output was left", err=True)
    return code if stop.signum is None else 128 + stop.signum  # the shell's code for the signal


def _run(argv: list[str]) -> int:
    if argv and argv[0] not in COMMANDS and argv[0] not in ("--help", "-h", "--version"):
        argv = ["colorize", *argv]
    logging.basicConfig(format="vidcolor: warning: %(message)s", level=logging.WARNING, force=True)
    debug = bool(os.environ.get("VIDCOLOR_DEBUG"))
    try:
        code = app(args=argv, prog_name="vidcolor", standalone_mode=False)
        return code if isinstance(code, int) else 0  # typer answers Ctrl-C with 130
    except VidcolorError as ex:
        if debug:
            raise
        typer.echo(f"vidcolor: error: {one_line(ex)}", err=True)
        return ex.exit_code
    except typer.Exit as ex:
        return ex.exit_code
    except typer.TyperException as ex:  # usage errors: typer vendors click and shows them itself
        ex.show()
        return ex.exit_code
    except (KeyboardInterrupt, typer.Abort):
        return 130
    except Exception as ex:  # the last line of defence: one line, not a traceback
        if debug:
            raise
        typer.echo(f"vidcolor: internal error: {type(ex).__name__}: {one_line(ex)} (set VIDCOLOR_DEBUG=1 for "
                   "details)", err=True)
        return 1


def main() -> None:
    code = run(sys.argv[1:])
    if os.name == "posix" and code - 128 in (signal.SIGINT, *STOP_SIGNALS):
        # Stopped by a signal, and cleaned up: die of it, as a shell expects. It shows the same code (128 + the
        # signal), but a `for` loop over films goes on to the next one when its command exits 130 instead.
        for stream in (sys.stdout, sys.stderr):  # None where started without it
            with contextlib.suppress(OSError, AttributeError):  # after SIGHUP the terminal may be gone
                stream.flush()
        signal.signal(code - 128, signal.SIG_DFL)
        os.kill(os.getpid(), code - 128)
    sys.exit(code)
