"""The hostile-input matrix: each case ends in a clear one-line error or a valid output with a warning.

Every case also checks: no traceback, the input file unchanged (sha256), and no partial or
temporary file left beside the output.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest
import torch
from conftest import as_at_a_terminal, decode_planes, film_with_long_sound, foreground_job, make_clip, photo, remux
from PIL import Image

import vidcolor
from vidcolor import colorize_video
from vidcolor.errors import InputError
from vidcolor.media import decode
from vidcolor.media.codecs import EncodeOptions
from vidcolor.media.decode import _FrameTimes
from vidcolor.media.probe import counted, track_end, video_info

TINY = ["--model", "tiny-random", "-q"]


def sha(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def run_case(src: Path, dst: Path, extra: list[str] = (), capsys=None) -> tuple[int, str]:
    from vidcolor.cli import run

    before = sha(src) if src.exists() and not src.is_dir() else None
    listing = set(dst.parent.iterdir()) if dst.parent.is_dir() else set()
    code = run([str(src), "-o", str(dst), *TINY, *extra])
    err = capsys.readouterr().err if capsys else ""
    assert "Traceback" not in err
    if before is not None:
        assert sha(src) == before, "the input changed"
    if dst.parent.is_dir():
        new = set(dst.parent.iterdir()) - listing
        assert all(".part" not in p.name for p in new), "a temporary file was left"
        if code != 0:
            assert dst not in new, "an output was left after a failure"
    return code, err


def mp4_bytes(tmp_path: Path, **kw) -> bytes:
    return make_clip(tmp_path / "good.mp4", **kw).read_bytes()


def write_frames(path: Path, frames: list[np.ndarray], pts: list[int], time_base: Fraction, codec="libx264",
                 pix_fmt="yuv420p", container_opts=None) -> Path:
    with av.open(str(path), "w", options=container_opts or {}) as out:
        v = out.add_stream(codec, rate=25)
        v.height, v.width = frames[0].shape[:2]
        v.pix_fmt, v.time_base = pix_fmt, time_base
        v.codec_context.time_base = time_base
        for f, p in zip(frames, pts):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format=pix_fmt)
            vf.pts, vf.time_base = p, time_base
            out.mux(v.encode(vf))
        out.mux(v.encode(None))
    return path


# ---- not a video at all --------------------------------------------------------------------

@pytest.mark.parametrize("name,content,message", [
    ("text.mp4", b"just some words\n" * 20, "not a readable video"),
    ("random.mp4", bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8)), "not a readable video"),
    ("empty.mp4", b"", "empty file"),
])
def test_not_a_video(tmp_path, capsys, name, content, message):
    src = tmp_path / name
    src.write_bytes(content)
    code, err = run_case(src, tmp_path / "out.mp4", capsys=capsys)
    assert code == 3 and message in err and name in err and err.count("\n") == 1


def test_a_heic_cut_short_is_refused_in_one_line(tmp_path, capsys):
    """libheif ends its messages with a newline: the error took two lines (bench/fuzz.py --photos
    --seed 9). Every error is one line."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    whole = tmp_path / "whole.heic"
    Image.fromarray(photo("coffee", 64, 48)).save(whole, quality=90)
    src = tmp_path / "cut.heic"
    src.write_bytes(whole.read_bytes()[:-10])
    code, err = run_case(src, tmp_path / "out.png", capsys=capsys)
    assert code == 3 and err.startswith("vidcolor: error: ") and "cut.heic" in err and err.count("\n") == 1
    assert "outside of file bounds" in err  # libheif's reason, kept
    from vidcolor.cli import run

    (tmp_path / "album").mkdir()  # in a folder, the file's failure is one line too: in the log and the report
    src.rename(tmp_path / "album" / "cut.heic")
    assert run([str(tmp_path / "album"), "-o", str(tmp_path / "color"), *TINY, "--json"]) == 3
    out, err = capsys.readouterr()
    error = json.loads(out)["failed"][0]["error"]
    assert "outside of file bounds" in error and "\n" not in error
    assert err.count("\n") == 1 and err.startswith("vidcolor: warning: not colorized: ")


def test_png_renamed_mp4_is_read_as_one_frame(tmp_path, capsys):
    src = tmp_path / "photo.mp4"
    Image.fromarray(photo("coffee", 64, 48)).save(src, format="PNG")
    code, _ = run_case(src, tmp_path / "out.mp4", capsys=capsys)
    assert code == 0 and len(decode_planes(tmp_path / "out.mp4")) == 1


def test_animated_webp_as_a_film_is_named_not_called_damaged(tmp_path):
    """FFmpeg 8 cannot decode animated WebP: the API's error says so, not 'damaged header'."""
    src = tmp_path / "loop.webp"
    pictures = [Image.fromarray(np.roll(photo("coffee", 64, 48), 4 * i, 1)) for i in range(4)]
    pictures[0].save(src, save_all=True, append_images=pictures[1:], duration=80)
    with pytest.raises(InputError, match="an animated WebP: convert it to a video first"):
        colorize_video(src, tmp_path / "out.mp4", model="tiny-random", progress=False)
    assert not (tmp_path / "out.mp4").exists()


def test_missing_file(tmp_path, capsys):
    code, err = run_case(tmp_path / "nope.mp4", tmp_path / "out.mp4", capsys=capsys)
    assert code == 3 and "nope.mp4: no such file" in err


@pytest.mark.parametrize("name, said", [
    ("-", "-: reading a film or photo from standard input is not supported"),
    ("https://archive.example/reel.mp4", "https://archive.example/reel.mp4: vidcolor reads files, not URLs"),
    ("rtsp://camera/stream", "rtsp://camera/stream: vidcolor reads files, not URLs"),
    ("file:///films/reel.mkv", "file:///films/reel.mkv: vidcolor reads files, not URLs"),
    ("http://archive.example/print.jpg", "http://archive.example/print.jpg: vidcolor reads files, not URLs")])
