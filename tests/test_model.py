"""The fusion network, its weights file and one training step."""
from __future__ import annotations

import json

import pytest
import torch
from conftest import gray_rgb, photo

from vidcolor.color import gray_to_lightness, hasler_colorfulness, rgb_to_lab
from vidcolor.colorizer import Box, Colorizer, picture_boxes
from vidcolor.errors import UsageError, VidcolorError, WeightsError
from vidcolor.model import weights as W
from vidcolor.model.fused import FusedLayer, fuse_for_cpu
from vidcolor.model.net import AB_SCALE, FusionNet, NetConfig, fold_batch_norm
from vidcolor.train.loop import TrainArgs, _ab_bin, ab_weights, colorfulness_gap, loss_fn, lr_at
from vidcolor.train.widen import widen


@pytest.mark.parametrize("pooled", [False, True])
def test_forward_any_size_and_separate_global_vector(pooled):
    torch.manual_seed(0)
    net = FusionNet(NetConfig(width=8, global_size=64, pooled=pooled, num_classes=5)).eval()
    L = torch.rand(2, 1, 97, 131)
    ab, logits = net(L)
    assert ab.shape == (2, 2, 97, 131) and logits.shape == (2, 5)
    assert ab.min() >= -1 and ab.max() <= 1
    g = net.global_features(L)
    assert g.shape == (2, net.global_dim)
    assert torch.allclose(net.colorize(L, g), ab, atol=1e-5)
    # another global vector changes the colors (style transfer)
    assert not torch.allclose(net.colorize(L, torch.rand_like(g) * 3), ab, atol=1e-3)


@pytest.mark.parametrize("pooled", [False, True])
def test_widened_network_computes_the_same_colors(pooled):
    """widen() adds channels that start silent: same a*b*, logits and global vector, in both BN modes."""
    torch.manual_seed(0)
    net = FusionNet(NetConfig(width=8, global_size=64, pooled=pooled, num_classes=5))
    net.classes = list("abcde")
    wide = widen(net, 12)
    assert wide.config.width == 12 and wide.classes == net.classes
    assert sum(p.numel() for p in wide.parameters()) > 2 * sum(p.numel() for p in net.parameters())
    L = torch.rand(3, 1, 45, 70)
    for mode in (True, False):
        net.train(mode), wide.train(mode)
        (ab, logits), (ab_w, logits_w) = net(L), wide(L)
        assert torch.allclose(ab, ab_w, atol=1e-5) and torch.allclose(logits, logits_w, atol=1e-4)
    g = net.global_features(L)
    assert torch.allclose(wide.global_features(L)[:, : g.shape[1]], g, atol=1e-5)
    with pytest.raises(UsageError, match="cannot narrow"):
        widen(wide, 8)


@pytest.mark.parametrize("pooled", [False, True])
def test_folded_batch_norm_computes_the_same_and_leaves_the_original(pooled):
    torch.manual_seed(0)
    net = FusionNet(NetConfig(width=8, global_size=64, pooled=pooled, num_classes=5))
    L = torch.rand(4, 1, 45, 70)
    net.train()
    net(L)  # moves the running statistics away from their initial values
    net.chroma_gain = 1.3

    def norms(m: torch.nn.Module) -> int:
        return sum(isinstance(x, torch.nn.modules.batchnorm._BatchNorm) for x in m.modules())

    before = norms(net)
    folded = fold_batch_norm(net)
    assert net.training and norms(net) == before == 20  # 16 convs, 4 linear layers; the original keeps them
    assert norms(folded) == 0
    assert folded.chroma_gain == 1.3
    net.eval()
    (ab, logits), (ab_f, logits_f) = net(L), folded(L)
    assert torch.allclose(ab, ab_f, atol=1e-5) and torch.allclose(logits, logits_f, atol=1e-4)
    assert torch.allclose(net.global_features(L), folded.global_features(L), atol=1e-5)


