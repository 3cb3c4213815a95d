"""Frame ranges (seek + exact frame + sound in sync), preview sheets, side by side, reference style."""
from __future__ import annotations

import json
import math
from fractions import Fraction

import av
import numpy as np
import pytest
from conftest import decode_planes, film_with_long_sound, gray_rgb, photo
from PIL import Image
from test_video import luma_planes

from vidcolor import colorize_video
from vidcolor.cli import run
from vidcolor.media.codecs import EncodeOptions
from vidcolor.timecode import shift_smpte

RATE = 25
AUDIO_FRAME_S = 1024 / 44100  # one AAC frame


def audio_samples(path) -> tuple[np.ndarray, float]:
    """Mono float samples of the first audio stream and the time of the first one."""
    with av.open(str(path)) as c:
        frames = list(c.decode(audio=0))
        start = float(frames[0].pts * frames[0].time_base)
        return np.concatenate([f.to_ndarray()[0] for f in frames]), start


@pytest.fixture
def long_clip(clip):
    return clip("long.mp4", frames=100, photos=("astronaut", "coffee", "rocket", "chelsea"))  # 4 s


@pytest.mark.parametrize("start,end_opt,first,count", [("1.2", ["--duration", "1"], 30, 25),
                                                       ("f55", ["--end", "00:00:03.000"], 55, 20)])
def test_range_is_exact_and_keeps_sound_in_sync(long_clip, tmp_path, start, end_opt, first, count):
    dst = tmp_path / "range.mp4"
    assert run([str(long_clip), "-o", str(dst), "--model", "tiny-random", "-q", "--crf", "0",
                "--start", start, *end_opt]) == 0
    out = luma_planes(dst)
    assert len(out) == count
    src = luma_planes(long_clip)
    assert all(np.array_equal(a, b) for a, b in zip(out, src[first:first + count]))  # the exact frames
    assert decode_planes(dst)[0].pts == 0
    got, _ = audio_samples(dst)
    ref, ref_start = audio_samples(long_clip)
    sr = 44100
    t0 = first / RATE
    assert abs(len(got) / sr - count / RATE) <= AUDIO_FRAME_S + 1e-3  # duration within one audio frame
    seg = ref[round((t0 - ref_start) * sr):][: len(got)]
    lags = range(-1024, 1025, 8)
    corr = [np.corrcoef(seg[2048 + k: 2048 + k + sr // 2], got[2048: 2048 + sr // 2])[0, 1] for k in lags]
    best = int(np.argmax(corr))
    assert corr[best] > 0.9 and abs(list(lags)[best]) <= 1024  # same sound, in sync within one audio frame


def test_frame_numbers_find_their_frames_where_times_are_rounded_down(clip, tmp_path, capsys):
    """Matroska counts milliseconds: at 24 fps frame 2 is at 83 ms, before 2/24 s. --start f2 --end f5 had
    given frames 3 to 5, a preview at f2 frame 3, and scans written from 0.05 s were numbered from 1."""
    src = clip("film.mkv", frames=12, rate=24, audio=())
    dst = tmp_path / "part.mkv"
    assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q", "--crf", "0", "--start", "f2",
                "--end", "f5"]) == 0
    src_planes = luma_planes(src)
    assert [next(i for i, y in enumerate(src_planes) if np.array_equal(y, x)) for x in luma_planes(dst)] == [2, 3, 4]
    assert run(["preview", str(src), "-o", str(tmp_path / "s.png"), "--at", "f2", "--json", "--model",
                "tiny-random"]) == 0
    assert json.loads(capsys.readouterr().out)["times"] == ["00:00:00.083"]
    frames = tmp_path / "frames"
    frames.mkdir()
    assert run([str(src), "-o", str(frames / "f_%03d.png"), "--model", "tiny-random", "-q", "--start", "0.05",
                "--end", "f4"]) == 0
    assert sorted(p.name for p in frames.iterdir()) == ["f_002.png", "f_003.png"]  # frames 2 and 3, by name


def test_the_shot_list_numbers_frames_as_ranges_do_on_a_variable_rate(clip, tmp_path, capsys):
    """A phone's variable rate: the n-th frame decoded is not the one --start f<n> finds (n / the average
    rate). The shot list numbers frames by time, as ranges do, so each shot's numbers give its frames."""
    pts = [9 * i for i in range(15)] + [135 + 3 * i for i in range(15)]  # 1/90 s: 10 fps, then 30 fps
    src = clip("phone.mp4", frames=30, rate=30, pts=pts, time_base=Fraction(1, 90), audio=(),
               photos=("astronaut", "coffee"))
    assert run(["shots", str(src), "--json"]) == 0
    shots = json.loads(capsys.readouterr().out)
    assert [s["transition"] for s in shots] == ["start", "cut"]
    assert shots[1]["start_frame"] > 15  # the cut: the 16th frame decoded, at 1.5 s x 225/16 fps
    for shot, first in zip(shots, (0, 15)):
        dst = tmp_path / f"shot{shot['start_frame']}.mp4"
        assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q", "--crf", "0", "--start",
                    f"f{shot['start_frame']}", "--end", f"f{shot['end_frame'] + 1}"]) == 0
        assert all(np.array_equal(a, b) for a, b in zip(luma_planes(dst), luma_planes(src)[first:first + 15],
                                                        strict=True))  # that shot's 15 frames, no other
    # numbers skip where frames are far apart: at the file's 225/16 fps, frames 0.1 s apart are numbered 0,
    # 1, 3, 4, 6, ...: f2 holds none, and says so
    assert run([str(src), "-o", str(tmp_path / "none.mp4"), "--model", "tiny-random", "-q", "--start", "f2",
                "--end", "f3"]) == 2
    assert ("no frame begins in the range from 0.107 s to 0.178 s: frames begin at 0.100 s and 0.200 s"
            in capsys.readouterr().err)
    # scans written from a range are named by the same rule: frame i of the first shot (at i / 10 s) is
    # number round(i / 10 x 225/16), and the shot's last is its end_frame (they had been the first's number
    # plus the rounded offset: 9 for the frame at 0.6 s, which is 8)
    scans = tmp_path / "scans"
    scans.mkdir()
    assert run([str(src), "-o", str(scans / "f_%03d.png"), "--model", "tiny-random", "-q", "--start", "f3",
                "--end", f"f{shots[1]['start_frame']}"]) == 0
    numbers = [math.floor(i / 10 * Fraction(225, 16) + Fraction(1, 2)) for i in range(2, 15)]
    assert sorted(p.name for p in scans.iterdir()) == [f"f_{n:03d}.png" for n in numbers]
    assert numbers[-1] == shots[0]["end_frame"]