def test_a_url_or_standard_input_is_named_as_such_not_a_missing_file(name, said, tmp_path, capsys, monkeypatch):
    """Path folds a URL's "//": the message had named "https:/archive..." a missing file. The film
    commands and the API say the same."""
    from vidcolor.cli import run

    monkeypatch.chdir(tmp_path)
    assert run([name, "-o", "out.mp4", *TINY]) == 3
    assert said in capsys.readouterr().err
    if not name.endswith(".jpg"):
        assert run(["shots", name]) == 3 and said in capsys.readouterr().err
        with pytest.raises(InputError, match=said.split(": ")[1]):
            colorize_video(name, "out.mp4", model="tiny-random", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_standard_output_as_the_output_is_refused_by_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = make_clip(tmp_path / "film.mp4", frames=4)
    photo_src = tmp_path / "print.png"
    Image.fromarray(photo("coffee", 64, 48)).convert("L").save(photo_src)
    for given in (src, photo_src):
        code, err = run_case(given, Path("-"), capsys=capsys)
        assert code == 4 and "-: writing to standard output is not supported" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["film.mp4", "print.png"]


def test_directory(tmp_path, capsys):
    """A folder is colorized file by file (tests/test_folder.py); one with nothing to colorize, or into a
    file's name, is refused by name."""
    (tmp_path / "dir.mp4").mkdir()
    code, err = run_case(tmp_path / "dir.mp4", tmp_path / "out", capsys=capsys)
    assert code == 3 and "no photos, films or film scans in it" in err
    code, err = run_case(tmp_path / "dir.mp4", tmp_path / "out.mp4", capsys=capsys)
    assert code == 2 and "names a file, and a folder is colorized into a folder" in err


@pytest.mark.parametrize("option", [("--device", "gpu"), ("--device", "cuda:7"), ("--precision", "half"),
                                    ("--preset", "fastest"), ("--codec", "h265"), ("--codec", "aac"),
                                    ("--levels", "strong")])
def test_a_bad_option_is_refused_before_any_work(tmp_path, capsys, monkeypatch, option):
    """One line and exit 2 before the film is sampled or a frame colorized, and once for a folder, not by
    each of its files in turn. A bad device had crashed ("internal error"), a bad encoder or preset had been
    refused by the encoder at the first colorized frame (exit 4), a bad --levels after the sampling."""
    from vidcolor import pipeline

    def sampled(*args, **kwargs):
        raise AssertionError("the film was sampled")

    monkeypatch.setattr(pipeline, "film_survey", sampled)
    box = tmp_path / "box"
    box.mkdir()
    for name in ("a.mp4", "b.mp4"):
        make_clip(box / name, frames=4)
    for src, dst in ((box / "a.mp4", tmp_path / "a_color.mp4"), (box, tmp_path / "box_color")):
        code, err = run_case(src, dst, list(option), capsys)
        assert code == 2 and err.count("error:") == 1 and option[1] in err and not dst.exists()


@pytest.mark.parametrize("option", [{"start": -1}, {"duration": -2.0}, {"start": "f-5"}, {"batch_size": 0},
                                    {"smooth_seconds": -1},
                                    {"smooth_seconds": float("nan")}, {"smooth_seconds": 60}, {"saturation": -2},
                                    {"work_side": 7}])
def test_the_apis_bad_options_are_refused_as_the_command_lines_are(tmp_path, monkeypatch, option):
    """The library checks what typer checks on the command line, before any work, for one film and once for a
    folder: a negative start had colorized the whole film ('f-5' blamed the film, exit 3), smooth_seconds=-1
    crashed in torch, saturation=-2 turned the colors around, and a window of 60 s would hold a minute of
    frames in memory."""
    from vidcolor import colorize_folder, pipeline
    from vidcolor.errors import UsageError

    def sampled(*args, **kwargs):
        raise AssertionError("the film was sampled")

    monkeypatch.setattr(pipeline, "film_survey", sampled)
    box = tmp_path / "box"
    box.mkdir()
    make_clip(box / "a.mp4", frames=4)
    with pytest.raises(UsageError):
        colorize_video(box / "a.mp4", tmp_path / "a_color.mp4", model="tiny-random", progress=False, **option)
    if "start" not in option and "duration" not in option:  # a folder takes no range
        with pytest.raises(UsageError):
            colorize_folder(box, tmp_path / "box_color", model="tiny-random", progress=False, **option)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["box"]


def test_model_options_given_with_a_colorizer_are_refused_not_ignored(tmp_path):
    """The colorizer has its own: saturation=1.3 beside it had been dropped without a word."""
    from vidcolor.colorizer import Colorizer
    from vidcolor.errors import UsageError

    src = make_clip(tmp_path / "a.mp4", frames=4)
    for option in ({"saturation": 1.3}, {"work_side": 96}, {"model": "tiny-random"}):
        with pytest.raises(UsageError, match=f"{next(iter(option))}: give them to the Colorizer"):
            colorize_video(src, tmp_path / "out.mp4", colorizer=Colorizer("tiny-random"), progress=False, **option)
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize("count", [0, -1, 101])
def test_a_preview_of_no_rows_or_too_many_is_refused_as_usage(tmp_path, count):
    """count=0 had read as a film with no frame to decode (exit 3, blaming the film)."""
    from vidcolor import make_preview
    from vidcolor.errors import UsageError

    src = make_clip(tmp_path / "a.mp4", frames=4)
    with pytest.raises(UsageError, match="count"):
        make_preview(src, tmp_path / "sheet.png", count=count)
    assert not (tmp_path / "sheet.png").exists()


def test_unreadable_file(tmp_path, capsys, monkeypatch):
    src = make_clip(tmp_path / "locked.mp4")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(src) else real(p, mode))
    code, err = run_case(src, tmp_path / "out.mp4", capsys=capsys)  # tests run as root: access is faked
    assert code == 3 and "permission denied" in err


def add_silence(out: av.container.OutputContainer, samples: int) -> None:
    a = out.add_stream("aac", rate=44100)
    frame = av.AudioFrame.from_ndarray(np.zeros((2, samples), np.float32), format="fltp", layout="stereo")
    frame.sample_rate, frame.pts = 44100, 0
    out.mux(a.encode(frame))
    out.mux(a.encode(None))


def test_audio_only(tmp_path, capsys):
    src = tmp_path / "sound.m4a"
    with av.open(str(src), "w") as out:
        add_silence(out, 44100)
    code, err = run_case(src, tmp_path / "out.mp4", capsys=capsys)
    assert code == 3 and "has no video stream" in err


def test_a_sound_file_with_cover_art(tmp_path, capsys):
    """A song's cover picture is its only video: a one-picture film with the whole sound comes out. mp4
    refused it at its end (an internal error): the film's stream inherited the cover's attached-picture
    flag, and mp4 takes only JPEG, PNG or BMP as one."""
    jpeg = io.BytesIO()
    Image.fromarray(photo("coffee", 64, 48)).save(jpeg, format="JPEG")
    src = tmp_path / "song.m4a"
    with av.open(str(src), "w", format="mp4") as out:
        cover = out.add_stream("mjpeg")
        cover.width, cover.height, cover.pix_fmt = 64, 48, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        add_silence(out, 44100)
        picture = av.Packet(jpeg.getvalue())
        picture.stream = cover
        out.mux(picture)
    code, _ = run_case(src, tmp_path / "out.mp4", capsys=capsys)
    assert code == 0 and len(decode_planes(tmp_path / "out.mp4")) == 1
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert len(c.streams.audio) == 1 and not c.streams.video[0].disposition & av.stream.Disposition.attached_pic


def test_a_sound_track_listed_but_never_sent(tmp_path, capsys):
    """Broadcast recordings list tracks that carry nothing (an unused audio description): FFmpeg reads
    them with no sample rate and no channels, and every encoder refused to open on one (an internal error
    into mp4, mkv or MPEG-TS). The track is left out, with a warning; the sound that is there is kept."""
    def silent_track(out: av.container.OutputContainer) -> None:
        out.add_stream("mp2", rate=48000).layout = "stereo"

    remux(make_clip(tmp_path / "recording.ts", frames=25), tmp_path / "listed.ts", silent_track)
    with av.open(str(tmp_path / "listed.ts")) as c:
        assert c.streams.audio[1].codec_context.sample_rate == 0  # as FFmpeg reads it
    code, err = run_case(tmp_path / "listed.ts", tmp_path / "out.mp4", capsys=capsys)
    assert code == 0 and "audio stream #2 dropped: it carries no sound" in err
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert len(c.streams.audio) == 1 and c.streams.audio[0].codec_context.sample_rate


def test_video_stream_without_frames(tmp_path, capsys):
    src = tmp_path / "noframes.mkv"
    with av.open(str(src), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        add_silence(out, 4410)  # sound, but the video stream never gets a frame
    code, err = run_case(src, tmp_path / "out.mp4", capsys=capsys)
    assert code == 3 and ("no video frame" in err or "picture size" in err)


# ---- damaged videos ------------------------------------------------------------------------

@pytest.mark.parametrize("share", [0.02, 0.3, 0.6, 0.9])
def test_truncated_mkv(tmp_path, capsys, share):
    data = make_clip(tmp_path / "good.mkv", frames=50).read_bytes()
    src = tmp_path / "cut.mkv"
    src.write_bytes(data[: int(len(data) * share)])
    code, err = run_case(src, tmp_path / "out.mkv", capsys=capsys)
    if code == 0:
        n = len(decode_planes(tmp_path / "out.mkv"))
        assert 0 < n < 50 and "truncated or damaged" in err
    else:
        assert code == 3 and "cut.mkv" in err


def test_truncated_mp4_without_index(tmp_path, capsys):
    src = tmp_path / "cut.mp4"
    src.write_bytes(mp4_bytes(tmp_path, frames=50)[:20_000])
    code, err = run_case(src, tmp_path / "out.mp4", capsys=capsys)
    assert code == 3 and "incomplete or damaged" in err


@pytest.mark.parametrize("gop", ["1", "300"])
@pytest.mark.parametrize("decoder_threads", [0, 17])
def test_an_ffv1_master_damaged_near_its_end_keeps_every_other_frame(tmp_path, monkeypatch, decoder_threads, gop):
    """Archives keep FFV1 with every frame a keyframe (-g 1). With 17 decoder threads (a 16-core
    machine's) a damaged frame among the last ones stops FFmpeg's drain, and the frames still held are
    decoded again on a fresh decoder. FFV1 does not store its picture size: that decoder could not open
    without the stream's, and the 3 good frames after the damaged one were lost too. FFmpeg's default
    FFV1 has a keyframe only every so often (here one), and its other frames need every frame from it on:
    the file is read again from there, and only the frames after the last one shown come out (the 3 were
    lost, and the damage went unsaid)."""
    monkeypatch.setattr(decode, "DECODER_THREADS", decoder_threads)
    src = tmp_path / "master.mkv"
    pan = photo("astronaut", 96 + 14, 64)
    payloads = {}
    with av.open(str(src), "w") as out:
        v = out.add_stream("ffv1", rate=25, options={"g": gop})
        v.width, v.height, v.pix_fmt = 96, 64, "yuv420p"
        for i in range(14):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(pan[:, i:i + 96]), format="rgb24")
            f = f.reformat(format="yuv420p")
            f.pts = i
            for packet in v.encode(f):
                payloads[packet.pts] = bytes(packet)
                out.mux(packet)
        out.mux(v.encode(None))
    victim = payloads[10]
    data = bytearray(src.read_bytes())
    at = data.find(victim)  # frame 10's payload, damaged where it lies (its keyframe flag stays)
    data[at + 8:at + len(victim)] = np.random.default_rng(0).integers(0, 256, len(victim) - 8, np.uint8).tobytes()
    src.write_bytes(data)
    report = colorize_video(src, tmp_path / "out.mkv", model="tiny-random", progress=False)
    assert report.warnings == ["1 damaged video packets were skipped"]
    with av.open(str(tmp_path / "out.mkv")) as c:
        assert [f.pts for f in c.decode(video=0)] == [40 * i for i in range(14) if i != 10]