@pytest.mark.parametrize("pooled", [False, True])
def test_fused_cpu_network_computes_the_same_colors(pooled):
    """Every conv and linear layer becomes one oneDNN call with its batch norm and activation; in float32
    the colors, global vector and logits are the network's own."""
    torch.manual_seed(0)
    net = FusionNet(NetConfig(width=8, global_size=64, pooled=pooled, num_classes=5))
    net(torch.rand(4, 1, 64, 64))  # training mode: batch norms learn statistics other than 0 and 1
    net.eval()
    fused = fuse_for_cpu(net, torch.float32)
    kinds = {type(m) for m in fused.modules()}
    assert FusedLayer in kinds and not kinds & {torch.nn.BatchNorm2d, torch.nn.BatchNorm1d, torch.nn.ReLU,
                                                  torch.nn.Sigmoid, torch.nn.Conv2d, torch.nn.Linear}
    L = torch.rand(2, 1, 45, 70)
    with torch.inference_mode():
        (ab, logits), (ab_f, logits_f) = net(L), fused(L)
        assert torch.allclose(ab, ab_f, atol=1e-5) and torch.allclose(logits, logits_f, atol=1e-4)
        assert torch.allclose(net.global_features(L), fused.global_features(L), atol=1e-5)
    assert isinstance(net.low[0][0], torch.nn.Conv2d)  # the original is left as it was
    assert any(isinstance(m, FusedLayer) for m in Colorizer(net, "cpu").net.modules())  # what a CPU runs


def test_a_torch_without_working_fused_ops_keeps_the_plain_layers(monkeypatch):
    import vidcolor.model.fused as fused_module

    def broken(*args):
        raise RuntimeError("unknown op")

    monkeypatch.setattr(fused_module, "_CONV", broken)
    net = FusionNet(NetConfig(width=8, global_size=64, pooled=True)).eval()
    assert fuse_for_cpu(net, torch.float32) is None
    colorizer = Colorizer(net, "cpu", precision="float32")
    assert not any(isinstance(m, FusedLayer) for m in colorizer.net.modules())
    L = torch.rand(1, 1, 40, 56)
    assert torch.allclose(colorizer.ab(L), net.colorize(L, net.global_features(L)) * AB_SCALE, atol=1e-3)


def test_the_network_sees_the_picture_between_bars_alone():
    """Black bars (letterbox, pillarbox) are in none of the photos the network learnt from: the picture
    between them gets the colors it gets alone, the bars none. Frames with bars of different widths run
    in one batch; a small bright patch in a dark frame (a night scene, an iris shot) is no picture
    between bars."""
    net = W.load_model(W.DEFAULT_MODEL).eval()
    colorizer = Colorizer(net, "cpu", precision="float32")
    gray = torch.from_numpy(gray_rgb(photo("coffee", 72, 48))[..., 0]).float() / 255
    picture = (gray_to_lightness(gray) / 100)[None, None]
    frames = torch.zeros(4, 1, 64, 96)
    frames[0, :, 8:56, 12:84] = picture[0]  # window-boxed
    frames[1, :, 16:64, 24:96] = picture[0]
    frames[2, :, 20:30, 40:50] = 0.5
    frames[3] = frames[0]
    frames[3, :, 8:56, 11] = 0.4 * picture[0, :, :, 0]  # a line the resize mixed: part bar, part picture
    assert picture_boxes(frames) == [Box(8, 56, 12, 84), Box(16, 64, 24, 96), Box(0, 64, 0, 96),
                                     Box(8, 56, 12, 84, mixed=(1, 0, 0, 0))]
    alone_g, alone_ab = colorizer.global_features(picture), colorizer.ab(picture)
    with torch.inference_mode():  # what the network makes of the bars
        assert (colorizer.net.global_features(frames[:1]) - alone_g).abs().amax() > 0.1
    g, ab = colorizer.global_features(frames), colorizer.ab(frames).clone()
    for i, (top, left) in enumerate([(8, 12), (16, 24)]):
        assert torch.allclose(g[i], alone_g[0], atol=1e-5)
        assert torch.allclose(ab[i, :, top:top + 48, left:left + 72], alone_ab[0], atol=1e-4)
        ab[i, :, top:top + 48, left:left + 72] = 0
        assert not ab[i].any()  # the bars
    assert torch.allclose(ab[2], colorizer.ab(frames[2:3]), atol=1e-4) and ab[2].abs().amax() > 0
    assert torch.allclose(g[3], alone_g[0], atol=1e-5)  # the mixed line is left out of the picture
    assert torch.equal(ab[3, :, 8:56, 11], ab[3, :, 8:56, 12]) and ab[3, :, 8:56, 11].abs().amax() > 0
    assert not ab[3, :, :, :11].any() and not ab[3, :, :, 84:].any()  # beyond it, the bars


def test_a_scanned_print_is_seen_without_its_paper_margins_and_a_bright_sky_is_kept():
    """A print's margin is the same paper on all four sides: left out. A sky as bright at the top alone is
    the picture's; so is a sky a little darker than the paper above a print."""
    gray = torch.from_numpy(gray_rgb(photo("coffee", 72, 48))[..., 0]).float() / 255
    picture = gray_to_lightness(gray) / 100
    frames = torch.full((3, 1, 64, 96), 0.9)
    frames[0, 0, 8:56, 12:84] = picture  # a print in its margins
    frames[1, 0, 16:] = torch.nn.functional.interpolate(picture[None, None], size=(48, 96))[0, 0]  # sky on top
    frames[2, 0, 8:56, 12:84] = picture
    frames[2, 0, 8:20, 12:84] = 0.8  # the print's own sky, darker than its paper
    assert picture_boxes(frames) == [Box(8, 56, 12, 84), Box(0, 64, 0, 96), Box(8, 56, 12, 84)]


