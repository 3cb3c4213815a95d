"""Still photos: luminance kept at full resolution, odd Pillow modes, alpha and EXIF rotation."""
from __future__ import annotations

import io
import json
import struct

import av
import numpy as np
import pillow_heif
import pytest
import torch
import torch.nn.functional as F
from conftest import adobe_rgb, gray_rgb, make_clip, photo, read_rgb48, write_rgb48
from PIL import Image, ImageCms

from vidcolor.cli import run
from vidcolor.color import rgb_to_lab


def lightness(path) -> np.ndarray:
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255
    return rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1))[0].numpy()


def chroma(path) -> float:
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    return float(np.abs(rgb - rgb.mean(axis=2, keepdims=True)).mean())


def test_photo_keeps_luminance_and_gets_color(tmp_path):
    src = tmp_path / "old.png"
    Image.fromarray(gray_rgb(photo("coffee", 301, 203))).convert("L").save(src)
    dst = tmp_path / "new.png"
    assert run([str(src), "-o", str(dst), "-q"]) == 0  # the shipped weights
    assert Image.open(dst).size == (301, 203)
    diff = np.abs(lightness(dst) - lightness(src))
    assert diff.mean() < 0.5 and np.percentile(diff, 99) < 2.0  # L* kept up to 8-bit rounding and gamut
    assert chroma(dst) > 2.0


def test_photos_are_seen_larger_than_films_unless_a_work_side_is_given(tmp_path, network_sizes):
    """A photo is seen at 224 px (photos scored higher there), a film's frames and its preview at 128 (speed);
    `--work-side` given is for both, in a folder too."""
    seen = network_sizes
    box = tmp_path / "box"
    box.mkdir()
    Image.fromarray(gray_rgb(photo("coffee", 450, 300))).save(box / "old.png")
    make_clip(box / "film.mp4", width=320, height=240, frames=4)
    model = ["--model", "tiny-random", "-q"]
    for args, photo_seen, film_seen in (([], (224, 336), (128, 171)), (["--work-side", "96"], (96, 144), (96, 128))):
        seen.clear()
        assert run([str(box / "old.png"), "-o", str(tmp_path / "new.png"), "--overwrite", *model, *args]) == 0
        assert run([str(box / "film.mp4"), "-o", str(tmp_path / "new.mp4"), "--overwrite", *model, *args]) == 0
        assert set(seen) == {photo_seen, film_seen}
        seen.clear()
        assert run([str(box), "-o", str(tmp_path / f"out{len(args)}"), *model, *args]) == 0
        assert set(seen) == {photo_seen, film_seen}
    seen.clear()
    assert run(["preview", str(box / "film.mp4"), "-o", str(tmp_path / "sheet.png"), "--count", "1", *model]) == 0
    assert set(seen) == {(128, 171)}


def test_saturation_scales_the_colors(tmp_path):
    src = tmp_path / "old.png"
    Image.fromarray(gray_rgb(photo("coffee", 160, 120))).convert("L").save(src)
    found = {}
    for s in ("0", "1", "1.5"):
        assert run([str(src), "-o", str(tmp_path / f"{s}.png"), "-q", "--saturation", s]) == 0
        found[s] = chroma(tmp_path / f"{s}.png")
    assert found["0"] < 0.5  # gray: a*b* scaled to nothing
    assert 1.3 * found["1"] < found["1.5"] < 1.7 * found["1"]


@pytest.mark.parametrize("mode", ["P", "CMYK", "I;16", "F", "LA", "RGBA", "1"])
def test_odd_modes(tmp_path, mode):
    """Each mode comes out colored, as light as it went in (floats: 0 to 1, as HDR merges write them)."""
    base = Image.fromarray(photo("astronaut", 64, 48))
    if mode == "I;16":
        img = Image.fromarray(np.asarray(base.convert("L"), np.uint16) * 257)
    elif mode == "F":
        img = Image.fromarray(np.asarray(base.convert("L"), np.float32) / 255)
    else:
        img = base.convert(mode)
    src = tmp_path / ("in.tif" if mode in ("CMYK", "I;16", "F") else "in.png")
    img.save(src)
    dst = tmp_path / "out.png"
    assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q"]) == 0
    out = Image.open(dst)
    assert out.size == (64, 48)
    assert out.mode == ("RGBA" if "A" in mode else "RGB")
    if mode not in ("CMYK", "1"):  # Pillow's CMYK has no profile to read lightness by; 1 is dithered
        base.convert("L").save(tmp_path / "gray.png")  # Pillow reads 16-bit and float gray clipped at 255
        reference = tmp_path / "gray.png" if mode in ("I;16", "F") else src
        assert np.abs(lightness(dst) - lightness(reference)).mean() < 1.0