def test_raw_video_whose_header_lost_its_pixel_format_is_refused_by_name(tmp_path, capsys):
    """An AVI whose video header had its bit depth and compression zeroed reads as raw video of no pixel
    format: an internal error (bench/fuzz.py --seed 81), now a clean one."""
    data = bytearray(make_clip(tmp_path / "good.avi", frames=10, audio=("mp3",)).read_bytes())
    strf = data.find(b"strf") + 8  # the video's BITMAPINFOHEADER
    data[strf + 14:strf + 20] = bytes(6)  # biBitCount and biCompression
    src = tmp_path / "zeroed.avi"
    src.write_bytes(data)
    code, err = run_case(src, tmp_path / "out.mp4", capsys=capsys)
    assert code == 3 and err == f"vidcolor: error: {src}: its raw video names no pixel format: a damaged header\n"


def test_corrupt_packets_in_the_middle(tmp_path, capsys):
    data = bytearray(make_clip(tmp_path / "good.mkv", frames=60, width=128, height=96).read_bytes())
    rng = np.random.default_rng(3)
    mid = len(data) // 2
    data[mid: mid + 3000] = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
    src = tmp_path / "bad.mkv"
    src.write_bytes(bytes(data))
    code, err = run_case(src, tmp_path / "out.mkv", capsys=capsys)
    assert code == 0
    n = len(decode_planes(tmp_path / "out.mkv"))
    assert n == 60 or "truncated or damaged" in err or "damaged video packets" in err


def test_a_film_whose_picture_is_mostly_damaged_is_refused_as_too_damaged(tmp_path, capsys):
    """Motion JPEG whose packets 20-139 of 150 are noise: each one the decoder refuses is skipped and
    counted, as long as a film could still be worth its output; past 100 the file is refused in one line
    (exit 3), and no output is left. With 90 damaged the film comes out, the skips said."""
    rng = np.random.default_rng(0)

    def film(name: str, damaged: range) -> Path:
        with av.open(str(tmp_path / name), "w") as out:
            v = out.add_stream("mjpeg", rate=25)
            v.width, v.height, v.pix_fmt = 64, 48, "yuvj420p"
            for i in range(150):
                f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i, np.uint8), format="rgb24")
                f = f.reformat(format="yuvj420p")
                f.pts, f.time_base = i, Fraction(1, 25)
                for packet in v.encode(f):
                    if i in damaged:
                        packet.update(rng.integers(0, 256, packet.size, dtype=np.uint8).tobytes())
                    out.mux(packet)
            out.mux(v.encode(None))
        return tmp_path / name

    code, err = run_case(film("noise.mkv", range(20, 140)), tmp_path / "out.mp4", capsys=capsys)
    assert code == 3 and "more than 100 corrupt video packets; the file is too damaged" in err
    code, err = run_case(film("worn.mkv", range(20, 110)), tmp_path / "worn.mp4", capsys=capsys)
    assert code == 0 and "90 damaged video packets were skipped" in err
    assert len(decode_planes(tmp_path / "worn.mp4")) == 60


def test_header_frame_count_that_lies(tmp_path, capsys):
    src = make_clip(tmp_path / "film.mp4", frames=20, audio=())
    data = bytearray(src.read_bytes())
    i = data.find(b"mvhd")  # duration in the movie header: claim 10x longer
    ts, dur = int.from_bytes(data[i + 16:i + 20], "big"), int.from_bytes(data[i + 20:i + 24], "big")
    data[i + 20:i + 24] = (dur * 10).to_bytes(4, "big")
    src.write_bytes(bytes(data))
    code, _ = run_case(src, tmp_path / "out.mp4", capsys=capsys)
    assert code == 0 and len(decode_planes(tmp_path / "out.mp4")) == 20 and ts > 0


def test_repeated_timestamps_are_moved_one_tick_on(tmp_path):
    """Frames that share a time (a muxer's error; Matroska lets them stand): every frame comes out, in
    order, each later than the one before, and a warning counts the frames moved."""
    frames = [photo("coffee", 64, 48)] * 6
    src = write_frames(tmp_path / "dup.mkv", frames, [0, 1, 1, 2, 3, 3], Fraction(1, 25), codec="ffv1")
    with av.open(str(src)) as c:
        assert [f.pts for f in c.decode(video=0)] == [0, 40, 40, 80, 120, 120]  # the case is there (ms)
    report = colorize_video(src, tmp_path / "out.mkv", model="tiny-random", progress=False)
    assert report.warnings == ["2 frames had missing or repeated timestamps; they were moved by one tick to "
                               "keep the order"]
    with av.open(str(tmp_path / "out.mkv")) as c:
        assert [f.pts for f in c.decode(video=0)] == [0, 40, 41, 80, 120, 121]


