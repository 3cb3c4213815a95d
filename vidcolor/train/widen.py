"""Grow a trained network to a larger width without changing what it computes.

Hours of CPU bought a trained network; a wider one trained from scratch would have to buy them
again. Here every layer keeps its trained channels, the new channels start from a fresh
initialization, and the weights from new channels into old ones start at zero: the widened
network gives exactly the old output, and training lets the new channels join in.
"""
from __future__ import annotations

from dataclasses import replace

import torch

from ..errors import UsageError
from ..model.net import FusionNet

_FUSION = "fusion.0.weight"  # its input is [global vector (4w); mid-level features (4w)]


def _old_inputs(key: str, small: int, big: int, n_old: int) -> torch.Tensor:
    """Indices, in the wide layer's input, of the narrow layer's input channels."""
    if key != _FUSION:
        return torch.arange(n_old)
    half_small, half_big = small * 4, big * 4
    return torch.cat([torch.arange(half_small), torch.arange(half_small) + half_big])


def widen(net: FusionNet, width: int) -> FusionNet:
    """A FusionNet of `width` whose output equals `net`'s, with its classes; `net` is left as it was."""
    small = net.config.width
    if width < small:
        raise UsageError(f"--widen {width}: cannot narrow a width-{small} network")
    wide = FusionNet(replace(net.config, width=width))
    state = wide.state_dict()
    for key, old in net.state_dict().items():
        new = state[key]
        if old.ndim == 0:
            new.copy_(old)
            continue
        n = old.shape[0]
        if old.ndim == 1:
            new[:n] = old
            continue
        new[:n] = 0  # old outputs listen to new inputs only through weights that start at zero
        new[:n, _old_inputs(key, small, width, old.shape[1])] = old
    wide.load_state_dict(state)
    wide.classes = net.classes
    return wide
