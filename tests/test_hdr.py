"""Films in other light than SDR's: a black-and-white HDR master (PQ and HLG, BT.2020) or a linear-light scan
(OpenEXR) is colorized as the same pictures in SDR are.

The reference math here is written from the standards (SMPTE ST 2084, ARIB STD-B67, BT.2100, BT.2087, BT.2408:
reference white at 203 cd/m2), apart from vidcolor's, in numpy."""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from conftest import gray_rgb, photo
from PIL import Image
from test_video import luma_planes

from vidcolor import colorize_video, detect_shots, make_preview
from vidcolor.media.codecs import EncodeOptions

FFV1 = EncodeOptions(codec="ffv1")  # lossless: the chroma read back is the chroma written
WHITE = 203.0
TO_2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]])
KR, KB = 0.2627, 0.0593
LUMA = np.array([KR, 1 - KR - KB, KB])
M1, M2, C1, C2, C3 = 2610 / 16384, 2523 / 32, 3424 / 4096, 2413 / 128, 2392 / 128
A, B, C = 0.17883277, 0.28466892, 0.55991073
PQ, HLG = 16, 18  # AVColorTransferCharacteristic


def srgb_to_linear(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c):
    c = np.clip(c, 0, 1)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def encode(light, trc):
    """Linear BT.2020 RGB of the display (1: reference white) -> R'G'B' signals."""
    if trc == PQ:
        y = np.clip(light * WHITE / 10000, 0, 1) ** M1
        return ((C1 + C2 * y) / (1 + C3 * y)) ** M2
    scene_y = np.maximum(light @ LUMA * WHITE / 1000, 1e-12) ** (1 / 1.2)  # the inverse of HLG's OOTF
    e = np.clip(light * WHITE / 1000 * scene_y[..., None] ** (1 - 1.2), 0, 1)
    return np.where(e <= 1 / 12, np.sqrt(3 * e), A * np.log(np.maximum(12 * e - B, 1e-12)) + C)


def decode(signal, trc):
    """R'G'B' signals -> linear BT.2020 RGB of the display (1: reference white)."""
    e = np.clip(signal, 0, 1)
    if trc == PQ:
        p = e ** (1 / M2)
        return 10000 / WHITE * (np.maximum(p - C1, 0) / (C2 - C3 * p)) ** (1 / M1)
    scene = np.where(e <= 0.5, e * e / 3, (np.exp((e - C) / A) + B) / 12)
    return 1000 / WHITE * np.maximum(scene @ LUMA, 0)[..., None] ** 0.2 * scene


def write_hdr(path, pictures: list[np.ndarray], trc: int) -> None:
    """SDR pictures as an HDR master shows them (SDR's white at HDR's reference white): 10-bit 4:4:4, BT.2020."""
    h, w = pictures[0].shape[:2]
    with av.open(str(path), "w") as out:
        v = out.add_stream("ffv1", rate=25)
        v.width, v.height, v.pix_fmt = w, h, "yuv444p10le"
        cc = v.codec_context  # the container's tags: Matroska's Colour element
        cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range = 9, trc, 9, 1
        for i, rgb8 in enumerate(pictures):
            signal = encode(srgb_to_linear(rgb8 / 255) @ TO_2020.T, trc)
            y = signal @ LUMA
            planes = [64 + 876 * y, 512 + 896 * (signal[..., 2] - y) / (2 * (1 - KB)),
                      512 + 896 * (signal[..., 0] - y) / (2 * (1 - KR))]
            f = av.VideoFrame(w, h, "yuv444p10le")
            for plane, values in zip(f.planes, planes):
                np.frombuffer(plane, np.uint16).reshape(h, -1)[:, :w] = np.round(values)
            f.pts, f.color_primaries, f.color_trc, f.colorspace, f.color_range = i, 9, trc, 9, 1
            out.mux(v.encode(f))
        out.mux(v.encode(None))


def write_sdr(path, pictures: list[np.ndarray]) -> None:
    h, w = pictures[0].shape[:2]
    with av.open(str(path), "w") as out:
        v = out.add_stream("ffv1", rate=25)
        v.width, v.height, v.pix_fmt = w, h, "yuv444p"
        for i, rgb8 in enumerate(pictures):
            f = av.VideoFrame.from_ndarray(rgb8, format="rgb24").reformat(format="yuv444p")
            f.pts = i
            out.mux(v.encode(f))
        out.mux(v.encode(None))