@pytest.mark.parametrize("source", ["jpg", "tif", "16.tif"])
def test_exif_rotation_is_applied(tmp_path, source):
    """Turned upright once, the right way, from an uncompressed gray TIFF too (Pillow 13 reads one turned a
    quarter garbled when it maps the file)."""
    gray = Image.fromarray(gray_rgb(photo("rocket", 80, 40))).convert("L")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    src = tmp_path / f"rot.{source}"
    (Image.fromarray(np.asarray(gray, np.uint16) * 257) if source == "16.tif" else gray).save(src, exif=exif)
    dst = tmp_path / "out.png"
    assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q"]) == 0
    upright = gray.transpose(Image.Transpose.ROTATE_270)
    upright.save(tmp_path / "upright.png")
    assert np.abs(lightness(dst) - lightness(tmp_path / "upright.png")).mean() < 1.0


def test_big_scans_are_not_decompression_bombs(tmp_path, capsys, monkeypatch):
    """Pillow refuses pictures over 179 megapixels; large-format negatives are scanned bigger. The limit is
    raised to 2 gigapixels, and a picture over it is a clean input error, not an internal one."""
    assert Image.MAX_IMAGE_PIXELS >= 1_000_000_000
    src = tmp_path / "negative.png"
    Image.fromarray(gray_rgb(photo("coffee", 64, 48))).save(src)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # as if it were 2 gigapixels against a 1 GP limit
    assert run([str(src), "-o", str(tmp_path / "o.png"), "--model", "tiny-random", "-q"]) == 3
    assert "negative.png: too big to colorize whole" in capsys.readouterr().err


def test_not_an_image(tmp_path, capsys):
    src = tmp_path / "fake.jpg"
    src.write_text("hello")
    assert run([str(src), "-o", str(tmp_path / "o.png"), "--model", "tiny-random", "-q"]) == 3
    assert "fake.jpg: not a readable image" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_an_animated_picture_says_only_its_first_is_colorized(tmp_path, capsys):
    """Pillow opens the first of an animated WebP's pictures, FFmpeg none: the output is a still, and says so."""
    src = tmp_path / "loop.webp"
    pictures = [Image.fromarray(np.roll(gray_rgb(photo("coffee", 64, 48)), 4 * i, 1)) for i in range(3)]
    pictures[0].save(src, save_all=True, append_images=pictures[1:], duration=80)
    assert run([str(src), "-o", str(tmp_path / "still.png"), "--model", "tiny-random", "--json"]) == 0
    assert "3 pictures in the file: only the first is colorized" in capsys.readouterr().err
    assert Image.open(tmp_path / "still.png").size == (64, 48)


