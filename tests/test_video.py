"""The film pipeline on generated media: frames, timing, sound, metadata and exact luminance."""
from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from fractions import Fraction

import av
import numpy as np
import pytest
import torch
from av.sidedata.sidedata import Type as SideDataType
from conftest import decode_planes, gray_rgb, packets, photo

from vidcolor import __version__, colorize_video
from vidcolor.cli import run
from vidcolor.errors import OutputError, UsageError
from vidcolor.media import codecs
from vidcolor.media.codecs import EncodeOptions
from vidcolor.pipeline import default_batch_size

LOSSLESS = EncodeOptions(crf=0)  # x264 lossless: what we hand the encoder is what we read back


def luma_planes(path) -> list[np.ndarray]:
    out = []
    for f in decode_planes(path):
        p = f.planes[0]
        dtype = np.uint16 if f.format.components[0].bits > 8 else np.uint8
        a = np.frombuffer(p, dtype).reshape(-1, p.line_size // np.dtype(dtype).itemsize)[: f.height, : f.width]
        out.append(a.copy())
    return out


def chroma_spread(path) -> float:
    """Mean |Cb - 128| + |Cr - 128| over the output (0 for a gray film)."""
    vals = []
    for f in decode_planes(path):
        rgb = f.to_ndarray(format="rgb24").astype(np.float32)
        vals.append(np.abs(rgb - rgb.mean(axis=2, keepdims=True)).mean())
    return float(np.mean(vals))


def assert_same_timing(src, dst) -> None:
    a, b = decode_planes(src), decode_planes(dst)
    assert len(a) == len(b)
    assert [float(f.pts * f.time_base) for f in a] == pytest.approx([float(f.pts * f.time_base) for f in b],
                                                                    abs=1e-3)
    assert (a[0].width, a[0].height) == (b[0].width, b[0].height)


def test_mp4_h264_aac_keeps_frames_audio_and_luma(clip, tmp_path):
    src = clip("film.mp4", frames=20, audio=("aac",), metadata={"title": "A test film"})
    dst = tmp_path / "out.mp4"
    report = colorize_video(src, dst, model="tiny-random", encode=LOSSLESS, progress=False)
    assert report.frames_in == report.frames_out == 20
    assert_same_timing(src, dst)
    assert all(np.array_equal(x, y) for x, y in zip(luma_planes(src), luma_planes(dst), strict=True))
    assert packets(src) == packets(dst)  # copied packet for packet
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        assert b.metadata.get("title") == "A test film"
        assert b.streams.video[0].metadata["encoder"] == f"vidcolor {__version__} libx264"  # a derivative
        assert abs(float(a.duration - b.duration)) / av.time_base < 0.05
        assert b.streams.audio[0].language == "eng"
    assert chroma_spread(dst) > 1.0  # the gray film got color


def test_a_phones_tags_named_in_reverse_dns_are_kept(clip, tmp_path):
    """A phone's or an editing system's tags (com.apple.quicktime.make, .creationdate) are 'mdta' keys, which
    mov and mp4 write only when asked: they had been dropped, and a date before 1970, then kept only in the
    header, read back 66 years late (FFmpeg takes a header's time under 2^31 s as counted from 1970). The
    source's brands are its own, not the output's. A film without such tags keeps the classic title atom."""
    tags = {"title": "Picnic", "artist": "Grandpa", "creation_time": "1962-07-04T12:00:00.000000Z",
            "com.apple.quicktime.make": "Kodak", "com.apple.quicktime.creationdate": "1962-07-04T12:00:00+0200"}
    src = clip("phone.mov", frames=5, audio=(), metadata=tags, options={"movflags": "use_metadata_tags"})
    for ext, brand in (("mov", "qt  "), ("mp4", "isom"), ("mkv", None)):
        dst = tmp_path / f"out.{ext}"
        colorize_video(src, dst, model="tiny-random", progress=False)
        with av.open(str(dst)) as c:
            kept = {k.lower(): v for k, v in c.metadata.items()}
        assert {k: kept.get(k) for k in tags} == tags
        assert kept.get("major_brand") == brand
    plain = clip("plain.mov", frames=5, audio=(), metadata={"title": "Picnic"})
    colorize_video(plain, tmp_path / "plain_out.mov", model="tiny-random", progress=False)
    written = (tmp_path / "plain_out.mov").read_bytes()
    assert b"\xa9nam" in written and b"mdta" not in written


def test_tags_the_output_cannot_hold_are_named(clip, tmp_path):
    """Each muxer holds its own set of tags and left the others out without a word: a Matroska master's
    date of recording has no place in mp4, nor its description in mov. The old file's writing program
    (AVI's 'software') is not the film's."""
    src = clip("master.mkv", frames=5, audio=(), metadata={"title": "Picnic", "DATE_RECORDED": "1962-07-04",
                                                           "DESCRIPTION": "reel 3"})
    for ext, dropped in (("mkv", None), ("mp4", "DATE_RECORDED"), ("mov", "DATE_RECORDED, DESCRIPTION")):
        report = colorize_video(src, tmp_path / f"out.{ext}", model="tiny-random", progress=False)
        assert report.warnings == ([f"tags {dropped} not kept: the {ext} container cannot hold them (.mkv keeps "
                                    "every tag)"] if dropped else [])
        with av.open(str(tmp_path / f"out.{ext}")) as c:
            assert c.metadata["title"] == "Picnic"
    # MPEG-TS holds the title as its service's name, which FFmpeg reads back as a program's tag
    report = colorize_video(src, tmp_path / "out.ts", model="tiny-random", progress=False)
    assert report.warnings == ["tags DATE_RECORDED, DESCRIPTION not kept: the mpegts container cannot hold them "
                               "(.mkv keeps every tag)"]
    assert b"Picnic" in (tmp_path / "out.ts").read_bytes()
    avi = clip("old.avi", frames=5, audio=(), metadata={"title": "Picnic"})
    assert colorize_video(avi, tmp_path / "from_avi.mp4", model="tiny-random", progress=False).warnings == []
    # mp4 reads a place back twice, the second with its language (location-eng): named once
    mp4 = clip("phone.mp4", frames=5, audio=(), metadata={"title": "Picnic", "location": "+48.8577+002.2950/"})
    assert colorize_video(mp4, tmp_path / "to.avi", model="tiny-random", progress=False).warnings == [
        "tags location not kept: the avi container cannot hold them (.mkv keeps every tag)"]


def test_track_titles_are_the_names_players_show(clip, tmp_path):
    """A master's sound tracks are named (the original, a commentary). mov and mp4 hold a track's name as
    its handler's, which players show; FFmpeg writes the title tag nowhere there, and both tracks were
    "SoundHandler". Back from them, FFmpeg reads the name as a 'name' tag, which Matroska kept as a plain tag
    (no track name) and mov and mp4 did not write again; a mov track's vendor came along as a tag."""
    titles = ("Original mono", "Director's commentary")
    src = clip("master.mkv", frames=5, audio=("aac", "aac"), track_titles=titles)
    for ext, tag in (("mkv", "title"), ("mp4", "handler_name"), ("mov", "handler_name")):
        colorize_video(src, tmp_path / f"out.{ext}", model="tiny-random", progress=False)
        with av.open(str(tmp_path / f"out.{ext}")) as c:
            assert tuple(s.metadata.get(tag) for s in c.streams.audio) == titles
    for ext, again in (("mp4", "mkv"), ("mov", "mkv"), ("mov", "mp4")):
        colorize_video(tmp_path / f"out.{ext}", tmp_path / f"again.{again}", model="tiny-random", progress=False,
                       overwrite=True)
        with av.open(str(tmp_path / f"again.{again}")) as c:
            assert tuple(s.metadata.get("title" if again == "mkv" else "name") for s in c.streams.audio) == titles
            keys = {key.lower() for s in c.streams for key in s.metadata}
            assert "vendor_id" not in keys and (again == "mp4" or "name" not in keys)


def test_mkv_two_audio_tracks_and_subtitles(clip, tmp_path):
    src = clip("film.mkv", audio=("flac", "opus"), subtitles=True)
    dst = tmp_path / "out.mkv"
    colorize_video(src, dst, model="tiny-random", progress=False)
    assert packets(src) == packets(dst)
    assert packets(src, "subtitle") == packets(dst, "subtitle") == [[b"Hello from the subtitles"]]
    with av.open(str(dst)) as b:
        assert [s.language for s in b.streams.audio] == ["eng", "fra"]
        assert b.streams.video[0].metadata["ENCODER"].startswith("vidcolor ")
    assert_same_timing(src, dst)


def test_srt_subtitles_into_mp4_become_timed_text_and_back(clip, tmp_path):
    src = clip("film.mkv", subtitles=True)
    mp4, mkv = tmp_path / "out.mp4", tmp_path / "back.mkv"
    colorize_video(src, mp4, model="tiny-random", progress=False)
    with av.open(str(mp4)) as b:
        sub = b.streams.subtitles[0]
        assert sub.codec_context.name == "mov_text" and sub.language == "eng"
    assert b"\x00\x18Hello from the subtitles" in packets(mp4, "subtitle")[0]
    colorize_video(mp4, mkv, model="tiny-random", progress=False)
    assert b"Hello from the subtitles" in packets(mkv, "subtitle")[0]


def test_mov_pcm_odd_size_keeps_size_and_luma(clip, tmp_path):
    src = clip("film.mov", width=321, height=241, pix_fmt="yuv444p", audio=("pcm_s16le",))
    dst = tmp_path / "out.mov"
    colorize_video(src, dst, model="tiny-random", encode=LOSSLESS, progress=False)
    assert_same_timing(src, dst)
    assert all(np.array_equal(x, y) for x, y in zip(luma_planes(src), luma_planes(dst), strict=True))
    assert packets(src) == packets(dst)


def test_frames_twice_the_work_side_are_analysed_from_2x2_means(clip, tmp_path):
    """640x360: the network's 128-px input comes from the half-size luma means (the HD path)."""
    src = clip("film.mp4", width=640, height=360, frames=6, audio=())
    dst = tmp_path / "out.mp4"
    report = colorize_video(src, dst, model="tiny-random", encode=LOSSLESS, progress=False)
    assert report.frames_out == 6
    assert all(np.array_equal(x, y) for x, y in zip(luma_planes(src), luma_planes(dst), strict=True))
    assert chroma_spread(dst) > 1.0


def test_odd_size_yuv420_input_becomes_444_same_size(clip, tmp_path):
    src = clip("film.mkv", width=322, height=242, audio=())
    even = tmp_path / "even.mkv"
    colorize_video(src, even, model="tiny-random", progress=False)
    assert decode_planes(even)[0].format.name == "yuv420p"  # even sizes keep 4:2:0


def test_audio_mp4_cannot_hold_is_transcoded_with_warning(clip, tmp_path, caplog):
    src = clip("film.mov", audio=("pcm_mulaw",))
    dst = tmp_path / "out.mp4"
    colorize_video(src, dst, model="tiny-random", progress=False)
    assert "re-encoded to aac" in caplog.text
    with av.open(str(dst)) as b:
        assert b.streams.audio[0].codec_context.name == "aac"
        assert abs(b.duration / av.time_base - 12 / 25) < 0.1


def test_mpeg_ts_takes_aac_as_it_is(clip, tmp_path):
    """MPEG-TS lists only MP2 as its codec, yet takes AAC: the AAC of an mp4 goes into a .ts packet for
    packet, with no warning (the muxer puts a 7-byte ADTS header before each)."""
    src, dst = clip("film.mp4"), tmp_path / "out.ts"
    report = colorize_video(src, dst, model="tiny-random", progress=False)
    assert report.warnings == []
    with av.open(str(dst)) as c:
        assert [s.codec_context.name for s in c.streams] == ["h264", "aac"]
    assert [p[7:] for p in packets(dst)[0]] == packets(src)[0]


def test_mpeg2_video_counts_time_in_frames(clip, tmp_path):
    """MPEG-2 (DVD authoring) refuses a time base other than one frame: frames are retimed to it, one out
    for one in, 1/25 s apart."""
    src, dst = clip("film.mp4", audio=()), tmp_path / "dvd.mpg"
    colorize_video(src, dst, model="tiny-random", encode=EncodeOptions(codec="mpeg2video"), progress=False)
    times = [float(f.pts * f.time_base) for f in decode_planes(dst)]
    assert len(times) == 12 and np.allclose(np.diff(times), 1 / 25)


def test_no_audio(clip, tmp_path):
    src = clip("silent.mp4", audio=())
    dst = tmp_path / "out.mp4"
    report = colorize_video(src, dst, model="tiny-random", progress=False)
    assert report.frames_out == 12
    with av.open(str(dst)) as b:
        assert not b.streams.audio


def test_variable_frame_rate_keeps_every_pts(clip, tmp_path):
    pts = [0, 40, 80, 200, 240, 400, 410, 420, 500, 600, 640, 700]
    src = clip("vfr.mkv", pts=pts, time_base=Fraction(1, 1000), audio=())
    dst = tmp_path / "out.mkv"
    colorize_video(src, dst, model="tiny-random", progress=False)
    assert [int(f.pts * f.time_base * 1000) for f in decode_planes(dst)] == pts


@pytest.mark.parametrize("src_name, dst_name", [("film.mp4", "out.mkv"), ("film.mkv", "out.mov")])
def test_timestamps_survive_a_change_of_time_base(clip, tmp_path, src_name, dst_name):
    """mp4 counts in 1/12800 s and mkv in ms; the muxer sets its time base when it writes its header, after
    the encoder has taken its first frames. Every frame keeps its time (to the container's precision)."""
    src, dst = clip(src_name, frames=60, audio=()), tmp_path / dst_name
    report = colorize_video(src, dst, model="tiny-random", progress=False)
    assert report.warnings == []
    ms = [[round(1000 * f.pts * f.time_base) for f in decode_planes(p)] for p in (src, dst)]
    assert ms[0] == ms[1] == [40 * i for i in range(60)]


def test_rotation_metadata_is_kept(clip, tmp_path):
    src = clip("rot.mp4", rotation=90, audio=())
    dst = tmp_path / "out.mp4"
    colorize_video(src, dst, model="tiny-random", encode=LOSSLESS, progress=False)
    assert decode_planes(dst)[0].rotation == decode_planes(src)[0].rotation == 90
    assert all(np.array_equal(x, y) for x, y in zip(luma_planes(src), luma_planes(dst), strict=True))


def _timecodes(path) -> dict[str, str]:
    """Timecode tags by stream type (mov/mp4: the video stream and its timecode track; mkv: TIMECODE)."""
    with av.open(str(path)) as c:
        return {s.type: v for s in c.streams for k, v in s.metadata.items() if k.lower() == "timecode"}


def test_timecode_is_kept_and_moved_to_a_range_start(clip, tmp_path):
    """Editors conform by timecode: the source's stays on the output, and a range starts at its own."""
    src = clip("film.mov", frames=40, audio=(), metadata={"timecode": "01:00:00:00"})
    assert _timecodes(src) == {"video": "01:00:00:00", "data": "01:00:00:00"}
    colorize_video(src, tmp_path / "whole.mov", model="tiny-random", progress=False)
    assert _timecodes(tmp_path / "whole.mov") == {"video": "01:00:00:00", "data": "01:00:00:00"}
    colorize_video(src, tmp_path / "range.mkv", model="tiny-random", progress=False, start="f30")
    assert _timecodes(tmp_path / "range.mkv") == {"video": "01:00:01:05"}  # 30 frames at 25 fps
    colorize_video(tmp_path / "range.mkv", tmp_path / "again.mp4", model="tiny-random", progress=False,
                   start="f5")  # from Matroska's TIMECODE tag, into an mp4 timecode track
    assert _timecodes(tmp_path / "again.mp4") == {"video": "01:00:01:10", "data": "01:00:01:10"}


def test_a_range_given_in_the_films_timecode_starts_at_the_frame_with_that_label(clip, tmp_path, capsys):
    """An editor's list of shots gives the source's timecode: 01:00:01:05 of a film that starts at 01:00:00:00
    is its frame 30 at 25 fps; a drop-frame film's labels skip two a minute (00:00:59;29, then 00:01:00;02)."""
    src = clip("film.mov", frames=40, audio=(), metadata={"timecode": "01:00:00:00"})
    dst = tmp_path / "shot.mkv"
    colorize_video(src, dst, model="tiny-random", progress=False, start="01:00:01:05", end="01:00:01:10",
                   encode=EncodeOptions(crf=0))
    assert [y.tobytes() for y in luma_planes(dst)] == [y.tobytes() for y in luma_planes(src)[30:35]]
    assert _timecodes(dst) == {"video": "01:00:01:05"}
    colorize_video(src, tmp_path / "length.mkv", model="tiny-random", progress=False, start="01:00:01:05",
                   duration="00:00:00:05", encode=EncodeOptions(crf=0))  # a length in timecode: 5 frames
    assert [y.tobytes() for y in luma_planes(tmp_path / "length.mkv")] == [y.tobytes() for y in luma_planes(dst)]
    assert run(["preview", str(src), "-o", str(tmp_path / "s.png"), "--at", "01:00:01:05", "--json", "--model",
                "tiny-random"]) == 0
    assert json.loads(capsys.readouterr().out)["times"] == ["00:00:01.200"]
    with pytest.raises(UsageError, match="before the film's first frame, whose timecode is 01:00:00:00"):
        colorize_video(src, tmp_path / "x.mkv", model="tiny-random", progress=False, start="00:59:59:00")
    ntsc = clip("ntsc.mov", frames=6, rate=Fraction(30000, 1001), audio=(), metadata={"timecode": "00:00:59;28"})
    colorize_video(ntsc, tmp_path / "df.mkv", model="tiny-random", progress=False, start="00:01:00:02",
                   encode=EncodeOptions(crf=0))  # typed with ':', counted drop-frame as the film's
    assert [y.tobytes() for y in luma_planes(tmp_path / "df.mkv")] == [y.tobytes() for y in luma_planes(ntsc)[2:]]


def _interlaced_clip(path, field_order: str) -> None:
    """A gray clip coded as fields by x264, as DV and broadcast transfers are (combing in every frame)."""
    rows = np.arange(96)[:, None, None]
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25, options={"crf": "10", "flags": "+ilme+ildct",
                                                        "x264-params": f"{field_order}=1"})
        v.width, v.height, v.pix_fmt = 128, 96, "yuv420p"
        for i in range(12):
            # the two fields of a frame are 1/50 s apart: a bar moving between them combs
            x = np.arange(128)[None, :, None] + 6 * i + 3 * (rows % 2)
            f = av.VideoFrame.from_ndarray(np.broadcast_to((x % 64 < 32) * 200 + 30, (96, 128, 3)).astype(np.uint8),
                                           format="rgb24")
            f.pts = i
            out.mux(v.encode(f))
        out.mux(v.encode(None))