def test_a_stream_that_appears_mid_file(tmp_path, capsys):
    """MPEG-TS can add a stream while it is read: here a sound packet's PID, damaged in the middle of the
    file, names a stream the header did not list. PyAV's demuxer then failed at its very end (IndexError:
    an internal error, from bench/fuzz.py --seed 53). Every frame comes out."""
    src = make_clip(tmp_path / "broadcast.ts", frames=50)
    data = bytearray(src.read_bytes())
    # 188-byte packets; those that start a sound PES: the start flag, and PID 257 (0x101)
    sound = [i for i in range(0, len(data), 188) if data[i + 1] & 0x5F == 0x41 and data[i + 2] == 0x01]
    at = sound[len(sound) // 2]  # halfway
    data[at + 2] = 0x05  # PID 261
    src.write_bytes(data)
    code, _ = run_case(src, tmp_path / "out.mp4", capsys=capsys)
    assert code == 0 and len(decode_planes(tmp_path / "out.mp4")) == 50


def with_damaged_sound(path: Path, damaged: int) -> Path:
    """50 frames with AAC sound in mkv, whose audio packet `damaged` is one byte (mkv stores it as given)."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(1920 * 50) / 48000)).astype(np.float32)[None]
        n = 0
        for i in range(50):
            f = av.VideoFrame.from_ndarray(photo("coffee", 64, 48), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, 25)
            out.mux(v.encode(f))
            chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, i * 1920:(i + 1) * 1920]),
                                               format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 48000, i * 1920
            for packet in a.encode(chunk):
                if n == damaged:
                    short = av.Packet(b"\x01")
                    short.pts, short.dts, short.time_base, short.stream = packet.pts, packet.dts, packet.time_base, a
                    packet = short
                out.mux(packet)
                n += 1
        out.mux(v.encode(None))
        out.mux(a.encode(None))
    return path


def test_a_damaged_sound_packet_the_muxer_refuses_later(tmp_path, capsys):
    """MPEG-TS refuses an AAC frame of one byte, but only when it writes it: the muxer interleaves, so the
    refusal came while our video was handed over, and the whole run ended in an internal error."""
    src = with_damaged_sound(tmp_path / "damaged.mkv", damaged=20)
    code, err = run_case(src, tmp_path / "out.ts", capsys=capsys)
    assert code == 0, err
    assert "damaged audio or subtitle packets were left out" in err
    assert len(decode_planes(tmp_path / "out.ts")) == 50

    def sound(path: Path) -> int:
        with av.open(str(path)) as c:
            return sum(1 for p in c.demux(audio=0) if p.size)

    assert sound(src) - 2 <= sound(tmp_path / "out.ts") < sound(src)  # the damaged frame left out

    late = with_damaged_sound(tmp_path / "late.mkv", damaged=90)  # still queued when the file is finished
    code, err = run_case(late, tmp_path / "late.ts", capsys=capsys)
    assert code == 0, err  # was an internal error, and nothing was kept
    assert "near the end was refused" in err and len(decode_planes(tmp_path / "late.ts")) == 50
    assert sound(late) - 6 <= sound(tmp_path / "late.ts") < sound(late)


def test_frames_lost_with_a_packet_refused_at_the_end_fail_by_name(tmp_path, capsys, monkeypatch):
    """Were video packets still queued behind the refused one, they would be lost with it: then nothing is
    kept, and the message says why (here one more packet is counted than the encoder made)."""
    from vidcolor.media.encode import Writer

    count = Writer._mux_video

    def one_more(writer: Writer, packets, final: bool = False) -> None:
        count(writer, packets, final)
        writer.coded += writer.frames == 0

    monkeypatch.setattr(Writer, "_mux_video", one_more)
    late = with_damaged_sound(tmp_path / "late.mkv", damaged=90)
    code, err = run_case(late, tmp_path / "late.ts", capsys=capsys)
    assert code == 4 and "the last 1 video frames with it; nothing was left" in err
    assert not (tmp_path / "late.ts").exists()


# ---- odd but valid videos ------------------------------------------------------------------

@pytest.mark.parametrize("kw", [
    {"width": 2, "height": 2, "pix_fmt": "yuv444p"},
    {"width": 64, "height": 1, "pix_fmt": "yuv444p"},
    {"width": 1, "height": 48, "pix_fmt": "yuv444p"},
    {"width": 1920, "height": 1088, "frames": 3},
    {"width": 4096, "height": 2304, "frames": 2},
    {"width": 97, "height": 61, "pix_fmt": "yuv444p"},
    {"pix_fmt": "yuv444p"},
    {"pix_fmt": "yuv422p"},
    {"pix_fmt": "yuv420p10le"},
    {"rotation": 270},
], ids=["tiny-2x2", "line-64x1", "column-1x48", "1080p", "huge-4k", "odd-97x61", "444", "422", "10-bit", "rotation"])
def test_odd_but_valid(tmp_path, capsys, kw):
    kw = {"audio": (), **kw}
    src = make_clip(tmp_path / "odd.mkv", **kw)
    code, err = run_case(src, tmp_path / "out.mkv", capsys=capsys)
    assert code == 0, err
    a, b = decode_planes(src), decode_planes(tmp_path / "out.mkv")
    assert len(a) == len(b) and (a[0].width, a[0].height) == (b[0].width, b[0].height)


def test_variable_frame_rate_and_late_start(tmp_path, capsys):
    pts = [5000, 5040, 5100, 5300, 5320, 5400]  # starts at 5 s, irregular
    src = write_frames(tmp_path / "late.mkv", [photo("rocket", 64, 48)] * 6, pts, Fraction(1, 1000))
    code, _ = run_case(src, tmp_path / "out.mkv", capsys=capsys)
    assert code == 0
    assert [round(float(f.pts * f.time_base) * 1000) for f in decode_planes(tmp_path / "out.mkv")] == pts


def test_pauses_in_a_variable_rate_mkv_are_not_truncation(tmp_path, capsys):
    """mkv states no frame count, so duration x the average rate (which FFmpeg reads off the first frames)
    announces more frames than a film with pauses holds. Whole, it gets no warning; cut, it still does."""
    pts = [0, 40, 80, 120, 160, 200, 400, 440, 800, 840, 880, 1200, 1240, 1280, 1320, 1360]
    frames = [np.roll(photo("rocket", 64, 48), 2 * i, axis=1) for i in range(len(pts))]
    src = write_frames(tmp_path / "pauses.mkv", frames, pts, Fraction(1, 1000), codec="ffv1")  # frames alike in size
    code, err = run_case(src, tmp_path / "out.mkv", capsys=capsys)
    assert code == 0 and "truncated" not in err
    assert len(decode_planes(tmp_path / "out.mkv")) == len(pts)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size * 6 // 10])
    code, err = run_case(cut, tmp_path / "cut_out.mkv", capsys=capsys)
    assert code == 0 and "truncated or damaged" in err


def held_film(path: Path, frames: int) -> Path:
    """A variable-rate film of `frames` frames 40 ms apart whose last picture stays a second (FFV1 in mkv)."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("ffv1", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.time_base = v.codec_context.time_base = Fraction(1, 1000)
        packets = []
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(np.roll(photo("rocket", 64, 48), 2 * i, axis=1), format="rgb24")
            f = f.reformat(format="yuv420p")
            f.pts, f.time_base = 40 * i, Fraction(1, 1000)
            packets += v.encode(f)
        packets += v.encode(None)
        packets[-1].duration = 1000
        for packet in packets:
            out.mux(packet)
    return path


def test_a_held_last_picture_is_whole_and_held_as_long(tmp_path, capsys):
    """A variable-rate film may hold its last picture (a title card; the end of a screen recording), which
    Matroska gives its own duration. The film was warned about as truncated (its end was judged by when
    the last frame starts), and the encoder gave that frame one period: the copy ended 0.96 s early."""
    code, err = run_case(held_film(tmp_path / "held.mkv", 16), tmp_path / "out.mkv", capsys=capsys)
    assert code == 0 and "truncated" not in err
    with av.open(str(tmp_path / "out.mkv")) as c:
        frames = list(c.decode(video=0))
        assert len(frames) == 16 and c.duration / av.time_base == pytest.approx(1.6, abs=0.002)
        assert float(frames[-1].duration * frames[-1].time_base) == pytest.approx(1.0, abs=0.002)
        assert float(frames[0].duration * frames[0].time_base) == pytest.approx(0.04, abs=0.002)


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".3gp"])
def test_a_held_last_picture_stays_held_in_mp4_after_b_frames(tmp_path, capsys, suffix):
    """mp4 and mov time samples in decode order, and their tracks end with the last packet decoded. Where
    x264 codes B-frames after the last picture (19 frames here), that packet is not the held picture's:
    the copy of a film holding its last picture for a second ended at 0.76 s instead of 1.72."""
    dst = tmp_path / f"out{suffix}"
    code, err = run_case(held_film(tmp_path / "held.mkv", 19), dst, capsys=capsys)
    assert code == 0 and "truncated" not in err
    with av.open(str(dst)) as c:
        packets = [p for p in c.demux(video=0) if p.size]
        assert packets[-1].pts < max(p.pts for p in packets)  # the case: a B-frame is decoded last
        assert c.duration / av.time_base == pytest.approx(18 * 0.04 + 1.0, abs=0.002)
    assert len(decode_planes(dst)) == 19


@pytest.mark.parametrize("extra", [["--start", "0.2"], ["--start", "0.2", "--end", "1.0"]])
def test_a_range_across_a_held_picture_is_whole(tmp_path, capsys, extra):
    """A range's count is only its length x the average rate: 14 frames from 0.2 s of a film holding its last
    picture a second were warned about as "probably truncated" (38 counted to the end, 20 to 1.0 s). Its
    frames' times say it is whole."""
    dst = tmp_path / "out.mkv"
    code, err = run_case(held_film(tmp_path / "held.mkv", 19), dst, extra, capsys)
    assert code == 0 and "truncated" not in err
    assert len(decode_planes(dst)) == 14


