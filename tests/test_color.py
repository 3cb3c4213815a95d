"""Color conversions against scikit-image's float64 reference."""
from __future__ import annotations

import numpy as np
import torch
from skimage import color as skcolor

from vidcolor.color import (
    PQ_SHARE,
    SDR_KNEE,
    cbcr_rows,
    fit_gamut,
    gray_to_lightness,
    hasler_colorfulness,
    hlg_light,
    hlg_scene_gain,
    hlg_to_scene,
    lab_to_rgb,
    linear_to_srgb,
    mix,
    pq_signal,
    pq_to_light,
    rgb_to_lab,
    scene_to_hlg,
    sdr_light,
    tabulated,
)
from vidcolor.media import planes

# scikit-image rounds the CIE constants of the dark linear segment (0.008856, 7.787) and its D65
# white; we use the exact ratios and the matrix's own white (gray stays neutral), which moves
# a*b* by up to ~0.01 (1/10,000 of their range).
REF_TOL = 1.5e-2


def test_rgb_to_lab_matches_reference():
    rgb = np.random.default_rng(0).random((37, 53, 3))
    ref = skcolor.rgb2lab(rgb)
    ours = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)).permute(1, 2, 0).numpy()
    assert np.abs(ours - ref).max() < REF_TOL
    ours32 = rgb_to_lab(torch.from_numpy(rgb).float().permute(2, 0, 1)).permute(1, 2, 0).numpy()
    assert np.abs(ours32 - ref).max() < REF_TOL


def test_lab_to_rgb_matches_reference_and_round_trips():
    rgb = np.random.default_rng(1).random((3, 20, 30))
    lab = rgb_to_lab(torch.from_numpy(rgb))
    back = lab_to_rgb(lab).numpy()
    assert np.abs(back - rgb).max() < 1e-8  # sRGB's two pieces miss each other by 1e-8 at the knee
    ref = skcolor.lab2rgb(lab.permute(1, 2, 0).numpy())
    assert np.abs(back.transpose(1, 2, 0) - ref).max() < REF_TOL


def test_known_values_and_gray():
    lab = rgb_to_lab(torch.tensor([1.0, 0, 0], dtype=torch.float64).view(3, 1, 1)).flatten()
    assert torch.allclose(lab, torch.tensor([53.2408, 80.0925, 67.2032], dtype=torch.float64), atol=1e-3)
    g = torch.linspace(0, 1, 101, dtype=torch.float64)
    from_rgb = rgb_to_lab(g.view(1, 1, -1).expand(3, 1, -1))
    assert torch.allclose(gray_to_lightness(g), from_rgb[0, 0], atol=1e-9)
    assert from_rgb[1:].abs().max() < 1e-9  # gray has no chroma


def test_cbcr_of_gray_is_zero_and_colorfulness_orders():
    gray = torch.rand(1, 8, 8).expand(3, 8, 8)
    assert mix(cbcr_rows("bt709"), gray).abs().max() < 1e-6
    red = torch.tensor([1.0, 0, 0]).view(3, 1, 1).expand(3, 4, 4)
    cb, cr = mix(cbcr_rows("bt601"), red)[:, 0, 0]
    assert abs(cr.item() - 0.5) < 1e-6 and cb.item() < 0
    rng = torch.rand(3, 16, 16) * 255
    assert hasler_colorfulness(rng) > hasler_colorfulness(rng.mean(0, keepdim=True).expand(3, 16, 16)) + 10


def test_chroma_planes_match_reference_across_cpu_chunks(monkeypatch):
    """Cb/Cr codes of 4:2:0 frames against scikit-image, with the CPU path cut into many chunks."""
    monkeypatch.setattr(planes, "CPU_CHUNK_PIXELS", 500)  # 16 rows of 31 pixels: 4 chunks per frame, one partial
    rng = np.random.default_rng(2)
    y = rng.integers(60, 200, (2, 1, 108, 62))  # limited-range codes, mid gray: in gamut with small a*b*
    ab = rng.uniform(-20, 20, (2, 2, 54, 31))
    fmt = planes.PlaneFormat("yuv420p", 8, False, "bt601")
    sums = planes.chroma_luma(torch.from_numpy(y).to(torch.uint8), fmt)
    codes = planes.chroma_planes(sums, torch.from_numpy(ab).float(), fmt).numpy()
    gray = ((y - 16) / 219).reshape(2, 54, 2, 31, 2).mean(axis=(2, 4))  # 2x2 block means at chroma size
    lightness = skcolor.rgb2lab(np.repeat(gray[..., None], 3, -1))[..., :1]
    rgb = skcolor.lab2rgb(np.concatenate((lightness, ab.transpose(0, 2, 3, 1)), -1))
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    cb, cr = (rgb[..., 2] - luma) / 1.772, (rgb[..., 0] - luma) / 1.402
    ref = np.stack((cb, cr), 1) * 224 + 128
    assert np.abs(codes - ref).max() < 0.6  # within rounding of the exact codes


def test_chroma_planes_whole_batch_path_matches_cpu_chunks():
    """GPUs convert the whole batch in one pass (4-D tensors); the CPU goes frame by frame in chunks.
    The GPU branch is exercised here on CPU tensors: same codes, 8 and 10 bits."""
    rng = np.random.default_rng(3)
    for fmt, high in ((planes.PlaneFormat("yuv420p", 8, False, "bt709"), 235),
                      (planes.PlaneFormat("yuv420p10le", 10, False, "bt2020"), 940)):
        y = torch.from_numpy(rng.integers(64, high, (3, 1, 40, 64)))
        ab = torch.from_numpy(rng.uniform(-60, 60, (3, 2, 20, 32))).float()
        chunked = planes.chroma_planes(planes.chroma_luma(y.to(torch.uint8) if fmt.bits == 8 else y, fmt), ab, fmt)
        sums = planes.block_sums(y).int()
        tables = planes.luma_tables(fmt, 4, sums.device)
        whole = planes._cbcr_codes(sums, ab, tables, fmt, torch.empty_like(ab))  # ab is at chroma size
        assert whole.shape == chunked.shape == (3, 2, 20, 32)
        assert torch.equal(whole, chunked)