@pytest.mark.parametrize("field_order, code", [("tff", 2), ("bff", 3)])
def test_interlaced_video_stays_interlaced(tmp_path, field_order, code):
    """Fields stay fields, flagged in the same order: else players show the combing instead of
    deinterlacing. Luminance stays exact (lossless)."""
    src, dst = tmp_path / "dv.mp4", tmp_path / "out.mkv"
    _interlaced_clip(src, field_order)
    colorize_video(src, dst, model="tiny-random", encode=LOSSLESS, progress=False)
    for path in (src, dst):
        with av.open(str(path)) as c:
            assert c.streams.video[0].codec_context.field_order == code
            assert all(f.interlaced_frame for f in c.decode(video=0))
    assert all(np.array_equal(x, y) for x, y in zip(luma_planes(src), luma_planes(dst), strict=True))


def test_a_second_video_stream_is_dropped_with_a_warning(tmp_path):
    src, dst = tmp_path / "two.mkv", tmp_path / "out.mkv"
    with av.open(str(src), "w") as out:
        streams = [out.add_stream("libx264", rate=25) for _ in range(2)]
        for v, width in zip(streams, (64, 32)):
            v.width, v.height, v.pix_fmt = width, 48, "yuv420p"
        for i in range(8):
            for v in streams:
                f = av.VideoFrame.from_ndarray(np.full((48, v.width, 3), 20 * i, np.uint8), format="rgb24")
                f.pts = i
                out.mux(v.encode(f))
        for v in streams:
            out.mux(v.encode(None))
    report = colorize_video(src, dst, model="tiny-random", progress=False)
    with av.open(str(dst)) as c:
        assert [(s.type, s.width) for s in c.streams] == [("video", 64)]
    assert [w for w in report.warnings if "dropped" in w] == [
        "video stream #1 dropped: only the first video stream, audio, subtitles and the timecode are kept"]