def test_an_avi_whose_index_is_damaged_gives_its_ranges_and_a_preview(tmp_path, capsys):
    """An AVI whose index (idx1, at its end) is damaged lands its seeks late; going further back asked for a
    time before the film's start, which the AVI demuxer refuses: a range was 'cannot seek' (exit 3), a
    preview 'no video frame could be decoded', though every frame reads. Such a seek now goes to the start."""
    from test_video import luma_planes

    from vidcolor.cli import run

    src = make_clip(tmp_path / "in.avi", frames=30, audio=("mp3",))
    data = bytearray(src.read_bytes())
    index = data.find(b"idx1")
    data[index + 8:] = bytes(len(data) - index - 8)
    src.write_bytes(bytes(data))
    code, _ = run_case(src, tmp_path / "out.avi", ["--crf", "0", "--start", "0.4", "--duration", "0.4"], capsys)
    assert code == 0
    assert all(np.array_equal(a, b) for a, b in zip(luma_planes(tmp_path / "out.avi"), luma_planes(src)[10:20],
                                                    strict=True))
    assert run(["preview", str(src), "-o", str(tmp_path / "sheet.png"), "--count", "3", *TINY, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["times"] == ["00:00:00.200", "00:00:00.600", "00:00:01.000"]


def test_a_preview_of_a_film_cut_short_before_its_spread_times_shows_what_can_be_read(tmp_path, capsys):
    """A Matroska film cut at a quarter of its bytes keeps 5 of its 30 frames, and its header's length: the
    times a sheet spreads over it all come after its picture ends, and the sheet was 'no video frame could be
    decoded' (exit 3), where a run colorizes the 5. It now spreads them over what can be read, and says why."""
    from vidcolor.cli import run

    src = make_clip(tmp_path / "in.mkv", frames=30, audio=("flac",))
    src.write_bytes(src.read_bytes()[:len(src.read_bytes()) // 4])
    assert run(["preview", str(src), "-o", str(tmp_path / "sheet.png"), "--count", "3", *TINY, "--json"]) == 0
    out, err = capsys.readouterr()
    times = json.loads(out)["times"]
    assert times[0] == "00:00:00.000" and len(times) >= 2 and times == sorted(set(times)), times  # from the start
    assert all(t < "00:00:00.200" for t in times), times
    assert ("no frame at the times spread over the 00:00:01.200 its header announces (a damaged file?): the sheet "
            "spreads them over the 00:00:00.200 that can be read") in err


def test_a_range_past_the_picture_but_within_the_sound_is_whole(tmp_path, capsys):
    """flv states only the file's length, here its sound's 3 s: a range from 0.2 to 2 s of a film whose
    picture stops at 1 s was "probably truncated". Cut inside its 21st frame, picture and sound stop there,
    and the range is still warned about."""
    src = film_with_long_sound(tmp_path / "long_sound.flv")
    code, err = run_case(src, tmp_path / "out.mkv", ["--start", "0.2", "--end", "2"], capsys)
    assert code == 0 and "truncated" not in err
    assert len(decode_planes(tmp_path / "out.mkv")) == 20
    with av.open(str(src)) as c:
        at = [p.pos for p in c.demux(video=0) if p.size][20]
    cut = tmp_path / "cut.flv"
    cut.write_bytes(src.read_bytes()[:at + 8])
    code, err = run_case(cut, tmp_path / "cut_out.mkv", ["--start", "0.2", "--end", "2"], capsys)
    assert code == 0 and "truncated or damaged" in err


@pytest.mark.parametrize("end,warned", [("0.8", False), ("1.8", True)])
def test_a_range_of_a_film_cut_short_is_warned_about_where_it_reaches_the_cut(tmp_path, capsys, end, warned):
    """The header of a 2 s film cut at 60% of its bytes still says 2 s: a range inside what is left is whole,
    one that reaches past the cut is not."""
    data = make_clip(tmp_path / "good.mkv", frames=50).read_bytes()
    src = tmp_path / "cut.mkv"
    src.write_bytes(data[: int(len(data) * 0.6)])
    code, err = run_case(src, tmp_path / "out.mkv", ["--start", "0.2", "--end", end], capsys)
    assert code == 0 and ("truncated or damaged" in err) == warned


@pytest.mark.parametrize("name,start", [("long_sound.mkv", 0), ("long_sound.webm", 0), ("late.mkv", 25)])
def test_sound_past_the_picture_or_a_late_start_is_not_truncation(tmp_path, capsys, name, start):
    """Matroska's length is its longest track's, counted from time 0: a whole film whose sound runs on after
    the picture (or that starts late) was announced as 75 frames (50), warned about as "probably truncated",
    and its progress bar ended at a third (half). The video track's own end, in the statistics tag FFmpeg
    and mkvmerge write, says it is whole; cut short, it still warns."""
    src = film_with_long_sound(tmp_path / name, start)
    with av.open(str(src)) as c:
        info = video_info(c)
        assert c.duration / av.time_base >= 3 - 0.1  # the file's length is the sound's
    assert (info.frames, info.estimated, info.end, info.track_end) == (25, True, pytest.approx(start / 25 + 1), True)
    code, err = run_case(src, tmp_path / ("out" + src.suffix), capsys=capsys)
    assert code == 0 and "truncated" not in err
    assert len(decode_planes(tmp_path / ("out" + src.suffix))) == 25
    with av.open(str(src)) as c:  # a copy that stopped in the 21st frame: the tags come first (FFmpeg's)
        at = [p.pos for p in c.demux(video=0) if p.size][20]
    cut = tmp_path / ("cut" + src.suffix)
    cut.write_bytes(src.read_bytes()[:at + 8])
    code, err = run_case(cut, tmp_path / ("cut_out" + src.suffix), capsys=capsys)
    assert code == 0 and "truncated or damaged" in err


def test_sound_past_the_picture_in_a_file_without_track_lengths_is_not_truncation(tmp_path, capsys):
    """flv states only the file's length (its longest track's, from time 0): 25 frames with 3 s of sound were
    announced as 77 and warned about. The film is whole when its picture or its sound reaches the file's
    end; a file cut short stops both, and is still warned about."""
    src = film_with_long_sound(tmp_path / "long_sound.flv")
    code, err = run_case(src, tmp_path / "out.mkv", capsys=capsys)
    assert code == 0 and "truncated" not in err
    with av.open(str(src)) as c:
        at = [p.pos for p in c.demux(video=0) if p.size][20]
    cut = tmp_path / "cut.flv"
    cut.write_bytes(src.read_bytes()[:at + 8])
    code, err = run_case(cut, tmp_path / "cut_out.mkv", capsys=capsys)
    assert code == 0 and "truncated or damaged" in err


@pytest.mark.parametrize("suffix", [".flv", ".nut"])
def test_the_progress_bar_counts_the_picture_not_the_sound_that_runs_on(tmp_path, capsys, suffix):
    """flv and nut state only the file's length, here its sound's 3 s: the bar of a 25-frame film counted to
    about 77 frames while it ran (and its ETA three times too long), and previews were spread over 3 s. One
    seek near the file's end finds when the picture ends."""
    src = film_with_long_sound(tmp_path / "long_sound.flv")
    if suffix == ".nut":
        src = remux(src, tmp_path / "long_sound.nut", lambda out: None)
    with av.open(str(src)) as c:
        info = video_info(c)
    assert info.frames > 70  # the file's length
    assert counted(src, None, info).frames == 25
    colorize_video(src, tmp_path / "out.mkv", model="tiny-random", progress=True)
    bar = capsys.readouterr().err
    assert "0/25 " in bar and "/7" not in bar


def test_a_damaged_flv_tag_size_is_read_past(tmp_path, capsys):
    """A damaged "previous tag size" makes FFmpeg's flv reader resync, and it reads part of a tag as a second
    sound stream. Two internal errors, found by damaging flv files in a loop: after the seek that finds where
    the picture ends, PyAV's demuxer failed at its end (IndexError); and Matroska refused that stream's
    packet (it cannot parse its AAC header: "Invalid argument"). The packet is left out and counted, and
    every frame comes out."""
    src = film_with_long_sound(tmp_path / "long_sound.flv")
    data = bytearray(src.read_bytes())
    with av.open(str(src)) as c:
        at = [p.pos for p in c.demux(audio=0) if p.size][1]
    data[at - 1] ^= 0x08  # the last byte of the size of the tag before the second sound tag
    src.write_bytes(data)
    report = colorize_video(src, tmp_path / "out.mkv", model="tiny-random", progress=True)
    assert report.frames_out == 25 and "0/25 " in capsys.readouterr().err
    assert any("damaged audio or subtitle packets were left out" in w for w in report.warnings)


def test_a_frame_without_a_time_base_takes_its_stream_s(tmp_path):
    """A damaged nut (bench/fuzz.py --containers flv,nut --seed 66, 3 runs of 200) gave the decoder a frame
    with a time but no time base, and moving a range's frames to its start divided by None: an internal
    error. Frames are timed in their stream's time base, which such a frame now carries."""
    src = make_clip(tmp_path / "film.nut", frames=3)
    with av.open(str(src)) as c:
        video = c.streams.video[0]
        frame = av.VideoFrame(96, 64, "yuv420p")
        frame.pts = 1234
        assert frame.time_base is None
        _FrameTimes(video, decode_order=False)([frame])
        assert frame.time_base == video.time_base and frame.pts == 1234


def test_a_stale_or_unreadable_track_end_is_not_believed():
    """mkvmerge's tags (named with the track's language) are copied along by remuxers that write their own."""
    file = SimpleNamespace(duration=10 * av.time_base)

    def track(**tags: str) -> SimpleNamespace:
        return SimpleNamespace(metadata=tags)

    assert track_end(track(**{"DURATION-eng": "00:00:25.000000000"}), file) is None  # past the file's end
    assert track_end(track(**{"DURATION-eng": "00:00:08.000000000", "DURATION": "00:00:09.500000000"}), file) == 9.5
    assert track_end(track(**{"DURATION-eng": "00:00:08.000000000"}), file) == 8.0
    assert track_end(track(DURATION="soon"), file) is None


def test_a_picture_that_changes_size_mid_film_is_stretched_to_the_first_and_said(tmp_path):
    """Recordings of broadcasts, and films joined from several cameras' MPEG-TS files, change picture size
    mid-stream. The encoder cannot: every frame comes out, at the first size (stretched, as FFmpeg
    does), and a warning says from when and how many."""
    parts = [write_frames(tmp_path / "a.ts", [photo("coffee", 64, 48)] * 2, [0, 1], Fraction(1, 25)),
             write_frames(tmp_path / "b.ts", [photo("chelsea", 80, 60)] * 4, [2, 3, 4, 5], Fraction(1, 25))]
    src = tmp_path / "joined.ts"
    src.write_bytes(b"".join(p.read_bytes() for p in parts))
    with av.open(str(src)) as c:
        decoded = list(c.decode(video=0))
    assert [(f.width, f.height) for f in decoded] == [(64, 48)] * 2 + [(80, 60)] * 4  # the case is there
    report = colorize_video(src, tmp_path / "out.mkv", model="tiny-random", progress=False,
                            encode=EncodeOptions(crf=0))
    assert f"the picture changes size (80x60 from {decoded[2].time:.2f} s): 4 frames were stretched to 64x48, " \
           "the film's first size" in report.warnings
    frames = decode_planes(tmp_path / "out.mkv")
    assert [(f.width, f.height) for f in frames] == [(64, 48)] * 6
    want = [f.reformat(64, 48).to_ndarray()[:48] for f in decoded]  # the film's own frames, scaled
    assert all(np.array_equal(f.to_ndarray()[:48], w) for f, w in zip(frames, want))


def test_a_pixel_aspect_that_changes_mid_film_is_said(tmp_path):
    """Digital TV switches a channel between 4:3 and 16:9 with the same coded size, by the pixel aspect
    alone. One output stream holds one pixel aspect: the first is kept, every frame comes out, and a
    warning says from when the picture's shape changes."""
    def part(path: Path, sar: Fraction, pts: list[int]) -> Path:
        with av.open(str(path), "w", format="mpegts") as out:
            v = out.add_stream("libx264", rate=25)
            v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
            v.codec_context.sample_aspect_ratio = sar
            for i in pts:
                f = av.VideoFrame.from_ndarray(photo("coffee", 64, 48), format="rgb24").reformat(format="yuv420p")
                f.pts, f.time_base = i, Fraction(1, 25)
                out.mux(v.encode(f))
            out.mux(v.encode(None))
        return path

    parts = [part(tmp_path / "a.ts", Fraction(16, 15), list(range(24))),  # longer than 17 decoder threads hold
             part(tmp_path / "b.ts", Fraction(64, 45), list(range(24, 48)))]
    src = tmp_path / "channel.ts"
    src.write_bytes(b"".join(p.read_bytes() for p in parts))
    with av.open(str(src)) as c:
        video = c.streams.video[0]
        shapes = [(video.codec_context.sample_aspect_ratio, f.time) for f in c.decode(video)]
    assert (shapes[0][0], shapes[-1][0]) == (Fraction(16, 15), Fraction(64, 45))  # the case is there
    report = colorize_video(src, tmp_path / "out.mp4", model="tiny-random", progress=False)
    said = [w for w in report.warnings if w.startswith("the pixel aspect changes (64:45 from ")]
    assert len(said) == 1 and said[0].endswith(" s): the output keeps 16:15, the first, so the picture looks "
                                               "squeezed or stretched from there")
    when = float(said[0].split(" from ")[1].split(" s)")[0])  # the decoder tells it up to a frame per thread
    assert shapes[0][1] < when <= shapes[24][1]  # early
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert c.streams.video[0].sample_aspect_ratio == Fraction(16, 15)
        assert len(list(c.decode(video=0))) == 48


def test_sound_that_turns_from_stereo_to_5_1_mid_film_is_re_encoded_whole(tmp_path, caplog):
    """Digital TV sends ads in stereo and the film in 5.1 on one sound track. Into WebM, whose codecs
    exclude AC-3, the sound is re-encoded: PyAV's converter took only the first part's layout, and the
    5.1 part was an internal error. Every part is now converted to the first's layout, all of it there."""
    def part(path: Path, layout: str, start: int) -> Path:  # 1 s: 25 frames and a 440 Hz tone in AC-3
        with av.open(str(path), "w", format="mpegts") as out:
            v = out.add_stream("libx264", rate=25, options={"g": "12"})
            v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
            a = out.add_stream("ac3", rate=48000)
            a.layout = layout
            picture = av.VideoFrame.from_ndarray(photo("coffee", 64, 48), format="rgb24").reformat(format="yuv420p")
            for i in range(25):
                picture.pts, picture.time_base = start + i, Fraction(1, 25)
                out.mux(v.encode(picture))
            out.mux(v.encode(None))
            channels = av.AudioLayout(layout).nb_channels
            for k in range(0, 48000 - 1536, 1536):
                t = (start * 1920 + k + np.arange(1536)) / 48000
                tone = np.repeat(0.3 * np.sin(2 * np.pi * 440 * t, dtype=np.float32)[None], channels, 0)
                f = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone, np.float32), format="fltp", layout=layout)
                f.sample_rate, f.pts, f.time_base = 48000, start * 1920 + k, Fraction(1, 48000)
                out.mux(a.encode(f))
            out.mux(a.encode(None))
        return path

    src = tmp_path / "channel.ts"
    src.write_bytes(part(tmp_path / "ads.ts", "stereo", 0).read_bytes()
                    + part(tmp_path / "film.ts", "5.1", 25).read_bytes())
    with av.open(str(src)) as c:
        layouts = [f.layout.name for f in c.decode(audio=0)]
    assert layouts[0] == "stereo" and layouts[-1].startswith("5.1")  # the case is there
    with caplog.at_level("WARNING"):
        report = colorize_video(src, tmp_path / "out.webm", model="tiny-random", progress=False)
    assert report.frames_out == 50
    assert any(r.getMessage().startswith("audio stream #1 changes from stereo 48000 Hz to 5.1") and
               r.getMessage().endswith("re-encoded as stereo 48000 Hz throughout") for r in caplog.records)
    with av.open(str(tmp_path / "out.webm")) as c:
        assert c.streams.audio[0].codec_context.name == "opus" and c.streams.audio[0].channels == 2
        sound = np.concatenate([f.to_ndarray().reshape(-1, 2)[:, 0] if f.format.is_packed else f.to_ndarray()[0]
                                for f in c.decode(audio=0)])
    assert abs(len(sound) / 48000 - 1.94) < 0.05  # both parts: 2 s less the tails the test leaves out
    late = sound[int(1.2 * 48000):int(1.8 * 48000)]  # the 5.1 part, folded into stereo: the tone, not silence
    assert np.sqrt(np.mean(late.astype(np.float64) ** 2)) > 0.05


# ---- images in odd modes -------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["CMYK", "I;16", "P", "RGBA", "LA"])
def test_image_modes(tmp_path, capsys, mode):
    base = Image.fromarray(photo("chelsea", 50, 40))
    img = Image.fromarray(np.asarray(base.convert("L"), np.uint16) * 257) if mode == "I;16" else base.convert(mode)
    src = tmp_path / ("in.tif" if mode in ("CMYK", "I;16") else "in.png")
    img.save(src)
    code, err = run_case(src, tmp_path / "out.png", capsys=capsys)
    assert code == 0, err


# ---- outputs -------------------------------------------------------------------------------

def test_output_folder_missing(tmp_path, capsys):
    src = make_clip(tmp_path / "in.mp4")
    code, err = run_case(src, tmp_path / "nowhere" / "out.mp4", capsys=capsys)
    assert code == 4 and "does not exist" in err


def test_output_folder_unwritable(tmp_path, capsys, monkeypatch):
    src = make_clip(tmp_path / "in.mp4")
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(locked) else real(p, mode))
    code, err = run_case(src, locked / "out.mp4", capsys=capsys)
    assert code == 4 and "not writable" in err


def test_output_is_input(tmp_path, capsys):
    src = make_clip(tmp_path / "in.mp4")
    code, err = run_case(src, src, ["--overwrite"], capsys=capsys)
    assert code == 4 and "the output is the input" in err


def test_output_is_input_through_a_link(tmp_path, capsys):
    src = make_clip(tmp_path / "in.mp4")
    link = tmp_path / "link.mp4"
    link.symlink_to(src)
    code, err = run_case(src, link, ["--overwrite"], capsys=capsys)
    assert code == 4 and "the output is the input" in err


def test_output_names_up_to_the_file_systems_limit_are_written_and_longer_ones_refused_first(tmp_path, capsys):
    """A name of 250 bytes is allowed: its temporary name beside it (a prefix and suffix more) was not, and the
    run ended in an internal error after its work. A longer name than the folder takes is refused before it;
    an input of such a name does not exist (it had ended in an internal error too)."""
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    src = make_clip(tmp_path / "in.mp4", frames=4)
    longest = tmp_path / ("\u00e9" * ((limit - 4) // 2) + "x" * ((limit - 4) % 2) + ".mkv")
    assert len(os.fsencode(longest.name)) == limit
    code, err = run_case(src, longest, capsys=capsys)
    assert code == 0, err
    assert len(decode_planes(longest)) == 4
    photo_dst = tmp_path / ("p" * (limit - 4) + ".png")
    Image.fromarray(np.full((32, 48, 3), 128, np.uint8)).save(tmp_path / "gray.png")
    code, err = run_case(tmp_path / "gray.png", photo_dst, capsys=capsys)
    assert code == 0 and photo_dst.exists(), err
    code, err = run_case(src, tmp_path / ("x" * limit + ".mp4"), capsys=capsys)
    assert code == 4 and "name is too long" in err
    box = tmp_path / "box"
    box.mkdir()
    (box / "in.mp4").write_bytes(src.read_bytes())
    code, err = run_case(box, tmp_path / ("x" * (limit + 1)), capsys=capsys)
    assert code == 4 and "name is too long" in err
    from vidcolor.cli import run
    assert run([str(tmp_path / ("x" * limit + ".mp4")), "-o", str(tmp_path / "out.mp4"), *TINY]) == 3
    assert "no such file" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.mp4", "gray.png", longest.name, photo_dst.name,
                                                                 "box"])


def test_an_output_that_is_a_named_pipe_is_refused_and_left_as_it_is(tmp_path, capsys):
    """With --overwrite, the rename at the end had put a regular file in the pipe's place."""
    src = make_clip(tmp_path / "in.mp4")
    pipe = tmp_path / "out.mp4"
    os.mkfifo(pipe)
    code, err = run_case(src, pipe, ["--overwrite"], capsys=capsys)
    assert code == 4 and "named pipe" in err
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)


