"""How the picture moved between consecutive frames: the camera's one affine map, refined per pixel.

The chroma filter keeps a frame's colors where the picture did not change. When the camera pans,
zooms, shakes or the film weaves in the gate, every pixel changes, yet the colors should go with the
picture: the previous colors are moved before they are blended. The camera's map comes first: its six
numbers are fitted to the whole frame (sub-pixel from many pixels, cheap). People walking and waving
then disagree with it, and each pixel's source is refined from there by pyramidal Lucas-Kanade over a
small patch, pulled back to the camera's map where the patch has too little texture to say (a sky,
grain). The filter still judges every pixel by how well its moved predecessor matches, so a wrong
source opens the gate rather than smearing colors.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

LEVELS = 3  # pyramid levels, each half the size of the one above: shifts of 10 px are found (tests: 6 px)
ITERATIONS = 2  # Gauss-Newton steps per level
ROBUST = 0.1  # residual (exposure-normalized L*) at which a pixel's weight halves (Cauchy): moving objects
# count less. 0.02 stalled on pans of 6 px at the working size; 0.1 finds 10 px in two steps per level and
# leaves a still background still when 40% of the frame slides by 8 px.
# Motion beyond this is no camera move between two frames (a flash, a jump cut the detector missed, a
# featureless frame): the frame is then taken as still.
MAX_SHIFT, MAX_SCALE = 0.5, 0.2  # half the frame; 20% of zoom or shear
MIN_SIDE = 8  # px: smaller pictures have too few pixels to fit
# Session 40, bench/temporal.py's moving flicker (people walking past a still camera in the Chaplin sample):
# 4.42 with the camera's map alone, 2.71 refined (docs/temporal.md). OpenCV's DIS flow as the refinement did
# no better in a probe.
PATCH = 7  # px at the working size: the window whose motion a pixel takes
PRIOR = 10.0  # pull towards the camera's map, in squared gradient units (normalized coordinates): grain
# and flat regions follow the camera (a probe: ~0 let the `aged` clip's grain steer its colors, flicker
# 0.378 -> 0.387; 10 and 100 gave 0.381)
MAX_STEP = 0.1  # normalized units (1/20 of the frame) per step: a patch that cannot match goes no further


def identity(batch: int, like: torch.Tensor) -> torch.Tensor:
    return torch.eye(2, 3, dtype=like.dtype, device=like.device).expand(batch, 2, 3).clone()


def sources(theta: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """(B, 2, 3) maps -> (B, h, w, 2): where each pixel of pictures of `size` (B, C, h, w) is taken from
    (normalized coordinates). Built per batch, so that a frame-by-frame loop only samples."""
    return F.affine_grid(theta, list(size), align_corners=False)


def sample(x: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) pictures sampled at `sources`; edges repeat."""
    return F.grid_sample(x, where, mode="bilinear", padding_mode="border", align_corners=False)


def warp(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) pictures moved by (B, 2, 3) maps."""
    return sample(x, sources(theta, x.shape))


def camera_motion(L: torch.Tensor, before: torch.Tensor) -> torch.Tensor:
    """(B, 1, h, w) L*/100 of frames and of the frames before them -> (B, 2, 3) maps such that
    warp(before, map) matches L. The fit averages thousands of pixels, so it stays sub-pixel at half
    the working size (the chroma filter fits there, at a quarter of the cost). Each picture is divided
    by its mean first (exposure_free: old film breathes). Pictures too small to fit (a few pixels a side)
    are taken as still."""
    if min(L.shape[-2:]) < MIN_SIDE:
        return identity(len(L), L)
    pyramid = [(exposure_free(L), exposure_free(before))]  # once: a mean survives the pyramid's averaging
    while len(pyramid) < LEVELS and min(pyramid[-1][0].shape[-2:]) >= 24:
        pyramid.append(tuple(F.avg_pool2d(x, 2) for x in pyramid[-1]))
    theta = identity(len(L), L)
    for level, (cur, prev) in reversed(list(enumerate(pyramid))):
        theta = _refine(theta, cur, prev, affine=level == 0)
    shift, linear = theta[..., 2], theta[..., :2] - torch.eye(2, dtype=L.dtype, device=L.device)
    wild = ~torch.isfinite(theta).all(-1).all(-1) | (shift.abs() > MAX_SHIFT).any(-1) | \
        (linear.abs() > MAX_SCALE).flatten(1).any(-1)
    return torch.where(wild[:, None, None], identity(len(L), L), theta)


def local_motion(L: torch.Tensor, before: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """(B, 1, h, w) exposure-free L*/100 of frames and of the frames before them, and the camera's (B, 2, 3)
    maps between them -> (B, h, w, 2) sources (as `sources` gives them): the camera's map, refined per pixel.
    Coarse to fine over the pyramid, each step solves the patch's 2x2 Lucas-Kanade system with PRIOR added
    to its diagonal, so a patch without texture keeps the camera's motion. Pictures too small to fit keep
    the camera's map."""
    if min(L.shape[-2:]) < MIN_SIDE:
        return sources(theta, L.shape)
    pyramid = [(L, before)]
    while len(pyramid) < LEVELS and min(pyramid[-1][0].shape[-2:]) >= 2 * MIN_SIDE:
        pyramid.append(tuple(F.avg_pool2d(x, 2, ceil_mode=True) for x in pyramid[-1]))
    offset = L.new_zeros(len(L), 2, *pyramid[-1][0].shape[-2:])  # from the camera's sources, normalized
    for cur, prev in reversed(pyramid):
        h, w = cur.shape[-2:]
        camera = sources(theta, (len(L), 2, h, w)).permute(0, 3, 1, 2)
        offset = F.interpolate(offset, size=(h, w), mode="bilinear", align_corners=False)
        for _ in range(ITERATIONS):
            moved = sample(prev, (camera + offset).permute(0, 2, 3, 1))
            gx, gy = _gradients(moved)
            r = moved - cur
            a, b, c, ex, ey = box_mean(torch.cat((gx * gx, gx * gy, gy * gy, gx * r, gy * r), 1), PATCH).split(1, 1)
            a, c = a + PRIOR, c + PRIOR
            det = a * c - b * b
            step = torch.cat(((c * ex - b * ey) / det, (a * ey - b * ex) / det), 1)
            offset = offset - step.clamp(-MAX_STEP, MAX_STEP)
    return (camera + offset).permute(0, 2, 3, 1)


