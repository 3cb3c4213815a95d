"""Image sequences (film scans) read and written as films: numbering, frame rate, gaps, ranges, the CLI."""
from __future__ import annotations

import os
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import decode_planes, gray_rgb, photo
from PIL import Image

from vidcolor import colorize_video
from vidcolor.cli import run
from vidcolor.errors import InputError, OutputError, UsageError
from vidcolor.media import decode
from vidcolor.media.codecs import EncodeOptions
from vidcolor.media.encode import Writer
from vidcolor.media.sequence import parse_rate

FIRST = 86400  # scans are often numbered by timecode: 01:00:00:00 at 24 fps


@pytest.fixture
def scans(tmp_path):
    """14 gray PNG frames reel_086400.png ... reel_086413.png: a pan over a photo, then a cut to another."""
    folder = tmp_path / "scans"
    folder.mkdir()
    pans = [gray_rgb(photo(name, 96 + 7, 64))[..., 0] for name in ("astronaut", "coffee")]
    frames = [np.ascontiguousarray(pans[i // 7][:, i % 7: i % 7 + 96]) for i in range(14)]
    for i, gray in enumerate(frames):
        Image.fromarray(gray).save(folder / f"reel_{FIRST + i:06d}.png")
    return folder / "reel_%06d.png", frames


def test_image_sequence_becomes_a_film_at_its_frame_rate(scans, tmp_path):
    pattern, frames = scans
    dst = tmp_path / "reel.mov"  # exact time base (mkv rounds to ms)
    report = colorize_video(pattern, dst, model="tiny-random", encode=EncodeOptions(crf=0), frame_rate="18",
                            progress=False)
    assert (report.frames_in, report.frames_out, report.warnings) == (14, 14, [])
    out = decode_planes(dst)
    assert [f.pts * f.time_base for f in out] == [Fraction(i, 18) for i in range(14)]
    for f, gray in zip(out, frames, strict=True):
        assert f.format.name == "yuvj420p"  # gray PNGs are full range: every code kept
        assert np.array_equal(f.to_ndarray()[:64], gray)
    chroma = np.stack([f.to_ndarray(format="yuvj444p")[1:] for f in out]).astype(int)
    assert np.abs(chroma - 128).mean() > 1  # colored
    with av.open(str(dst)) as c:  # PNG pictures are tagged RGB: so was the film, which told players to read
        assert c.streams.video[0].codec_context.colorspace == 6  # Y'CbCr as G, B and R. BT.601 (SD) now


def test_a_range_of_a_sequence_counts_frames_from_its_first_file(scans, tmp_path):
    pattern, frames = scans
    dst = tmp_path / "part.mov"
    colorize_video(pattern, dst, model="tiny-random", encode=EncodeOptions(crf=0), start="f3", end="f9",
                   progress=False)
    out = decode_planes(dst)
    assert [f.pts * f.time_base for f in out] == [Fraction(i, 24) for i in range(6)]  # 24 fps by default
    assert all(np.array_equal(f.to_ndarray()[:64], gray) for f, gray in zip(out, frames[3:9], strict=True))


def test_a_sequence_folder_is_listed_once_per_run(scans, tmp_path, monkeypatch):
    """Scans come 100,000 to a folder: each listing costs half a second, so the first frame's number is found
    once, by opening the sequence, and kept for the timecode and the written frames' numbers."""
    pattern, _ = scans
    listed = []
    real = os.listdir
    monkeypatch.setattr(os, "listdir", lambda folder=".": listed.append(Path(folder)) or real(folder))
    dst = tmp_path / "out" / "c_%06d.png"
    dst.parent.mkdir()
    report = colorize_video(pattern, dst, model="tiny-random", progress=False)
    assert report.frames_out == 14 and (dst.parent / f"c_{FIRST:06d}.png").exists()
    assert listed.count(pattern.parent) == 1


def test_a_killed_runs_frames_are_removed_by_the_next_run(scans, tmp_path, caplog):
    """A sequence is written into a hidden temporary folder beside its frames: a killed run (kill -9, a power
    cut) left it with the frames it had written. The next run of the same pattern removes it, and says so."""
    pattern, _ = scans
    dst = tmp_path / "out" / "c_%06d.png"
    left = tmp_path / "out" / ".c.k2j3h4l5.part"
    left.mkdir(parents=True)
    (left / "c_000007.png").write_bytes(b"\x89PNG" + bytes(5000))
    report = colorize_video(pattern, dst, model="tiny-random", progress=False)
    assert report.frames_out == 14 and not left.exists()
    assert "removed .c.k2j3h4l5.part (0.0 MB), the partial output of a run of it that was killed" in caplog.text
    assert not [p for p in dst.parent.iterdir() if p.name.startswith(".")]


def test_a_single_picture_is_a_one_frame_film(tmp_path):
    """FFmpeg opens some lone JPEGs (this noise; photos mostly not) with its image-sequence demuxer; they are
    still not numbered sequences."""
    src = tmp_path / "one.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(src)
    with av.open(str(src)) as c:
        assert c.format.name == "image2"
    report = colorize_video(src, tmp_path / "one.mp4", model="tiny-random", progress=False)
    assert (report.frames_in, report.frames_out) == (1, 1)
    assert len(decode_planes(tmp_path / "one.mp4")) == 1


def test_a_missing_frame_is_named_and_nothing_is_written(scans, tmp_path):
    pattern, _ = scans
    (pattern.parent / f"reel_{FIRST + 5:06d}.png").unlink()
    dst = tmp_path / "reel.mp4"
    with pytest.raises(InputError, match=f"1 missing between reel_{FIRST:06d}.png and reel_{FIRST + 13:06d}.png "
                                         f"\\(reel_{FIRST + 5:06d}.png\\)"):
        colorize_video(pattern, dst, model="tiny-random", progress=False)
    assert not dst.exists()
    with pytest.raises(InputError, match="no file in .* matches"):
        colorize_video(pattern.with_name("other_%04d.png"), dst, model="tiny-random", progress=False)


def test_an_empty_frame_file_is_named_and_nothing_is_written(scans, tmp_path):
    """A scanner's failed frame left as an empty file: FFmpeg ended the film there without a word (7 of 14
    frames written, a warning that it was 'probably truncated'). It is refused as a gap is, by name."""
    pattern, _ = scans
    (pattern.parent / f"reel_{FIRST + 7:06d}.png").write_bytes(b"")
    dst = tmp_path / "reel.mp4"
    with pytest.raises(InputError, match=f"1 frame files are empty \\(0 bytes\\): reel_{FIRST + 7:06d}.png; scan"):
        colorize_video(pattern, dst, model="tiny-random", progress=False)
    assert not dst.exists()


def test_cli_names_the_output_after_the_sequence_and_keeps_frame_rates_for_sequences(scans, clip):
    pattern, _ = scans
    assert run([str(pattern), "--model", "tiny-random", "-q", "--frame-rate", "23.976"]) == 0
    with av.open(str(pattern.parent / "reel_color.mp4")) as c:
        assert c.streams.video[0].average_rate == Fraction(24000, 1001)
        assert c.streams.video[0].frames == 14
    assert run(["shots", str(pattern), "--json", "--frame-rate", "12"]) == 0
    film = clip("film.mp4", audio=())
    assert run([str(film), "-o", str(film.with_name("x.mp4")), "--frame-rate", "24", "--model", "tiny-random"]) == 2
    assert not film.with_name("x.mp4").exists()


def test_a_film_or_photo_whose_name_looks_like_a_pattern_is_one_file_and_so_are_its_outputs(tmp_path, clip):
    """`a%d.mp4` exists: it and its default outputs are files of those names (its output was refused as a
    sequence of .mp4 pictures; a photo's and a preview sheet's were said to be written, and were not)."""
    film = clip("a%d.mp4", frames=6)
    pic = tmp_path / "p%d.png"
    Image.fromarray(gray_rgb(photo("coffee", 64, 48))).save(pic)
    assert run([str(film), "--model", "tiny-random", "-q"]) == 0
    assert run([str(film), "-o", str(tmp_path / "b%d.mkv"), "--model", "tiny-random", "-q"]) == 0
    assert run(["preview", str(film), "--count", "2", "--model", "tiny-random"]) == 0
    assert run([str(pic), "--model", "tiny-random", "-q"]) == 0
    for name in ("a%d_color.mp4", "b%d.mkv"):
        assert len(decode_planes(tmp_path / name)) == 6
    assert Image.open(tmp_path / "a%d_preview.png").size[0] > 0
    assert Image.open(tmp_path / "p%d_color.png").size == (64, 48)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a%d.mp4", "a%d_color.mp4", "a%d_preview.png", "b%d.mkv",
                                                         "p%d.png", "p%d_color.png"]


@pytest.mark.parametrize("text, rate", [("24", Fraction(24)), ("18", Fraction(18)), ("23.976", Fraction(24000, 1001)),
                                        ("29.97", Fraction(30000, 1001)), ("24000/1001", Fraction(24000, 1001)),
                                        ("12.5", Fraction(25, 2))])
def test_frame_rates_are_exact(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["fast", "0", "-24", "1/0"])
def test_bad_frame_rates_are_usage_errors(text):
    with pytest.raises(UsageError, match="frame rate"):
        parse_rate(text)


def test_a_film_becomes_an_image_sequence_numbered_like_its_frames(clip, tmp_path):
    """RGB TIFFs numbered by source frame (--start f4: from 4), read with the matrix the chroma was made for
    (their luma is the film's); the sound and the pixel aspect cannot come along, and warnings say so; no
    temporary folder is left."""
    src = clip("film.mp4", width=96, height=64, sar=Fraction(4, 3))
    out = tmp_path / "out"
    out.mkdir()
    report = colorize_video(src, out / "f_%04d.tif", model="tiny-random", start="f4", progress=False)
    assert report.warnings == ["audio stream #1 not written: image files hold pictures only",
                               "image files keep no pixel aspect (4:3): frames written as stored"]
    assert sorted(p.name for p in out.iterdir()) == [f"f_{i:04d}.tif" for i in range(4, 12)]
    rgb = np.stack([np.asarray(Image.open(out / f"f_{i:04d}.tif")) for i in range(4, 12)]).astype(float)
    assert rgb.shape == (8, 64, 96, 3)
    assert np.abs(np.diff(rgb, axis=-1)).mean() > 1  # colored
    y_in = np.stack([f.to_ndarray()[:64] for f in decode_planes(src)[4:]]).astype(float)
    y_out = 16 + 219 / 255 * (rgb @ [0.299, 0.587, 0.114])  # BT.601, limited range: what an SD film uses
    in_gamut = ((rgb > 0) & (rgb < 255)).all(axis=-1)  # elsewhere RGB clips (the random model's colors)
    assert in_gamut.mean() > 0.5
    assert np.abs(y_out - y_in)[in_gamut].max() < 0.6  # rounding only (BT.709's weights: 2.5; swscale's fast path: 2)


def test_written_sequences_keep_numbers_and_replace_frames_only_when_asked(scans, tmp_path, monkeypatch):
    pattern, _ = scans
    out = tmp_path / "graded"
    out.mkdir()
    dst = out / "reel_%06d.dpx"
    colorize_video(pattern, dst, model="tiny-random", progress=False)
    assert sorted(p.name for p in out.iterdir()) == [f"reel_{FIRST + i:06d}.dpx" for i in range(14)]
    with av.open(str(out / f"reel_{FIRST:06d}.dpx")) as c:
        assert next(c.decode(video=0)).format.name == "rgb24"  # 8-bit scans, 8-bit DPX
    with pytest.raises(OutputError, match="14 frames of this name already exist"):
        colorize_video(pattern, dst, model="tiny-random", progress=False)
    colorize_video(pattern, dst, model="tiny-random", progress=False, overwrite=True, start="f2", end="f5")
    assert sorted(p.name for p in out.iterdir()) == [f"reel_{FIRST + i:06d}.dpx" for i in range(2, 5)]
    with pytest.raises(OutputError, match="the output is the input"):
        colorize_video(pattern, pattern, model="tiny-random", progress=False, overwrite=True)
    (tmp_path / "alias").symlink_to(pattern.parent)  # the same frames under another pattern, through a link
    with pytest.raises(OutputError, match="would replace the input's frames"):
        colorize_video(pattern, tmp_path / "alias" / "reel_0%05d.png", model="tiny-random", progress=False,
                       overwrite=True)
    with pytest.raises(OutputError, match="written as .dpx, .tif, .tiff, .png"):
        colorize_video(pattern, out / "f_%04d.jpg", model="tiny-random", progress=False)

    def broken(self):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(Writer, "close", broken)
    with pytest.raises(OSError):
        colorize_video(pattern, tmp_path / "failed_%04d.png", model="tiny-random", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias", "graded", "scans"]  # no frame, no temporary folder


@pytest.mark.parametrize("decoder_threads", [0, 17])
def test_an_unreadable_scan_leaves_its_number_out_of_the_written_sequence(scans, tmp_path, monkeypatch,
                                                                          decoder_threads):
    """Frames are numbered by time, not counted: the frames after a damaged one keep their numbers.
    17 threads (a 16-core machine's): the damaged scan is still in the decoder when the file ends."""
    monkeypatch.setattr(decode, "DECODER_THREADS", decoder_threads)
    pattern, _ = scans
    for i in (6, 13):  # the last too: no frame after it shows it missing
        damaged = pattern.parent / f"reel_{FIRST + i:06d}.png"
        damaged.write_bytes(damaged.read_bytes()[:100])
    out = tmp_path / "out"
    out.mkdir()
    report = colorize_video(pattern, out / "c_%06d.png", model="tiny-random", progress=False)
    assert report.warnings == [f"2 frame files (reel_{FIRST + 6:06d}.png, reel_{FIRST + 13:06d}.png) could not "
                               "be decoded and were skipped"]  # by name, not "2 damaged video packets"
    assert sorted(p.name for p in out.iterdir()) == [f"c_{FIRST + i:06d}.png" for i in range(14) if i not in (6, 13)]


def scanner_dpx(folder: Path, frames: int, film_rate: float, timecode: int, big_endian: bool) -> Path:
    """DPX files as a film scanner writes them: FFmpeg's frames with SMPTE 268M's film and television
    headers added (FFmpeg writes neither): the original's frame rate and each frame's BCD timecode."""
    folder.mkdir()
    with av.open(str(folder / "ffmpeg_%04d.dpx"), "w") as out:
        v = out.add_stream("dpx", rate=24)
        v.width, v.height, v.pix_fmt = 96, 64, "rgb48be" if big_endian else "rgb24"
        for i in range(frames):
            rgb = gray_rgb(photo("astronaut", 96 + frames, 64))[:, i:i + 96]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format=v.pix_fmt)
            frame.pts = i
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    for i, path in enumerate(sorted(folder.glob("ffmpeg_*.dpx"))):
        data = path.read_bytes()
        order = ">" if data[:4] == b"SDPX" else "<"
        offset = struct.unpack(order + "I", data[4:8])[0]
        head = bytearray(data[:offset] + b"\xff" * (2048 - offset))
        head[4:8], head[16:20] = struct.pack(order + "I", 2048), struct.pack(order + "I", 2048 + len(data) - offset)
        head[1724:1728] = struct.pack(order + "f", film_rate)
        frames_in = int(f"{timecode & 0xFF:x}") + i  # the frames field, in BCD
        head[1920:1924] = struct.pack(order + "I", timecode & ~0xFF | int(str(frames_in), 16))
        (folder / f"scan_{1000 + i:06d}.dpx").write_bytes(bytes(head) + data[offset:])
        path.unlink()
    return folder / "scan_%06d.dpx"


@pytest.mark.parametrize("big_endian", [False, True])
def test_dpx_scans_keep_their_rate_and_timecode(tmp_path, big_endian):
    """A scanner's 18 fps silent film plays at 18 fps, not 24, and the colorized film starts at the first
    scan's timecode (01:02:03:04), also for a range (4 frames later: 01:02:03:08, by number or by timecode)."""
    pattern = scanner_dpx(tmp_path / "scans", 10, 18.0, 0x01020304, big_endian)
    report = colorize_video(pattern, tmp_path / "c.mov", model="tiny-random", progress=False)
    assert report.frames_out == 10
    with av.open(str(tmp_path / "c.mov")) as c:
        assert c.streams.video[0].average_rate == 18
        assert c.streams.video[0].metadata.get("timecode") == "01:02:03:04"
    for start in ("f4", "01:02:03:08"):  # a frame number, or the scans' own timecode: an editor's list
        colorize_video(pattern, tmp_path / "r.mov", model="tiny-random", progress=False, start=start, overwrite=True)
        with av.open(str(tmp_path / "r.mov")) as c:
            assert c.streams.video[0].metadata.get("timecode") == "01:02:03:08"
            assert len(list(c.decode(video=0))) == 6
    colorize_video(pattern, tmp_path / "at24.mov", model="tiny-random", progress=False, frame_rate="24")
    with av.open(str(tmp_path / "at24.mov")) as c:  # --frame-rate still decides
        assert c.streams.video[0].average_rate == 24


def test_a_preview_sheet_takes_a_sequence_of_photos_but_not_one_photo(scans, tmp_path, capsys):
    """FFmpeg reads a photo as a film of one frame, and the sheet found no frame at the times spread over it
    ("no video frame could be decoded"): a photo is named as one, while a sequence of them is a film."""
    pattern, _ = scans
    assert run(["preview", str(pattern), "-o", str(tmp_path / "reel.png"), "--count", "2", "--model",
                "tiny-random"]) == 0
    assert capsys.readouterr().err.startswith("wrote")
    single = pattern.with_name(f"reel_{FIRST:06d}.png")
    assert run(["preview", str(single), "-o", str(tmp_path / "one.png"), "--model", "tiny-random"]) == 2
    assert f"{single}: a photo; a preview sheet shows frames of a film" in capsys.readouterr().err
    assert not (tmp_path / "one.png").exists()