def test_unknown_output_extension(tmp_path, capsys):
    src = make_clip(tmp_path / "in.mp4")
    code, err = run_case(src, tmp_path / "out.xyz", capsys=capsys)
    assert code == 4 and "out.xyz" in err


@pytest.mark.parametrize("kind", ["film", "photo"])
def test_disk_full_while_writing(tmp_path, kind):
    """A real write failure (file size limit, EFBIG) in a child process: clean error, no file left. A photo's
    had been said as Pillow's "[Errno 27] File too large", not as a full disk."""
    if kind == "film":
        src, dst = make_clip(tmp_path / "in.mp4", frames=50, width=256, height=192), tmp_path / "out.mp4"
    else:
        src, dst = tmp_path / "in.jpg", tmp_path / "out.png"
        Image.fromarray(photo("astronaut", 384, 384)).convert("L").save(src, quality=95)
    code = (f"import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, (30_000, 30_000)); "
            f"from vidcolor.cli import run; sys.exit(run({[str(src), '-o', str(dst), *TINY, '--crf', '0']!r}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stderr
    assert "disk full" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]


def temporary_output(folder: Path, other_than: set[Path] = frozenset(), written: bool = False) -> Path | None:
    """A run's temporary output in `folder` once it is there (not one of `other_than`; with `written`, once it
    holds bytes); None after a minute without."""
    deadline = time.time() + 60
    while time.time() < deadline:
        found = [p for p in folder.iterdir()
                 if ".part" in p.name and p not in other_than and (not written or p.stat().st_size)]
        if found:
            return found[0]
        time.sleep(0.05)
    return None