def test_bf16_keeps_the_first_layer_in_float32():
    """L in bf16 keeps 8 bits, and the first layer's output is a small difference of large sums. With the
    shipped weights on a photo, bf16 (fused on CPU; folded under autocast, as a GPU runs it; plain under
    autocast) stays within 0.35 a*b* units RMS of float32; with the first layer in bf16 it was 0.57."""
    net = W.load_model(W.DEFAULT_MODEL).eval()
    gray = torch.from_numpy(gray_rgb(photo("coffee", 228, 128))[..., 0]).float()[None, None] / 255
    L = gray_to_lightness(gray) / 100
    fused = fuse_for_cpu(net, torch.bfloat16)
    assert fused.low[0][0].weight.dtype == torch.float32 and fused.low[1][0].weight.dtype == torch.bfloat16
    with torch.inference_mode():
        exact = net.colorize(L, net.global_features(L)) * AB_SCALE
        fast = fused.colorize(L, fused.global_features(L)).float() * AB_SCALE
        folded = fold_batch_norm(net)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            auto = [n.colorize(L, n.global_features(L)).float() * AB_SCALE for n in (folded, net)]
    for ab in (fast, *auto):
        assert 0 < (ab - exact).pow(2).mean().sqrt() < 0.35


def test_paper_variant_has_fc_global_head():
    paper = FusionNet(NetConfig())
    assert paper.global_fc1[0].in_features == 512 * 7 * 7
    assert 40e6 < sum(p.numel() for p in paper.parameters()) < 45e6


