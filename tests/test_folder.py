"""A folder of photos and films: each colorized to the same name in the output folder, failures named
without stopping the others, outputs already there kept (a rerun resumes)."""
from __future__ import annotations

import json

import av
import numpy as np
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
        assert run([str(root), "--model", "tiny-random", "-o", str(root / "color"), "-q", "--overwrite"]) == 0
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png")) == ["a.png", "color/a.png"]


def test_a_folder_into_itself_or_with_nothing_to_colorize(tmp_path, capsys):
    root = tmp_path / "empty"
    root.mkdir()
    (root / "notes.txt").write_text("no pictures")
    assert run([str(root), "-o", str(tmp_path / "out"), "--model", "tiny-random", "-q"]) == 3
    assert "no photos or films in it" in capsys.readouterr().err
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