def _with_captions(picture: bytes, codec: str, cc: bytes) -> bytes:
    """A coded picture with ATSC A/53 caption data ("GA94" user data) before its first slice: an SEI
    message in H.264, a user-data unit in MPEG-2, as broadcast encoders write them."""
    user_data = b"GA94\x03" + bytes([0x40 | len(cc) // 3, 0xFF]) + cc + b"\xff"  # cc_data
    if codec == "mpeg2video":
        first_slice, unit = picture.find(b"\x00\x00\x01\x01"), b"\x00\x00\x01\xb2" + user_data
    else:
        first_slice = min(i for i in (picture.find(b"\x00\x00\x01" + bytes([t])) for t in (0x65, 0x41, 0x01, 0x21))
                          if i >= 0)  # IDR, P or B
        t35 = b"\xb5\x00\x31" + user_data  # ITU-T T.35: USA, ATSC
        unit = b"\x00\x00\x01\x06" + bytes([4, len(t35)]) + t35 + b"\x80"  # SEI: registered user data
    return picture[:first_slice] + unit + picture[first_slice:]


def _captioned_clip(path, codec: str, pix_fmt: str, frames: int = 20) -> None:
    """MPEG-TS whose pictures carry CEA-608 closed captions, two characters a frame; an I picture every 5."""
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=25, options={"g": "5", "bf": "2"})
        v.width, v.height, v.pix_fmt = 64, 48, pix_fmt
        for i in range(frames + 1):
            f = None
            if i < frames:
                f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (40 + 9 * i, 90, 140), np.uint8), format="rgb24")
                f = f.reformat(format=pix_fmt)
                f.pts = i
            for packet in v.encode(f):
                cc = bytes([0xFC, 0x80 | (0x41 + packet.pts % 26), 0x80 | (0x61 + packet.pts % 26)])  # field 1
                captioned = av.Packet(_with_captions(bytes(packet), codec, cc))
                captioned.pts, captioned.dts, captioned.time_base = packet.pts, packet.dts, packet.time_base
                captioned.stream = v
                out.mux(captioned)