@pytest.mark.parametrize("sig,said", [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "stopped by SIGTERM"),
                                      (signal.SIGHUP, "stopped by SIGHUP")])
def test_ctrl_c_mid_run(tmp_path, sig, said):
    """Ctrl-C, and the signals of `kill`, `timeout` or a job scheduler (SIGTERM) and of a terminal closed (SIGHUP):
    the last two had ended the process at once, its temporary output left beside the film's. Once it has cleaned
    up, the process dies of the signal (a shell shows 128 + its number: 130, 143, 129)."""
    src = make_clip(tmp_path / "in.mkv", frames=400, width=320, height=240, audio=())
    dst = tmp_path / "out.mkv"
    proc = subprocess.Popen([sys.executable, "-m", "vidcolor", str(src), "-o", str(dst), *TINY, "--batch-size", "2"],
                            stderr=subprocess.PIPE, text=True, preexec_fn=as_at_a_terminal)
    temporary_output(tmp_path)
    time.sleep(0.5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -sig and said in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]


def test_a_killed_runs_partial_output_is_removed_by_the_next_run(tmp_path):
    """kill -9, the out-of-memory killer or a power cut leave a run's temporary output, which nothing can clean
    up: hidden (its name begins with a dot), gigabytes for a long film. The next run of the same output removes
    it and says so. One that a live run still writes stays (it holds a lock on it, even paused), and so do an
    empty one made a moment ago (a run starting now, not yet locked) and files that only look alike."""
    src = make_clip(tmp_path / "in.mkv", frames=400, width=320, height=240, audio=())
    dst = tmp_path / "out.mkv"
    argv = [sys.executable, "-m", "vidcolor", str(src), "-o", str(dst), *TINY, "--batch-size", "2", "-q",
            "--crf", "0"]  # lossless: the muxer's buffer fills and reaches the file early

    def started() -> tuple[subprocess.Popen, Path]:
        before = set(tmp_path.iterdir())
        proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, preexec_fn=as_at_a_terminal)
        return proc, temporary_output(tmp_path, before, written=True)

    paused, kept = started()
    try:
        paused.send_signal(signal.SIGSTOP)  # Ctrl-Z: it writes nothing while paused, and holds its lock
        os.utime(kept, (time.time() - 3600,) * 2)  # as if paused an hour ago
        killed, left = started()
        killed.kill()
        killed.communicate(timeout=60)
        starting = tmp_path / ".out.k2j3h4l5.part.mkv"
        starting.touch()
        alike = [tmp_path / name
                 for name in (".out.notmine.part.mkv", ".out.abcdefgh.part.mp4", "out.abcdefgh.part.mkv")]
        for path in alike:
            path.write_bytes(b"theirs")
            os.utime(path, (time.time() - 3600,) * 2)
        done = subprocess.run([*argv, "--overwrite"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert f"removed {left.name} (" in done.stderr and "of a run of it that was killed" in done.stderr
        assert done.stderr.count("removed") == 1
        assert not left.exists() and kept.exists() and starting.exists()
        assert all(p.read_bytes() == b"theirs" for p in alike)
        paused.send_signal(signal.SIGCONT)
        paused.send_signal(signal.SIGTERM)
        assert paused.wait(timeout=60) == -signal.SIGTERM and not kept.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.mkv", "out.mkv", starting.name]
                                                                    + [p.name for p in alike])
    finally:  # a failed assertion must not leave it paused for good
        paused.send_signal(signal.SIGCONT)
        paused.kill()


def test_ctrl_c_stops_a_shells_loop_over_films(tmp_path):
    """`for f in *.mp4; do vidcolor "$f"; done`: Ctrl-C (sent to the whole foreground job, as a terminal sends it)
    had stopped the film at hand only: vidcolor exited 130, so bash took it as handled and went on to the next
    film. vidcolor now dies of the signal once it has cleaned up, and the loop stops there."""
    for name in ("a.mkv", "b.mkv"):
        make_clip(tmp_path / name, frames=400, width=320, height=240, audio=())
    out = tmp_path / "out"
    out.mkdir()
    loop = (f'for f in a b; do echo "$f" >> {out}/began; {sys.executable} -m vidcolor {tmp_path}/$f.mkv '
            f'-o {out}/$f.mkv {" ".join(TINY)} -q; done; echo done >> {out}/began')
    shell = subprocess.Popen(["bash", "-c", loop], preexec_fn=foreground_job)
    try:
        temporary_output(out)
        time.sleep(0.5)
        os.killpg(shell.pid, signal.SIGINT)
        assert shell.wait(timeout=60) == -signal.SIGINT
        assert (out / "began").read_text() == "a\n" and sorted(p.name for p in out.iterdir()) == ["began"]
    finally:  # the job and its vidcolor, if the loop went on
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)


