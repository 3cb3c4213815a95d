"""CPU inference with each layer, its folded batch norm and its activation as one oneDNN call.

oneDNN adds the bias and applies ReLU or sigmoid while the output tile is still in cache: one pass over
the activations per layer instead of three (conv, batch norm, ReLU). The biases stay float32, which
oneDNN takes at no cost (rounded to bf16 they moved a*b* by up to 0.013 units RMS more on four photos).
These are the ops torch's own compiler emits for CPU; a torch without them gets None and the plain layers.
"""
from __future__ import annotations

import torch
from torch import nn

from .net import FusionNet, fold_batch_norm

_CONV = getattr(torch.ops.mkldnn, "_convolution_pointwise", None)
_LINEAR = getattr(torch.ops.mkldnn, "_linear_pointwise", None)
_ACTIVATIONS = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid"}


class FusedLayer(nn.Module):
    """A conv or linear layer and the activation after it: weights in `dtype`, bias in float32."""

    def __init__(self, layer: nn.Conv2d | nn.Linear, activation: str, dtype: torch.dtype) -> None:
        super().__init__()
        weight = layer.weight.detach().to(dtype)
        self.conv = isinstance(layer, nn.Conv2d)
        self.register_buffer("weight", weight.contiguous(memory_format=torch.channels_last) if self.conv else weight)
        self.register_buffer("bias", None if layer.bias is None else layer.bias.detach().float())
        self.geometry = ((list(layer.padding), list(layer.stride), list(layer.dilation), layer.groups)
                         if self.conv else ())
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.weight.dtype)
        if not self.conv:
            return _LINEAR(x, self.weight, self.bias, self.activation, [], "")
        return _CONV(x.contiguous(memory_format=torch.channels_last), self.weight, self.bias, *self.geometry,
                     self.activation, [], "")


def fuse_for_cpu(net: FusionNet, dtype: torch.dtype) -> FusionNet | None:
    """An inference copy of `net` made of FusedLayers in `dtype`, the first in float32 (see
    FusionNet.low_features); None where this torch has no oneDNN or its ops fail on a probe."""
    if _CONV is None or _LINEAR is None or not torch.backends.mkldnn.is_available():
        return None
    fused = fold_batch_norm(net)
    first = fused.low[0][0]
    for seq in [m for m in fused.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq)):
            if not isinstance(seq[i], (nn.Conv2d, nn.Linear)):
                continue
            j = i + 1
            while j < len(seq) and isinstance(seq[j], nn.Identity):  # the folded batch norm
                j += 1
            activation = _ACTIVATIONS.get(type(seq[j])) if j < len(seq) else None
            if activation:
                seq[j] = nn.Identity()
            seq[i] = FusedLayer(seq[i], activation or "none", torch.float32 if seq[i] is first else dtype)
    probe = torch.zeros(1, 1, 16, 16)
    try:  # private ops: a torch whose oneDNN or signatures differ keeps the plain layers
        with torch.inference_mode():
            fused.colorize(probe, fused.global_features(probe))
    except (RuntimeError, TypeError):
        return None
    return fused
