"""A faded film's levels: sampled over the film, shown to the network with more contrast, luminance kept."""
from __future__ import annotations

from dataclasses import asdict

import av
import numpy as np
import pytest
import torch
from conftest import decode_planes, make_clip
from PIL import Image

from vidcolor import colorize_video
from vidcolor.cli import run
from vidcolor.color import gray_to_lightness
from vidcolor.errors import UsageError
from vidcolor.levels import FADED_RANGE, NATURAL_RANGE, SEEN_BLACK, SEEN_WHITE, Levels
from vidcolor.media.codecs import EncodeOptions
from vidcolor.preview import make_preview
from vidcolor.survey import film_survey

LOSSLESS = EncodeOptions(crf=0)
FADED = (0.35, 0.4)  # gray' = 0.35 + 0.4 gray: grey blacks (L* 39), dull whites (L* 77)


def rewrite(src, dst, luma, width_pad: int = 0):
    """`src`'s frames with each Y plane changed by luma(y) (uint8 codes), optionally pillarboxed with black
    bars of `width_pad` px each side; chroma neutral, losslessly coded (FFV1 in .mkv: every frame a keyframe;
    else x264, one keyframe)."""
    with av.open(str(dst), "w") as out:
        v = out.add_stream("ffv1", rate=25) if dst.suffix == ".mkv" else \
            out.add_stream("libx264", rate=25, options={"qp": "0"})
        frames = decode_planes(src)
        v.height, v.width, v.pix_fmt = frames[0].height, frames[0].width + 2 * width_pad, "yuv420p"
        for f in frames:
            y = np.pad(luma(f.to_ndarray()[:f.height]), ((0, 0), (width_pad, width_pad)), constant_values=16)
            g = av.VideoFrame.from_ndarray(np.concatenate([y, np.full((y.shape[0] // 2, y.shape[1]), 128, np.uint8)]),
                                           format="yuv420p")
            g.pts = f.pts
            out.mux(v.encode(g))
        out.mux(v.encode(None))
    return dst


def faded(y: np.ndarray) -> np.ndarray:
    gray = (y.astype(np.float32) - 16) / 219
    return np.round(16 + 219 * (FADED[0] + FADED[1] * gray)).astype(np.uint8)


@pytest.fixture
def films(tmp_path):
    bare = make_clip(tmp_path / "bare.mkv", width=128, height=96, frames=12, codec="ffv1", audio=(),
                     photos=("astronaut", "coffee"))
    return bare, rewrite(bare, tmp_path / "faded.mkv", faded)


def chroma(path) -> np.ndarray:
    return np.stack([f.to_ndarray()[f.height:].astype(np.float32) for f in decode_planes(path)])


def test_the_levels_ramp_from_a_natural_range_to_a_faded_one():
    def of(black: float, white: float) -> Levels:  # pixels whose 1st and 99th percentiles are black and white
        step = (white - black) / 98
        return Levels.of(torch.linspace(black - step, white + step, 10001))

    assert of(0.02, 0.02 + NATURAL_RANGE + 0.01).weight == 0
    assert of(0.3, 0.3 + FADED_RANGE - 0.01).weight == 1
    middle = of(0.1, 0.1 + (FADED_RANGE + NATURAL_RANGE) / 2)
    assert middle.weight == pytest.approx(0.5, abs=0.01)
    L = torch.rand(1, 1, 8, 8)
    assert Levels()(L) is L  # a natural film: the network sees it as it is, at no cost
    stretched = of(0.3, 0.7)(torch.tensor([0.3, 0.5, 0.7]))
    assert torch.allclose(stretched, torch.tensor([SEEN_BLACK, (SEEN_BLACK + SEEN_WHITE) / 2, SEEN_WHITE]),
                          atol=0.01)


def test_a_faded_film_is_seen_with_its_contrast_back_and_keeps_its_luminance(films, tmp_path):
    """Shown to the network with its levels stretched, the faded film gets about the colors of the film
    before it faded; shown as it is, other colors."""
    bare, fade = films
    out = {}
    for name, src, levels in (("bare", bare, "auto"), ("auto", fade, "auto"), ("off", fade, "off")):
        dst = tmp_path / f"{name}_color.mkv"
        report = colorize_video(src, dst, model="fusion-small", encode=LOSSLESS, progress=False, levels=levels)
        out[name] = (report, chroma(dst))
    bare_report, auto_report, off_report = (out[k][0] for k in ("bare", "auto", "off"))
    assert bare_report.levels["weight"] == 0 and not bare_report.warnings
    assert auto_report.levels["weight"] == 1 and "the film looks faded" in auto_report.warnings[0]
    assert off_report.levels == {"black": 0.0, "white": 1.0, "weight": 0.0} and not off_report.warnings
    expected_black = gray_to_lightness(torch.tensor(FADED[0])).item() / 100
    assert auto_report.levels["black"] == pytest.approx(expected_black, abs=0.05)
    near = np.abs(out["auto"][1] - out["bare"][1]).mean()
    far = np.abs(out["off"][1] - out["bare"][1]).mean()
    assert near < 0.5 * far and far > 1
    for f_in, f_out in zip(decode_planes(fade), decode_planes(tmp_path / "auto_color.mkv")):
        assert np.array_equal(f_in.to_ndarray()[:f_in.height], f_out.to_ndarray()[:f_out.height])


def test_the_levels_are_the_pictures_not_the_bars_around_it(films, tmp_path):
    _, fade = films
    boxed = rewrite(fade, tmp_path / "boxed.mkv", lambda y: y, width_pad=32)
    alone, framed = film_survey(fade).levels, film_survey(boxed).levels
    assert framed.weight == alone.weight == 1
    assert framed.black == pytest.approx(alone.black, abs=0.01) and framed.white == pytest.approx(alone.white, abs=0.01)


@pytest.mark.parametrize("suffix", [".mkv", ".mp4", ".ts"])
def test_a_films_levels_are_found_by_keyframes_or_by_one_read(films, tmp_path, suffix):
    """FFV1 (every frame a keyframe): sought; x264 in mp4 (one keyframe): read once; MPEG-TS: read once,
    as it cannot be sought by time."""
    bare, _ = films
    fade = rewrite(bare, tmp_path / f"faded{suffix}", faded)
    levels = film_survey(fade).levels
    expected = [gray_to_lightness(torch.tensor(FADED[0] + FADED[1] * x)).item() / 100 for x in (0.0, 1.0)]
    assert levels.weight == 1 and levels.black >= expected[0] - 0.01 and levels.white <= expected[1] + 0.01


def test_a_preview_shows_the_levels_of_the_whole_film(films, tmp_path, caplog):
    _, fade = films
    auto = make_preview(fade, tmp_path / "auto.png", count=2)
    assert "the film looks faded" in caplog.text
    off = make_preview(fade, tmp_path / "off.png", count=2, levels="off")
    assert auto["levels"] == asdict(film_survey(fade).levels) and off["levels"]["weight"] == 0
    sheets = [np.asarray(Image.open(tmp_path / f"{name}.png")) for name in ("auto", "off")]
    assert sheets[0].shape == sheets[1].shape and not np.array_equal(*sheets)


def test_levels_other_than_auto_or_off_are_refused(films, tmp_path, capsys):
    bare, _ = films
    with pytest.raises(UsageError, match="not one of auto, off"):
        colorize_video(bare, tmp_path / "x.mkv", model="tiny-random", progress=False, levels="on")
    assert run([str(bare), "-o", str(tmp_path / "y.mkv"), "--levels", "more", "-q"]) == UsageError.exit_code
    assert "not one of auto, off" in capsys.readouterr().err and not (tmp_path / "y.mkv").exists()
