"""Test media made on the fly with PyAV: gray films with tones as sound, from public-domain photos."""
from __future__ import annotations

import os
import signal
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from skimage import data as skdata

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")
SEPIA, BLUE_TINT = (1.0, 0.78, 0.42), (0.55, 0.72, 1.0)  # tints of a film base or a toned print, times gray


def as_at_a_terminal() -> None:
    """A child's Ctrl-C, SIGTERM and SIGHUP as at a terminal, even where this process ignores them (a background
    job)."""
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)


def foreground_job() -> None:
    """A child as a terminal's foreground job: a process group of its own, which Ctrl-C reaches as a whole."""
    os.setpgid(0, 0)
    as_at_a_terminal()


def photo(name: str, width: int, height: int) -> np.ndarray:
    """A public-domain scikit-image photo resized to (height, width, 3) uint8."""
    from PIL import Image

    return np.asarray(Image.fromarray(getattr(skdata, name)()).convert("RGB").resize((width, height)))


def gray_rgb(rgb: np.ndarray) -> np.ndarray:
    y = (rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).round().astype(np.uint8)
    return np.repeat(y[..., None], 3, axis=2)


def adobe_rgb():
    """Adobe RGB (1998), wider than sRGB, as an ImageCms profile: its colorants (adapted to D50), its 2.2 curve."""
    from vidcolor import icc

    colorants = {b"rXYZ": (0.6097, 0.3111, 0.0195), b"gXYZ": (0.2053, 0.6257, 0.0609),
                 b"bXYZ": (0.1492, 0.0632, 0.7446)}
    curves = [(tag, icc.tone_curve(563 / 256)) for tag in (b"rTRC", b"gTRC", b"bTRC")]
    return icc.build_profile(b"RGB ", "Adobe RGB (1998)", [(t, icc.xyz(v)) for t, v in colorants.items()] + curves)