def shown(path, trc: int) -> list[np.ndarray]:
    """The frames of an HDR film as sRGB 0-255 (what a display shows of them, in SDR's terms)."""
    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            y, cb, cr = (np.frombuffer(p, np.uint16).reshape(f.height, -1)[:, :f.width] for p in f.planes)
            y, cb, cr = (y - 64) / 876, (cb - 512.0) / 896, (cr - 512.0) / 896
            r, b = y + 2 * (1 - KR) * cr, y + 2 * (1 - KB) * cb
            signal = np.stack([r, (y - KR * r - KB * b) / (1 - KR - KB), b], -1)
            out.append(255 * linear_to_srgb(decode(signal, trc) @ np.linalg.inv(TO_2020).T))
    return out


def chroma(rgb: np.ndarray) -> float:
    """Mean |channel - the pixel's mean| of RGB: how colorful a picture is, on the scale it is shown."""
    return float(np.abs(rgb - rgb.mean(-1, keepdims=True)).mean())


@pytest.mark.parametrize("trc", [PQ, HLG])
def test_an_hdr_master_is_colorized_as_its_sdr_pictures_are(tmp_path, trc):
    """A black-and-white HDR master (PQ or HLG) is shown to the network as SDR (it had looked faded and dark:
    PQ puts SDR's white at half the signal) and its colors are made in BT.2020 and its transfer, so that on an
    HDR display they look as the same pictures colorized in SDR do (they had come out 3 x as colorful, and
    orange: mean |RGB| off by 30 of 255 with PQ). Its luminance and color tags are the master's; its preview
    sheet is the SDR pictures' (it had shown the PQ signal as gray: dim and flat)."""
    gray = gray_rgb(photo("astronaut", 128, 96))
    sdr, hdr = tmp_path / "sdr.mkv", tmp_path / "hdr.mkv"
    write_sdr(sdr, [gray] * 4)
    write_hdr(hdr, [gray] * 4, trc)
    assert colorize_video(sdr, tmp_path / "sdr_out.mkv", encode=FFV1, progress=False).warnings == []
    report = colorize_video(hdr, tmp_path / "hdr_out.mkv", encode=FFV1, progress=False)
    assert report.warnings == []  # not "the film looks faded"

    with av.open(str(tmp_path / "sdr_out.mkv")) as c:
        ours_sdr = [f.to_ndarray(format="rgb24").astype(float) for f in c.decode(video=0)]
    ours_hdr = shown(tmp_path / "hdr_out.mkv", trc)
    assert np.abs(shown(hdr, trc)[0] - gray).mean() < 0.5  # the reference math reads the master back

    assert chroma(ours_sdr[0]) > 5  # colorized
    assert 0.8 < chroma(ours_hdr[0]) / chroma(ours_sdr[0]) < 1.25  # measured 1.00 (PQ), 1.11 (HLG); 1.32 before
    off = np.mean([np.abs(a - b).mean() for a, b in zip(ours_hdr, ours_sdr, strict=True)])
    assert off < 4  # of 255: measured 0.98 (PQ), 2.05 (HLG); PQ 8.2 before
    with av.open(str(tmp_path / "hdr_out.mkv")) as c:
        f = next(c.decode(video=0))
        assert (f.color_primaries, f.color_trc, f.colorspace, f.color_range) == (9, trc, 9, 1)
    assert all(np.array_equal(a, b) for a, b in zip(luma_planes(tmp_path / "hdr_out.mkv"), luma_planes(hdr),
                                                    strict=True))
    for film in (sdr, hdr):  # the preview sheet shows the master's gray and colors as the run makes them
        make_preview(film, tmp_path / f"{film.stem}.png", count=1)
    sheets = [np.asarray(Image.open(tmp_path / f"{film.stem}.png"), float) for film in (sdr, hdr)]
    assert np.abs(sheets[0] - sheets[1]).mean() < 2  # of 255: measured 0.21 (PQ and HLG); 28 and 12 before


def test_the_shot_list_of_an_hdr_master_is_its_sdr_twins(tmp_path):
    """`vidcolor shots` sees an HDR master's frames as a run's shot detector does, as SDR: a cut that PQ's
    signal had hidden (SDR's range takes half of it, so differences were halved) is found, and the shot
    numbers that a per-shot --reference table gives are the run's."""
    before = gray_rgb(photo("astronaut", 128, 96))
    after = np.clip(before.astype(int) + 18, 0, 255).astype(np.uint8)  # the next shot: the light turned up
    sdr, hdr = tmp_path / "sdr.mkv", tmp_path / "hdr.mkv"
    write_sdr(sdr, [before] * 12 + [after] * 12)
    write_hdr(hdr, [before] * 12 + [after] * 12, PQ)
    assert [(s.start_frame, s.transition) for s in detect_shots(sdr)] == [(0, "start"), (12, "cut")]
    assert detect_shots(hdr) == detect_shots(sdr)
    assert colorize_video(hdr, tmp_path / "out.mkv", model="tiny-random", encode=FFV1, progress=False).shots == 2