def test_a_short_range_keeps_the_sound_that_began_before_it(clip, tmp_path):
    """A FLAC packet lasts 0.1 s (4608 samples): a range inside one (frame 30, 1.2 s, in the packet from
    1.149 s) had no sound, and mov, where FLAC is re-encoded to PCM, dropped the empty track without a word.
    The packet is now decoded and cut at the range's first frame: the film's own samples from there."""
    src = clip("film.mkv", frames=50, audio=("flac",))
    dst = tmp_path / "short.mov"
    assert colorize_video(src, dst, model="tiny-random", progress=False, start="f30", end="f31").frames_out == 1

    def interleaved(path) -> tuple[np.ndarray, float]:
        with av.open(str(path)) as c:
            frames = list(c.decode(audio=0))
            return np.concatenate([f.to_ndarray()[0] for f in frames]), float(frames[0].time)

    (whole, whole_start), (cut, cut_start) = interleaved(src), interleaved(dst)
    first = float(decode_planes(src)[30].time)
    skip = round((first - whole_start) * 44100)
    assert cut_start == 0 and 0.04 * 44100 < len(cut) / 2 < 0.11 * 44100  # to the end of the packet it began in
    # the same samples (stereo: two a tick), from within Matroska's millisecond of the frame's time
    found = [k for k in range(skip - 22, skip + 23) if np.array_equal(cut, whole[2 * k:2 * k + len(cut)])]
    assert len(found) == 1
    # copied sound cannot be cut: a range inside one of its packets (this clip's PCM is one 2 s packet) has
    # none, which mp4 and mov had left out and Matroska kept empty, without a word
    pcm = clip("pcm.mkv", frames=50, audio=("pcm_s16le",))
    for ext in ("mkv", "mov"):
        report = colorize_video(pcm, tmp_path / f"part.{ext}", model="tiny-random", progress=False, start="f30",
                                end="f31")
        assert report.warnings == ["audio stream #1: no sound written, the range begins inside one of its packets "
                                   "and ends before the next (copied sound is cut at its packets)"]
    assert colorize_video(pcm, tmp_path / "whole.mov", model="tiny-random", progress=False).warnings == []