def _captions(path) -> dict[float, bytes]:
    with av.open(str(path)) as c:
        return {float(f.pts * f.time_base): b"".join(bytes(s) for s in f.side_data if s.type == SideDataType.A53_CC)
                for f in c.decode(video=0)}


@pytest.mark.parametrize("codec, pix_fmt, suffix", [("libx264", "yuv420p", ".ts"), ("libx264", "yuv420p", ".mp4"),
                                                    ("mpeg2video", "yuv422p", ".mp4")])
def test_closed_captions_in_the_video_stream_are_kept(tmp_path, codec, pix_fmt, suffix):
    """Captions that ride in the H.264 pictures (broadcast recordings) reach the output's pictures: the
    decoded frame, side data and all, is what the encoder gets, with new chroma. The encoder still
    picks its own frame types: the input's I/P/B pattern is not forced on it (all-intra input such as
    DV would otherwise come out all-intra, several times larger). MPEG-2 4:2:2 (XDCAM-like) is converted
    to 4:2:0 on the way, and the captions go with the converted frame."""
    src, dst = tmp_path / "broadcast.ts", tmp_path / f"out{suffix}"
    _captioned_clip(src, codec, pix_fmt)
    before = _captions(src)
    assert len(before) == 20 and all(len(cc) == 3 for cc in before.values())  # the clip is what we meant
    colorize_video(src, dst, model="tiny-random", progress=False)
    assert _captions(dst) == before
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        keys_in, keys_out = (sum(p.is_keyframe for p in c.demux(video=0)) for c in (a, b))
    assert keys_in >= 4 and keys_out == 1  # x264's own choice: one I picture for 20 frames of one scene


