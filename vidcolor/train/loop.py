"""Training: MSE on a*b* plus alpha x scene cross-entropy (the paper's loss), resumable.

A checkpoint is a plain dict {config, classes, model, optimizer, step, images_seen, args,
seconds} loaded with weights_only=True, so a run can stop at a time budget (a 10-minute
call on a lent GPU) and the next run continues the same cosine schedule. It is written every
SAVE_EVERY_S, at the end and at a Ctrl-C.
"""
from __future__ import annotations

import math
import pickle
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..color import hasler_colorfulness, lab_to_rgb, rgb_to_lab
from ..colorizer import autocast_dtype, pick_device
from ..errors import UsageError, WeightsError
from ..interrupts import deferred_interrupt
from ..model.net import AB_SCALE, FusionNet, NetConfig, count_parameters
from ..model.weights import load_model
from ..outputs import check_folder
from ..timecode import format_clock
from .data import augment, load_photos, read_index, scene_classes
from .widen import widen

SAVE_EVERY_S = 600.0  # a crash (out of memory, a lost GPU, a power cut) loses at most this much of a run


@dataclass
class TrainArgs:
    data: str  # a folder or .tar shard with index.csv; several separated by commas
    checkpoint: str
    init: str | None = None  # start from these weights (a model name or .safetensors file), not at random
    widen: int | None = None  # grow the init network to this width first (widen.py): more capacity, same output
    variant: str = "pooled"  # "paper" (FC global head) or "pooled"
    width: int = 64
    size: int = 128  # training crop side, px
    load_size: int | None = None  # side the photos are decoded at (default: size); crops are 0.6-1 of it
    global_size: int = 128  # at training size the global path sees the same picture
    batch_size: int = 64
    steps: int = 10_000  # length of the schedule, across resumed runs
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: int = 300
    alpha: float = 1 / 300  # weight of the classification loss (paper)
    rebalance: float = 0.0  # 0: plain MSE; lam in (0, 1]: rare a*b* weighted up (Zhang et al. 2016)
    colorfulness: float = 0.0  # weight of the per-photo hinge relu(colorfulness(truth) - colorfulness(pred))
    crop_min: float = 0.6  # random crops take crop_min-1 of the photo's side
    exposure: float = 0.0  # +- stops of random exposure (augment)
    optimizer: str = "adamw"  # or "adadelta" (paper)
    seed: int = 0
    limit: int | None = None  # use only the first N training photos
    minutes: float | None = None  # stop (and save) after this much wall time
    log_every: int = 50
    workers: int = 4
    device: str = "auto"
    precision: str = "auto"  # bf16 where the device runs it natively (autocast_dtype), or "float32"


def _sources(args: TrainArgs) -> list[Path]:
    return [Path(d) for d in args.data.split(",") if d]