def box_mean(x: torch.Tensor, size: int) -> torch.Tensor:
    """Means over size x size windows, odd size (fewer pixels at the edges), as shifted sums: a CPU runs
    PyTorch's avg_pool2d at stride 1 seven times slower (session 40: 28 ms against 4 for a batch's five
    products at the working size)."""
    r, (h, w) = size // 2, x.shape[-2:]
    padded = F.pad(x, (r, r, r, r))
    rows = padded[..., :w].clone()
    for k in range(1, size):
        rows += padded[..., k:k + w]
    sums = rows[..., :h, :].clone()
    for k in range(1, size):
        sums += rows[..., k:k + h, :]

    def count(n: int) -> torch.Tensor:  # pixels of each window inside the picture, along one side
        i = torch.arange(n, dtype=x.dtype, device=x.device)
        return (i + r).clamp(max=n - 1) - (i - r).clamp(min=0) + 1

    return sums / (count(h)[:, None] * count(w))


def _gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 1, h, w) -> d/dx and d/dy in normalized units (central differences, edges repeated)."""
    h, w = x.shape[-2:]
    wide, tall = F.pad(x, (1, 1, 0, 0), mode="replicate"), F.pad(x, (0, 0, 1, 1), mode="replicate")
    return (wide[..., 2:] - wide[..., :-2]) * (w / 4), (tall[..., 2:, :] - tall[..., :-2, :]) * (h / 4)


def exposure_free(L: torch.Tensor) -> torch.Tensor:
    """Old film breathes in brightness: each frame divided by its mean, as the gate sees it."""
    return L / L.mean(dim=(-3, -2, -1), keepdim=True).clamp(min=1e-3)


def _refine(theta: torch.Tensor, cur: torch.Tensor, prev: torch.Tensor, affine: bool) -> torch.Tensor:
    """Gauss-Newton steps of the map on one pyramid level, with Cauchy weights: its shift only on the
    coarse levels (six numbers fitted to a few hundred pixels trade shift for zoom), all of it on the
    finest. The normal equations are built from weighted sums of gradient products times the monomials
    of (x, y): two small matrix products per step, not six images of Jacobian columns."""
    h, w = cur.shape[-2:]
    ys = (torch.arange(1, h - 1, dtype=cur.dtype, device=cur.device) * 2 + 1) / h - 1  # pixel centres,
    xs = (torch.arange(1, w - 1, dtype=cur.dtype, device=cur.device) * 2 + 1) / w - 1  # normalized
    y, x = (t.flatten() for t in torch.meshgrid(ys, xs, indexing="ij"))
    one = torch.ones_like(x)
    quadratic = torch.stack((x * x, x * y, y * y, x, y, one), 1)  # (N, 6)
    linear = torch.stack((x, y, one), 1)  # (N, 3)
    target = cur[:, 0, 1:-1, 1:-1].flatten(1)
    for _ in range(ITERATIONS):
        moved = warp(prev, theta)[:, 0]
        gx = ((moved[:, 1:-1, 2:] - moved[:, 1:-1, :-2]) * (w / 4)).flatten(1)  # d/dx, normalized units
        gy = ((moved[:, 2:, 1:-1] - moved[:, :-2, 1:-1]) * (h / 4)).flatten(1)
        r = moved[:, 1:-1, 1:-1].flatten(1) - target
        weight = 1 / (1 + (r / ROBUST) ** 2)
        wx, wy = weight * gx, weight * gy
        m = torch.stack((wx * gx, wx * gy, wy * gy), 1) @ quadratic  # (B, 3, 6)
        b = (torch.stack((wx * r, wy * r), 1) @ linear).flatten(1)  # (B, 6)
        if affine:  # the Jacobian row of a pixel is (gx x, gx y, gx, gy x, gy y, gy): J^T W J in 3x3 blocks
            xx, xy, yy = (_block(m[:, k]) for k in range(3))
            A = torch.cat((torch.cat((xx, xy), -1), torch.cat((xy, yy), -1)), -2)
        else:  # (gx, gy)
            A, b = m[:, [0, 1, 1, 2], 5].view(-1, 2, 2), b[:, [2, 5]]
        A = A + 1e-6 * torch.eye(len(b[0]), dtype=A.dtype, device=A.device)
        step = torch.linalg.solve_ex(A, b)[0]  # solve() checks for singularity: a device sync on a GPU
        theta = theta - (step.view(-1, 2, 3) if affine else F.pad(step[..., None], (2, 0)))
    return theta


def _block(q: torch.Tensor) -> torch.Tensor:
    """(B, 6) sums of g * (x^2, xy, y^2, x, y, 1) -> (B, 3, 3) sums of g * (x, y, 1)^T (x, y, 1)."""
    return torch.stack((q[:, [0, 1, 3]], q[:, [1, 2, 4]], q[:, [3, 4, 5]]), 1)
