"""Photos and films that already have colors: told from gray and tinted ones, said when they are colorized,
left as they are where asked (a folder's color prints)."""
from __future__ import annotations

import json
import re

import av
import numpy as np
import pytest
from conftest import BLUE_TINT, SEPIA, decode_planes, gray_rgb, make_clip, photo
from PIL import Image

from vidcolor import colorize_video
from vidcolor.cli import run
from vidcolor.colorizer import Colorizer
from vidcolor.errors import AlreadyInColor
from vidcolor.image import colorize_image
from vidcolor.input_color import coloring, ycc_of_planes, ycc_of_rgb
from vidcolor.media.codecs import EncodeOptions
from vidcolor.media.encode import Writer
from vidcolor.preview import make_preview


def tinted(rgb: np.ndarray, tint: tuple[float, float, float]) -> np.ndarray:
    return (gray_rgb(rgb) * np.array(tint)).round().astype(np.uint8)


def test_gray_tinted_and_color_pictures_are_told_apart():
    rng = np.random.default_rng(0)
    for name in ("astronaut", "rocket"):  # the rocket: a blue sky, orange flames under it
        rgb = photo(name, 160, 120)
        noisy = (gray_rgb(rgb) + rng.normal(0, 3, rgb.shape)).clip(0, 255).astype(np.uint8)  # a scanner's noise
        assert coloring(ycc_of_rgb(rgb)).kind == "color"
        assert coloring(ycc_of_rgb(gray_rgb(rgb))).kind == "gray"
        assert coloring(ycc_of_rgb(gray_rgb(rgb)[..., :1])).kind == "gray"  # one channel, as Pillow's L
        assert coloring(ycc_of_rgb(noisy)).kind == "gray"
        ramp = np.linspace(1, -1, 160)[None, :, None] * np.array([10, 3, -10])  # a print between a lamp and a window
        assert coloring(ycc_of_rgb((gray_rgb(rgb) + ramp).clip(0, 255).astype(np.uint8))).kind != "color"
        gray = gray_rgb(rgb)[..., :1] / 255  # a print toned two ways: its shadows blue, its highlights yellow
        toned = gray + 4 * gray * (1 - gray) * np.where(gray < 0.5, [-0.03, 0, 0.03], [0.03, 0.015, -0.03])
        assert coloring(ycc_of_rgb((toned * 255).round().clip(0, 255).astype(np.uint8))).kind == "tinted"
        assert (coloring(ycc_of_rgb(tinted(rgb, SEPIA))).kind, coloring(ycc_of_rgb(tinted(rgb, SEPIA))).hue) \
            == ("tinted", "sepia")
        assert coloring(ycc_of_rgb(tinted(rgb, BLUE_TINT))).hue == "blue"
    sixteen_bit = photo("astronaut", 160, 120).astype(np.uint16) * 257
    assert coloring(ycc_of_rgb(sixteen_bit)).kind == "color"
    scan = photo("rocket", 3200, 2400)  # sampled every 18 pixels, its lines two by two
    assert coloring(ycc_of_rgb(scan)).kind == "color" and coloring(ycc_of_rgb(gray_rgb(scan))).kind == "gray"


def test_a_tapes_chroma_noise_is_not_color():
    """A black-and-white film off a VHS tape: chroma noise smeared along the lines, with or without a cast.
    Without the noise's bar, such frames were taken for color."""
    rng = np.random.default_rng(1)
    ycc = np.asarray(Image.fromarray(photo("astronaut", 640, 480)).convert("YCbCr"))  # full range, as JPEG's
    for cast, sigma in ((0, 10), (8, 10), (0, 20)):
        noise = rng.normal(0, sigma, (2, 240, 320))
        smeared = sum(np.roll(noise, k, axis=-1) for k in range(4)) / 2
        cb, cr = (smeared + 128 + np.array([0.6, 0.8])[:, None, None] * cast).round().clip(16, 240).astype(np.uint8)
        assert coloring(ycc_of_planes(ycc[..., 0], cb, cr, 8, False)).kind != "color"
    assert coloring(ycc_of_planes(ycc[..., 0], ycc[::2, ::2, 1], ycc[::2, ::2, 2], 8, True)).kind == "color"


def test_an_interlaced_color_frame_panned_between_its_fields_is_color():
    """Interlaced 4:2:0 keeps each field's chroma on every other line. Taken line by line, a pan of 32 px
    between the fields looked like noise, and the astronaut's colors fell under its bar."""
    pan = photo("astronaut", 720 + 32, 480)
    top, bottom = (np.asarray(Image.fromarray(pan[:, x:x + 720]).convert("YCbCr")) for x in (0, 32))
    planes = np.empty((240, 360, 3), np.uint8)
    planes[0::2], planes[1::2] = top[0::2][::2, ::2], bottom[1::2][::2, ::2]  # each field's chroma lines
    assert coloring(ycc_of_planes(*planes.transpose(2, 0, 1), 8, True)).kind == "color"


