"""The global/local fusion network of "Let there be Color!" (Iizuka et al., SIGGRAPH 2016).

A pure tensors -> tensors module. Input L is (B, 1, H, W), L* / 100 in [0, 1], any H and W.
Output a*b* is (B, 2, H, W), a*/AB_SCALE and b*/AB_SCALE in [-1, 1] (a sigmoid, rescaled).
The 256-d global vector is a separate call so that callers can smooth it over a shot or
take it from a reference photo.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

AB_SCALE = 110.0  # a*, b* of sRGB colors lie within about [-108, 98]
STRIDE = 8  # the local path works at 1/8 resolution, so inputs are padded to a multiple of 8


@dataclass(frozen=True)
class NetConfig:
    """Shape of the network. `pooled=False` is the paper's FC head on a 7x7 grid."""

    width: int = 64  # channels of the first conv; the paper's table scales from 64
    global_size: int = 224  # side of the rescaled copy seen by the global path
    pooled: bool = False  # True: average-pool the global convs instead of flattening them
    num_classes: int = 0  # scene classes for the auxiliary classifier (0: none)

    def to_dict(self) -> dict:
        return asdict(self)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


def _fc(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(cin, cout, bias=False), nn.BatchNorm1d(cout), nn.ReLU(inplace=True))


class FusionNet(nn.Module):
    def __init__(self, config: NetConfig = NetConfig()) -> None:
        super().__init__()
        self.config = config
        # a*b* multiplier a weights file asks for at inference: MSE training leaves colors timid, and the
        # file's gain is calibrated after training (weights/README.md); 1 while training
        self.chroma_gain = 1.0
        w = config.width
        self.low = nn.Sequential(  # shared by the local and the global path
            _conv(1, w, 2), _conv(w, 2 * w), _conv(2 * w, 2 * w, 2),
            _conv(2 * w, 4 * w), _conv(4 * w, 4 * w, 2), _conv(4 * w, 8 * w),
        )
        self.mid = nn.Sequential(_conv(8 * w, 8 * w), _conv(8 * w, 4 * w))
        self.global_convs = nn.Sequential(
            _conv(8 * w, 8 * w, 2), _conv(8 * w, 8 * w), _conv(8 * w, 8 * w, 2), _conv(8 * w, 8 * w)
        )
        grid = 1 if config.pooled else (config.global_size // 32) ** 2
        self.global_fc1 = _fc(8 * w * grid, 16 * w)
        self.global_fc2 = _fc(16 * w, 8 * w)
        self.global_fc3 = _fc(8 * w, 4 * w)
        self.classifier = (
            nn.Sequential(_fc(8 * w, 4 * w), nn.Linear(4 * w, config.num_classes)) if config.num_classes else None
        )
        self.fusion = nn.Sequential(nn.Conv2d(8 * w, 4 * w, 1), nn.ReLU(inplace=True))
        self.decoder = nn.Sequential(
            _conv(4 * w, 2 * w), nn.Upsample(scale_factor=2, mode="nearest"),
            _conv(2 * w, w), _conv(w, w), nn.Upsample(scale_factor=2, mode="nearest"),
            _conv(w, w // 2), nn.Conv2d(w // 2, 2, 3, 1, 1), nn.Sigmoid(),
        )

    @property
    def global_dim(self) -> int:
        return 4 * self.config.width

    def _global_path(self, L: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, H, W) -> global vector (B, 4w) and the 8w-d layer that feeds the classifier."""
        s = self.config.global_size
        if L.shape[-2:] != (s, s):
            L = F.interpolate(L, size=(s, s), mode="bilinear", align_corners=False, antialias=True)
        x = self.global_convs(self.low_features(L))
        x = x.mean(dim=(2, 3)) if self.config.pooled else x.flatten(1)
        hidden = self.global_fc2(self.global_fc1(x))
        return self.global_fc3(hidden), hidden

    def low_features(self, L: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) L/100 -> the shared low-level features. The first layer runs in float32 even
        under autocast: its output is a small difference of large sums (batch norm takes the mean off),
        and L rounded to bf16's 8 bits there doubled the network's a*b* error against float32 (0.46 vs
        0.28 a*b* units RMS on 16 demo frames, shipped weights); with one input channel, float32 is cheap."""
        with torch.autocast(L.device.type, enabled=False):
            x = self.low[0](L.float())
        return self.low[1:](x)

    def global_features(self, L: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) L/100 -> (B, 4w) global vector: the mood of the whole frame."""
        return self._global_path(L)[0]

    def colorize(self, L: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) L/100 and (B, 4w) global vectors -> (B, 2, H, W) a*b*/AB_SCALE."""
        h, w = L.shape[-2:]
        ph, pw = -h % STRIDE, -w % STRIDE
        x = F.pad(L, (0, pw, 0, ph), mode="replicate") if ph or pw else L
        local = self.mid(self.low_features(x))
        g_map = g.to(local.dtype)[:, :, None, None].expand(-1, -1, *local.shape[-2:])
        fused = self.fusion(torch.cat((g_map, local), dim=1))
        ab = self.decoder(fused)  # (B, 2, H'/2, W'/2)
        ab = F.interpolate(ab, scale_factor=2, mode="bilinear", align_corners=False)[..., :h, :w]
        return ab * 2 - 1

    def forward(self, L: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, 1, H, W) -> (a*b* (B, 2, H, W), class logits (B, classes) or None)."""
        g, hidden = self._global_path(L)
        logits = self.classifier(hidden) if self.classifier is not None else None
        return self.colorize(L, g), logits


def fold_batch_norm(net: FusionNet) -> FusionNet:
    """An inference copy of `net` with each batch norm folded into the conv or linear layer before it:
    one pass over the activations fewer per layer, the same function in eval mode."""
    folded = copy.deepcopy(net).eval()
    norms = (nn.BatchNorm1d, nn.BatchNorm2d)
    for block in folded.modules():  # the (layer, norm, ReLU) blocks of _conv and _fc
        if isinstance(block, nn.Sequential) and len(block) == 3 and isinstance(block[1], norms):
            layer, bn = block[0], block[1]
            block[0] = fuse_conv_bn_eval(layer, bn) if isinstance(layer, nn.Conv2d) else fuse_linear_bn_eval(layer, bn)
            block[1] = nn.Identity()
    return folded


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
