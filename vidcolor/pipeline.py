"""The film pipeline, the only place that chains the stages:

decode (thread) -> batch -> model (main thread, GPU) -> compose + encode + mux (thread).
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .color import gray_to_lightness
from .colorizer import DEFAULT_WORK_SIDE, Colorizer, work_size
from .errors import InputError
from .media.decode import DecodeStats, demux_decode
from .media.encode import EncodeOptions, Writer
from .media.planes import PlaneFormat, chroma_planes, compose, luma, luma_to_gray, plane_format, to_plane_format
from .media.probe import open_input, video_info
from .model.weights import DEFAULT_MODEL
from .outputs import atomic_output
from .streaming import Consumer, run_ahead

log = logging.getLogger("vidcolor")

DECODE_AHEAD_BATCHES = 2  # decoded frames waiting for the model, in batches
ENCODE_BEHIND_BATCHES = 2  # colorized batches waiting for the encoder


def default_batch_size(device: torch.device) -> int:
    return 16 if device.type == "cuda" else 4


@dataclass
class VideoReport:
    input: str
    output: str
    frames_in: int = 0
    frames_out: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    corrupt_packets: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Batch:
    items: list  # frames and side packets, in file order
    frames: list[av.VideoFrame]
    cbcr: np.ndarray | None = None  # (B, 2, ch, cw) chroma codes


def _colorize_batch(batch: _Batch, fmt: PlaneFormat, colorizer: Colorizer) -> np.ndarray:
    ys = np.stack([luma(f, fmt) for f in batch.frames]).astype(np.int32 if fmt.bits > 8 else np.uint8)
    y = torch.from_numpy(ys)[:, None]
    if colorizer.device.type == "cuda":
        y = y.pin_memory()
    gray = luma_to_gray(y.to(colorizer.device, non_blocking=True), fmt)
    size = work_size(*gray.shape[-2:], colorizer.work_side)
    gray_w = F.interpolate(gray, size=size, mode="area") if size != tuple(gray.shape[-2:]) else gray
    ab = colorizer.ab(gray_to_lightness(gray_w) / 100)
    return chroma_planes(gray, ab, fmt).to(torch.int32).cpu().numpy().astype(fmt.dtype)


def colorize_video(src: str | Path, dst: str | Path, *, model: str | Path = DEFAULT_MODEL, device: str = "auto",
                   batch_size: int | None = None, work_side: int | None = DEFAULT_WORK_SIDE,
                   encode: EncodeOptions = EncodeOptions(), overwrite: bool = False, progress: bool = True,
                   colorizer: Colorizer | None = None) -> VideoReport:
    """Colorize a video file into `dst`, keeping luminance, timing, audio, subtitles and metadata."""
    src, dst = Path(src), Path(dst)
    report = VideoReport(str(src), str(dst))
    t0 = time.perf_counter()
    container = open_input(src)
    try:
        info = video_info(container)
        colorizer = colorizer or Colorizer(model, device, work_side)
        batch_size = batch_size or default_batch_size(colorizer.device)
        side = [s for s in container.streams if s.type in ("audio", "subtitle")]
        stats = DecodeStats()
        with atomic_output(src, dst, overwrite) as tmp:
            writer = Writer(tmp, container, side, encode, info.rate)
            state: dict = {}

            def decoded():
                for item in demux_decode(container, side, stats):
                    if isinstance(item, av.VideoFrame):
                        if "fmt" not in state:
                            state["fmt"], state["rotation"] = plane_format(item), item.rotation
                        item = to_plane_format(item, state["fmt"])
                    yield item

            def write(batch: _Batch) -> None:
                i = 0
                for item in batch.items:
                    if isinstance(item, av.VideoFrame):
                        writer.frame(compose(item, batch.cbcr[i], state["fmt"]), state["rotation"])
                        i += 1
                    else:
                        writer.packet(item)

            sink = Consumer(write, ENCODE_BEHIND_BATCHES, name="encode")
            bar = tqdm(total=info.frames, unit="frame", disable=not progress, dynamic_ncols=True,
                       desc=src.name[:30])
            try:
                batch = _Batch([], [])
                for item in run_ahead(decoded(), DECODE_AHEAD_BATCHES * batch_size, name="decode"):
                    batch.items.append(item)
                    if isinstance(item, av.VideoFrame):
                        batch.frames.append(item)
                        if len(batch.frames) == batch_size:
                            batch.cbcr = _colorize_batch(batch, state["fmt"], colorizer)
                            sink.put(batch)
                            bar.update(len(batch.frames))
                            report.frames_in += len(batch.frames)
                            batch = _Batch([], [])
                if batch.frames:
                    batch.cbcr = _colorize_batch(batch, state["fmt"], colorizer)
                    report.frames_in += len(batch.frames)
                    bar.update(len(batch.frames))
                sink.put(batch)
                sink.close()
            except BaseException:
                sink.cancel()
                writer.abort()
                raise
            finally:
                bar.close()
            if report.frames_in == 0:
                writer.abort()
                raise InputError(f"{src}: no video frame could be decoded")
            writer.close()
            report.frames_out = writer.frames
            if writer.bumped_pts:
                report.warnings.append(f"{writer.bumped_pts} frames had missing or repeated timestamps; "
                                       "they were moved by one tick to keep the order")
    finally:
        container.close()
    report.corrupt_packets = stats.corrupt_packets
    if stats.corrupt_packets:
        report.warnings.append(f"{stats.corrupt_packets} damaged video packets were skipped")
    if stats.read_error:
        report.warnings.append(f"reading stopped early: {stats.read_error}")
    report.seconds = round(time.perf_counter() - t0, 3)
    report.fps = round(report.frames_out / max(report.seconds, 1e-9), 2)
    for w in report.warnings:
        log.warning("%s: %s", src, w)
    return report
