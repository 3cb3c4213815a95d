"""Weights on disk: one safetensors file per model, config in its metadata, sha256-checked.

Models are looked up by name in MODELS (the shipped files, with their sha256) or given as a
path to a .safetensors file exported by `vidcolor export`. "tiny-random" is a seeded random
network with the real architecture, so the whole tool runs in tests in seconds.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..defaults import DEFAULT_MODEL
from ..errors import WeightsError
from ..outputs import check_folder
from .net import FusionNet, NetConfig


def _weights_dir() -> Path:
    """The repository's weights/: package data once installed; beside the package in a source checkout run
    from PYTHONPATH (the GPU machine), where no `vidcolor.weights` package exists."""
    try:
        return Path(str(resources.files("vidcolor.weights")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "weights"


WEIGHTS_DIR = _weights_dir()


@dataclass(frozen=True)
class ShippedModel:
    filename: str
    sha256: str


MODELS: dict[str, ShippedModel] = {
    "fusion-small": ShippedModel(
        "fusion-small.safetensors", "a76f2b6411dd4b4bb3efa12d6027ee76499cfacddb8e08f7eba98ce221ca5469"
    ),
}
TINY_RANDOM = "tiny-random"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_weights(model: FusionNet, path: Path, classes: list[str], info: dict | None = None) -> str:
    """Write fp16 weights with config, class names, chroma gain and provenance in the metadata; return sha256."""
    check_folder(path)
    tensors = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in model.state_dict().items()}
    meta = {"config": json.dumps(model.config.to_dict()), "classes": json.dumps(classes),
            "chroma_gain": json.dumps(model.chroma_gain), "info": json.dumps(info or {})}
    save_file(tensors, str(path), metadata=meta)
    return sha256_of(path)


def _tiny_random() -> FusionNet:
    torch.manual_seed(0)
    net = FusionNet(NetConfig(width=8, global_size=64, pooled=True)).eval()
    net.classes = []  # like every loaded model: no scene classes
    return net


def resolve(model: str | Path) -> tuple[Path, str | None]:
    """A model name or a path -> (file, expected sha256 or None for user-given paths)."""
    if str(model) in MODELS:
        shipped = MODELS[str(model)]
        return WEIGHTS_DIR / shipped.filename, shipped.sha256
    path = Path(model)
    if path.suffix == ".safetensors" or (str(model) and path.exists()):  # "": not the current folder
        return path, None
    names = ", ".join([*MODELS, TINY_RANDOM])
    raise WeightsError(f"unknown model {str(model)!r}: use one of {names}, or a path to a .safetensors file")


def load_model(model: str | Path = DEFAULT_MODEL) -> FusionNet:
    """Build the network named `model` (or stored at that path) with its weights, in eval mode, on CPU."""
    if str(model) == TINY_RANDOM:
        return _tiny_random()
    path, expected = resolve(model)
    if not path.is_file():
        raise WeightsError(f"{path}: model weights not found (is the checkout complete? git lfs is not used)"
                           if expected else f"{path}: no such weights file")
    if expected is not None:
        actual = sha256_of(path)
        if actual != expected:
            raise WeightsError(f"{path}: sha256 mismatch (expected {expected[:12]}..., got {actual[:12]}...): "
                               "the weights file is corrupted or was replaced; restore it from the repository")
    try:
        tensors = load_file(str(path))
        with open(path, "rb") as f:  # metadata lives in the JSON header
            header_len = int.from_bytes(f.read(8), "little")
            meta = json.loads(f.read(header_len)).get("__metadata__", {})
        net = FusionNet(NetConfig(**json.loads(meta["config"])))
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    except (SafetensorError, KeyError, ValueError, RuntimeError, OSError) as ex:
        raise WeightsError(f"{path}: not a valid vidcolor weights file ({ex})") from ex
    net.classes = json.loads(meta.get("classes", "[]"))
    net.chroma_gain = float(json.loads(meta.get("chroma_gain", "1.0")))
    net.train_info = json.loads(meta.get("info", "{}"))
    return net.eval()