def test_a_color_film_is_said_and_a_tinted_one_colorized_without_a_word(clip, tmp_path, caplog):
    films = {"color": clip("color.mp4", gray=False, photos=("astronaut", "rocket"), frames=24),
             "tinted": clip("sepia.mp4", tint=SEPIA, frames=24),
             "gray": clip("gray.mp4", frames=24)}
    reports = {kind: colorize_video(path, tmp_path / f"out_{kind}.mp4", model="tiny-random", progress=False)
               for kind, path in films.items()}
    assert reports["color"].coloring == {"kind": "color", "hue": None}
    assert any("already has colors" in w for w in reports["color"].warnings)
    assert reports["tinted"].coloring == {"kind": "tinted", "hue": "sepia"}
    assert reports["gray"].coloring == {"kind": "gray", "hue": None}
    for kind in ("tinted", "gray"):
        assert not any("colors" in w for w in reports[kind].warnings) and reports[kind].frames_out == 24
    caplog.clear()
    sheet = make_preview(films["color"], tmp_path / "sheet.png", count=2, colorizer=Colorizer("tiny-random"))
    assert "the film already has colors" in caplog.text and sheet["coloring"] == {"kind": "color", "hue": None}
    assert sheet["kept"] == sheet["times"]  # shown as they are, as a run keeps their shots' colors
    sheet = make_preview(films["color"], tmp_path / "sheet.png", count=2, colorizer=Colorizer("tiny-random"),
                         keep_color_shots=False, overwrite=True)
    assert sheet["kept"] == [] and len(sheet["times"]) == 2
    sheet = make_preview(films["color"], tmp_path / "sheet.png", count=2, colorizer=Colorizer("tiny-random"),
                         levels="off", overwrite=True)  # its levels left alone, its colors still said
    assert sheet["coloring"]["kind"] == "color" and sheet["levels"]["weight"] == 0
    caplog.clear()  # times asked for, levels off: nothing more of the film is read, its frames shown are judged
    sheet = make_preview(films["color"], tmp_path / "sheet.png", at=["0.1"], colorizer=Colorizer("tiny-random"),
                         levels="off", overwrite=True)
    assert "the film already has colors" in caplog.text and sheet["coloring"] == {"kind": "color", "hue": None}
    sheet = make_preview(films["tinted"], tmp_path / "sheet.png", at=["0.1", "0.5"], levels="off",
                         colorizer=Colorizer("tiny-random"), overwrite=True)
    assert sheet["coloring"] == {"kind": "tinted", "hue": "sepia"}


def test_a_color_film_is_said_before_its_first_frame_is_written(clip, tmp_path, caplog, monkeypatch):
    """What is known of a film before its frames (in color, faded, a stream dropped) is said at once: a user
    can stop a two-hour run that would only replace a film's own colors. Once: not again at the end."""
    film = clip("color.mp4", gray=False, photos=("astronaut", "rocket"), frames=24)

    def refuse(self, frame, rotation):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(Writer, "frame", refuse)
    with pytest.raises(RuntimeError, match="the disk is full"):
        colorize_video(film, tmp_path / "out.mp4", model="tiny-random", progress=False)
    assert caplog.text.count("the film already has colors") == 1
    monkeypatch.undo()
    caplog.clear()
    colorize_video(film, tmp_path / "out.mp4", model="tiny-random", progress=False)
    assert caplog.text.count("the film already has colors") == 1