MASTERING = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)"  # BT.2020 at 1000 cd/m2


def hdr10_side_data(path) -> dict[str, bytes]:
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return {str(s.type).rsplit(".", 1)[-1]: bytes(s) for s in frame.side_data
                if "MASTERING" in str(s.type) or "LIGHT_LEVEL" in str(s.type)}


@pytest.mark.parametrize("codec", ["libx264", "libx265"])
def test_hdr10_metadata_goes_on_to_the_encoders_that_take_it(tmp_path, codec):
    """An HDR10 master's mastering display and light levels, which a display uses to fit the film to its own
    range, are written again (FFmpeg's encoders take them only as options: they had been lost); an encoder that
    takes none (FFV1) is named in a warning."""
    gray = gray_rgb(photo("astronaut", 128, 96))
    write_hdr(tmp_path / "master.mkv", [gray] * 4, PQ)
    src = tmp_path / "hdr10.mp4"
    with av.open(str(tmp_path / "master.mkv")) as master, av.open(str(src), "w") as out:
        v = out.add_stream("libx265", rate=25, options={
            "x265-params": f"log-level=error:master-display={MASTERING}:max-cll=1000,400"})
        v.width, v.height, v.pix_fmt = 128, 96, "yuv420p10le"
        cc = v.codec_context
        cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range = 9, PQ, 9, 1
        for i, frame in enumerate(master.decode(video=0)):
            frame = frame.reformat(format="yuv420p10le")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    given = hdr10_side_data(src)
    assert set(given) == {"MASTERING_DISPLAY_METADATA", "CONTENT_LIGHT_LEVEL"}
    report = colorize_video(src, tmp_path / "out.mp4", model="tiny-random", encode=EncodeOptions(codec=codec),
                            progress=False)
    assert report.warnings == []
    assert hdr10_side_data(tmp_path / "out.mp4") == given
    report = colorize_video(src, tmp_path / "out.mkv", model="tiny-random", encode=FFV1, progress=False)
    assert report.warnings == ["the film's HDR10 metadata (mastering display, light levels) is not written: the "
                               "ffv1 encoder takes none from vidcolor (libx264, libx265, libsvtav1 do)"]


def test_linear_light_scans_are_written_with_the_srgb_curve(tmp_path):
    """OpenEXR scans hold linear light, which swscale only rescales: the film came out dark (luma 67 of 255
    where the picture's is 115) and the network saw it dark. The light now gets the sRGB curve and the output
    is tagged so, with a warning; its luma and colors are those of the same pictures as PNG scans."""
    gray = gray_rgb(photo("astronaut", 128, 96))
    light = srgb_to_linear(gray[..., 0] / 255).astype(np.float32)
    with av.open(str(tmp_path / "exr_%04d.exr"), "w") as out:
        v = out.add_stream("exr", rate=24)
        v.width, v.height, v.pix_fmt = 128, 96, "gbrpf32le"
        for i in range(4):
            frame = av.VideoFrame.from_ndarray(np.stack([light] * 3, -1), format="gbrpf32le")
            frame.pts = i
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    for i in range(4):
        Image.fromarray(gray).save(tmp_path / f"png_{i:04d}.png")
    report = colorize_video(tmp_path / "exr_%04d.exr", tmp_path / "exr.mkv", encode=FFV1, progress=False)
    assert "the film is in linear light (OpenEXR): written with the sRGB curve, and tagged so" in report.warnings
    colorize_video(tmp_path / "png_%04d.png", tmp_path / "png.mkv", encode=FFV1, progress=False)
    with av.open(str(tmp_path / "exr.mkv")) as c, av.open(str(tmp_path / "png.mkv")) as d:
        exr, png = next(c.decode(video=0)), next(d.decode(video=0))
    assert exr.color_trc == 13  # IEC 61966-2-1, sRGB
    luma = [f.to_ndarray(format="gray").astype(float) for f in (exr, png)]
    assert np.abs(luma[0] - luma[1]).mean() < 1.5  # of 255: measured 0.44
    colors = [f.to_ndarray(format="rgb24").astype(float) for f in (exr, png)]
    assert np.abs(colors[0] - colors[1]).mean() < 3  # 0.82
