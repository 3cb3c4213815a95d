"""Across the containers users bring: every frame at its time, the sound with it, nothing lost unsaid."""
from __future__ import annotations

import io
import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import gray_rgb, make_clip, packets, photo, remux
from PIL import Image

from vidcolor import colorize_video
from vidcolor.cli import run
from vidcolor.colorizer import Colorizer
from vidcolor.errors import OutputError, UsageError
from vidcolor.media import containers
from vidcolor.media.codecs import EncodeOptions
from vidcolor.media.decode import DecodeStats, TimeRange
from vidcolor.preview import make_preview
from vidcolor.progress import _JoinedLength

AUDIO = {"mp4": "aac", "mkv": "flac", "mov": "pcm_s16le", "ts": "aac", "avi": "mp3"}


def video_times(path: Path) -> list[float]:
    """Presentation times; for AVI, which stores decode times only, those of the frames' packets."""
    with av.open(str(path)) as c:
        avi = c.format.name == "avi"
        return [float((f.dts if avi else f.pts) * f.time_base) for f in c.decode(video=0)]


def first_audio_time(path: Path) -> float:
    with av.open(str(path)) as c:
        packet = next(p for p in c.demux(c.streams.audio[0]) if p.size)
        return float(packet.pts * packet.time_base)


@pytest.mark.parametrize("src_ext, dst_ext, audio_out", [
    ("mp4", "mkv", "aac"), ("mkv", "mp4", "flac"), ("ts", "mov", "aac"), ("mov", "avi", "pcm_s16le"),
    ("avi", "mp4", "mp3"), ("mp4", "ts", "aac"), ("mp4", "avi", "aac")])
def test_frames_keep_their_times_and_the_sound_its_sync(tmp_path, src_ext, dst_ext, audio_out):
    """50 frames, 1/25 s apart: the same 50 come out 1/25 s apart, with the sound where it was. AVI stores
    no presentation times (its B-frames read back out of order, so the decoder's order is used, and AVI
    is written without B-frames); containers that refuse negative times shift all streams alike (the
    AAC encoder's priming in mkv, B-frame delay in MPEG-TS). Every container says 25 fps: AVI counts
    frames, and in the time base of an mp4 source (1/600 once rounded) it counted 600 a second, 24 of
    them empty for every picture."""
    src = make_clip(tmp_path / f"in.{src_ext}", frames=50, audio=(AUDIO[src_ext],))
    dst = tmp_path / f"out.{dst_ext}"
    report = colorize_video(src, dst, model="tiny-random", progress=False)
    assert report.warnings == []
    times = video_times(dst)
    assert len(times) == 50
    assert np.allclose(np.diff(times), 0.04, atol=0.0011)  # mkv counts in ms
    assert abs(times[0]) < 0.1
    with av.open(str(dst)) as c:
        assert [s.codec_context.codec.canonical_name for s in c.streams.audio] == [audio_out]
        assert c.streams.video[0].average_rate == 25
    assert abs(first_audio_time(dst) - times[0]) < 0.05  # audio starts with the first frame (AAC priming: 23 ms)


def recording(path: Path, first: int, frames: int, photo_name: str = "coffee", sound: str = "mp2",
              sound_rate: int = 48000, no_picture: range = range(0), pan: int = 0) -> Path:
    """A black-and-white MPEG-TS recording from frame `first` of its clock on (25 fps, 40 ms of sound per frame); the
    frames in `no_picture` have sound only; `pan` px a frame moves the photo, so that each frame differs."""
    with av.open(str(path), "w", format="mpegts") as out:
        v = out.add_stream("libx264", rate=25, options={"g": "12"})
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream(sound, rate=sound_rate)
        a.layout = "stereo"
        per_frame = sound_rate // 25
        for i in range(first, first + frames):
            if i not in no_picture:
                picture = np.roll(gray_rgb(photo(photo_name, 64, 48)), pan * (i - first), axis=1)
                f = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
                f.pts, f.time_base = i, Fraction(1, 25)
                out.mux(v.encode(f))
            s = av.AudioFrame.from_ndarray(np.full((2, per_frame), 0.1, np.float32), format="fltp", layout="stereo")
            s.sample_rate, s.pts, s.time_base = sound_rate, i * per_frame, Fraction(1, sound_rate)
            out.mux(a.encode(s))
        out.mux(v.encode(None))
        out.mux(a.encode(None))
    return path