def test_ctrl_c_while_torch_loads_is_answered_like_any_other(tmp_path):
    """torch takes over a second to import. The command line answers --help, --version, a refused option, a missing
    input (of a run and of a preview: it took 2.5-5 s) and a refused output (there already, the input itself:
    2-3 s; a photo's copy in a format Pillow cannot write: once colorized) without it, and a Ctrl-C while it
    loads exits 130 in one line: it was a traceback, as the package imported torch before the command line
    began."""
    src = make_clip(tmp_path / "in.mp4", frames=10, width=64, height=48, audio=())
    missing = str(tmp_path / "not_there.mp4")
    photo = tmp_path / "p.jpg"
    Image.new("L", (32, 24), 128).save(photo)
    there = [tmp_path / name for name in ("in_color.mp4", "in_preview.png", "p_color.jpg")]  # the default names
    for path in there:
        path.write_bytes(b"kept")
    code = ("import sys\n"
            "class Interrupt:  # Ctrl-C pressed as torch is imported\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'torch':\n"
            "            raise KeyboardInterrupt\n"
            "sys.meta_path.insert(0, Interrupt())\n"
            "from vidcolor.cli import run\n"
            f"assert run(['--help']) == 0 and run(['--version']) == 0 and run([{str(src)!r}, '--crf', '99']) == 2\n"
            f"assert run([{missing!r}]) == 3 and run(['preview', {missing!r}]) == 3\n"
            f"assert [run(a) for a in ([{str(src)!r}], ['preview', {str(src)!r}], [{str(photo)!r}])] == [4] * 3\n"
            f"assert run([{str(src)!r}, '-o', {str(src)!r}]) == 4\n"
            f"assert run([{str(photo)!r}, '-o', {str(tmp_path / 'p.xyz')!r}]) == 4\n"
            f"sys.exit(run([{str(src)!r}, '-o', {str(tmp_path / 'out.mp4')!r}]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 130, done.stderr
    assert "interrupted" in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count(f"{missing}: no such file") == 2
    assert f"vidcolor {vidcolor.__version__}; torch 2." in done.stdout and "; PyAV " in done.stdout  # for bug reports
    assert done.stderr.count("already exists (use --overwrite") == 3 and "the output is the input" in done.stderr
    assert "p.xyz: unknown image format '.xyz'" in done.stderr  # a photo's copy: it had been refused once colorized
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.mp4", "p.jpg"] + [p.name for p in there])
    assert all(p.read_bytes() == b"kept" for p in there)


def test_ctrl_c_is_held_until_the_pipeline_checks():
    """A KeyboardInterrupt inside queue locking once hung a run: Ctrl-C waits for check(); twice is at once."""
    from vidcolor.interrupts import deferred_interrupt

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as at a terminal
    with deferred_interrupt() as check:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler has run: nothing was raised
        with pytest.raises(KeyboardInterrupt):
            check()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job: Ctrl-C is not ours to handle
    with deferred_interrupt() as check:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        check()
    signal.signal(signal.SIGINT, previous)


def test_stop_signals_are_held_too_and_say_which_came():
    """SIGTERM and SIGHUP, as the command line takes them: held until check() like Ctrl-C, then a KeyboardInterrupt
    whose signal is kept for the exit code; the handlers before are back after; an ignored SIGHUP (nohup) stays so."""
    from vidcolor.interrupts import deferred_interrupt, stop_signals

    previous = {s: signal.signal(s, signal.SIG_DFL) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with stop_signals() as stop:
            with deferred_interrupt() as check:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)  # the handler has run: nothing was raised, nothing kept yet
                assert stop.signum is None
                with pytest.raises(KeyboardInterrupt):
                    check()
                assert stop.signum == signal.SIGTERM
                with pytest.raises(KeyboardInterrupt):
                    os.kill(os.getpid(), signal.SIGHUP)  # a second signal: at once
                    time.sleep(1)
                assert stop.signum == signal.SIGHUP
        assert all(signal.getsignal(s) is signal.SIG_DFL for s in previous)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # under nohup
        with stop_signals() as stop, deferred_interrupt() as check:
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.05)
            check()
        assert stop.signum is None and signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def test_cuda_out_of_memory_halves_the_batch(tmp_path, capsys, monkeypatch):
    """Simulated: batches over 2 frames raise OutOfMemoryError; every frame still comes out."""
    from vidcolor.model.net import FusionNet

    real = FusionNet.colorize

    def small_memory(self, L, g):
        if L.shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(self, L, g)

    monkeypatch.setattr(FusionNet, "colorize", small_memory)
    src = make_clip(tmp_path / "in.mp4", frames=20)
    code, _ = run_case(src, tmp_path / "out.mp4", ["--batch-size", "8"], capsys=capsys)
    assert code == 0 and len(decode_planes(tmp_path / "out.mp4")) == 20


# ---- weights -------------------------------------------------------------------------------

def test_weights_missing(tmp_path, capsys):
    src = make_clip(tmp_path / "in.mp4")
    from vidcolor.cli import run

    assert run([str(src), "-o", str(tmp_path / "o.mp4"), "--model", str(tmp_path / "none.safetensors")]) == 5
    assert "none.safetensors: no such weights file" in capsys.readouterr().err


def test_weights_corrupted(tmp_path, capsys, monkeypatch):
    from vidcolor.cli import run
    from vidcolor.model import weights

    bad = tmp_path / "weights"
    bad.mkdir()
    good = (weights.WEIGHTS_DIR / weights.MODELS[weights.DEFAULT_MODEL].filename).read_bytes()
    (bad / weights.MODELS[weights.DEFAULT_MODEL].filename).write_bytes(good[:-100] + bytes(100))
    monkeypatch.setattr(weights, "WEIGHTS_DIR", bad)
    src = make_clip(tmp_path / "in.mp4")
    assert run([str(src), "-o", str(tmp_path / "o.mp4"), "-q"]) == 5
    assert "sha256 mismatch" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()


def test_unknown_model_name(tmp_path, capsys):
    from vidcolor.cli import run

    src = make_clip(tmp_path / "in.mp4")
    assert run([str(src), "-o", str(tmp_path / "o.mp4"), "--model", "best-model"]) == 5
    assert "use one of fusion-small" in capsys.readouterr().err