def write_rgb48(path, pixels: np.ndarray) -> None:
    """A 16-bit RGB PNG, TIFF or JPEG 2000 (lossless) written by FFmpeg's encoders (Pillow writes RGB at 8 bits
    only)."""
    codec, pix_fmt, options = {".png": ("png", "rgb48be", {}), ".jp2": ("jpeg2000", "rgb48le", {"pred": "dwt53"})
                               }.get(Path(path).suffix, ("tiff", "rgb48le", {}))
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream(codec, rate=1, options=options)
        stream.width, stream.height, stream.pix_fmt = pixels.shape[1], pixels.shape[0], pix_fmt
        for packet in [*stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb48le")), *stream.encode()]:
            out.mux(packet)


def read_rgb48(path) -> np.ndarray:
    """(H, W, 3) uint16 RGB of a picture, as FFmpeg reads it (Pillow reads 16-bit RGB at 8 bits)."""
    with av.open(str(path)) as f:
        return next(f.decode(video=0)).to_ndarray(format="rgb48le")


def make_clip(path: Path, *, width: int = 96, height: int = 64, frames: int = 12, rate: int = 25,
              photos: tuple[str, ...] = ("astronaut",), gray: bool = True, pix_fmt: str = "yuv420p",
              codec: str = "libx264", audio: tuple[str, ...] = ("aac",), subtitles: bool = False,
              pts: list[int] | None = None, time_base: Fraction | None = None, rotation: int = 0,
              color_range: int | None = None, metadata: dict | None = None, sar: Fraction | None = None,
              chapters: list[tuple[int, int, str]] | None = None, audio_rate: int | None = None,
              tint: tuple[float, float, float] | None = None, color_photos: tuple[str, ...] = (),
              options: dict[str, str] | None = None, track_titles: tuple[str, ...] = ()) -> Path:
    """Write a clip: a slow pan over each photo in turn (one shot per photo), sine tones as audio.

    `tint`: the gray pictures times this RGB color, as a tinted film base (SEPIA, BLUE_TINT). `color_photos`:
    these photos' shots stay in color in a gray clip (a documentary's interviews between archive footage).

    `pts` gives explicit frame timestamps in `time_base` (variable frame rate); `chapters`, (start ms,
    end ms, title) each; `options`, the muxer's; `track_titles`, the sound tracks' in turn."""
    out = av.open(str(path), "w", options=options)
    if metadata:
        out.metadata.update(metadata)
    if chapters:
        out.set_chapters([{"id": i + 1, "start": a, "end": b, "time_base": Fraction(1, 1000), "metadata": {"title": t}}
                          for i, (a, b, t) in enumerate(chapters)])
    v = out.add_stream(codec, rate=rate)
    v.width, v.height, v.pix_fmt = width, height, pix_fmt
    if time_base is not None:
        v.time_base = v.codec_context.time_base = time_base
    if color_range is not None:
        v.codec_context.color_range = color_range
    if rotation:
        v.set_display_rotation(rotation)
    if sar is not None:
        v.codec_context.sample_aspect_ratio = sar
    tracks = []
    for i, codec_name in enumerate(audio):
        a = out.add_stream(codec_name, rate=audio_rate or (48000 if codec_name == "opus" else 44100))
        a.layout = "stereo"
        a.metadata["language"] = ("eng", "fra", "deu")[i]
        if i < len(track_titles):
            a.metadata["title"] = track_titles[i]
        tracks.append((a, 220.0 * (i + 2)))
    sub = out.add_mux_stream("subrip") if subtitles else None
    if sub is not None:
        sub.time_base = Fraction(1, 1000)
        sub.metadata["language"] = "eng"
    pans = [photo(p, width + frames, height) for p in photos]
    per_shot = -(-frames // len(pans))
    seconds = (frames / rate) if pts is None else float((pts[-1] + 1) * time_base)
    for i in range(frames):
        img = pans[i // per_shot][:, i % per_shot: i % per_shot + width]
        img = gray_rgb(img) if gray and photos[i // per_shot] not in color_photos else img
        img = (img * np.array(tint)).round().astype(np.uint8) if tint else img
        f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
        f = f.reformat(format=pix_fmt, dst_color_range=color_range) if color_range else f.reformat(format=pix_fmt)
        f.pts = i if pts is None else pts[i]
        if time_base is not None:
            f.time_base = time_base
        out.mux(v.encode(f))
    for a, freq in tracks:
        n = int(seconds * a.rate)
        t = np.arange(n) / a.rate
        wave = (0.3 * np.sin(2 * np.pi * (freq + 150 * t) * t)).astype(np.float32)  # a chirp: no two lags alike
        frame = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = a.rate, 0
        out.mux(a.encode(frame))
        out.mux(a.encode(None))
    if sub is not None:
        p = av.Packet(b"Hello from the subtitles")
        p.stream, p.pts, p.dts, p.duration, p.time_base = sub, 40, 40, 200, Fraction(1, 1000)
        out.mux(p)
    out.mux(v.encode(None))
    out.close()
    return path


LONG_SOUND_CODECS = {".webm": ("libvpx-vp9", "opus"), ".flv": ("libx264", "aac"), ".mkv": ("ffv1", "flac")}


def film_with_long_sound(path: Path, start: int = 0) -> Path:
    """25 frames at 25 fps from `start` frames on, and 3 s of sound from 0."""
    picture, sound = LONG_SOUND_CODECS[path.suffix]
    with av.open(str(path), "w") as out:
        v = out.add_stream(picture, rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream(sound, rate=48000)
        a.layout = "stereo"
        for i in range(25):
            f = av.VideoFrame.from_ndarray(np.roll(photo("rocket", 64, 48), 2 * i, axis=1), format="rgb24")
            f.pts = start + i
            out.mux(v.encode(f.reformat(format="yuv420p")))
        out.mux(v.encode(None))
        wave = (0.3 * np.sin(np.arange(3 * 48000) / 20)).astype(np.float32)
        sound = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
        sound.sample_rate, sound.pts = 48000, 0
        out.mux(a.encode(sound))
        out.mux(a.encode(None))
    return path


def remux(src: Path, dst: Path, add: Callable[[av.container.OutputContainer], object]) -> Path:
    """`src`'s streams copied packet for packet into `dst`, after `add` has put more into it: a stream that
    stays empty, attached files, a cover picture."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        add(out)
        for packet in inp.demux():
            if packet.size:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    return dst


def decode_planes(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as c:
        return list(c.decode(video=0))


def packets(path: Path, kind: str = "audio") -> list[list[bytes]]:
    """Payloads of every stream of that kind, per stream, in file order."""
    with av.open(str(path)) as c:
        streams = [s for s in c.streams if s.type == kind]
        got: dict[int, list[bytes]] = {s.index: [] for s in streams}
        for p in c.demux(*streams):
            if p.size:
                got[p.stream.index].append(bytes(p))
        return [got[s.index] for s in streams]


@pytest.fixture
def clip(tmp_path):
    def make(name: str = "in.mp4", **kw) -> Path:
        return make_clip(tmp_path / name, **kw)
    return make


@pytest.fixture
def network_sizes(monkeypatch) -> list[tuple[int, int]]:
    """The size of each picture the network colors, in turn: what a working size did (Colorizer.ab spied)."""
    from vidcolor.colorizer import Colorizer

    seen: list[tuple[int, int]] = []
    real = Colorizer.ab

    def ab(self, L, g=None):
        seen.extend(tuple(x.shape[-2:]) for x in L)
        return real(self, L, g)

    monkeypatch.setattr(Colorizer, "ab", ab)
    return seen