def test_where_asked_a_color_film_or_photo_is_left_as_it_is(clip, tmp_path):
    film = clip("color.mp4", gray=False, photos=("astronaut",))
    with pytest.raises(AlreadyInColor, match="already has colors"):
        colorize_video(film, tmp_path / "out.mp4", model="tiny-random", progress=False, recolor=False)
    Image.fromarray(photo("astronaut", 64, 48)).save(tmp_path / "color.png")
    with pytest.raises(AlreadyInColor):
        colorize_image(tmp_path / "color.png", tmp_path / "out.png", recolor=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["color.mp4", "color.png"]  # nothing written
    report = colorize_image(tmp_path / "color.png", tmp_path / "out.png")  # alone, by default: with a warning
    assert report["coloring"]["kind"] == "color" and "already has colors" in report["warnings"][-1]


def test_a_folders_color_prints_and_films_are_left_as_they_are_unless_asked(tmp_path, capsys):
    box = tmp_path / "box"
    box.mkdir()
    astronaut = photo("astronaut", 64, 48)
    Image.fromarray(gray_rgb(astronaut)).save(box / "gray.png")
    Image.fromarray(tinted(astronaut, SEPIA)).save(box / "sepia.jpg", quality=75)
    Image.fromarray(astronaut).save(box / "color.jpg", quality=75)
    make_clip(box / "holiday.mp4", gray=False, photos=("astronaut", "rocket"))
    make_clip(box / "reel.mp4", tint=BLUE_TINT)
    out = tmp_path / "colored"

    assert run([str(box), "-o", str(out), "--model", "tiny-random"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["gray.png", "reel.mp4", "sepia.jpg"]
    err = capsys.readouterr().err
    assert "(0 already there, 2 in color left as they are (--recolor), 0 failed)" in err
    assert re.search(rf"{re.escape(str(box / 'holiday.mp4'))}: already has colors of its own \(in \d+ of the \d+ "
                     r"frames sampled\); not colorized", err)

    assert run([str(box), "-o", str(out), "--model", "tiny-random", "-q", "--json", "--recolor"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in out.iterdir()) == ["color.jpg", "gray.png", "holiday.mp4", "reel.mp4",
                                                     "sepia.jpg"]
    assert sorted(r["input"] for r in report["colorized"]) == [str(box / "color.jpg"), str(box / "holiday.mp4")]
    assert report["in_color"] == []


def test_a_films_shots_in_color_keep_their_colors_and_the_others_are_colorized(tmp_path, caplog):
    """A documentary's color interviews between black-and-white archive footage: colorizing the whole film
    replaced the interviews' colors with the network's. The shots in color now keep their own, to the code
    (coded losslessly here), and the others are colorized; --recolor (keep_color_shots=False) colorizes all."""
    film = make_clip(tmp_path / "mixed.mp4", width=160, height=96, frames=48, photos=("coffee", "astronaut", "rocket"),
                     color_photos=("astronaut",))
    source = [f.to_ndarray()[96:] for f in decode_planes(film)]  # yuv420p: the chroma planes' rows
    outs = {}
    for keep in (True, False):
        dst = tmp_path / f"keep_{keep}.mkv"
        report = colorize_video(film, dst, model="tiny-random", progress=False, encode=EncodeOptions(crf=0),
                                keep_color_shots=keep)
        outs[keep] = [f.to_ndarray()[96:] for f in decode_planes(dst)]
        assert report.shots == 3 and report.kept_color_shots == (1 if keep else 0)
        assert report.coloring["kind"] == "color"  # a third of its frames
    said = "1 of its 3 shots have colors of their own and kept them"
    assert said in caplog.text and "its shots in color keep them" in caplog.text
    kept = [np.array_equal(a, b) for a, b in zip(outs[True], source, strict=True)]
    assert kept == [False] * 16 + [True] * 16 + [False] * 16
    assert all(np.abs(c.astype(int) - 128).mean() > 1 for c in outs[True][:16] + outs[True][32:])  # colorized
    assert not any(np.array_equal(a, b) for a, b in zip(outs[False], source))
    part = colorize_video(film, tmp_path / "part.mkv", model="tiny-random", progress=False, start="f10",
                          end="f30", encode=EncodeOptions(crf=0))  # 6 gray frames, then 14 of the shot in color
    kept = [np.array_equal(a.to_ndarray()[96:], b) for a, b in zip(decode_planes(tmp_path / "part.mkv"), source[10:])]
    assert (part.shots, part.kept_color_shots, kept) == (2, 1, [False] * 6 + [True] * 14)
    caplog.clear()  # a film mostly in black and white: not a film in color, and its one shot in color is kept
    film = make_clip(tmp_path / "archive.mp4", width=160, height=96, frames=80, color_photos=("astronaut",),
                     photos=("coffee", "chelsea", "astronaut", "rocket", "immunohistochemistry"))
    report = colorize_video(film, tmp_path / "archive_color.mkv", model="tiny-random", progress=False,
                            encode=EncodeOptions(crf=0))
    kept = [np.array_equal(a.to_ndarray()[96:], b.to_ndarray()[96:])
            for a, b in zip(decode_planes(tmp_path / "archive_color.mkv"), decode_planes(film), strict=True)]
    assert report.coloring["kind"] != "color" and report.shots == 5 and report.kept_color_shots == 1
    assert kept == [False] * 32 + [True] * 16 + [False] * 32 and "already has colors" not in caplog.text


def test_a_dissolve_from_black_and_white_to_color_keeps_the_colors_it_ends_on(tmp_path):
    """Archive footage in black and white dissolving into a color interview is one shot to the detector (no
    cut). Decided at its first second alone, the whole shot was colorized, the interview's colors replaced.
    A whole second judged in color now turns the shot's kind: the colors it ends on are kept."""
    pan = photo("astronaut", 160 + 60, 96)
    film = tmp_path / "dissolve.mp4"
    with av.open(str(film), "w") as out:
        v = out.add_stream("libx264", rate=25, options={"crf": "12"})
        v.width, v.height, v.pix_fmt = 160, 96, "yuv420p"
        for i in range(60):
            rgb, share = pan[:, i:i + 160], min(max((i - 20) / 10, 0.0), 1.0)  # gray, 10 frames of dissolve, color
            mixed = (gray_rgb(rgb) * (1 - share) + rgb * share).round().astype(np.uint8)
            out.mux(v.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(mixed), format="rgb24")))
        out.mux(v.encode(None))
    report = colorize_video(film, tmp_path / "out.mkv", model="tiny-random", progress=False,
                            encode=EncodeOptions(crf=0))
    kept = [np.array_equal(a.to_ndarray()[96:], b.to_ndarray()[96:])
            for a, b in zip(decode_planes(tmp_path / "out.mkv"), decode_planes(film), strict=True)]
    assert report.shots == 1 and report.kept_color_shots == 1
    assert not any(kept[:20]) and all(kept[30:])  # the gray start colorized, the color end its own