def test_sample_aspect_ratio_is_kept(clip, tmp_path):
    src = clip("anamorphic.mp4", width=96, height=64, sar=Fraction(4, 3), audio=())
    dst = tmp_path / "out.mp4"
    colorize_video(src, dst, model="tiny-random", progress=False)
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        assert a.streams.video[0].sample_aspect_ratio == Fraction(4, 3)
        assert b.streams.video[0].sample_aspect_ratio == Fraction(4, 3)


@pytest.mark.parametrize("pix_fmt", ["yuvj420p", "yuv420p10le"])
def test_full_range_and_10_bit_luma_is_exact(clip, tmp_path, pix_fmt):
    src = clip("deep.mkv", pix_fmt=pix_fmt, audio=(), color_range=2 if pix_fmt.startswith("yuvj") else None)
    dst = tmp_path / "out.mkv"
    colorize_video(src, dst, model="tiny-random", encode=LOSSLESS, progress=False)
    out = decode_planes(dst)
    assert out[0].format.name == pix_fmt
    assert all(np.array_equal(x, y) for x, y in zip(luma_planes(src), luma_planes(dst), strict=True))


def test_gray_scans_keep_their_luminance(clip, tmp_path):
    """Gray video (FFV1 film scans) is full range: 8-bit gray is written as full-range 4:2:0 with every
    code kept (limited range squeezed 0-255 into 16-235); 16-bit becomes 10-bit full range, with a warning."""
    src = clip("scan.mkv", codec="ffv1", pix_fmt="gray", audio=())
    dst = tmp_path / "out.mkv"
    report = colorize_video(src, dst, model="tiny-random", encode=LOSSLESS, progress=False)
    assert report.warnings == []
    out = decode_planes(dst)
    assert out[0].format.name == "yuvj420p"
    assert all(np.array_equal(x, y) for x, y in zip(luma_planes(src), luma_planes(dst), strict=True))
    assert np.abs(out[0].to_ndarray(format="yuvj444p")[1:].astype(int) - 128).mean() > 1  # not gray

    src16 = clip("scan16.mkv", codec="ffv1", pix_fmt="gray16le", audio=())
    report = colorize_video(src16, dst, model="tiny-random", encode=LOSSLESS, progress=False, overwrite=True)
    assert report.warnings == ["video stored as yuv420p10le: vidcolor writes at most 10 bits; luminance rescaled "
                               "from 16 bits, no longer bit-identical"]
    assert decode_planes(dst)[0].color_range == 2
    for y_in, y_out in zip(luma_planes(src16), luma_planes(dst), strict=True):
        assert np.abs(y_in / 65535 * 1023 - y_out).max() <= 1


def test_transparent_pixels_are_said_once_from_when(tmp_path):
    """A film with an alpha channel (FFV1 with alpha, as ProRes 4444 and GIF carry one): the output keeps none,
    which one warning says from the first picture with a transparent pixel; its luminance is the film's.
    An alpha channel that is opaque all through, as most GIFs' is, is no news."""
    gray = gray_rgb(photo("astronaut", 96, 64))
    for name, first_clear in (("clear.mkv", 6), ("opaque.mkv", None)):
        with av.open(str(tmp_path / name), "w") as out:
            v = out.add_stream("ffv1", rate=25)
            v.width, v.height, v.pix_fmt = 96, 64, "yuva420p"
            for i in range(12):
                alpha = np.full((64, 96, 1), 255, np.uint8)
                if first_clear is not None and i >= first_clear:
                    alpha[:16, :16] = 0  # a title's transparent corner
                frame = av.VideoFrame.from_ndarray(np.concatenate([gray, alpha], 2), format="rgba")
                frame = frame.reformat(format="yuva420p")
                frame.pts = i
                out.mux(v.encode(frame))
            out.mux(v.encode(None))
    report = colorize_video(tmp_path / "clear.mkv", tmp_path / "out.mkv", model="tiny-random", encode=LOSSLESS,
                            progress=False)
    assert report.warnings == ["the picture has transparent pixels from 0.24 s: the output keeps no alpha channel, "
                               "so they are written opaque, showing the picture stored under them"]
    assert decode_planes(tmp_path / "out.mkv")[0].format.name == "yuv420p"
    assert all(np.array_equal(x, y) for x, y in zip(luma_planes(tmp_path / "clear.mkv"),
                                                    luma_planes(tmp_path / "out.mkv"), strict=True))
    report = colorize_video(tmp_path / "opaque.mkv", tmp_path / "opaque_out.mkv", model="tiny-random",
                            encode=LOSSLESS, progress=False)
    assert report.warnings == []


def test_prores_master_stays_422_10_bit_and_gets_color(clip, tmp_path):
    """A ProRes 4:2:2 10-bit master colorized back into ProRes: ProRes takes no 4:2:0, so the planes are
    written at 4:2:2 (the film's own format, no warning). Luminance survives ProRes's small loss."""
    src = clip("master.mov", codec="prores_ks", pix_fmt="yuv422p10le", width=128, height=96, audio=("pcm_s16le",))
    dst = tmp_path / "out.mov"
    report = colorize_video(src, dst, model="tiny-random", encode=EncodeOptions(codec="prores_ks"), progress=False)
    assert report.warnings == []
    out = decode_planes(dst)
    assert [f.format.name for f in out] == ["yuv422p10le"] * 12
    for y_in, y_out in zip(luma_planes(src), luma_planes(dst), strict=True):
        assert np.abs(y_in.astype(int) - y_out).mean() < 4  # of 1023: ProRes re-encoding (measured 2.5)
    cbcr = np.stack([np.frombuffer(f.planes[1], np.uint16).reshape(96, -1)[:, :64] for f in out])
    assert np.abs(cbcr.astype(int) - 512).mean() > 1  # not gray
    assert packets(src) == packets(dst)


@pytest.mark.parametrize("pix_fmt,profile,stored", [("yuv420p", "DNXHR HQ", "yuv422p"),
                                                     ("yuv420p10le", "DNXHR HQX", "yuv422p10le")])