@pytest.mark.parametrize("source", ["jpg", "tif"])
def test_a_photo_keeps_its_date_camera_and_scan_resolution(tmp_path, source):
    """Archives catalogue photos by their EXIF (when taken, with what) and scans by their DPI: the colorized
    copy keeps both, from a TIFF scan too. The orientation is applied to the pixels, so it is not kept (it
    would turn the photo twice); a gray color profile would misread RGB, so it is not kept either."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0112] = "Leica", 6  # camera make; orientation: turned 90 degrees
    exif.get_ifd(0x8769)[0x9003] = "1955:06:07 08:09:10"  # when it was taken
    gray_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()  # not RGB
    src = tmp_path / f"scan.{source}"
    Image.fromarray(gray_rgb(photo("coffee", 64, 48))).convert("L").save(src, exif=exif.tobytes(), dpi=(600, 600),
                                                                          icc_profile=gray_profile)
    for ext in ("jpg", "png", "tif"):
        dst = tmp_path / f"color.{ext}"
        assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q"]) == 0
        with Image.open(dst) as out:
            kept = out.getexif()
            assert out.size == (48, 64) and 0x0112 not in kept and "icc_profile" not in out.info
            assert (kept[0x010F], kept.get_ifd(0x8769)[0x9003]) == ("Leica", "1955:06:07 08:09:10")
            assert np.allclose(out.info["dpi"], 600, atol=0.01)
            assert kept[0x000B].startswith("vidcolor ")  # ProcessingSoftware: the copy says it is colorized


def test_a_phone_photo_of_a_print_in_heic(tmp_path):
    """Phones photograph old prints in HEIC: it was taken for a one-frame film and refused ("an image file
    holds one picture"). Now it is a photo, turned upright once, with its date and camera kept, into JPEG
    or back into HEIC."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0112] = "Apple", 6  # camera make; orientation: turned 90 degrees
    exif.get_ifd(0x8769)[0x9003] = "2024:06:07 08:09:10"  # when the print was photographed
    src = tmp_path / "print.heic"
    pillow_heif.register_heif_opener()  # for the test's own HEIC, as vidcolor registers it when it meets one
    Image.fromarray(gray_rgb(photo("coffee", 96, 64))).save(src, exif=exif.tobytes(), quality=90)
    for ext in ("jpg", "heic"):
        dst = tmp_path / f"color.{ext}"
        assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q"]) == 0
        with Image.open(dst) as out:
            kept = out.getexif()
            assert out.size == (64, 96) and 0x0112 not in kept
            assert (kept[0x010F], kept.get_ifd(0x8769)[0x9003]) == ("Apple", "2024:06:07 08:09:10")
        assert chroma(dst) > 0.5


@pytest.mark.parametrize("bits", [8, 16])
def test_a_jpeg_2000_master(tmp_path, bits):
    """Archives keep still images as JPEG 2000 (lossless): they are photos, and a JPEG 2000 copy keeps the
    luminance to 8-bit rounding (a 16-bit one, to 16 bits as TIFF)."""
    gray = np.asarray(Image.fromarray(gray_rgb(photo("coffee", 96, 64))).convert("L"))
    src = tmp_path / "master.jp2"
    Image.fromarray(gray.astype(np.uint16) * 257 if bits == 16 else gray).save(src)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    for ext in ("jp2", "tif"):
        dst = tmp_path / f"color.{ext}"
        assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q"]) == 0
        if ext == "tif":
            assert Image.open(dst).tag_v2[258] == (bits,) * 3
        assert np.percentile(np.abs(lightness(dst) - lightness(tmp_path / "gray.png")), 99) < 1.0


@pytest.mark.parametrize("ext", ["jpg", "webp", "heic"])
def test_lossy_outputs_keep_the_luminance_close(tmp_path, ext):
    """The photo's own L* is the promise: at Pillow's default quality a JPEG moved it by 5 at the 99th
    percentile, visible in fine detail; lossy outputs are written at 95."""
    src = tmp_path / "old.png"
    Image.fromarray(gray_rgb(photo("astronaut", 384, 384))).convert("L").save(src)
    dst = tmp_path / f"new.{ext}"
    assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q"]) == 0
    diff = np.abs(lightness(dst) - lightness(src))
    assert np.percentile(diff, 99) < 2.5


def lightness16(rgb: np.ndarray) -> np.ndarray:
    return rgb_to_lab(torch.from_numpy(rgb / 65535).permute(2, 0, 1))[0].numpy()


@pytest.mark.parametrize("source", ["tif", "png", "jp2"])
def test_a_16_bit_scan_stays_16_bit(tmp_path, source, capsys):
    """A restorer's scan holds 16 bits per channel, a gradient steps of 1/65535: at 8 bits the colorized
    copy would band when graded. PNG and TIFF copies keep all 16 (L* to within 0.01); JPEG holds 8. From
    JPEG 2000 too, archives' master format, which Pillow reads at 8 bits when it holds RGB."""
    gray = gray_rgb(photo("coffee", 160, 120))[..., 0] / 255 + np.linspace(0, 1 / 255, 160)  # between 8-bit codes
    scan = np.repeat((gray.clip(0, 1) * 65535).round().astype(np.uint16)[..., None], 3, axis=2)
    src = tmp_path / f"scan.{source}"
    write_rgb48(src, scan)
    for ext, bits in (("tif", 16), ("png", 16), ("jpg", 8)):
        dst = tmp_path / f"color.{ext}"
        assert run([str(src), "-o", str(dst), "--model", "tiny-random", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["bits"] == bits
        color = read_rgb48(dst)
        assert color.shape == scan.shape and np.abs(color - color.mean(axis=2, keepdims=True)).mean() > 100
        diff = np.abs(lightness16(color) - lightness16(scan))
        assert (np.percentile(diff, 99) < 0.01) == (bits == 16)


def test_a_16_bit_scan_is_turned_upright_and_keeps_its_exif(tmp_path):
    """The 16-bit path reads pixels through FFmpeg, which ignores EXIF orientation: it is applied as for
    8-bit photos (turned the same way as Pillow turns an 8-bit copy), and the EXIF is kept."""
    from vidcolor import photo16

    exif = Image.Exif()
    exif[0x010F], exif[0x0112] = "Nikon", 6  # turned 90 degrees
    exif.get_ifd(0x8769)[0x9003] = "1931:02:03 04:05:06"
    scan = gray_rgb(photo("rocket", 80, 40)).astype(np.uint16) * 257
    photo16.write(tmp_path / "scan16.tif", "TIFF", scan, {"exif": exif, "dpi": (1200, 1200)})
    Image.fromarray((scan >> 8).astype(np.uint8)).save(tmp_path / "scan8.jpg", exif=exif, quality=100)
    for name in ("scan16.tif", "scan8.jpg"):
        assert run([str(tmp_path / name), "-o", str(tmp_path / f"{name}.png"), "--model", "tiny-random", "-q"]) == 0
    with Image.open(tmp_path / "scan16.tif.png") as out:
        kept = out.getexif()
        assert out.size == (40, 80) and 0x0112 not in kept and np.allclose(out.info["dpi"], 1200, atol=0.01)
        assert (kept[0x010F], kept.get_ifd(0x8769)[0x9003]) == ("Nikon", "1931:02:03 04:05:06")
    upright = lightness16(read_rgb48(tmp_path / "scan16.tif.png"))
    assert np.abs(upright - lightness16(read_rgb48(tmp_path / "scan8.jpg.png"))).mean() < 1.0


def test_transparency_into_a_jpeg_is_dropped_with_a_warning(tmp_path, capsys):
    src = tmp_path / "cutout.png"
    Image.fromarray(gray_rgb(photo("coffee", 64, 48))).convert("RGBA").save(src)
    dst = tmp_path / "color.jpg"
    assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q"]) == 0
    assert "color.jpg: JPEG holds no transparency, the copy is opaque" in capsys.readouterr().err
    assert Image.open(dst).mode == "RGB"


def test_a_broken_chunk_in_a_16_bit_png(tmp_path, capsys):
    """Pillow reports some damage as SyntaxError ("broken PNG file"), found by `bench/fuzz.py --photos`: a
    clean input error, not an internal one."""
    src = tmp_path / "scan.png"
    write_rgb48(src, gray_rgb(photo("coffee", 160, 120)).astype(np.uint16) * 257)
    data = bytearray(src.read_bytes())
    second = data.index(b"IDAT", data.index(b"IDAT") + 4)  # FFmpeg writes the pixels in several chunks
    data[second] = 0
    src.write_bytes(bytes(data))
    assert run([str(src), "-o", str(tmp_path / "o.png"), "--model", "tiny-random", "-q"]) == 3
    assert "scan.png: not a readable image (broken PNG file" in capsys.readouterr().err


def test_a_damaged_tiff_field_costs_the_exif_not_the_photo(tmp_path, capsys):
    """A TIFF whose field says two values where one belongs (found by `bench/fuzz.py --photos`, seed 14) opens
    and loads, but Pillow fails on that field as the EXIF to keep is read: the photo is colorized without it,
    and the warning says so (it had been an internal error, KeyError: 262)."""
    src = tmp_path / "scan.tif"
    exif = Image.Exif()
    exif[0x010F] = "Nikon"
    Image.fromarray(gray_rgb(photo("coffee", 64, 48))[..., 0].astype(np.uint16) * 257).save(src, exif=exif)
    data = bytearray(src.read_bytes())
    ifd = struct.unpack_from("<I", data, 4)[0]
    entry = next(ifd + 2 + 12 * i for i in range(struct.unpack_from("<H", data, ifd)[0])
                 if struct.unpack_from("<H", data, ifd + 2 + 12 * i)[0] == 262)  # PhotometricInterpretation
    struct.pack_into("<I", data, entry + 4, 2)
    src.write_bytes(bytes(data))
    dst = tmp_path / "color.png"
    assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q"]) == 0
    assert "scan.tif: its EXIF is damaged: none of it is kept" in capsys.readouterr().err
    with Image.open(dst) as out:
        assert out.size == (64, 48) and 0x010F not in out.getexif()
    assert chroma(dst) > 0


def test_a_damaged_gray_profile_is_left_out(tmp_path):
    """A gray profile without its tone curve (found by `bench/fuzz.py --photos`) opens, but LittleCMS can
    make no transform of it: the scan is read as sRGB, as an untagged one is."""
    from vidcolor.icc import gray_profile

    damaged = gray_profile(2.2).tobytes().replace(b"kTRC", b"kTRD", 1)
    gray = Image.fromarray(gray_rgb(photo("coffee", 64, 48))).convert("L")
    gray.save(tmp_path / "scan.png", icc_profile=damaged)
    gray.save(tmp_path / "plain.png")
    for name in ("scan", "plain"):
        assert run([str(tmp_path / f"{name}.png"), "-o", str(tmp_path / f"{name}_color.png"), "--model",
                    "tiny-random", "-q"]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "scan_color.png")),
                          np.asarray(Image.open(tmp_path / "plain_color.png")))


def test_strip_by_strip_is_the_whole_picture(monkeypatch):
    """Photos are converted a few rows at a time so that a big scan fits in memory. The rows of a*b* are
    torch's bilinear upsampling of the whole, and the strips join into the whole picture's result."""
    from vidcolor import Colorizer, photo16
    from vidcolor.image import _rows, _widened, colorize_pixels

    pixels = gray_rgb(photo("chelsea", 97, 61))[..., :1]
    colorizer = Colorizer("tiny-random")
    at_once = colorize_pixels(pixels, colorizer, bits=16)  # one strip
    monkeypatch.setattr(photo16, "STRIP_PIXELS", 97 * 7)  # strips of 7 rows, the last one shorter
    assert len(list(photo16.strips(61, 97))) == 9
    ab = torch.randn(1, 2, 13, 17, generator=torch.Generator().manual_seed(0)) * 30
    whole = F.interpolate(ab, size=(61, 97), mode="bilinear", align_corners=False)
    joined = torch.cat([_rows(_widened(ab, 97), 61, rows) for rows in photo16.strips(61, 97)], dim=2)
    assert torch.allclose(whole, joined, atol=1e-4)
    assert np.abs(colorize_pixels(pixels, colorizer, bits=16).astype(int) - at_once).max() <= 1


@pytest.mark.parametrize("bits", [8, 16])
def test_a_gray_profile_is_applied(tmp_path, bits):
    """A gray scan tagged "Gray Gamma 2.2" looks darker in its shadows than the same codes read as sRGB
    (code 16: L* 2.0 against 4.7). The colorized copy is sRGB: it must look as light as the scan does."""
    from vidcolor.icc import gray_profile

    codes = np.tile(np.linspace(0, 1, 128), (32, 1))  # a ramp, black to white
    src = tmp_path / "scan.tif"
    peak = 65535 if bits == 16 else 255
    array = (codes * peak).round().astype(np.uint16 if bits == 16 else np.uint8)
    Image.fromarray(array).save(src, icc_profile=gray_profile(2.2).tobytes())
    dst = tmp_path / "color.png"
    assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q", "--saturation", "0"]) == 0
    looks = 116 * np.cbrt(np.maximum(codes**2.2, 216 / 24389)) - 16  # L* of gamma 2.2 (linear part below L* 8)
    looks = np.where(codes**2.2 > 216 / 24389, looks, codes**2.2 * 24389 / 27)
    shown = lightness16(read_rgb48(dst)) if bits == 16 else lightness(dst)
    assert np.abs(shown - looks).max() < (0.5 if bits == 8 else 0.2)  # 8-bit rounding; LittleCMS near black


def shown_in_srgb(path) -> np.ndarray:
    """A picture's RGB as a color-managed viewer shows it on an sRGB screen (under its profile, if any)."""
    with Image.open(path) as im:
        if "icc_profile" in im.info:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
            im = ImageCms.profileToProfile(im, profile, ImageCms.createProfile("sRGB"), outputMode=im.mode)
        return np.asarray(im.convert("RGB"), dtype=np.float64)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_a_scan_in_adobe_rgb_looks_as_the_same_scan_in_srgb(tmp_path, mode):
    """A gray print scanned in RGB under Adobe RGB (1998), a space wider than sRGB, is stored in other codes
    than the same scan in sRGB. The colors are computed as sRGB's, so shown under Adobe RGB they spread. Its
    copy must look as the sRGB scan's copy does: converted to sRGB, and carrying sRGB's profile."""
    plain = Image.fromarray(gray_rgb(photo("coffee", 96, 64))).convert(mode)
    plain.save(tmp_path / "plain.png")
    adobe = ImageCms.profileToProfile(plain, ImageCms.createProfile("sRGB"), adobe_rgb(), outputMode=mode)
    adobe.save(tmp_path / "adobe.png", icc_profile=adobe_rgb().tobytes())
    for name in ("plain", "adobe"):  # the shipped weights: real colors
        assert run([str(tmp_path / f"{name}.png"), "-o", str(tmp_path / f"{name}_color.png"), "-q"]) == 0
    diff = np.abs(shown_in_srgb(tmp_path / "adobe_color.png") - shown_in_srgb(tmp_path / "plain_color.png"))
    # 8-bit rounding on the way into Adobe RGB and back (session 14's code: 6.4 on average, 31 at most)
    assert chroma(tmp_path / "plain_color.png") > 2 and diff.mean() < 0.5 and diff.max() <= 5
    with Image.open(tmp_path / "adobe_color.png") as out:
        assert out.mode == mode and "srgb" in ImageCms.getProfileDescription(
            ImageCms.ImageCmsProfile(io.BytesIO(out.info["icc_profile"]))).lower()


def test_a_16_bit_scan_in_adobe_rgb_is_converted_at_16_bits(tmp_path, capsys, monkeypatch):
    """Pillow's LittleCMS converts 8-bit RGB only: a 16-bit scan under a matrix-and-curves profile (Adobe RGB)
    is converted here, as LittleCMS converts 8 bits, and stays 16-bit. Under a profile of tables, which is
    not, it keeps its codes and profile, and says so."""
    from vidcolor import icc, photo16

    codes = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    codes[:4] = np.arange(256).reshape(4, 64, 1)  # a gray ramp
    by_lcms = ImageCms.profileToProfile(Image.fromarray(codes), adobe_rgb(), ImageCms.createProfile("sRGB"))
    deep = codes.astype(np.uint16) * 257
    assert icc.to_srgb16(deep, adobe_rgb().tobytes())
    assert np.abs(deep / 257 - np.asarray(by_lcms)).max() < 0.7  # LittleCMS's 8-bit rounding

    plain = gray_rgb(photo("coffee", 96, 64)).astype(np.uint16) * 257
    photo16.write(tmp_path / "plain.png", "PNG", plain, {})
    adobe = np.asarray(ImageCms.profileToProfile(Image.fromarray((plain // 257).astype(np.uint8)),
                                                 ImageCms.createProfile("sRGB"), adobe_rgb()))
    photo16.write(tmp_path / "adobe.png", "PNG", adobe.astype(np.uint16) * 257, {"icc_profile": adobe_rgb().tobytes()})
    for name in ("plain", "adobe"):
        assert run([str(tmp_path / f"{name}.png"), "-o", str(tmp_path / f"{name}_color.png"), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["warnings"] == []
    diff = np.abs(read_rgb48(tmp_path / "adobe_color.png") / 257 - read_rgb48(tmp_path / "plain_color.png") / 257)
    assert diff.mean() < 0.5 and diff.max() <= 5  # the 8-bit rounding of the Adobe RGB scan made here
    with Image.open(tmp_path / "adobe_color.png") as out:
        assert out.info["icc_profile"] == icc.SRGB

    monkeypatch.setattr(icc, "_shaper", lambda profile: None)  # as for a profile of tables
    assert run([str(tmp_path / "adobe.png"), "-o", str(tmp_path / "kept.png"), "--model", "tiny-random",
                "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == [
        "its colors are computed as sRGB's: under its profile (Adobe RGB (1998)) they show somewhat more saturated"]


def test_a_damaged_rgb_profile_is_left_out(tmp_path, capsys):
    """An Adobe RGB profile without its red tone curve opens, but LittleCMS can make no transform of it: the
    scan is read as sRGB, as an untagged one is, and the copy does not carry the damaged profile."""
    damaged = adobe_rgb().tobytes().replace(b"rTRC", b"rTRX", 1)
    rgb = Image.fromarray(gray_rgb(photo("coffee", 64, 48)))
    rgb.save(tmp_path / "scan.png", icc_profile=damaged)
    rgb.save(tmp_path / "plain.png")
    for name in ("scan", "plain"):
        assert run([str(tmp_path / f"{name}.png"), "-o", str(tmp_path / f"{name}_color.png"), "--model",
                    "tiny-random", "-q"]) == 0
    assert capsys.readouterr().err == ""
    with Image.open(tmp_path / "scan_color.png") as scan, Image.open(tmp_path / "plain_color.png") as plain:
        assert "icc_profile" not in scan.info and np.array_equal(np.asarray(scan), np.asarray(plain))


@pytest.mark.parametrize("suffix", [".gif", ".pgm", ".pcx", ".tga", ".avif"])
def test_a_scanner_or_old_format_photo_is_a_photo(tmp_path, suffix):
    """Each was read as a one-frame film and refused: "an image file holds one picture"."""
    src = tmp_path / f"scan{suffix}"
    Image.fromarray(gray_rgb(photo("coffee", 64, 48))).convert("L").save(src)
    assert run([str(src), "-o", str(tmp_path / "color.png"), "--model", "tiny-random", "-q"]) == 0
    assert chroma(tmp_path / "color.png") > 0.5


def test_a_gray_profile_is_applied_to_16_bit_gray_with_alpha(tmp_path):
    """Pillow reads 16-bit gray with alpha as 8-bit RGBA, so it goes through FFmpeg, where LittleCMS cannot
    follow; its gray profile (Gray Gamma 2.2) is applied here (icc.to_srgb16), as to 16-bit gray."""
    import zlib

    from vidcolor.icc import gray_profile

    codes = np.tile(np.linspace(0, 1, 128), (32, 1))
    gray_alpha = np.stack([(codes * 65535).round(), np.full_like(codes, 65535)], axis=-1).astype(">u2")
    src = tmp_path / "scan.png"
    with av.open(str(src), "w", format="image2") as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 128, 32, "ya16be"
        frame = av.VideoFrame(128, 32, "ya16be")
        frame.planes[0].update(gray_alpha.tobytes())
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    data = src.read_bytes()
    iccp = b"iCCP" + b"Gray Gamma 2.2\0\0" + zlib.compress(gray_profile(2.2).tobytes())
    chunk = struct.pack(">I", len(iccp) - 4) + iccp + struct.pack(">I", zlib.crc32(iccp))
    src.write_bytes(data[:33] + chunk + data[33:])  # after the signature and IHDR
    assert Image.open(src).mode == "RGBA" and "icc_profile" in Image.open(src).info
    dst = tmp_path / "color.png"
    assert run([str(src), "-o", str(dst), "--model", "tiny-random", "-q", "--saturation", "0"]) == 0
    looks = 116 * np.cbrt(np.maximum(codes**2.2, 216 / 24389)) - 16
    looks = np.where(codes**2.2 > 216 / 24389, looks, codes**2.2 * 24389 / 27)
    assert np.abs(lightness16(read_rgb48(dst)) - looks).max() < 0.2