def lr_at(step: int, args: TrainArgs, elapsed: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to 2% of the peak at `args.steps` or at the end of `args.minutes`
    (`elapsed` seconds into this run), whichever comes first: a timed run on a GPU of unknown speed
    still ends its schedule."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup)
    if args.minutes:
        t = max(t, elapsed / (60 * args.minutes))
    return args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def make_optimizer(model: FusionNet, args: TrainArgs) -> torch.optim.Optimizer:
    if args.optimizer == "adadelta":
        return torch.optim.Adadelta(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)


AB_BINS = 22  # histogram of a*b* in [-AB_SCALE, AB_SCALE]^2, 10 units per bin


def _ab_bin(ab: torch.Tensor) -> torch.Tensor:
    """(B, 2, H, W) a*b*/AB_SCALE -> (B, H, W) flat bin index."""
    idx = ((ab.clamp(-1, 1 - 1e-6) + 1) / 2 * AB_BINS).long()
    return idx[:, 0] * AB_BINS + idx[:, 1]


def ab_weights(images: torch.Tensor, lam: float, sample: int = 4000) -> torch.Tensor:
    """Per-bin loss weights 1 / ((1 - lam) p + lam / Q) (Zhang et al. 2016), mean 1 over the pixels.

    MSE pulls uncertain pixels to the mean, gray-brown; weighting rare (saturated) a*b* up
    moves the optimum toward them. p is smoothed over neighbouring bins; Q counts its bins;
    the mean of 1 keeps the loss on the scale of plain MSE, so the learning rate still fits."""
    step = max(1, len(images) // sample)
    lab = rgb_to_lab(images[::step].float() / 255)
    counts = torch.bincount(_ab_bin(lab[:, 1:] / AB_SCALE).flatten(), minlength=AB_BINS**2).float()
    kernel = torch.tensor([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]], device=images.device) / 16
    p = F.conv2d(counts.view(1, 1, AB_BINS, AB_BINS), kernel[None, None], padding=1).flatten()
    p = p / p.sum()
    seen = p > 0
    w = torch.zeros_like(p)
    w[seen] = 1 / ((1 - lam) * p[seen] + lam / seen.sum())
    return w / (counts / counts.sum() * w).sum()


def colorfulness_gap(rgb: torch.Tensor, L: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """Per photo, how much less colorful the prediction is than the truth (0 where it is not), on
    [0, 1] RGB: MSE pulls uncertain pixels to gray, and this hinge makes each photo pay for colour it
    lacks. Measured: it lands on, not above, the curve that --saturation draws (docs/quality.md, "Which levers pay")."""
    shown = lab_to_rgb(torch.cat((L * 100, pred * AB_SCALE), 1))
    return (hasler_colorfulness(rgb, eps=1e-6) - hasler_colorfulness(shown, eps=1e-6)).clamp(min=0)


def loss_fn(model: FusionNet, rgb: torch.Tensor, labels: torch.Tensor, alpha: float,
            weights: torch.Tensor | None = None, colorfulness: float = 0.0) -> tuple[torch.Tensor, float]:
    """(B, 3, H, W) sRGB in [0, 1] -> (total loss, plain MSE); `weights` from ab_weights()."""
    with torch.autocast(rgb.device.type, enabled=False):  # under bf16 autocast the targets were off by 0.7 units
        lab = rgb_to_lab(rgb.float())
    L, ab = lab[:, :1] / 100, lab[:, 1:] / AB_SCALE
    pred, logits = model(L)
    pred = pred.float()
    err = (pred - ab) ** 2
    mse = err.mean()
    loss = mse if weights is None else (err * weights[_ab_bin(ab)][:, None]).mean()
    if logits is not None and alpha > 0 and (labels >= 0).any():
        loss = loss + alpha * F.cross_entropy(logits.float(), labels, ignore_index=-1)
    if colorfulness > 0:
        with torch.autocast(rgb.device.type, enabled=False):
            loss = loss + colorfulness * colorfulness_gap(rgb.float(), L, pred).mean()
    return loss, mse.item()


def train(args: TrainArgs) -> dict:
    """Train (or resume) and write the checkpoint, every SAVE_EVERY_S and at the end; return a summary. Ctrl-C
    (or the command line's SIGTERM, SIGHUP) stops after the step under way and writes the checkpoint, then
    raises its KeyboardInterrupt."""
    device = pick_device(args.device)
    if args.widen and not args.init:
        raise UsageError("--widen grows the --init network: give --init")
    if args.variant not in ("pooled", "paper"):
        raise UsageError(f"variant {args.variant!r}: use pooled or paper")
    if args.optimizer not in ("adamw", "adadelta"):  # anything else had trained with AdamW without a word
        raise UsageError(f"optimizer {args.optimizer!r}: use adamw or adadelta")
    if not args.lr > 0:
        raise UsageError(f"lr {args.lr}: use a learning rate above 0")
    ckpt_path = Path(args.checkpoint)
    check_folder(ckpt_path)
    state = read_checkpoint(ckpt_path) if ckpt_path.exists() else None
    start = load_network(args.init) if state is None and args.init else None
    if start is not None and args.widen:
        start = widen(start, args.widen)
    if state is not None:
        with _loading(ckpt_path):
            config, classes = NetConfig(**state["config"]), state["classes"]
    elif start is not None:  # its shape and classes; labels it does not know count for the MSE only
        config, classes = start.config, start.classes
    else:
        classes = scene_classes([r for d in _sources(args) for r in read_index(d)])
        config = NetConfig(width=args.width, global_size=args.global_size, pooled=args.variant == "pooled",
                           num_classes=len(classes))
    model = (start if start is not None else FusionNet(config)).to(device).to(memory_format=torch.channels_last)
    opt = make_optimizer(model, args)
    step, seen, seconds = 0, 0, 0.0
    if state is not None:
        with _loading(ckpt_path):
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            step, seen, seconds = state["step"], state["images_seen"], state["seconds"]
    sets = [load_photos(d, "train", args.load_size or args.size, classes, args.limit, args.workers, progress=True)
            for d in _sources(args)]
    images = torch.cat([p.images for p in sets]).to(device)
    labels = torch.cat([p.labels for p in sets]).to(device)
    print(f"{count_parameters(model) / 1e6:.1f}M parameters, {len(images)} photos, {device}, from step {step}",
          flush=True)
    weights = ab_weights(images, args.rebalance) if args.rebalance > 0 else None

    gen = torch.Generator().manual_seed(args.seed * 1_000_003 + step)
    dtype = autocast_dtype(device, args.precision)
    if dtype == torch.float16:  # GPUs without bf16: fp16 would need loss scaling, which this loop does not do
        dtype = None
    amp = torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()
    model.train()
    t0 = time.perf_counter()
    t_log, seen_log, mse_sum, n_sum = t0, seen, 0.0, 0

    def save() -> None:
        """The checkpoint as it stands, written under another name and renamed: a crash mid-write keeps the
        one before."""
        state = {"config": config.to_dict(), "classes": classes, "model": model.state_dict(),
                 "optimizer": opt.state_dict(), "step": step, "images_seen": seen,
                 "seconds": seconds + time.perf_counter() - t0, "args": asdict(args)}
        tmp = ckpt_path.with_suffix(".tmp")
        try:
            torch.save(state, tmp)
            tmp.replace(ckpt_path)
        finally:
            tmp.unlink(missing_ok=True)

    saved, interrupted = t0, None
    with deferred_interrupt() as check:  # Ctrl-C: after the step, then saved (hours had been lost); twice: now
        while step < args.steps:
            try:
                check()
            except KeyboardInterrupt as ex:  # Ctrl-C, or a stop signal (a job scheduler's): raised again once saved
                interrupted = ex
                break
            if args.minutes is not None and time.perf_counter() - t0 > 60 * args.minutes:
                break
            idx = torch.randint(len(images), (args.batch_size,), generator=gen).to(device)
            rgb = augment(images[idx].float() / 255, args.size, gen, args.crop_min, args.exposure).clamp(0, 1)
            rgb = rgb.contiguous(memory_format=torch.channels_last)
            for group in opt.param_groups:
                group["lr"] = lr_at(step, args, time.perf_counter() - t0)
            with amp:
                loss, mse = loss_fn(model, rgb, labels[idx], args.alpha, weights, args.colorfulness)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            seen += args.batch_size
            mse_sum, n_sum = mse_sum + mse, n_sum + 1
            if step % args.log_every == 0 or step == args.steps:
                now = time.perf_counter()
                rate = (seen - seen_log) / (now - t_log)
                left = (args.steps - step) * args.batch_size / rate  # the time budget, if it ends first
                left = left if args.minutes is None else min(left, 60 * args.minutes - (now - t0))
                print(f"step {step}/{args.steps} mse {mse_sum / n_sum:.5f} lr {lr_at(step, args, now - t0):.2e} "
                      f"{rate:.0f} img/s eta {format_clock(max(left, 0.0))[:8]}", flush=True)
                t_log, seen_log, mse_sum, n_sum = now, seen, 0.0, 0
            if time.perf_counter() - saved > SAVE_EVERY_S:
                save()
                saved = time.perf_counter()
    save()
    seconds += time.perf_counter() - t0
    if interrupted is not None:
        print(f"stopped at step {step}: saved {ckpt_path}, which the same command resumes", flush=True)
        raise interrupted
    return {"step": step, "images_seen": seen, "seconds": round(seconds, 1), "checkpoint": str(ckpt_path)}


def read_checkpoint(path: Path) -> dict:
    """A training checkpoint's dict; a missing, damaged or foreign file is named, not a crash."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"{path}: no such checkpoint") from None
    except (OSError, RuntimeError, EOFError, ValueError, KeyError, pickle.UnpicklingError) as ex:
        raise WeightsError(f"{path}: not a readable training checkpoint ({type(ex).__name__})") from ex
    if not isinstance(state, dict) or not {"config", "classes", "model"} <= state.keys():
        raise WeightsError(f"{path}: not a vidcolor training checkpoint")
    return state


@contextmanager
def _loading(path: Path) -> Iterator[None]:
    """A checkpoint whose network or optimizer does not load (another program's .pt, a damaged one) is named
    in one line: it had been an internal error listing every missing layer."""
    try:
        yield
    except (TypeError, KeyError, ValueError, RuntimeError) as ex:
        raise WeightsError(f"{path}: not a vidcolor training checkpoint (its network does not load: "
                           f"{type(ex).__name__})") from ex


def load_checkpoint_model(path: Path) -> FusionNet:
    """The network of a training checkpoint, in eval mode on CPU."""
    state = read_checkpoint(path)
    with _loading(path):
        model = FusionNet(NetConfig(**state["config"]))
        model.load_state_dict(state["model"])
    model.classes = state["classes"]
    model.train_info = {k: state[k] for k in ("step", "images_seen", "seconds")} | {"args": state["args"]}
    return model.eval()


def load_network(model: str | Path) -> FusionNet:
    """A network from a model name, a .safetensors file, or a training checkpoint (a .pt, or another file):
    what eval, export and train --init take (--init had refused a checkpoint as 'not a valid weights file')."""
    path = Path(model)
    if path.suffix != ".safetensors" and (path.suffix == ".pt" or path.is_file()):
        return load_checkpoint_model(path)
    return load_model(model)
