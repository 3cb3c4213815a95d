"""A folder of photos and films: each colorized to the same name in the output folder, failures named
without stopping the others, outputs already there kept (a rerun resumes)."""
from __future__ import annotations

import json

import av
import numpy as np
import pytest
from conftest import gray_rgb, make_clip, photo
from PIL import Image

from vidcolor.cli import run


def box(tmp_path):
    """What a family's shared drive holds: photos, a film in a subfolder, a damaged photo, notes, the
    hidden metadata files macOS leaves beside each file, and a NAS's thumbnails."""
    root = tmp_path / "box"
    (root / "1950s").mkdir(parents=True)
    Image.fromarray(gray_rgb(photo("coffee", 64, 48))).save(root / "kitchen.jpg")
    Image.fromarray(gray_rgb(photo("astronaut", 48, 64))).save(root / "1950s" / "portrait.png")
    make_clip(root / "1950s" / "reel.mp4", frames=12)
    # an SD camcorder's MPEG-PS, named .mod: FFmpeg reads it and has no muxer of that name
    tape = make_clip(root / "1950s" / "tape.mpg", frames=12, codec="mpeg2video", audio=("mp2",))
    tape.rename(root / "1950s" / "tape.mod")
    (root / "1950s" / "torn").mkdir()
    (root / "1950s" / "torn" / "damaged.jpg").write_bytes(b"\xff\xd8not really")
    (root / "notes.txt").write_text("grandma's box")
    (root / "._kitchen.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (root / "@eaDir" / "kitchen.jpg").mkdir(parents=True)  # a Synology NAS's thumbnails
    Image.fromarray(photo("coffee", 32, 24)).save(root / "@eaDir" / "kitchen.jpg" / "SYNOFILE_THUMB_S.jpg")
    return root


def chroma(path) -> float:
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    return float(np.abs(rgb - rgb.mean(axis=2, keepdims=True)).mean())


def test_a_folder_is_colorized_file_by_file(tmp_path, capsys):
    root = box(tmp_path)
    out = tmp_path / "colored"
    code = run([str(root), "-o", str(out), "--model", "tiny-random", "--json", "-q"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 3  # the damaged photo's code: the others were still done
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == \
        ["1950s/portrait.png", "1950s/reel.mp4", "1950s/tape.mp4", "kitchen.jpg"]
    assert [f["input"] for f in report["failed"]] == [str(root / "1950s" / "torn" / "damaged.jpg")]
    assert f"not colorized: {root / '1950s' / 'torn' / 'damaged.jpg'}: not a readable image" in captured.err
    assert not (out / "1950s" / "torn").exists()  # no empty folder left for the file that failed
    assert Image.open(out / "1950s" / "portrait.png").size == (48, 64) and chroma(out / "kitchen.jpg") > 0.5
    for name in ("reel.mp4", "tape.mp4"):
        with av.open(str(out / "1950s" / name)) as film:
            assert sum(1 for _ in film.decode(video=0)) == 12 and film.streams.audio

    (out / "kitchen.jpg").unlink()  # as if a run had stopped before it
    code = run([str(root), "-o", str(out), "--model", "tiny-random", "--json", "-q"])
    report = json.loads(capsys.readouterr().out)
    assert [f["output"] for f in report["colorized"]] == [str(out / "kitchen.jpg")]
    assert sorted(report["already_there"]) == [str(out / "1950s" / name) for name in ("portrait.png", "reel.mp4",
                                                                                       "tape.mp4")]


def test_an_output_folder_inside_the_input_is_not_read_back(tmp_path, capsys):
    root = tmp_path / "scans"
    root.mkdir()
    Image.fromarray(gray_rgb(photo("rocket", 64, 48))).save(root / "a.png")
    for _ in range(2):  # the second run finds the first run's output inside the input folder
        assert run([str(root), "--model", "tiny-random", "-o", str(root / "color"), "--overwrite"]) == 0
        assert f"wrote 1 file to {root / 'color'} (0 already there, 0 failed)" in capsys.readouterr().err
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png")) == ["a.png", "color/a.png"]


def test_a_folder_into_itself_or_with_nothing_to_colorize(tmp_path, capsys):
    root = tmp_path / "empty"
    root.mkdir()
    (root / "notes.txt").write_text("no pictures")
    assert run([str(root), "-o", str(tmp_path / "out"), "--model", "tiny-random", "-q"]) == 3
    assert "no photos, films or film scans in it" in capsys.readouterr().err
    assert run([str(root), "-o", str(root), "--model", "tiny-random", "-q"]) == 4
    assert "the output folder is the input folder" in capsys.readouterr().err


def test_a_bug_on_one_file_does_not_stop_the_folder(tmp_path, capsys, monkeypatch):
    """A batch of hundreds of files goes on past one that hits a bug; the exit code says 1 (internal)."""
    import vidcolor.folder

    root = tmp_path / "box"
    root.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(gray_rgb(photo("rocket", 32, 24))).save(root / name)
    real = vidcolor.folder.colorize_image

    def buggy(src, *args):
        if src.name == "b.png":
            raise ZeroDivisionError("division by zero")
        return real(src, *args)

    monkeypatch.setattr(vidcolor.folder, "colorize_image", buggy)
    assert run([str(root), "-o", str(tmp_path / "out"), "--model", "tiny-random", "-q"]) == 1
    assert "b.png: internal error: ZeroDivisionError: division by zero" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "c.png"]


def film_frames(count: int, width: int = 96, height: int = 64) -> list[np.ndarray]:
    """A slow pan over a photo: consecutive frames alike, as a film's are within a shot."""
    wide = gray_rgb(photo("astronaut", width + count, height))
    return [np.ascontiguousarray(wide[:, i:i + width]) for i in range(count)]


def test_film_scanned_frame_by_frame_in_a_folder_is_colorized_as_a_film(tmp_path, capsys):
    """A restorer's folder: a reel scanned to numbered TIFFs (one of them damaged), another to DPX, two with a
    frame missing (DPX, TIFF), beside a family's numbered flatbed scans of one size (one number left out),
    which are different pictures and stay photos."""
    root = tmp_path / "archive"
    for folder in ("reel1", "reel2", "reel3", "reel4", "album"):
        (root / folder).mkdir(parents=True)
    for i, rgb in enumerate(film_frames(30)):
        Image.fromarray(rgb).save(root / "reel1" / f"reel1_{1000 + i:06d}.tif")
        if i != 17:
            Image.fromarray(rgb).save(root / "reel4" / f"reel4_{i:04d}.tif")
    damaged = root / "reel1" / "reel1_001005.tif"  # one of the frames compared with its neighbour
    damaged.write_bytes(damaged.read_bytes()[:100])
    for folder, numbers in (("reel2", range(5)), ("reel3", [1, 2, 4])):  # reel3 lacks frame 3
        with av.open(str(root / folder / "ffmpeg_%04d.dpx"), "w") as out:
            v = out.add_stream("dpx", rate=24)
            v.width, v.height, v.pix_fmt = 96, 64, "rgb24"
            for i, rgb in enumerate(film_frames(len(numbers))):
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = i
                out.mux(v.encode(frame))
            out.mux(v.encode(None))
        for i, n in enumerate(numbers):  # FFmpeg numbers from 1
            (root / folder / f"ffmpeg_{i + 1:04d}.dpx").rename(root / folder / f"{folder}_{n:04d}.dpx")
    names = ["astronaut", "coffee", "rocket", "chelsea"]
    for i in [i for i in range(31) if i != 12]:  # scan_1.png ... scan_31.png but 13: one size, other pictures
        rgb = photo(names[i % 4], 96 + 4 * i, 64)[:, 4 * i:4 * i + 96]
        Image.fromarray(gray_rgb(np.ascontiguousarray(rgb))).save(root / "album" / f"scan_{i + 1}.png")
    out = tmp_path / "colored"
    code = run([str(root), "-o", str(out), "--model", "tiny-random", "--json", "-q"])
    report = json.loads(capsys.readouterr().out)
    assert code == 3  # reel3's and reel4's gaps: their frames would lose their timing
    assert [f["input"] for f in report["failed"]] == [str(root / "reel3" / "reel3_%04d.dpx"),
                                                      str(root / "reel4" / "reel4_%04d.tif")]
    assert "1 missing between reel3_0001.dpx and reel3_0004.dpx (reel3_0003.dpx)" in report["failed"][0]["error"]
    assert "(reel4_0017.tif)" in report["failed"][1]["error"]
    films = {r["input"]: r["frames_out"] for r in report["colorized"] if "frames_out" in r}
    assert films == {str(root / "reel1" / "reel1_%06d.tif"): 29, str(root / "reel2" / "reel2_%04d.dpx"): 5}
    assert sorted(p.name for p in (out / "reel1").iterdir()) == [f"reel1_{1000 + i:06d}.tif" for i in range(30)
                                                                   if i != 5]
    assert sorted(p.name for p in (out / "reel2").iterdir()) == [f"reel2_{i:04d}.dpx" for i in range(5)]
    assert sorted(p.name for p in (out / "album").iterdir()) == sorted(f"scan_{i + 1}.png" for i in range(31)
                                                                       if i != 12)
    assert len(report["colorized"]) == 32 and not (out / "reel3").exists() and not (out / "reel4").exists()
    with Image.open(out / "reel1" / "reel1_001000.tif") as im:
        assert im.size == (96, 64) and chroma(out / "reel1" / "reel1_001000.tif") > 0.5

    code = run([str(root), "-o", str(out), "--model", "tiny-random", "--json", "-q", "--frame-rate", "18"])
    report = json.loads(capsys.readouterr().out)
    assert report["colorized"] == [] and str(out / "reel1" / "reel1_%06d.tif") in report["already_there"]


def test_home_video_of_older_days_in_a_folder(tmp_path, capsys):
    """RealMedia from around 2000 (written by FFmpeg's muxer in RealVideo 1 only: into .mp4), QuickTime
    named .qt (into .mov), and an HD DVD's MPEG-PS named .evo, which FFmpeg cannot write (into .mp4)."""
    root = tmp_path / "old"
    root.mkdir()
    make_clip(root / "party.rm", frames=12, codec="rv20", audio=("ac3",)).rename(root / "party.rmvb")
    make_clip(root / "trailer.mov", frames=12).rename(root / "trailer.qt")
    make_clip(root / "disc.mpg", frames=12, codec="mpeg2video", audio=("mp2",)).rename(root / "disc.evo")
    out = tmp_path / "colored"
    assert run([str(root), "-o", str(out), "--model", "tiny-random", "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["disc.mp4", "party.mp4", "trailer.mov"]
    for name, codec in (("disc.mp4", "h264"), ("party.mp4", "h264"), ("trailer.mov", "h264")):
        with av.open(str(out / name)) as film:
            assert film.streams.video[0].codec_context.name == codec and film.streams.audio
            assert sum(1 for _ in film.decode(video=0)) == 12


def test_a_reference_photo_gives_its_mood_to_a_whole_folder_read_once(tmp_path, monkeypatch, capsys):
    """Its global vector is computed once for all the files, which come out as one by one with it."""
    import vidcolor.image

    root = tmp_path / "box"
    root.mkdir()
    Image.fromarray(gray_rgb(photo("coffee", 64, 48))).save(root / "a.png")
    Image.fromarray(gray_rgb(photo("rocket", 64, 48))).save(root / "b.png")
    make_clip(root / "reel.mp4", frames=8)
    Image.fromarray(photo("chelsea", 80, 60)).save(tmp_path / "sunset.jpg")
    reads = []
    real = vidcolor.image.reference_features
    monkeypatch.setattr(vidcolor.image, "reference_features", lambda *a: reads.append(a[1]) or real(*a))
    out = tmp_path / "out"
    assert run([str(root), "-o", str(out), "--model", "tiny-random", "-q", "--reference",
                str(tmp_path / "sunset.jpg")]) == 0
    assert reads == [tmp_path / "sunset.jpg"]
    assert run([str(root / "a.png"), "-o", str(tmp_path / "a.png"), "--model", "tiny-random", "-q", "--reference",
                str(tmp_path / "sunset.jpg")]) == 0
    assert np.array_equal(np.asarray(Image.open(out / "a.png")), np.asarray(Image.open(tmp_path / "a.png")))
    assert chroma(out / "b.png") > 0.5 and (out / "reel.mp4").exists()

    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a photo")
    assert run([str(root), "-o", str(tmp_path / "out2"), "--model", "tiny-random", "-q", "--reference",
                str(tmp_path / "broken.jpg")]) == 3
    assert "broken.jpg: not a readable image" in capsys.readouterr().err and not (tmp_path / "out2").exists()


def test_scanner_and_old_picture_formats_are_photos_and_an_animated_gif_a_film(tmp_path):
    """SANE's scanimage writes Netpbm (16-bit gray too), the 1990s PCX and GIF, phones AVIF; all were taken
    for films and refused as one-picture outputs. An animated GIF is a short film (into .mp4)."""
    root = tmp_path / "box"
    root.mkdir()
    gray = Image.fromarray(gray_rgb(photo("coffee", 64, 48))).convert("L")
    gray.save(root / "still.gif")
    Image.fromarray(np.asarray(gray).astype(np.uint16) * 257).save(root / "scan.pgm")
    gray.save(root / "old.pcx")
    gray.convert("RGB").save(root / "new.avif")
    moving = [Image.fromarray(np.roll(np.asarray(gray), 3 * i, axis=1)) for i in range(6)]
    moving[0].save(root / "loop.gif", save_all=True, append_images=moving[1:], duration=80, loop=0)
    out = tmp_path / "out"
    assert run([str(root), "-o", str(out), "--model", "tiny-random", "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["loop.mp4", "new.avif", "old.pcx", "scan.ppm", "still.gif"]
    for name in ("new.avif", "old.pcx", "scan.ppm", "still.gif"):
        with Image.open(out / name) as im:
            assert im.size == (64, 48)
        assert chroma(out / name) > 0.5
    with av.open(str(out / "loop.mp4")) as film:
        assert sum(1 for _ in film.decode(video=0)) == 6


def test_the_default_output_is_named_as_a_folder_names_its_copies(tmp_path):
    """Without -o: film.mkv -> film_color.mkv, but a camcorder's .mod (no muxer) or an animated GIF (one
    picture) -> .mp4; both were refused by name: "unknown output format"."""
    make_clip(tmp_path / "film.mkv", frames=6)
    make_clip(tmp_path / "tape.mpg", frames=6, codec="mpeg2video", audio=("mp2",)).rename(tmp_path / "tape.mod")
    gray = Image.fromarray(gray_rgb(photo("coffee", 64, 48))).convert("L")
    moving = [Image.fromarray(np.roll(np.asarray(gray), 3 * i, axis=1)) for i in range(4)]
    moving[0].save(tmp_path / "loop.gif", save_all=True, append_images=moving[1:], duration=80, loop=0)
    gray.save(tmp_path / "still.gif")
    for name in ("film.mkv", "tape.mod", "loop.gif", "still.gif"):
        assert run([str(tmp_path / name), "--model", "tiny-random", "-q"]) == 0
    made = sorted(p.name for p in tmp_path.iterdir() if "_color" in p.name)
    assert made == ["film_color.mkv", "loop_color.mp4", "still_color.gif", "tape_color.mp4"]
    into = tmp_path / "out"  # an existing folder given: the same names there (it was "out: is a directory")
    into.mkdir()
    for name in ("film.mkv", "tape.mod", "still.gif"):
        assert run([str(tmp_path / name), "-o", str(into), "--model", "tiny-random", "-q"]) == 0
    assert run(["preview", str(tmp_path / "film.mkv"), "-o", str(into), "--count", "1", "--model", "tiny-random"]) == 0
    assert sorted(p.name for p in into.iterdir()) == ["film_color.mkv", "film_preview.png", "still_color.gif",
                                                      "tape_color.mp4"]


def test_the_models_options_given_to_a_folder_build_its_colorizer(tmp_path):
    """colorize_folder(..., saturation=0) gives gray films and photos: the model's options had gone on to each
    film, which has the folder's colorizer already, and were ignored without a word."""
    from vidcolor import colorize_folder
    from vidcolor.colorizer import Colorizer
    from vidcolor.errors import UsageError

    src = tmp_path / "box"
    src.mkdir()
    make_clip(src / "film.mp4", frames=4)
    Image.fromarray(gray_rgb(photo("coffee", 64, 48))).save(src / "print.png")
    for saturation, gray in ((0.0, True), (1.0, False)):
        dst = tmp_path / f"out{saturation}"
        report = colorize_folder(src, dst, model="tiny-random", saturation=saturation, progress=False)
        assert len(report["colorized"]) == 2
        with av.open(str(dst / "film.mp4")) as c:
            frame = next(c.decode(video=0)).to_ndarray(format="yuv420p")
        chroma = frame[64:].astype(int) - 128
        rgb = np.asarray(Image.open(dst / "print.png").convert("RGB"), int)
        spread = np.abs(rgb - rgb.mean(axis=2, keepdims=True)).max()
        assert (np.abs(chroma).max() <= 1 and spread <= 1) == gray, (saturation, np.abs(chroma).max(), spread)
    with pytest.raises(UsageError, match="saturation: give them to the Colorizer"):
        colorize_folder(src, tmp_path / "x", colorizer=Colorizer("tiny-random"), saturation=0.5)


def test_a_codec_the_films_container_cannot_hold_picks_one_that_can(tmp_path):
    """`--codec prores_ks` on a folder of .mp4 films failed for every film (.mp4 holds no ProRes). The names
    vidcolor chooses now take a container that holds the codec; a name the user gives is kept, and refused."""
    root = tmp_path / "box"
    root.mkdir()
    make_clip(root / "reel.mp4", frames=5)
    make_clip(root / "tape.mkv", frames=5)
    options = ["--codec", "prores_ks", "--model", "tiny-random", "-q"]
    assert run([str(root), "-o", str(tmp_path / "out"), *options]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["reel.mov", "tape.mkv"]  # Matroska holds it
    assert run([str(root / "reel.mp4"), *options]) == 0
    assert run([str(root / "reel.mp4"), "-o", str(tmp_path / "given.mp4"), *options]) == 4
    assert sorted(p.name for p in root.iterdir()) == ["reel.mp4", "reel_color.mov", "tape.mkv"]
    for path in (tmp_path / "out" / "reel.mov", tmp_path / "out" / "tape.mkv", root / "reel_color.mov"):
        with av.open(str(path)) as c:
            assert c.streams.video[0].codec_context.name == "prores"
            assert sum(1 for _ in c.decode(video=0)) == 5