def test_range_errors(long_clip, tmp_path, capsys):
    dst = tmp_path / "o.mp4"
    assert run([str(long_clip), "-o", str(dst), "--model", "tiny-random", "-q", "--start", "2", "--end", "1"]) == 2
    assert run([str(long_clip), "-o", str(dst), "--model", "tiny-random", "-q", "--start", "99"]) == 2
    assert "the range starts at 99.000 s, after the end of the film (4.000 s)" in capsys.readouterr().err
    # frames are named as typed, at their own time (they had been said at the half frame before them)
    assert run([str(long_clip), "-o", str(dst), "--model", "tiny-random", "-q", "--start", "f500"]) == 2
    assert "the range starts at f500 (20.000 s), after the end of the film" in capsys.readouterr().err
    assert run([str(long_clip), "-o", str(dst), "--model", "tiny-random", "-q", "--start", "f10", "--end", "f5"]) == 2
    assert "empty range: it ends at f5 (0.200 s) and starts at f10 (0.400 s)" in capsys.readouterr().err
    assert run([str(long_clip), "-o", str(dst), "--model", "tiny-random", "-q", "--start", "abc"]) == 2
    assert "use hh:mm:ss.ms" in capsys.readouterr().err
    # after the last frame's start, within the film: it had said "no video frame could be decoded" (exit 3)
    assert run([str(long_clip), "-o", str(dst), "--model", "tiny-random", "-q", "--start", "3.97"]) == 2
    assert ("no frame begins in the range from 3.970 s: the film's last frame begins at 3.960 s"
            in capsys.readouterr().err)
    assert not dst.exists()


def test_a_subtitle_on_screen_at_a_range_start_is_kept(clip, tmp_path):
    """The cue from 40 to 240 ms is still on screen when a range starts at 0.1 s (first frame 0.12 s): it
    shows from the range's start to its own end (it was cut); one that ended before is not there."""
    src = clip("subs.mkv", frames=50, audio=(), subtitles=True)
    for start, cues in ((0.1, [(b"Hello from the subtitles", 0, 120)]), (0.3, [])):
        colorize_video(src, tmp_path / "part.mkv", model="tiny-random", progress=False, start=start, overwrite=True)
        with av.open(str(tmp_path / "part.mkv")) as c:
            assert [(bytes(p), p.pts, p.duration) for p in c.demux(c.streams.subtitles[0]) if p.size] == cues