def test_dnxhd_writes_dnxhr_at_any_size(clip, tmp_path, pix_fmt, profile, stored):
    """An Avid master in MXF: `--codec dnxhd` was refused for every film (DNxHD proper wants a broadcast size
    and a bit rate); it writes DNxHR's high-quality tier of the planes' depth, the sound copied."""
    src = clip("in.mp4", pix_fmt=pix_fmt, width=320, height=240, audio=("pcm_s16le",), audio_rate=48000)
    dst = tmp_path / "out.mxf"
    report = colorize_video(src, dst, model="tiny-random", encode=EncodeOptions(codec="dnxhd"), progress=False)
    assert report.warnings == [f"video stored as {stored}: dnxhd cannot take {pix_fmt}"]
    out = decode_planes(dst)
    assert [f.format.name for f in out] == [stored] * 12
    with av.open(str(dst)) as c:
        assert c.streams.video[0].codec_context.profile == profile
    top = 1023 if pix_fmt.endswith("10le") else 255
    for y_in, y_out in zip(luma_planes(src), luma_planes(dst), strict=True):
        assert np.abs(y_in.astype(int) - y_out).mean() < top / 100  # DNxHR's loss
    assert np.abs(out[0].to_ndarray(format="yuv444p")[1:].astype(int) - 128).mean() > 1  # not gray
    sound = [[b"".join(stream)] for stream in packets(src)]
    assert [[b"".join(stream)] for stream in packets(dst)] == sound  # MXF packs PCM a frame at a time


def test_encoder_formats_decide_depth_and_layout_with_a_warning(clip, tmp_path):
    """8-bit 4:2:0 (or 4:2:2) into ProRes becomes 10-bit 4:2:2, said in a warning; PNG in mov, which takes RGB only,
    gets RGB; a codec that takes neither (GIF: palettes) is refused by name before the model loads and its
    container is asked, and one that refuses to open
    (DNxHD at 96x64, a hardware encoder without its chip: said so) too, and one the container does not
    hold before the model loads; no output is left."""
    src = clip("in.mp4", audio=())
    report = colorize_video(src, tmp_path / "out.mov", model="tiny-random", encode=EncodeOptions(codec="prores_ks"),
                            progress=False)
    assert report.warnings == ["video stored as yuv422p10le: prores_ks cannot take yuv420p; luminance rescaled "
                               "from 8 to 10 bits, no longer bit-identical"]
    assert decode_planes(tmp_path / "out.mov")[0].format.name == "yuv422p10le"
    src422 = clip("in422.mp4", audio=(), pix_fmt="yuv422p")  # a 4:2:2 film is named, not the 4:2:0 it would get
    report = colorize_video(src422, tmp_path / "422.mov", model="tiny-random",
                            encode=EncodeOptions(codec="prores_ks"), progress=False)
    assert report.warnings == ["video stored as yuv422p10le: prores_ks cannot take yuv422p or yuv420p; luminance "
                               "rescaled from 8 to 10 bits, no longer bit-identical"]
    report = colorize_video(src, tmp_path / "png.mov", model="tiny-random", encode=EncodeOptions(codec="png"),
                            progress=False)
    assert report.warnings == []
    rgb = [f.to_ndarray() for f in decode_planes(tmp_path / "png.mov")]
    assert len(rgb) == 12 and rgb[0].dtype == np.uint8
    assert np.abs(np.diff(np.stack(rgb).astype(int), axis=-1)).mean() > 1  # R, G, B differ: colored
    with pytest.raises(UsageError, match="'gif'.*none of the formats vidcolor writes"):  # not ".mkv cannot
        colorize_video(src, tmp_path / "gif.mkv", model="no-such-model",  # hold gif (.mov can)", then this
                       encode=EncodeOptions(codec="gif"), progress=False)
    assert not (tmp_path / "gif.mkv").exists()
    with pytest.raises(OutputError, match="dnxhd encoder takes no picture of 96x64: DNxHR takes pictures of 256x120"):
        colorize_video(src, tmp_path / "out2.mov", model="no-such-model",  # before the model: it had been at the
                       encode=EncodeOptions(codec="dnxhd"), progress=False)  # first frame
    with pytest.raises(OutputError, match="takes no picture of 192x64"):  # the film and its colors, side by side
        colorize_video(src, tmp_path / "out2.mov", model="no-such-model", encode=EncodeOptions(codec="dnxhd"),
                       side_by_side=True, progress=False)
    assert not (tmp_path / "out2.mov").exists()
    with pytest.raises(OutputError, match="h264_v4l2m2m is a hardware encoder: it needs its GPU or chip"):
        colorize_video(src, tmp_path / "out3.mp4", model="no-such-model",  # listed, no chip: before the model
                       encode=EncodeOptions(codec="h264_v4l2m2m"), progress=False)
    assert not (tmp_path / "out3.mp4").exists()
    with pytest.raises(OutputError, match=r"the \.mkv container cannot hold dnxhd video \(\.mov, \.mxf can\)"):
        colorize_video(src, tmp_path / "out4.mkv", model="no-such-model",  # refused before the model loads
                       encode=EncodeOptions(codec="dnxhd"), progress=False)


def test_mjpeg_gets_full_range_planes(clip, tmp_path):
    """MJPEG lists limited-range 4:2:0, then refuses it (it was an OutputError): the planes go full range."""
    src = clip("in.mp4", audio=())
    report = colorize_video(src, tmp_path / "out.avi", model="tiny-random", encode=EncodeOptions(codec="mjpeg"),
                            progress=False)
    assert report.warnings == ["video stored as yuvj420p: mjpeg cannot take yuv420p"]
    assert [f.format.name for f in decode_planes(tmp_path / "out.avi")] == ["yuvj420p"] * 12


def test_an_odd_sized_film_into_a_4_2_0_only_encoder_is_refused_by_its_reason(clip, tmp_path):
    """MPEG-4 part 2 takes 4:2:0 only, which needs even sides: said so (it was 'takes none of the formats')."""
    src = clip("odd.mkv", width=97, height=61, pix_fmt="yuv444p", audio=())
    with pytest.raises(UsageError, match="'mpeg4' takes subsampled chroma only, which needs even sides; this "
                                         "film is 97x61"):
        colorize_video(src, tmp_path / "out.avi", model="tiny-random", encode=EncodeOptions(codec="mpeg4"),
                       progress=False)
    assert not (tmp_path / "out.avi").exists()