def test_weights_round_trip_and_sha_check(tmp_path, monkeypatch):
    net = FusionNet(NetConfig(width=8, global_size=64, pooled=True, num_classes=3)).eval()
    path = tmp_path / "m.safetensors"
    sha = W.save_weights(net, path, ["a", "b", "c"], {"steps": 1})
    loaded = W.load_model(path)
    assert loaded.config == net.config and loaded.classes == ["a", "b", "c"]
    L = torch.rand(1, 1, 40, 40)
    assert torch.allclose(loaded.colorize(L, loaded.global_features(L)), net(L)[0], atol=1e-2)
    monkeypatch.setattr(W, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setitem(W.MODELS, "mine", W.ShippedModel("m.safetensors", sha))
    assert W.load_model("mine").config == net.config
    monkeypatch.setitem(W.MODELS, "mine", W.ShippedModel("m.safetensors", "0" * 64))
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        W.load_model("mine")
    with pytest.raises(WeightsError, match="unknown model 'nope'.*fusion-small"):
        W.load_model("nope")
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(WeightsError, match="not a valid"):
        W.load_model(tmp_path / "bad.safetensors")
    with pytest.raises(WeightsError, match="missing.safetensors: no such weights file"):
        W.load_model(tmp_path / "missing.safetensors")
    with pytest.raises(WeightsError, match="unknown model ''"):  # had been ".: not found (is the checkout..."
        W.load_model("")
    monkeypatch.setitem(W.MODELS, "mine", W.ShippedModel("gone.safetensors", sha))
    with pytest.raises(WeightsError, match="gone.safetensors: model weights not found .is the checkout complete"):
        W.load_model("mine")


def test_shipped_weights_load_and_match_sha():
    path = W.WEIGHTS_DIR / W.MODELS[W.DEFAULT_MODEL].filename
    assert path.stat().st_size < 50e6
    net = W.load_model(W.DEFAULT_MODEL)  # sha256-checked
    assert net.config.num_classes == len(net.classes) > 0
    with open(path, "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    assert json.loads(header["__metadata__"]["info"])["images_seen"] > 0


def test_reduced_precision_stays_close_to_float32():
    """bf16 on CPUs that have it (this machine: AMX), float32 elsewhere: either way within a few a*b* units."""
    L = torch.rand(2, 1, 37, 53)
    net = W.load_model(W.DEFAULT_MODEL)
    exact = Colorizer(net, "cpu", precision="float32")
    assert exact.dtype is None
    fast = Colorizer(net, "cpu")
    assert fast.dtype in (None, torch.bfloat16)
    assert (fast.ab(L) - exact.ab(L)).abs().max() < 5
    with pytest.raises(VidcolorError, match="precision"):
        Colorizer(net, "cpu", precision="fp8")


def test_one_step_lowers_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    net = FusionNet(NetConfig(width=8, global_size=32, pooled=False, num_classes=4)).train()
    rgb = torch.rand(8, 3, 32, 32)
    labels = torch.tensor([0, 1, 2, 3, -1, 0, 1, 2])
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    args = TrainArgs(data="", checkpoint="")
    before, _ = loss_fn(net, rgb, labels, args.alpha)
    before.backward()
    opt.step()
    after, _ = loss_fn(net, rgb, labels, args.alpha)
    assert after.item() < before.item()


def test_rebalancing_weighs_vivid_colors_up_and_keeps_the_mean():
    """Mostly gray photos with a few saturated red pixels: red pixels weigh more, E_p[w] = 1."""
    torch.manual_seed(0)
    images = torch.rand(20, 3, 16, 16) * 0.1 + 0.45
    images[:, :, :2, :2] = torch.tensor([0.9, 0.1, 0.1])[:, None, None]
    images = (images * 255).round().to(torch.uint8)
    w = ab_weights(images, lam=0.5)
    per_pixel = w[_ab_bin(rgb_to_lab(images.float() / 255)[:, 1:] / AB_SCALE).flatten()]
    red = per_pixel.view(20, 16, 16)[:, :2, :2]
    assert red.min() > 3 * per_pixel.median()
    assert per_pixel.mean().item() == pytest.approx(1, abs=1e-4)
    net = FusionNet(NetConfig(width=8, global_size=32, pooled=True)).train()
    weighted, plain = loss_fn(net, images.float() / 255, torch.full((20,), -1), 0.0, w)
    assert weighted.item() != pytest.approx(plain)


def _vivid_photos(n: int = 8, side: int = 32) -> torch.Tensor:
    """Blocks of random saturated colours: photos whose colour a gray guess cannot explain."""
    torch.manual_seed(1)
    return torch.nn.functional.interpolate(torch.rand(n, 3, 4, 4), size=(side, side), mode="nearest")


def test_colorfulness_gap_is_the_missing_colour_only():
    rgb = _vivid_photos()
    lab = rgb_to_lab(rgb)
    L, ab = lab[:, :1] / 100, lab[:, 1:] / AB_SCALE
    assert colorfulness_gap(rgb, L, ab).max() < 1e-3  # the truth lacks nothing
    assert colorfulness_gap(rgb, L, 3 * ab).max() == 0  # more colourful than the truth: no penalty
    gray = colorfulness_gap(rgb, L, torch.zeros_like(ab))
    assert torch.allclose(gray, hasler_colorfulness(rgb), atol=2e-3)


def test_colorfulness_weight_makes_the_network_bolder():
    """The same steps on the same photos, with and without the hinge: with it, less colour is missing."""
    rgb = _vivid_photos()
    lab = rgb_to_lab(rgb)
    L = lab[:, :1] / 100

    def missing_after_training(weight: float) -> float:
        torch.manual_seed(0)
        net = FusionNet(NetConfig(width=8, global_size=32, pooled=True)).train()
        opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
        for _ in range(15):
            loss, _ = loss_fn(net, rgb, torch.full((len(rgb),), -1), 0.0, colorfulness=weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            return colorfulness_gap(rgb, L, net.eval()(L)[0]).mean().item()

    assert missing_after_training(1.0) < 0.5 * missing_after_training(0.0)


def test_training_targets_are_float32_under_autocast():
    """bf16 autocast once ran the Lab conversion of the targets too (0.7 units off); a network that
    predicts the exact a*b* must score an MSE of 0."""
    rgb = _vivid_photos()
    ab = rgb_to_lab(rgb)[:, 1:] / AB_SCALE
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _, mse = loss_fn(lambda L: (ab, None), rgb, torch.full((len(rgb),), -1), 0.0)
    assert mse < 1e-12


def test_timed_run_ends_its_schedule_whatever_the_speed():
    args = TrainArgs(data="", checkpoint="", steps=1_000_000, minutes=2, lr=1e-3, warmup=10)
    assert lr_at(5, args, elapsed=0) == pytest.approx(6e-4)  # warm-up
    assert lr_at(100, args, elapsed=60) == pytest.approx(0.51e-3, rel=1e-2)  # half the time: half-way down
    assert lr_at(100, args, elapsed=120) == pytest.approx(0.02e-3)  # time is up: the floor
    assert lr_at(1_000_000, TrainArgs(data="", checkpoint="", steps=1_000_000, lr=1e-3)) == pytest.approx(0.02e-3)