def test_422_chroma_uses_pairs_of_luma():
    """4:2:2 chroma samples go with pairs of Y' in a row: a picture whose pairs are equal gets the codes
    that 4:4:4 gives the half-width picture."""
    rng = np.random.default_rng(4)
    half = torch.from_numpy(rng.integers(64, 940, (2, 1, 24, 20)))
    ab = torch.from_numpy(rng.uniform(-50, 50, (2, 2, 12, 10))).float()
    fmt422 = planes.PlaneFormat("yuv422p10le", 10, False, "bt709")
    fmt444 = planes.PlaneFormat("yuv444p10le", 10, False, "bt709")
    sums = planes.chroma_luma(half.repeat_interleave(2, dim=-1), fmt422)
    assert sums.shape == (2, 1, 24, 20) and torch.equal(sums.int(), 2 * half)
    assert torch.equal(planes.chroma_planes(sums, ab, fmt422), planes.chroma_planes(half, ab, fmt444))


def test_tabulated_curves_follow_the_exact_ones_in_darks_and_lights():
    """The bit-pattern tables against the exact float64 curves, over every decade from 1e-7 to 1 (dark
    tones are where a table of even steps falls apart). sRGB: within 8e-5, 0.02 of an 8-bit code and
    0.08 of a 10-bit one (codes span 224 and 896; measured 7.9e-5). L*: within 0.013 units."""
    x = torch.cat([torch.logspace(-7, 0, 200_001, dtype=torch.float64), torch.tensor([0.0, 0.0031308])])
    for curve, tolerance in ((linear_to_srgb, 8e-5), (gray_to_lightness, 0.013)):
        error = (tabulated(curve, x.float()).double() - curve(x)).abs().max()
        assert error < tolerance, (curve.__name__, error)
    clipped = tabulated(linear_to_srgb, torch.tensor([-0.0, -0.3, 1.7]))  # out of range: clamped, never a wild index
    assert torch.allclose(clipped, torch.tensor([0.0, 0.0, 1.0]), atol=1e-6)


def test_fit_gamut_keeps_lightness_and_hue():
    """Out-of-gamut a*b* shrink toward gray until sRGB holds them; in-gamut colors are left alone."""
    g = torch.Generator().manual_seed(0)
    lab = torch.cat((torch.rand(1, 1, 40, 40, generator=g) * 100,
                     (torch.rand(1, 2, 40, 40, generator=g) - 0.5) * 220), 1).double()
    was_inside = (rgb_to_lab(lab_to_rgb(lab)) - lab).abs().amax(1) < 1e-6  # sRGB holds it: the round trip is exact
    fitted = fit_gamut(lab)
    rgb = lab_to_rgb(fitted, clip=False)
    assert rgb.min() > -1e-3 and rgb.max() < 1 + 1e-3  # sRGB holds every pixel
    assert torch.equal(fitted[:, 0], lab[:, 0])  # L* untouched
    assert torch.allclose(rgb_to_lab(lab_to_rgb(fitted))[:, 0], lab[:, 0], atol=0.05)  # and it survives to RGB
    ratio = fitted[:, 1:].norm(dim=1) / lab[:, 1:].norm(dim=1)
    assert ratio.max() <= 1 and ratio.min() < 0.5  # shrunk, never grown; most of this random set is outside
    assert torch.allclose(fitted[:, 1:], lab[:, 1:] * ratio[:, None], atol=1e-9)  # same hue
    assert torch.equal(fitted[:, :, was_inside[0]], lab[:, :, was_inside[0]])
    clipped = rgb_to_lab(lab_to_rgb(lab))[:, 0]
    assert (clipped - lab[:, 0]).abs().amax() > 5  # plain clipping, by contrast, moves L*


def test_hdr_curves_hold_the_standards_reference_points():
    """BT.2408: HDR's reference white (203 cd/m2, relative light 1) is 58% of PQ's signal and 75% of HLG's on
    BT.2100's 1000 cd/m2 display; each curve and its inverse round-trip; HLG's scene gain turns a neutral
    pixel's display light back into its scene light. SDR's view of HDR light keeps it up to the knee, rolls
    off above, never passes 1 and never goes back."""
    signal = torch.linspace(0, 1, 1001, dtype=torch.float64)
    assert abs(pq_signal(torch.tensor(PQ_SHARE, dtype=torch.float64)).item() - 0.5807) < 1e-3
    assert torch.allclose(pq_signal(pq_to_light(signal) * PQ_SHARE), signal, atol=1e-6)  # PQ of no light: 7e-7
    assert torch.allclose(scene_to_hlg(hlg_to_scene(signal)), signal, atol=1e-9)
    white = hlg_to_scene(torch.tensor(0.75, dtype=torch.float64))
    assert abs(hlg_light(white).item() - 1) < 3e-3
    scene = hlg_to_scene(signal[1:])
    assert torch.allclose(hlg_light(scene) * hlg_scene_gain(hlg_light(scene)), scene, rtol=1e-9)
    light = torch.linspace(0, 50, 5001, dtype=torch.float64)
    seen = sdr_light(light)
    below = light <= SDR_KNEE
    assert torch.equal(seen[below], light[below])
    assert (seen[~below] < light[~below]).all() and seen.max() <= 1 and (seen.diff() >= 0).all()