def test_pillarbox_borders_stay_neutral(tmp_path):
    from conftest import make_clip

    src = make_clip(tmp_path / "box.mp4", width=128, height=64, audio=())
    # paint black bars over the left and right 24 px of every frame
    frames = decode_planes(src)
    boxed = tmp_path / "boxed.mkv"
    with av.open(str(boxed), "w") as out:
        v = out.add_stream("ffv1", rate=25)
        v.width, v.height, v.pix_fmt = 128, 64, "yuv420p"
        for f in frames:
            rgb = f.to_ndarray(format="rgb24")
            rgb[:, :24] = rgb[:, -24:] = 0
            g = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            g.pts = f.pts
            out.mux(v.encode(g))
        out.mux(v.encode(None))
    dst = tmp_path / "out.mkv"
    colorize_video(boxed, dst, model="tiny-random", encode=LOSSLESS, progress=False)
    for f in decode_planes(dst):
        u, v = f.to_ndarray()[64:].reshape(2, 32, 64)
        assert np.all(u[:, :12] == 128) and np.all(v[:, -12:] == 128)


def test_a_pillarboxed_film_gets_the_colors_of_its_picture_alone(tmp_path):
    """The network sees the picture between the bars alone (a 4:3 film in a 16:9 frame): the picture's
    colors are those of the same film without bars, to the code."""
    from conftest import make_clip

    bare = make_clip(tmp_path / "bare.mkv", width=80, height=64, codec="ffv1", audio=())
    boxed = tmp_path / "boxed.mkv"
    with av.open(str(boxed), "w") as out:
        v = out.add_stream("ffv1", rate=25)
        v.width, v.height, v.pix_fmt = 128, 64, "yuv420p"
        for f in decode_planes(bare):
            planes = f.to_ndarray()  # (96, 80): Y, then U and V side by side in 4:2:0's layout
            y, uv = planes[:64], planes[64:].reshape(2, 32, 40)
            g = av.VideoFrame.from_ndarray(np.concatenate([np.pad(y, ((0, 0), (24, 24)), constant_values=16),
                                                           np.pad(uv, ((0, 0), (0, 0), (12, 12)),
                                                                  constant_values=128).reshape(32, 128)]),
                                           format="yuv420p")
            g.pts = f.pts
            out.mux(v.encode(g))
        out.mux(v.encode(None))
    colored = []
    for src in (bare, boxed):
        colorize_video(src, tmp_path / f"{src.stem}_color.mkv", model="fusion-small", encode=LOSSLESS,
                       shot_detect=False, progress=False)
        colored.append([f.to_ndarray()[64:] for f in decode_planes(tmp_path / f"{src.stem}_color.mkv")])
    for alone, framed in zip(*colored):
        alone, framed = alone.reshape(2, 32, 40), framed.reshape(2, 32, 64)
        assert np.array_equal(framed[:, :, 12:52], alone) and alone.std() > 0
        assert np.all(framed[:, :, :12] == 128) and np.all(framed[:, :, 52:] == 128)


def test_cli_refuses_existing_output_and_input_as_output(clip, tmp_path, capsys):
    src = clip("film.mp4")
    before = src.read_bytes()
    dst = tmp_path / "exists.mp4"
    dst.write_bytes(b"keep me")
    assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q"]) == 4
    assert dst.read_bytes() == b"keep me"
    assert run([str(src), "-o", str(src), "--model", "tiny-random", "-q", "--overwrite"]) == 4
    assert src.read_bytes() == before
    assert "the output is the input" in capsys.readouterr().err
    assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q", "--overwrite"]) == 0
    assert len(decode_planes(dst)) == 12


@pytest.mark.parametrize("codec, lossless", [("libx265", True), ("libsvtav1", False)])
def test_other_encoders_run_quietly(clip, tmp_path, capfd, codec, lossless):
    """x265 and SVT-AV1 print banners of their own on stderr; `-q` means nothing but errors. x265's
    lossless mode (crf 0) still gives the Y plane back exactly."""
    src, dst = clip("film.mp4", audio=()), tmp_path / "out.mkv"
    args = [str(src), "-o", str(dst), "--model", "tiny-random", "-q", "--codec", codec] + (["--crf", "0"] * lossless)
    assert run(args) == 0
    assert capfd.readouterr().err == ""
    if lossless:
        assert all(np.array_equal(x, y) for x, y in zip(luma_planes(src), luma_planes(dst), strict=True))