def test_preview_sheet(long_clip, tmp_path, capsys):
    sheet = tmp_path / "sheet.png"
    assert run(["preview", str(long_clip), "-o", str(sheet), "--count", "3", "--model", "tiny-random"]) == 0
    assert "00:00:00.680" in capsys.readouterr().err  # first of three frames spread over 4 s
    img = Image.open(sheet)
    assert img.width == 2 * 320 + 12 and img.height > 3 * (320 * 64 // 96)
    assert run(["preview", str(long_clip), "-o", str(sheet), "--at", "f10", "--at", "00:00:02.5", "--overwrite",
                "--model", "tiny-random"]) == 0
    assert "00:00:00.400, 00:00:02.520" in capsys.readouterr().err
    # the report on stdout, as the other commands give theirs; nothing said on stderr
    assert run(["preview", str(long_clip), "-o", str(sheet), "--at", "f10", "--overwrite", "--json",
                "--model", "tiny-random"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["times"] == ["00:00:00.400"] and "wrote" not in err
    # the format from the name: a .jpg sheet is a JPEG (it had been PNG bytes under any name); .xyz is refused
    assert run(["preview", str(long_clip), "-o", str(tmp_path / "s.jpg"), "--at", "1", "--model", "tiny-random"]) == 0
    assert Image.open(tmp_path / "s.jpg").format == "JPEG"
    assert run(["preview", str(long_clip), "-o", str(tmp_path / "s.xyz"), "--at", "1", "--model", "tiny-random"]) == 4
    assert "s.xyz: unknown image format '.xyz'" in capsys.readouterr().err


def test_preview_of_a_raw_stream_spreads_its_frames_as_for_any_film(long_clip, tmp_path, capsys):
    """A raw .h264 stream announces no duration and cannot seek: the sheet showed its first frame only.
    Counted packet by packet and read once, it gets the frames a .mp4 of the same pictures gets."""
    raw = tmp_path / "camera.h264"
    with av.open(str(long_clip)) as c, raw.open("wb") as out:
        annexb = av.bitstream.BitStreamFilterContext("h264_mp4toannexb", c.streams.video[0])
        for packet in c.demux(video=0):
            out.write(b"".join(bytes(p) for p in annexb.filter(packet)))
    sheets = []
    for src in (long_clip, raw):
        sheets.append(tmp_path / f"{src.suffix[1:]}.png")
        assert run(["preview", str(src), "-o", str(sheets[-1]), "--count", "3", "--model", "tiny-random"]) == 0
    mp4_times, raw_times = [line.split(" (")[1] for line in capsys.readouterr().err.splitlines() if "wrote" in line]
    assert mp4_times == raw_times and raw_times.count(",") == 2 and not raw_times.startswith("00:00:00.000")
    assert np.array_equal(np.asarray(Image.open(sheets[0])), np.asarray(Image.open(sheets[1])))


def test_preview_spreads_its_frames_over_the_picture_not_the_sound(tmp_path, capsys):
    """A file's length is its longest track's: with 3 s of sound after 1 s of picture, the sheet asked for a
    frame at 1.125 s and failed ("no frame at or after"). Matroska's video track states its own end, which
    spreads them; flv states none, and its last video packets say where the picture ends (session 16
    showed the one frame its picture had in the first quarter of 3.08 s); a time asked for still fails."""
    shown = []
    for name in ("long_sound.mkv", "long_sound.flv"):
        src = film_with_long_sound(tmp_path / name)
        assert run(["preview", str(src), "-o", str(tmp_path / "sheet.png"), "--count", "4", "--overwrite",
                    "--model", "tiny-random"]) == 0
        wrote = next(line for line in capsys.readouterr().err.splitlines() if line.startswith("wrote"))
        shown.append(wrote.split("(")[1].split(")")[0].split(", "))
    for times in shown:
        assert len(times) == 4 and all(t < "00:00:01.1" for t in times)
    assert run(["preview", str(src), "-o", str(tmp_path / "at.png"), "--at", "2.0", "--model", "tiny-random"]) == 2
    assert "no frame at or after 00:00:02.000: the picture ends before it" in capsys.readouterr().err  # as --start
    # a frame named by number is said as typed, not as the time half a frame before it that is looked from
    assert run(["preview", str(src), "-o", str(tmp_path / "at.png"), "--at", "f30", "--model", "tiny-random"]) == 2
    assert "no frame at f30 (1.200 s): the picture ends before it" in capsys.readouterr().err


def test_side_by_side(long_clip, tmp_path):
    dst = tmp_path / "sbs.mkv"
    colorize_video(long_clip, dst, model="tiny-random", progress=False, side_by_side=True, duration="0.4",
                   encode=EncodeOptions(crf=0))
    frames = decode_planes(dst)
    src = luma_planes(long_clip)
    assert len(frames) == 10
    for f, y in zip(frames, src):
        assert (f.width, f.height) == (192, 64)
        full = f.to_ndarray()
        assert np.array_equal(full[:64, :96], y) and np.array_equal(full[:64, 96:], y)
        u = full[64:80].reshape(32, 96)[:, :48]  # the U plane; its left half is the gray original
        assert np.abs(u.astype(int) - 128).max() <= 1


def test_reference_photo_changes_the_mood(tmp_path):
    src = tmp_path / "gray.png"
    Image.fromarray(gray_rgb(photo("chelsea", 160, 120))).save(src)
    refs = {}
    for name in ("coffee", "rocket"):
        refs[name] = tmp_path / f"{name}.png"
        Image.fromarray(photo(name, 160, 120)).save(refs[name])
    outs = []
    for name, ref in refs.items():
        dst = tmp_path / f"out_{name}.png"
        assert run([str(src), "-o", str(dst), "-q", "--reference", str(ref)]) == 0
        outs.append(np.asarray(Image.open(dst), dtype=np.float32))
    assert np.abs(outs[0] - outs[1]).mean() > 1.0  # the shipped network: another reference, other colors


def test_per_shot_reference_table(tmp_path):
    from conftest import make_clip

    src = make_clip(tmp_path / "two.mkv", frames=30, photos=("coffee", "astronaut"), audio=(), width=128,
                    height=96)
    Image.fromarray(photo("rocket", 160, 120)).save(tmp_path / "night.png")
    (tmp_path / "moods.csv").write_text("# shot,photo\n1,night.png\n")
    plain, styled = tmp_path / "plain.mkv", tmp_path / "styled.mkv"
    lossless = EncodeOptions(crf=0)
    colorize_video(src, plain, encode=lossless, progress=False)
    colorize_video(src, styled, encode=lossless, progress=False, reference=tmp_path / "moods.csv")
    a = [f.to_ndarray()[96:].astype(int) for f in decode_planes(plain)]
    b = [f.to_ndarray()[96:].astype(int) for f in decode_planes(styled)]
    assert max(np.abs(x - y).max() for x, y in zip(a[:15], b[:15])) <= 1  # shot 0 keeps its own mood
    assert np.mean([np.abs(x - y).mean() for x, y in zip(a[15:], b[15:])]) > 0.5  # shot 1 takes the photo's
    # a range inside shot 1 takes the table's shot 1, as `vidcolor shots` numbers the film (it took its shot 0);
    # so does one from shot 1's first frame, f15, which is looked for from half a frame before it
    (tmp_path / "first.csv").write_text("0,night.png\n")
    for start, frames in ((0.8, 10), ("f15", 15)):
        ranges = {}
        for name, table in (("plain", None), ("second", "moods.csv"), ("first", "first.csv")):
            ranges[name] = tmp_path / f"range_{name}_{start}.mkv"
            colorize_video(src, ranges[name], encode=lossless, progress=False, start=start,
                           reference=table and tmp_path / table)
        a, b, c = ([f.to_ndarray()[96:].astype(int) for f in decode_planes(ranges[n])]
                   for n in ("plain", "second", "first"))
        assert len(a) == frames and np.mean([np.abs(x - y).mean() for x, y in zip(a, b)]) > 0.5
        assert max(np.abs(x - y).max() for x, y in zip(a, c)) <= 1
    (tmp_path / "bad.csv").write_text("first,night.png\n")
    with pytest.raises(Exception, match="expected 'shot index,photo'"):
        colorize_video(src, tmp_path / "x.mkv", progress=False, reference=tmp_path / "bad.csv")


NTSC = Fraction(30000, 1001)


@pytest.mark.parametrize("timecode, frames, rate, want", [
    ("01:00:00:00", 50, Fraction(25), "01:00:02:00"),
    ("23:59:59:24", 1, Fraction(25), "00:00:00:00"),  # past midnight
    ("10:00:00:00", 24, Fraction(24000, 1001), "10:00:01:00"),  # 23.976 counts 24 labels a second
    ("00:00:59;29", 1, NTSC, "00:01:00;02"),  # drop-frame: ;00 and ;01 skipped at minute 1...
    ("00:09:59;29", 1, NTSC, "00:10:00;00"),  # ...but not at minute 10
    ("00:00:00;00", 107892, NTSC, "01:00:00;00"),  # one hour of 29.97 fps frames
    ("00:00:59;59", 1, Fraction(60000, 1001), "00:01:00;04"),  # 59.94 skips four
])
def test_smpte_timecode_moves_like_a_deck_counts(timecode, frames, rate, want):
    assert shift_smpte(timecode, frames, rate) == want


def test_drop_frame_labels_are_unique_and_skip_only_what_smpte_skips():
    labels = [shift_smpte("00:00:00;00", n, NTSC) for n in range(17982 + 1800)]  # minutes 0 to 10
    assert len(set(labels)) == len(labels)
    skipped = {f"00:{m:02d}:00;{f:02d}" for m in range(1, 10) for f in (0, 1)}
    every = {f"00:{m:02d}:{s:02d};{f:02d}" for m in range(11) for s in range(60) for f in range(30)}
    assert set(labels) == {x for x in every if x not in skipped}
    with pytest.raises(ValueError):
        shift_smpte("1:00", 5, NTSC)