@pytest.mark.parametrize("dst_ext", ["mp4", "mov", "mkv"])
def test_a_recording_across_the_mpeg_ts_clock_wrap_is_whole(tmp_path, dst_ext):
    """MPEG-TS clocks wrap every 26.5 hours, so some broadcast recordings cross the wrap; FFmpeg times the
    part before it below 0. mp4 and mov hid those frames as pre-roll: 24 of 50 frames played, silently.
    The film now starts at 0 in every container, its sound with it."""
    src = recording(tmp_path / "recording.ts", 2**33 // 3600 - 25, 50)  # from 1 s before the wrap (3600 ticks
    assert video_times(src)[0] < -0.9  # of 90 kHz a frame); the case is there: the part before it, below 0
    dst = tmp_path / f"out.{dst_ext}"
    colorize_video(src, dst, model="tiny-random", progress=False)
    times = video_times(dst)
    assert len(times) == 50 and abs(times[0]) < 0.001
    assert np.allclose(np.diff(times), 0.04, atol=0.0011)
    assert abs(first_audio_time(dst) - times[0]) < 0.05


JUMPED = ("the file's clock jumps at 1 point (clips joined into one file, or a broadcast splice): each part was put "
          "right after the one before")


def joined(tmp_path: Path, first: int = 0, second: int = 0, sound: str = "mp2",
           pan: int = 0) -> tuple[Path, list[Path]]:
    """Two 30-frame MPEG-TS recordings from frames `first` and `second` of their clocks, joined byte for byte
    (`cat`); the file and its parts."""
    parts = [recording(tmp_path / "a.ts", first, 30, sound=sound, pan=pan),
             recording(tmp_path / "b.ts", second, 30, "astronaut", sound=sound, pan=pan)]
    src = tmp_path / "both.ts"
    src.write_bytes(b"".join(p.read_bytes() for p in parts))
    return src, parts


@pytest.mark.parametrize("sound", ["mp2", "ac3", "aac"])
@pytest.mark.parametrize("dst_ext", ["mp4", "mkv"])
def test_mpeg_ts_clips_joined_with_cat_play_one_after_the_other(tmp_path, dst_ext, sound):
    """`cat a.ts b.ts > both.ts` (camcorder clips, a recording saved in parts): the second clip's clock
    starts again. Its 30 frames went to the encoder one tick apart, about 1 ms in all, and its sound was
    refused. The clips now follow each other, as ffmpeg puts them, and a warning says so.
    Camcorders record AC-3 (AVCHD) or AAC (phones). The demuxer ends a PES packet only when the next one
    begins, so it sent the first clip's last AC-3 packet after the second clip's first picture packets:
    moved with the second clip, it landed 1.2 s on, and the second clip's sound then read as a second jump
    (two jumps, a frame bumped, and a 1.26 s pause at the join: 3.7 s out of 2.4). And each clip's AAC
    starts before its picture (the encoder's priming): it overlapped the first clip's by 31 ms, and the
    muxer refused a packet as 'damaged'."""
    src, parts = joined(tmp_path, sound=sound)
    assert min(np.diff(video_times(src))) < -1  # the case is there: the clock goes back at the join
    dst = tmp_path / f"out.{dst_ext}"
    report = colorize_video(src, dst, model="tiny-random", progress=False)
    assert report.warnings == [JUMPED]
    times = video_times(dst)
    assert len(times) == 60 and np.allclose(np.diff(times), 0.04, atol=0.0011)
    with av.open(str(dst)) as c:
        sound_times = [(float(p.pts * p.time_base), float(p.duration * p.time_base)) for p in c.demux(audio=0)
                       if p.size]
    assert len(sound_times) == sum(len(packets(p)[0]) for p in parts)  # every packet of both clips' sound
    assert all(abs(b[0] - a[0] - a[1]) < 0.0011 for a, b in zip(sound_times, sound_times[1:]))  # on, no gap
    assert abs(sound_times[-1][0] + sound_times[-1][1] - times[-1]) < 0.1  # and it ends with the picture


@pytest.mark.parametrize("second", [25030, 0], ids=["later", "earlier"])
def test_joined_clips_whose_clocks_lie_far_apart_are_not_called_truncated(tmp_path, capsys, second):
    """Clips joined whose clocks lie far apart: FFmpeg's length is the raw clock's, from its first time to its
    last (1,001 s; 26 hours when the second clip's clock is the earlier, across the wrap). The film was
    called 'probably truncated', and the progress bar counted towards 25,028 frames (2.4 million), its ETA
    in hours. After the join the bar's total is the frames read so far x the file's bytes over those read,
    and it ends full."""
    src, _ = joined(tmp_path, 25030 - second, second)
    with av.open(str(src)) as c:
        assert c.duration / av.time_base > 1000  # the case is there: the header's length is the raw clock's
    report = colorize_video(src, tmp_path / "out.mp4", model="tiny-random", batch_size=8)
    assert report.frames_out == 60
    assert report.warnings == [JUMPED]
    done, total = map(int, re.findall(r"(\d+)/(\d+) ", capsys.readouterr().err)[-1])
    assert done == total == 60


@pytest.mark.parametrize("first, second", [(0, 0), (0, 25030), (25030, 0)], ids=["same", "later", "earlier"])
def test_a_range_in_the_later_part_of_joined_clips_is_what_the_whole_film_shows_there(tmp_path, capsys, first,
                                                                                     second):
    """A range counts the time the whole film is written with, its parts one after the other. It counted the
    raw clock, so a range in the second part read 'no video frame could be decoded' (exit 3), or, where both
    clocks start at 0, the first part's frames. The file is now read from its start, the picture decoded
    only from the keyframe before the range (the progress bar says so until the first frame); a range past
    the end says where the joined parts end."""
    src, parts = joined(tmp_path, first, second, pan=3)
    dst = tmp_path / "range.mkv"
    report = colorize_video(src, dst, model="tiny-random", encode=EncodeOptions(crf=0), start=1.6,
                            duration=0.4)  # x264 lossless: the luminance read back is the input's
    assert report.frames_out == 10 and report.warnings == [JUMPED]
    bar = capsys.readouterr().err
    assert "reading the file to 00:00:01.600" in bar and "10/10" in bar
    times = video_times(dst)
    assert np.allclose(times, np.arange(10) * 0.04, atol=0.0011)

    def luma(frames: list[av.VideoFrame]) -> list[np.ndarray]:
        return [f.to_ndarray(format="gray") for f in frames]
    with av.open(str(parts[1])) as c:  # the second clip's frames 10-19: 0.4 s into it, 1.6 s into the film
        want = luma(list(c.decode(video=0))[10:20])
    with av.open(str(dst)) as c:
        assert all(np.array_equal(a, b) for a, b in zip(luma(c.decode(video=0)), want, strict=True))
    sound = packets(dst)[0]
    assert sound == packets(parts[1])[0][17:17 + len(sound)] and len(sound) >= 16  # 24 ms each, from 0.408 s
    with pytest.raises(UsageError, match=r"2 joined parts, one after the other, end at 2\.[34]\d* s"):
        colorize_video(src, tmp_path / "past.mkv", model="tiny-random", progress=False, start=3.0)


@pytest.mark.parametrize("first, second", [(0, 0), (0, 25030)], ids=["same", "later"])
def test_a_preview_sheet_of_joined_clips_spreads_over_both(tmp_path, first, second):
    """A sheet spread its times over FFmpeg's length, the raw clock's: where both clocks start at 0, over the
    first 1.2 s only; where the second runs 1,000 s later, over 1,001 s, and all but the first time fell
    past the film's end (one row). The length is now the parts' one after the other, read once without
    decoding, and each time is found in one pass: the second clip's frames are on the sheet at their times."""
    src, parts = joined(tmp_path, first, second, pan=3)
    sheet = make_preview(src, tmp_path / "sheet.png", count=4, colorizer=Colorizer("tiny-random"))
    assert sheet["times"] == ["00:00:00.320", "00:00:00.920", "00:00:01.520", "00:00:02.120"]
    at = make_preview(src, tmp_path / "at.png", at=["1.6", "0.4"], colorizer=Colorizer("tiny-random"))
    assert at["times"] == ["00:00:01.600", "00:00:00.400"]
    rows = np.asarray(Image.open(tmp_path / "at.png").convert("L"), dtype=np.float32)
    with av.open(str(parts[1])) as c:  # the second clip's frame 10, scaled as the sheet's tile
        want = next(f for i, f in enumerate(c.decode(video=0)) if i == 10).to_ndarray(format="gray")
    tile = rows[4 + 18:4 + 18 + 240, 4:4 + 320]  # the first row's gray picture
    assert np.abs(tile - np.asarray(Image.fromarray(want).resize((320, 240), Image.BILINEAR))).mean() < 2


def test_the_bar_of_joined_clips_ends_where_both_parts_do_before_the_clock_jumps(tmp_path):
    """Until the clock jumped, the bar's end was the header's, the raw clock's: 25,028 frames for two 1.2 s clips
    whose clocks lie 1,000 s apart, and for a 10-minute clip before a second one restarting at 0, the first
    clip's frames alone. A thread now measures the parts one after the other while the film is colorized,
    and the bar ends there (a range: at its own end) once it is done."""
    src, _ = joined(tmp_path, 0, 25030)
    stats = DecodeStats()
    for span, frames in [(None, 60), (TimeRange(1.6, None), 20), (TimeRange(1.6, 2.0), 10)]:
        length = _JoinedLength(src, Fraction(25), span)
        length.length.result()  # done
        assert length.total(0, stats, 0) == frames
        length.close()


def test_a_recording_whose_picture_stops_for_11_s_keeps_the_pause(tmp_path):
    """Lost reception can stop the picture while the sound goes on. That is no jump of the clock: the pause
    stays where it was, and nothing is said. Taking 10 s ahead of the picture's own last time for a jump
    (as ffmpeg does) moved the times back and forth at every packet after it (143 jumps, 73 frames bumped,
    on a 30 s recording)."""
    src = recording(tmp_path / "lost.ts", 0, 350, no_picture=range(50, 325))  # 14 s of sound, 3 of picture
    dst = tmp_path / "out.mkv"
    report = colorize_video(src, dst, model="tiny-random", progress=False)
    assert report.warnings == []
    before, after = np.array(video_times(src)), np.array(video_times(dst))
    assert len(after) == 75 and np.allclose(after - after[0], before - before[0], atol=0.0011)  # 11.04 s pause


@pytest.mark.parametrize("dst_ext, said", [("mp4", True), ("mkv", True), ("ts", False)])
def test_copied_aac_whose_rate_changes_mid_track_is_warned_about(tmp_path, caplog, dst_ext, said):
    """Joined recordings can change AAC's sample rate mid-track. MPEG-TS carries each packet's own header;
    mp4 and mkv hold one rate for the track, so a copy plays the later part at the wrong speed (FFmpeg
    decoded both parts at 48 kHz). Copying cannot wait for the whole track: a warning names the change."""
    parts = [recording(tmp_path / "a.ts", 0, 25, sound="aac"),  # b 0.12 s on: past a's encoder padding
             recording(tmp_path / "b.ts", 28, 25, "astronaut", sound="aac", sound_rate=44100)]
    src = tmp_path / "both.ts"
    src.write_bytes(b"".join(p.read_bytes() for p in parts))
    with av.open(str(src)) as c:
        rates = [(f.sample_rate, f.time) for f in c.decode(audio=0)]
    assert {rate for rate, _ in rates} == {48000, 44100}  # the case is there
    at = next(t for rate, t in rates if rate == 44100)
    colorize_video(src, tmp_path / f"out.{dst_ext}", model="tiny-random", progress=False)
    told = [r.getMessage() for r in caplog.records if "changes its sample rate" in r.getMessage()]
    assert told == ([f"audio stream #1 changes its sample rate (44100 Hz from {at:.2f} s, 48000 Hz before): the "
                     f"{dst_ext} track holds one rate, so that part plays at the wrong speed; write to .ts to keep it"]
                    if said else [])


def write_dv(path: Path, width: int, height: int, pix_fmt: str, rate: Fraction, frames: int) -> Path:
    """A camcorder's raw DV: a pan over a black-and-white photo, with 48 kHz sound (a chirp)."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("dvvideo", rate=rate)
        v.width, v.height, v.pix_fmt = width, height, pix_fmt
        a = out.add_stream("pcm_s16le", rate=48000)
        a.layout = "stereo"
        scene = gray_rgb(photo("astronaut", width + frames, height))
        per_frame = round(48000 / rate)
        for i in range(frames):
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(scene[:, i:i + width]), format="rgb24")
            picture = picture.reformat(format=pix_fmt)
            picture.pts = i
            out.mux(v.encode(picture))
            t = np.arange(i * per_frame, (i + 1) * per_frame) / 48000
            wave = (8000 * np.sin(2 * np.pi * (300 + 200 * t) * t)).astype(np.int16)
            sound = av.AudioFrame.from_ndarray(np.repeat(wave, 2)[None], format="s16", layout="stereo")
            sound.sample_rate, sound.pts = 48000, i * per_frame
            out.mux(a.encode(sound))
        out.mux(v.encode(None))
    return path


def test_raw_dv_from_a_camcorder_keeps_its_rate(tmp_path):
    """Family films come off tape as raw DV. FFmpeg 8 announces a .dv file's 1/60000 time base as its
    average rate: 60000 fps made mp4 and mov refuse the film at the end (internal errors), warned that
    20 frames were "about 48000" announced, and told mkv 30000 fps. The film's own rate is used."""
    src = write_dv(tmp_path / "tape.dv", 720, 576, "yuv420p", Fraction(25), frames=20)  # PAL DV
    with av.open(str(src)) as c:
        assert c.streams.video[0].average_rate == 60000  # what FFmpeg says
    for ext in ("mp4", "mov", "mkv"):
        report = colorize_video(src, tmp_path / f"film.{ext}", model="tiny-random", progress=False)
        assert (report.frames_out, report.warnings) == (20, [])
        with av.open(str(tmp_path / f"film.{ext}")) as c:
            assert c.streams.video[0].average_rate == 25 and len(c.streams.audio) == 1
        assert np.allclose(np.diff(video_times(tmp_path / f"film.{ext}")), 0.04, atol=0.0011)


def test_an_avchd_camcorders_mts_is_written_back_as_one(clip, tmp_path):
    """An AVCHD camcorder's .MTS holds a Blu-ray stream: 192-byte packets, each a 4-byte arrival time and a
    188-byte MPEG-TS packet, as .m2ts does. FFmpeg writes those for the name .m2ts only: colorized back to
    .MTS, the family film was a plain 188-byte stream under the camcorder's name."""
    src = clip("00001.m2ts", frames=12, audio=("ac3",))
    for name, size in (("colored.MTS", 192), ("colored.m2ts", 192), ("broadcast.ts", 188)):
        colorize_video(src, tmp_path / name, model="tiny-random", progress=False)
        data = (tmp_path / name).read_bytes()
        assert len(data) % size == 0 and data[size - 188::size] == b"G" * (len(data) // size)
        with av.open(str(tmp_path / name)) as c:
            assert len(list(c.decode(video=0))) == 12 and c.streams.audio[0].codec_context.name == "ac3"


def decoded_sound(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray().ravel() for f in c.decode(audio=0)])


@pytest.mark.parametrize("standard,width,height,pix_fmt,rate", [
    ("NTSC", 720, 480, "yuv411p", Fraction(30000, 1001)), ("PAL", 720, 576, "yuv420p", Fraction(25))])
def test_camcorder_dv_is_written_back_as_dv(tmp_path, capsys, standard, width, height, pix_fmt, rate):
    """`vidcolor tape.dv` writes tape_color.dv. NTSC DV is 4:1:1, and its encoder refuses the 4:2:0 that
    was handed to it: the command failed (exit 4) on America's and Japan's camcorder tapes. The sound
    probe refused DV's own sound too, and re-encoded it to the same codec with a warning that said so."""
    src = write_dv(tmp_path / "tape.dv", width, height, pix_fmt, rate, frames=6)
    assert run([str(src), "-q"]) == 0
    assert "re-encoded" not in capsys.readouterr().err  # DV's sound, copied
    dst = tmp_path / "tape_color.dv"
    with av.open(str(dst)) as c:
        frames = list(c.decode(video=0))
        assert len(frames) == 6 and (frames[0].width, frames[0].height, frames[0].format.name) == (width, height,
                                                                                                    pix_fmt)
    assert np.array_equal(decoded_sound(dst), decoded_sound(src))
    report = colorize_video(src, tmp_path / "check.mkv", encode=EncodeOptions(codec="ffv1"), progress=False)
    assert report.warnings == []
    dv = frames[0].to_ndarray(format="rgb24").astype(int)  # the 4:1:1 (4:2:0) planes, DV-coded
    with av.open(str(tmp_path / "check.mkv")) as c:  # the same film, 4:2:0 and lossless
        mkv = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert np.abs(dv - dv.mean(axis=2, keepdims=True)).mean() > 5  # colored
    assert np.abs(dv - mkv).mean() < 2  # where the mkv has them: chroma in its place
    # a range: DV wants each frame's sound with it, and NTSC's 1601.6 samples a frame put the range's start
    # inside a sound packet, which was left out (an internal error: "insufficient audio data")
    assert run([str(src), "-o", str(tmp_path / "range.dv"), "--start", "0.1", "-q"]) == 0
    with av.open(str(tmp_path / "range.dv")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 3
    assert abs(len(decoded_sound(tmp_path / "range.dv")) / 2 - 3 * 48000 / rate) <= 2


def test_dv_refuses_sound_that_does_not_keep_pace_by_name(tmp_path, capsys):
    tape = write_dv(tmp_path / "tape.dv", 720, 576, "yuv420p", Fraction(25), frames=10)
    src = tmp_path / "late_sound.mov"  # the tape without its first 0.2 s of sound
    with av.open(str(tape)) as c, av.open(str(src), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in c.streams}
        for packet in c.demux():
            if packet.dts is not None and not (packet.stream.type == "audio" and packet.pts * packet.time_base < 0.2):
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    assert run([str(src), "-o", str(tmp_path / "out.dv"), "--model", "tiny-random", "-q"]) == 4  # was 1, internal
    assert "does not keep pace with its picture" in capsys.readouterr().err
    assert not (tmp_path / "out.dv").exists()


def test_dv_takes_broadcast_sizes_only(clip, tmp_path, capsys):
    src = clip("small.mp4", frames=4)
    assert run([str(src), "-o", str(tmp_path / "small.dv"), "--model", "tiny-random", "-q"]) == 2
    assert "DV holds pictures of 720x480, 720x576" in capsys.readouterr().err
    assert not (tmp_path / "small.dv").exists()
    tape = write_dv(tmp_path / "tape.dv", 720, 576, "yuv420p", Fraction(25), frames=2)
    assert run([str(tape), "-o", str(tmp_path / "both.dv"), "--side-by-side", "--model", "tiny-random"]) == 2
    assert "this film is 1440x576" in capsys.readouterr().err  # side by side: twice as wide (was exit 4)


def test_a_raw_h264_stream_is_timed_by_its_rate(tmp_path, capsys):
    """An elementary stream (.h264) has no timestamps at all: the frames get one period each at the
    stream's rate (they all landed within a few ticks of 0 before)."""
    mp4 = make_clip(tmp_path / "in.mp4", frames=30, audio=())
    raw = tmp_path / "camera.h264"
    with av.open(str(mp4)) as c, raw.open("wb") as out:
        annexb = av.bitstream.BitStreamFilterContext("h264_mp4toannexb", c.streams.video[0])
        for packet in c.demux(video=0):
            out.write(b"".join(bytes(p) for p in annexb.filter(packet)))
    assert all(f.pts is None for f in av.open(str(raw)).decode(video=0))
    report = colorize_video(raw, tmp_path / "out.mp4", model="tiny-random", progress=False)
    assert report.warnings == []
    assert np.allclose(video_times(tmp_path / "out.mp4"), np.arange(30) / 25)
    # it announces no length: the progress bar counts its packets first, so it has an end (and an ETA)
    assert run([str(raw), "-o", str(tmp_path / "bar.mp4"), "--model", "tiny-random"]) == 0
    assert "30/30" in capsys.readouterr().err


def test_a_damaged_raw_stream_gets_the_same_warnings_with_and_without_the_progress_bar(tmp_path):
    """The bar counts a raw stream's packets to have an end; that count is ours, not the file's
    announcement, so it must not add a 'truncated' warning that a --quiet run would not give."""
    mp4 = make_clip(tmp_path / "in.mp4", frames=60, audio=())
    with av.open(str(mp4)) as c:
        annexb = av.bitstream.BitStreamFilterContext("h264_mp4toannexb", c.streams.video[0])
        packets = [b"".join(bytes(p) for p in annexb.filter(packet)) for packet in c.demux(video=0)]
    for i in range(10, 50):  # payloads garbled, start codes (0 and 1 bytes) kept
        packets[i] = packets[i][:8] + bytes(b if b in (0, 1) else (b * 7 + 13) & 0xFF for b in packets[i][8:])
    raw = tmp_path / "camera.h264"
    raw.write_bytes(b"".join(packets))
    quiet, shown = (colorize_video(raw, tmp_path / f"out{bar}.mp4", model="tiny-random", progress=bar)
                    for bar in (False, True))
    assert quiet.frames_out == shown.frames_out < 40
    assert any("damaged video packets were skipped" in w for w in quiet.warnings)
    assert shown.warnings == quiet.warnings


def test_audio_a_container_refuses_is_reencoded_losslessly_when_it_was_lossless(tmp_path, caplog):
    """mov lists FLAC and Opus, then refuses them when writing its header (that was an internal error):
    FLAC becomes PCM, sample for sample; Opus, lossy, becomes AAC. MPEG-TS writes FLAC or PCM as data no
    player reads: they become AAC, which it identifies. Each with a warning."""
    src = make_clip(tmp_path / "archive.mkv", frames=25, audio=("flac", "opus"))
    dst = tmp_path / "edit.mov"
    colorize_video(src, dst, model="tiny-random", progress=False)
    assert "audio stream #1 (flac) re-encoded to pcm_s16le: the mov container cannot hold flac" in caplog.text
    assert "audio stream #2 (opus) re-encoded to aac" in caplog.text

    def samples(path: Path) -> np.ndarray:
        with av.open(str(path)) as c:
            return np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)

    with av.open(str(dst)) as c:
        assert [s.codec_context.codec.canonical_name for s in c.streams.audio] == ["pcm_s16le", "aac"]
    flac, pcm = samples(src), samples(dst)
    assert flac.shape == pcm.shape and np.array_equal(flac, pcm)

    src = make_clip(tmp_path / "master.mov", frames=25, audio=("pcm_s16le",))
    colorize_video(src, tmp_path / "broadcast.ts", model="tiny-random", progress=False)
    with av.open(str(tmp_path / "broadcast.ts")) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
        assert c.streams.audio[0].codec_context.codec.canonical_name == "aac"
    assert "(pcm_s16le) re-encoded to aac: the mpegts container cannot hold pcm_s16le" in caplog.text


def test_pcm_from_mkv_names_no_channels_and_still_goes_into_mp4_and_mpeg_ts(tmp_path):
    """Matroska stores PCM's channel count, not the channels' names ('2 channels'). mp4 refused such a
    copy at its trailer and the AAC encoder (MPEG-TS) refused to open: both internal errors, for an
    archival master as common as FFV1 with 24-bit PCM."""
    src = make_clip(tmp_path / "master.mkv", frames=25, codec="ffv1", audio=("pcm_s24le",))
    with av.open(str(src)) as c:
        assert c.streams.audio[0].layout.name == "2 channels"
    colorize_video(src, tmp_path / "access.mp4", model="tiny-random", progress=False)
    # copied: the same bytes (mp4's reader cuts PCM into other packets)
    assert b"".join(packets(tmp_path / "access.mp4")[0]) == b"".join(packets(src)[0])
    colorize_video(src, tmp_path / "broadcast.ts", model="tiny-random", progress=False)
    for name, codec in (("access.mp4", "pcm_s24le"), ("broadcast.ts", "aac")):
        with av.open(str(tmp_path / name)) as c:
            audio = c.streams.audio[0]
            assert (audio.codec_context.codec.canonical_name, audio.layout.name) == (codec, "stereo")
            assert abs(sum(f.samples for f in c.decode(audio=0)) - 44100) < 2048  # one second, within two AAC frames


def test_webm_gets_its_own_codecs(tmp_path):
    """webm holds neither H.264 nor AAC: the default encoder gives way to VP9, and AAC at 44.1 kHz becomes
    Opus at 48 kHz (Opus takes no other rate; that was an internal error), each said in a warning. The
    re-encoded sound starts with the picture, as in the MPEG-TS source (it started 80 ms early)."""
    src = make_clip(tmp_path / "in.ts", frames=25, audio=("aac",))
    report = colorize_video(src, tmp_path / "out.webm", model="tiny-random", progress=False)
    assert report.warnings == ["video coded with libvpx-vp9: the .webm container cannot hold libx264"]
    with av.open(str(tmp_path / "out.webm")) as c:
        assert [(s.type, s.codec_context.codec.canonical_name) for s in c.streams] == [("video", "vp9"),
                                                                                       ("audio", "opus")]
        assert c.streams.audio[0].codec_context.sample_rate == 48000
        assert len(list(c.decode(video=0))) == 25
    assert video_times(tmp_path / "out.webm")[0] > 0.05  # the source's B-frame delay: sound must follow it
    assert abs(first_audio_time(tmp_path / "out.webm") - video_times(tmp_path / "out.webm")[0]) < 0.05


@pytest.mark.parametrize("name, codec", [("in.ts", "libx264"), ("in.mpg", "mpeg2video"), ("in.h264", "libx264")])
def test_ranges_start_at_their_frame_in_files_without_an_index(tmp_path, name, codec):
    """MPEG-TS and MPEG-PS (DVD) have no index: FFmpeg's seek can land after the frame asked for (the range
    came out short, or empty: 'no video frame'), so the seek goes further back until it lands before.
    A raw stream cannot seek at all ('cannot seek'): it is read from its start. A range past the end is
    refused by name (not up front: MPEG-PS headers estimate durations up to 30% short)."""
    src = make_clip(tmp_path / name, codec=codec, frames=60, audio=(), photos=("astronaut", "coffee", "rocket"))
    with av.open(str(src)) as c:
        gray = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
    for first, last in ((30, 40), (1, 3), (55, 60)):
        dst = tmp_path / f"part{first}.mkv"
        colorize_video(src, dst, model="tiny-random", progress=False, start=f"f{first}", end=f"f{last}")
        with av.open(str(dst)) as c:
            out = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
        assert len(out) == last - first
        nearest = [int(np.argmin([np.abs(y.astype(int) - g).mean() for g in gray])) for y in out]
        assert nearest == list(range(first, last))
    with pytest.raises(UsageError, match="no frame in the range from 2.780 s"):  # past the end: f70 from 2.78 s
        colorize_video(src, tmp_path / "none.mkv", model="tiny-random", progress=False, start="f70")
    assert not (tmp_path / "none.mkv").exists()


def test_srt_subtitles_go_into_webm_as_webvtt(tmp_path):
    """webm takes no SRT (they were dropped): the same text goes in as WebVTT, at the same time."""
    src = make_clip(tmp_path / "in.mkv", frames=20, audio=(), subtitles=True)
    colorize_video(src, tmp_path / "out.webm", model="tiny-random", progress=False)
    with av.open(str(tmp_path / "out.webm")) as c:
        assert [s.codec_context.name for s in c.streams.subtitles] == ["webvtt"]
        cues = [(bytes(p), p.pts * p.time_base) for p in c.demux(c.streams.subtitles[0]) if p.size]
    assert cues == [(b"Hello from the subtitles", Fraction(40, 1000))]


def chapter_list(path: Path) -> list[tuple[int, int, str]]:
    with av.open(str(path)) as c:
        return [(round(1000 * ch["start"] * ch["time_base"]), round(1000 * ch["end"] * ch["time_base"]),
                 ch["metadata"]["title"]) for ch in c.chapters()]


def test_attached_files_are_kept_where_the_container_holds_them(tmp_path, caplog):
    """Matroska masters carry files: the fonts their subtitles are drawn with, scan notes, checksums. They
    were dropped; mkv keeps them byte for byte, and other outputs say what they leave out."""
    plain = make_clip(tmp_path / "plain.mkv", frames=10)
    files = [("Film Font.ttf", "font/ttf", bytes(range(256)) * 4), ("notes.txt", "text/plain", b"reel 3 of 5")]

    def attach(out: av.container.OutputContainer) -> None:
        for name, mimetype, data in files:
            out.add_attachment(name, mimetype, data)

    src = remux(plain, tmp_path / "master.mkv", attach)
    colorize_video(src, tmp_path / "colored.mkv", model="tiny-random", progress=False)
    with av.open(str(tmp_path / "colored.mkv")) as c:
        assert [(s.name, s.mimetype, s.data) for s in c.streams if s.type == "attachment"] == files
    colorize_video(src, tmp_path / "colored.mp4", model="tiny-random", progress=False)
    assert "attached file #3 (notes.txt) dropped: the mp4 container cannot hold it" in caplog.text


def test_cover_pictures_are_kept_where_the_container_holds_them(tmp_path, caplog):
    """A film bought or tagged in a library carries a cover picture: mp4 keeps it as cover art, mkv as an
    image file (which reads back as the same cover), mov would take it and keep nothing: a warning."""
    jpeg = io.BytesIO()
    Image.fromarray(photo("coffee", 64, 48)).save(jpeg, format="JPEG")

    def cover_art(out: av.container.OutputContainer) -> None:
        cover = out.add_stream("mjpeg")
        cover.width, cover.height, cover.pix_fmt = 64, 48, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        picture = av.Packet(jpeg.getvalue())
        picture.stream = cover
        out.mux(picture)

    src = remux(make_clip(tmp_path / "plain.mp4", frames=10), tmp_path / "tagged.mp4", cover_art)

    def covers(path: Path) -> list[bytes]:
        with av.open(str(path)) as c:
            pictures = [s for s in c.streams.video if s.disposition & av.stream.Disposition.attached_pic]
            return [bytes(p) for p in c.demux(*pictures) if p.size] if pictures else []

    assert covers(src) == [jpeg.getvalue()]
    for ext in ("mp4", "mkv", "mov"):
        report = colorize_video(src, tmp_path / f"colored.{ext}", model="tiny-random", progress=False)
        assert report.frames_out == 10 and covers(tmp_path / f"colored.{ext}") == ([] if ext == "mov" else covers(src))
    assert "attached file #2 (cover.jpg) dropped: the mov container cannot hold it" in caplog.text
    # a tag named in reverse DNS beside the cover (Matroska holds both): the mp4 keeps the cover, which FFmpeg
    # drops where it writes such tags
    def cover_and_tag(out: av.container.OutputContainer) -> None:
        out.metadata["com.apple.quicktime.make"] = "Kodak"
        out.add_attachment("cover.jpg", "image/jpeg", jpeg.getvalue())

    both = remux(make_clip(tmp_path / "plain.mkv", frames=10), tmp_path / "tagged.mkv", cover_and_tag)
    colorize_video(both, tmp_path / "both.mp4", model="tiny-random", progress=False)
    assert covers(tmp_path / "both.mp4") == covers(src)


def test_chapters_are_kept_and_a_range_keeps_its_own_part_of_them(tmp_path):
    """A range 1.5 s into the film, 1 s long: the chapters it overlaps, from its start (they came out as
    in the whole film, pointing past the end of the output)."""
    chapters = [(0, 2000, "Opening"), (2000, 4000, "Street")]
    src = make_clip(tmp_path / "in.mkv", frames=100, audio=("aac",), chapters=chapters)
    for ext in (".mp4", ".mov", ".mkv"):
        colorize_video(src, tmp_path / f"out{ext}", model="tiny-random", progress=False)
        assert chapter_list(tmp_path / f"out{ext}") == chapters
    colorize_video(src, tmp_path / "part.mp4", model="tiny-random", progress=False, start=1.5, duration=1)
    assert chapter_list(tmp_path / "part.mp4") == [(0, 500, "Opening"), (500, 1000, "Street")]
    colorize_video(src, tmp_path / "tail.mkv", model="tiny-random", progress=False, start=2.5)
    assert chapter_list(tmp_path / "tail.mkv") == [(0, 1500, "Street")]


def test_shot_times_are_the_times_ranges_take(tmp_path):
    """MPEG-TS films start at a non-zero time: the shot list counted from it, so a shot's start_time given
    to --start missed the cut by that much. Both now count from the film's first frame."""
    from vidcolor.shots import detect_shots

    src = make_clip(tmp_path / "in.ts", frames=60, audio=(), photos=("astronaut", "rocket"))
    shots = detect_shots(src)
    assert [(s.start_frame, s.start_time) for s in shots] == [(0, 0.0), (30, 1.2)]
    colorize_video(src, tmp_path / "shot2.mkv", model="tiny-random", progress=False, start=shots[1].start_time)
    with av.open(str(src)) as a, av.open(str(tmp_path / "shot2.mkv")) as b:
        cut = [f.to_ndarray(format="gray") for f in a.decode(video=0)][30]
        first = next(b.decode(video=0)).to_ndarray(format="gray")
    assert np.abs(first.astype(int) - cut).mean() < 2


def master(path: Path, sound_frames: int = 25) -> Path:
    """25 frames of picture and, with the first `sound_frames` of them, 48 kHz 24-bit PCM, as broadcast
    masters have."""
    with av.open(str(path), "w") as out:
        v, a = out.add_stream("libx264", rate=25), out.add_stream("pcm_s24le", rate=48000)
        v.width, v.height, v.pix_fmt, a.layout = 64, 48, "yuv420p", "stereo"
        for i in range(25):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 * i, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(v.encode(frame.reformat(format="yuv420p")))
            if i < sound_frames:
                sound = av.AudioFrame.from_ndarray(np.full((1, 2 * 1920), i << 16, np.int32), format="s32",
                                                   layout="stereo")
                sound.sample_rate, sound.pts = 48000, i * 1920
                out.mux(a.encode(sound))
        out.mux(v.encode(None))
        out.mux(a.encode(None))
    return path


def test_file_names_that_are_not_the_muxer_users_mean(tmp_path, caplog):
    """.m4v is Apple's MP4 (FFmpeg's m4v muxer holds a bare MPEG-4 stream and no sound: an internal error);
    .y4m holds pictures only (the sound is left out with a warning, also an internal error before); .mxf
    takes 48 kHz sound only (44.1 kHz AAC becomes 48 kHz PCM; 48 kHz PCM is copied as it is); .ogv holds
    no H.264, so its own encoder (VP8 here) takes over. Every frame comes out of each, at its time."""
    src = make_clip(tmp_path / "in.mp4", frames=25, audio=("aac",))
    colorize_video(src, tmp_path / "out.m4v", model="tiny-random", progress=False)
    with av.open(str(tmp_path / "out.m4v")) as c, av.open(str(src)) as s:
        assert c.format.name.startswith("mov,mp4")
        assert [bytes(p) for p in c.demux(audio=0) if p.size] == [bytes(p) for p in s.demux(audio=0) if p.size]
    report = colorize_video(src, tmp_path / "out.y4m", model="tiny-random", progress=False)
    assert "audio stream #1 (aac) dropped: the yuv4mpegpipe container cannot hold it" in caplog.text
    assert report.frames_out == 25 and len(av.open(str(tmp_path / "out.y4m")).streams.audio) == 0
    for ext in ("mxf", "mpg"):  # H.264 read back from these without its frames' times: MPEG-2, their own
        report = colorize_video(src, tmp_path / f"out.{ext}", model="tiny-random", progress=False)
        assert report.warnings == [f"video coded with mpeg2video: H.264 in .{ext} files reads back without its "
                                   "frames' times"]
        times = video_times(tmp_path / f"out.{ext}")
        assert len(times) == 25 and np.allclose(np.diff(times), 0.04, atol=0.001)
    with av.open(str(tmp_path / "out.mxf")) as c:
        assert [(s.codec_context.name, s.codec_context.sample_rate) for s in c.streams.audio] == [("pcm_s16le", 48000)]
    pcm48 = master(tmp_path / "master.mov")
    caplog.clear()
    colorize_video(pcm48, tmp_path / "copied.mxf", model="tiny-random", progress=False)
    assert "re-encoded" not in caplog.text
    with av.open(str(tmp_path / "copied.mxf")) as c, av.open(str(pcm48)) as s:
        assert b"".join(bytes(p) for p in c.demux(audio=0)) == b"".join(bytes(p) for p in s.demux(audio=0))
    report = colorize_video(src, tmp_path / "out.ogv", model="tiny-random", progress=False)
    assert report.warnings == ["video coded with libvpx: the .ogv container cannot hold libx264"]
    with av.open(str(tmp_path / "out.ogv")) as c:
        assert c.streams.video[0].codec_context.name == "vp8"
    assert np.allclose(video_times(tmp_path / "out.ogv"), np.arange(25) / 25, atol=0.001)  # the first was late


def test_a_range_past_the_sound_into_mxf_is_refused_by_name(tmp_path):
    """MXF cannot finish a file with a track that holds nothing: a range past the end of a film's sound (a
    truncated MXF, from the fuzz) failed at its trailer with FFmpeg's 'unknown error', an internal error.
    Now a clean error says why and what to do; the range goes to .mov as it is, and the whole film to MXF."""
    src = master(tmp_path / "short_sound.mov", sound_frames=10)  # 1 s of picture, 0.4 s of sound
    with pytest.raises(OutputError, match="MXF cannot finish a track that holds nothing, and audio track 1 got no "
                                          "packet .*: write to .mov or .mkv, or choose a range with sound"):
        colorize_video(src, tmp_path / "range.mxf", model="tiny-random", progress=False, start=0.6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short_sound.mov"]
    report = colorize_video(src, tmp_path / "range.mov", model="tiny-random", progress=False, start=0.6)
    assert report.frames_out == 10
    report = colorize_video(src, tmp_path / "whole.mxf", model="tiny-random", progress=False)
    with av.open(str(tmp_path / "whole.mxf")) as c:
        assert report.frames_out == 25 and sum(p.size for p in c.demux(audio=0)) == 10 * 1920 * 2 * 3


@pytest.mark.parametrize("codec, ext, can", [("libvpx-vp9", "mov", ".mkv, .mp4, .avi, .webm"),
                                             ("v210", "mxf", ".mov, .avi"), ("prores_ks", "ts", ".mov, .mkv, .mxf")])
def test_a_codec_the_container_does_not_hold_is_refused_before_the_model_loads(tmp_path, codec, ext, can):
    """Muxers that list a codec and then refuse it in their header (VP9 in mov, a codec MXF has no label for)
    refused every packet after it: an empty file was reported as written, the sound counted as damaged
    packets (mov), or an internal error (MXF). MPEG-TS writes ProRes as data, which no player (nor FFmpeg)
    read as a picture. Each is now refused before any work, naming containers that hold it."""
    src = make_clip(tmp_path / "in.mp4", frames=5)
    with pytest.raises(OutputError, match=rf"the \.{ext} container cannot hold {codec} video \({can} can\)"):
        colorize_video(src, tmp_path / f"out.{ext}", model="no-such-model", progress=False,
                       encode=EncodeOptions(codec=codec))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_a_header_the_muxer_refuses_is_refused_by_name(tmp_path, monkeypatch):
    """Where the container's probe cannot tell (an encoder that does not open on its picture but does on the
    film's), the muxer's refusal of the header is an OutputError naming the streams, and no file
    is left. The probe is made to answer "holds" here; MJPEG into MXF is refused in the header."""
    monkeypatch.setattr(containers, "_holds_video", lambda fmt, codec: True)
    src = make_clip(tmp_path / "in.mp4", frames=5)
    with pytest.raises(OutputError, match="the mxf container cannot start a file of mjpeg video and pcm_s16le audio"):
        colorize_video(src, tmp_path / "out.mxf", model="tiny-random", progress=False,
                       encode=EncodeOptions(codec="mjpeg"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


@pytest.mark.parametrize("codec, ext", [("mpeg4", "avi"), ("mpeg2video", "mpg"), ("mjpeg", "mov")])
def test_crf_sets_the_quantizer_of_mpeg_and_mjpeg_encoders(tmp_path, codec, ext):
    """FFmpeg's MPEG-1/2/4 and MJPEG encoders took no quality at all and coded everything at 200 kb/s (a
    1080p film came out blocky); --crf now fixes their quantizer: the default gives near-lossless luma,
    a higher crf a smaller file."""
    src = make_clip(tmp_path / "in.mp4", width=320, height=240, frames=25, photos=("astronaut", "coffee"),
                    audio=())
    sizes = {}
    for crf in (18, 30):
        dst = tmp_path / f"crf{crf}.{ext}"
        colorize_video(src, dst, model="tiny-random", progress=False, encode=EncodeOptions(codec, crf))
        sizes[crf] = dst.stat().st_size
    assert sizes[18] > 1.5 * sizes[30]
    if codec == "mjpeg":  # full range: its luma codes are the source's rescaled, not comparable code for code
        return

    def luma(path: Path) -> np.ndarray:
        with av.open(str(path)) as c:
            return np.stack([f.to_ndarray()[:240] for f in c.decode(video=0)]).astype(float)

    assert 10 * np.log10(255 ** 2 / np.mean((luma(src) - luma(tmp_path / f"crf18.{ext}")) ** 2)) > 42


@pytest.mark.parametrize("variable", [False, True])
def test_mpeg4_takes_a_broadcast_films_clock(tmp_path, variable):
    """MPEG-TS counts 90,000 ticks a second, MPEG-4 part 2 at most 65,535: `--codec mpeg4` refused every
    MPEG-TS film (found by bench/combinations.py, seed 46). Its frames are now coded at 1/45000, each at its
    own time, a variable rate's too."""
    kw = dict(pts=[0, 3, 4, 7, 8, 10, 13, 14], time_base=Fraction(1, 72)) if variable else {}
    src = make_clip(tmp_path / "in.ts", frames=8, rate=24, **kw)

    def times(path: Path) -> list[float]:
        with av.open(str(path)) as c:
            video = c.streams.video[0]
            return [float(f.time - video.start_time * video.time_base) for f in c.decode(video=0)]

    for out in (tmp_path / "out.mp4", tmp_path / "out.ts"):
        colorize_video(src, out, model="tiny-random", progress=False, encode=EncodeOptions("mpeg4"))
        assert np.allclose(times(out), times(src), atol=1e-3)
    # a constant rate's period stays a whole number of ticks; other encoders and coarser clocks are left alone
    from vidcolor.media.codecs import coded_time_base

    assert coded_time_base("mpeg4", Fraction(1, 90000), Fraction(30000, 1001)) == Fraction(1, 30000)
    assert coded_time_base("libx264", Fraction(1, 90000), Fraction(25)) == Fraction(1, 90000)
    assert coded_time_base("mpeg4", Fraction(1, 1000), Fraction(25)) == Fraction(1, 1000)


def test_options_an_encoder_ignores_are_named(tmp_path):
    """--crf means nothing to FFV1 (lossless), --preset nothing to ProRes: a warning says so, where the
    option vanished before; the encoders that take them stay silent."""
    src = make_clip(tmp_path / "in.mp4", frames=5, audio=())
    report = colorize_video(src, tmp_path / "a.mkv", model="tiny-random", progress=False,
                            encode=EncodeOptions("ffv1", crf=30))
    assert report.warnings == ["--crf has no effect on the ffv1 encoder"]
    report = colorize_video(src, tmp_path / "b.mkv", model="tiny-random", progress=False,
                            encode=EncodeOptions("prores_ks", preset="slow"))
    assert "--preset has no effect on the prores_ks encoder" in report.warnings
    report = colorize_video(src, tmp_path / "c.mp4", model="tiny-random", progress=False,
                            encode=EncodeOptions(crf=30, preset="slow"))
    assert report.warnings == []


@pytest.mark.parametrize("name, reason", [
    ("film.m3u8", "hls writes a playlist and many segment files"), ("film.mpd", "dash writes a playlist"),
    ("film.mp3", "the mp3 container holds sound only"), ("film.wav", "the wav container holds sound only"),
    ("film.png", r"holds one picture; for every frame name a sequence \(film_%06d.png\)"),
    ("film.jpg", r"name a sequence \(film_%06d.png\)")])
def test_outputs_that_cannot_hold_a_film_are_refused_before_anything_is_written(tmp_path, name, reason):
    """HLS and DASH left hidden segment files named after the temporary file, and a playlist pointing at
    them; .mp3 took every frame as a cover picture; .png and .jpg were internal errors."""
    src = make_clip(tmp_path / "in.mp4", frames=5, audio=("aac",))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(OutputError, match=reason):
        colorize_video(src, out / name, model="tiny-random", progress=False)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("codec, ext", [("libx264", "webm"), ("libsvtav1", "mkv")])  # webm: VP9 for the default
def test_presets_reach_vp9_and_av1(tmp_path, codec, ext):
    """x264's preset names set libvpx's speed and SVT-AV1's preset (they were ignored): slower presets make
    smaller files at the same crf; a name neither knows is a usage error."""
    src = make_clip(tmp_path / "in.mp4", width=160, height=96, frames=12, photos=("astronaut", "coffee"), audio=())
    sizes = {}
    for preset in ("ultrafast", "slow"):
        report = colorize_video(src, tmp_path / f"{preset}.{ext}", model="tiny-random", progress=False,
                                encode=EncodeOptions(codec, preset=preset))
        assert not any("--preset" in w for w in report.warnings)
        sizes[preset] = (tmp_path / f"{preset}.{ext}").stat().st_size
    assert sizes["slow"] < sizes["ultrafast"]
    with pytest.raises(UsageError, match="unknown --preset 'fastest'"):
        colorize_video(src, tmp_path / f"x.{ext}", model="tiny-random", progress=False,
                       encode=EncodeOptions(codec, preset="fastest"))
    with pytest.raises(UsageError, match="--crf -1: use 0 .lossless. to 63"):  # the API had passed it on
        EncodeOptions(codec, crf=-1)


@pytest.mark.parametrize("ext", ["mp4", "mov"])
def test_h265_in_mp4_and_mov_plays_on_apple_devices(tmp_path, ext):
    """FFmpeg tags H.265 in mp4 and mov 'hev1', which QuickTime, iOS and Final Cut refuse to play; 'hvc1'
    (parameter sets in the header, where FFmpeg puts them) is what they take."""
    src = make_clip(tmp_path / "in.mp4", frames=8, audio=())
    colorize_video(src, tmp_path / f"out.{ext}", model="tiny-random", progress=False, encode=EncodeOptions("libx265"))
    with av.open(str(tmp_path / f"out.{ext}")) as c:
        assert c.streams.video[0].codec_tag == "hvc1" and sum(1 for _ in c.decode(video=0)) == 8