def _psnr(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    mse = np.mean([np.mean((x.astype(np.float64) - y) ** 2) for x, y in zip(a, b, strict=True)])
    return float(10 * np.log10(255 ** 2 / mse))


@pytest.mark.parametrize("codec", ["libx264", "libx265"])
def test_the_predicted_chroma_is_coded_coarser_than_the_luma(clip, tmp_path, monkeypatch, codec):
    """Chroma coded CHROMA_QP_OFFSET quantizer steps coarser than luma: fewer bytes, the luma as close to
    the film's, the colors still far closer to the prediction than the prediction is to any truth."""
    src = clip("film.mp4", width=256, height=160, frames=25, photos=("astronaut", "coffee"), audio=())
    colorize_video(src, tmp_path / "exact.mkv", model="fusion-small", encode=LOSSLESS, progress=False)
    exact = [f.to_ndarray() for f in decode_planes(tmp_path / "exact.mkv")]
    chosen, sizes, psnr = codecs.CHROMA_QP_OFFSET, {}, {}
    for offset in (0, chosen):
        monkeypatch.setattr(codecs, "CHROMA_QP_OFFSET", offset)
        dst = tmp_path / f"offset{offset}.mp4"
        colorize_video(src, dst, model="fusion-small", encode=EncodeOptions(codec=codec), progress=False)
        planes = [f.to_ndarray() for f in decode_planes(dst)]
        sizes[offset] = sum(map(len, packets(dst, "video")[0]))
        psnr[offset] = {"y": _psnr([p[:160] for p in planes], [p[:160] for p in exact]),
                        "c": _psnr([p[160:] for p in planes], [p[160:] for p in exact])}
    assert sizes[chosen] < 0.95 * sizes[0]
    assert psnr[chosen]["y"] > psnr[0]["y"] - 0.2
    assert psnr[chosen]["c"] > 40


def _slices(packet: bytes) -> int:
    """Coded slices (NAL types 1 and 5) in an mp4 H.264 packet: NAL units, each after its 4-byte length."""
    count, at = 0, 0
    while at < len(packet):
        size = int.from_bytes(packet[at:at + 4], "big")
        count += packet[at + 4] & 0x1F in (1, 5)
        at += 4 + size
    return count


def test_x264_codes_each_picture_as_one_slice(clip, tmp_path):
    """x264 in frame threads: PyAV's slice threads cut each picture into one slice per core, none predicting
    from another (more bytes at the same quality: bench/x264_threads.py)."""
    src = clip("film.mp4", width=256, height=160, frames=12, audio=())
    dst = tmp_path / "out.mp4"
    colorize_video(src, dst, model="fusion-small", progress=False)
    video = packets(dst, "video")[0]
    assert len(video) == 12 and {_slices(p) for p in video} == {1}


def test_failure_mid_run_leaves_no_partial_file(clip, tmp_path, monkeypatch):
    from vidcolor.model_stage import FrameStage

    src = clip("film.mp4", frames=24)
    dst = tmp_path / "out.mp4"
    calls = {"n": 0}
    real = FrameStage._render

    def interrupted(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **kw)

    monkeypatch.setattr(FrameStage, "_render", interrupted)
    assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q", "--batch-size", "4"]) == 130
    assert list(tmp_path.iterdir()) == [src]


def test_torch_thread_count_is_restored_after_a_run_and_a_failure(clip, tmp_path, monkeypatch):
    """On a CPU the pipeline runs its own torch steps on one thread (workers.slice_workers)."""
    from vidcolor.model_stage import FrameStage

    src = clip("film.mp4", frames=12)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        report = colorize_video(src, tmp_path / "a.mp4", model="tiny-random", progress=False, batch_size=4)
        assert report.frames_out == 12 and torch.get_num_threads() == 2

        def failing(*a, **kw):
            raise RuntimeError("model failed")

        monkeypatch.setattr(FrameStage, "_render", failing)
        with pytest.raises(RuntimeError, match="model failed"):
            colorize_video(src, tmp_path / "b.mp4", model="tiny-random", progress=False, batch_size=4)
        assert torch.get_num_threads() == 2 and not (tmp_path / "b.mp4").exists()
    finally:
        torch.set_num_threads(before)


def test_progress_bar_counts_frames(clip, tmp_path, capsys):
    src = clip("film.mp4", frames=16)
    assert run([str(src), "-o", str(tmp_path / "o.mp4"), "--model", "tiny-random"]) == 0
    err = capsys.readouterr().err
    assert "16/16" in err and "frame/s" in err


def test_the_bar_redraws_seldom_into_a_log_file(clip, tmp_path, capsys, monkeypatch):
    """Where stderr is not a terminal (capsys's is not), each redraw is a line kept in a batch job's log: ten a
    second had made 80,000 lines over a two-hour film on a CPU. A run of 1.5 s draws its start and its end."""
    from vidcolor.model_stage import FrameStage

    real = FrameStage._render

    def slow(*a, **kw):  # a film slow enough for ten redraws a second to show
        time.sleep(0.1)
        return real(*a, **kw)

    monkeypatch.setattr(FrameStage, "_render", slow)
    src = clip("film.mp4", frames=48)
    assert run([str(src), "-o", str(tmp_path / "o.mp4"), "--model", "tiny-random", "--batch-size", "4"]) == 0
    draws = [line for line in capsys.readouterr().err.split("\r") if "frame" in line]
    assert len(draws) <= 3 and "48/48" in draws[-1]


@pytest.mark.parametrize("rows_cols", [(0, 0), (24, 100)])
def test_the_bar_shows_in_a_terminal_that_tells_no_size(clip, tmp_path, rows_cols):
    """A terminal of no size (`script`, a serial console, `docker run -t` fed from a pipe; a new pseudo-terminal
    here): tqdm took it for a screen with no room and drew nothing for the whole run. It gets 80 columns now."""
    src = clip("film.mp4", frames=16)
    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", *rows_cols, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "vidcolor", str(src), "-o", str(tmp_path / "o.mp4"),
                             "--model", "tiny-random"], stdin=side, stderr=side)
    os.close(side)
    shown = b""
    while chunk := _read_terminal(main):
        shown += chunk
    os.close(main)
    assert proc.wait(timeout=60) == 0
    draws = [line for line in shown.decode().split("\r") if "frame/s" in line]
    assert draws and "16/16" in draws[-1] and len(draws[-1].strip()) <= (rows_cols[1] or 80)


def _read_terminal(fd: int) -> bytes:
    """What a program wrote to the terminal since the last read; b'' once it has closed it (or has written
    nothing for a minute: the wait for it then fails)."""
    if not select.select([fd], [], [], 60)[0]:
        return b""
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO: no program has the terminal open any more
        return b""


@pytest.mark.parametrize("closed,options", [(2, []), (1, ["--json"])])
def test_a_run_without_stderr_writes_its_film(clip, tmp_path, closed, options):
    """A program started with stderr closed (by a daemon, a launcher; pythonw) has none in Python: the bar's
    first redraw had failed, and the run with it (exit 1, its message lost too). Without stdout, --json's
    report had ended in an internal error once the film was written."""
    src = clip("film.mp4", frames=16)
    done = subprocess.run([sys.executable, "-m", "vidcolor", str(src), "-o", str(tmp_path / "o.mp4"),
                           "--model", "tiny-random", *options], preexec_fn=lambda: os.close(closed), timeout=120)
    assert done.returncode == 0
    with av.open(str(tmp_path / "o.mp4")) as out:
        assert sum(1 for _ in out.decode(video=0)) == 16


def test_cpu_batches_shrink_with_the_frame_size():
    """16 frames of SD per batch on a CPU, but never more pixels than four 1080p frames; 16 on a GPU."""
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert default_batch_size(cpu, 854, 480) == 16
    assert default_batch_size(cpu, 1280, 720) == 9
    assert default_batch_size(cpu, 1920, 1080) == 4
    assert default_batch_size(cpu, 3840, 2160) == 1
    assert default_batch_size(cpu, 7680, 4320) == 1
    assert default_batch_size(cuda, 3840, 2160) == 16
