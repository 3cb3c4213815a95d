"""`vidcolor train` (CPU smoke run, resume) and `vidcolor eval` on a generated photo set."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import PHOTOS, as_at_a_terminal, foreground_job, photo
from PIL import Image

from vidcolor.cli import run
from vidcolor.train.data import augment


@pytest.fixture
def photo_set(tmp_path):
    """index.csv + JPEGs in the layout of places-like: scene labels, both splits, two sizes."""
    root = tmp_path / "photos"
    rows = []
    for i in range(16):
        name = PHOTOS[i % len(PHOTOS)]
        size = 48 if i % 2 else 40
        path = f"miniplaces/{name}/{i:03d}.jpg"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(photo(name, size + i, size + i).copy()[:size, :size]).save(root / path)
        rows.append({"path": path, "source": "miniplaces" if i < 12 else "bsds500", "label": name,
                     "split": "val" if i % 4 == 0 else "train", "original_path": "", "width": size,
                     "height": size})
    with open(root / "index.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return root


def test_train_resumes_then_eval_and_export(photo_set, tmp_path, capsys):
    ckpt = tmp_path / "c.pt"
    common = ["train", str(photo_set), "--checkpoint", str(ckpt), "--width", "8", "--size", "32",
              "--global-size", "32", "--batch-size", "4", "--workers", "1", "--lr", "1e-3"]
    assert run([*common, "--steps", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2].startswith("step 3/3 mse ") and lines[-2].endswith(" img/s eta 00:00:00")
    first = json.loads(lines[-1])
    assert first["step"] == 3 and first["images_seen"] == 12
    state = torch.load(ckpt, weights_only=True)
    assert {"config", "classes", "model", "optimizer", "step", "args"} <= set(state)
    assert run([*common, "--steps", "5"]) == 0  # resumes at step 3
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert second["step"] == 5 and second["images_seen"] == 20

    assert run(["eval", str(photo_set), "--model", str(ckpt), "--json", "--sheet", str(tmp_path / "s.png")]) == 0
    out, err = capsys.readouterr()
    metrics = json.loads(out)
    assert "4/4" in err  # the bar of the photos done, on stderr: JSON alone on stdout
    assert {"psnr", "psnr_gray", "colorfulness", "colorfulness_truth", "images"} <= set(metrics)
    assert metrics["images"] == 4
    assert Image.open(tmp_path / "s.png").size[0] > 3 * 176

    out = tmp_path / "m.safetensors"
    assert run(["export", str(ckpt), "-o", str(out)]) == 0
    assert len(json.loads(capsys.readouterr().out)["sha256"]) == 64
    assert run(["eval", str(photo_set), "--model", str(out), "--json", "--split", "train", "-q"]) == 0
    out_q, err = capsys.readouterr()
    assert json.loads(out_q)["images"] == 12 and "12/12" not in err
    assert run(["eval", str(photo_set), "--model", str(out), "--split", "test"]) == 3
    assert "no photos in split 'test' (its splits: train, val)" in capsys.readouterr().err


def test_pack_shard_trains(photo_set, tmp_path, capsys):
    shard = tmp_path / "shard.tar"
    assert run(["pack", str(photo_set), "-o", str(shard), "--count", "6"]) == 0
    assert json.loads(capsys.readouterr().out)["photos"] == 6
    assert run(["train", str(shard), "--checkpoint", str(tmp_path / "c.pt"), "--width", "8", "--size", "32",
                "--global-size", "32", "--batch-size", "4", "--workers", "1", "--steps", "2"]) == 0


def test_pack_at_training_size(photo_set, tmp_path, capsys):
    """--side stores each photo as the square training reads; the index says so; training reads it."""
    import tarfile

    shard = tmp_path / "small.tar"
    assert run(["pack", str(photo_set), "-o", str(shard), "--side", "24", "--quality", "85"]) == 0
    assert json.loads(capsys.readouterr().out)["photos"] == 12
    with tarfile.open(shard) as tar:
        rows = list(csv.DictReader(io.TextIOWrapper(tar.extractfile("index.csv"), encoding="utf-8")))
        sizes = {Image.open(io.BytesIO(tar.extractfile(r["path"]).read())).size for r in rows}
    assert sizes == {(24, 24)} and {(r["width"], r["height"]) for r in rows} == {("24", "24")}
    assert run(["train", str(shard), "--checkpoint", str(tmp_path / "c.pt"), "--width", "8", "--size", "16",
                "--global-size", "32", "--batch-size", "4", "--workers", "1", "--steps", "1"]) == 0


def test_train_from_given_weights(photo_set, tmp_path, capsys):
    """--init: a fine-tune starts from the file's (or the checkpoint's) weights, shape and classes, not from
    random ones."""
    from vidcolor.model.weights import load_model
    from vidcolor.train.loop import load_checkpoint_model

    common = ["--width", "8", "--size", "32", "--global-size", "32", "--batch-size", "4", "--workers", "1"]
    assert run(["train", str(photo_set), "--checkpoint", str(tmp_path / "a.pt"), "--variant", "paper", *common,
                "--steps", "2"]) == 0
    assert run(["export", str(tmp_path / "a.pt"), "-o", str(tmp_path / "a.safetensors")]) == 0
    assert run(["train", str(photo_set), "--checkpoint", str(tmp_path / "b.pt"), "--init",
                str(tmp_path / "a.safetensors"), "--width", "16", "--steps", "0"]) == 0
    given, started = load_model(tmp_path / "a.safetensors"), load_checkpoint_model(tmp_path / "b.pt")
    assert started.config == given.config and started.classes == given.classes
    for (name, a), b in zip(given.state_dict().items(), started.state_dict().values()):
        assert torch.equal(a, b), name
    # a training checkpoint is taken too, as eval and export take it (it had been 'not a valid weights file')
    assert run(["train", str(photo_set), "--checkpoint", str(tmp_path / "c.pt"), "--init", str(tmp_path / "a.pt"),
                "--steps", "0"]) == 0
    for a, b in zip(load_checkpoint_model(tmp_path / "a.pt").state_dict().values(),
                    load_checkpoint_model(tmp_path / "c.pt").state_dict().values(), strict=True):
        assert torch.equal(a, b)
    # --widen: the same network grown to width 12, which colors as the file does
    assert run(["train", str(photo_set), "--checkpoint", str(tmp_path / "w.pt"), "--init",
                str(tmp_path / "a.safetensors"), "--widen", "12", "--steps", "0"]) == 0
    wide = load_checkpoint_model(tmp_path / "w.pt")
    assert wide.config.width == 12 and wide.classes == given.classes
    L = torch.rand(2, 1, 40, 56)
    with torch.no_grad():
        assert torch.allclose(wide(L)[0], given.float()(L)[0], atol=1e-3)


def test_eval_limit_spreads_over_the_split(photo_set):
    """--limit N takes photos from the whole index, not from its first source only."""
    import numpy as np

    from vidcolor.train.data import load_photos_native, read_index

    train = [r["path"] for r in read_index(photo_set) if r["split"] == "train"]
    picked = [train[0], train[3], train[6], train[9]]  # 12 rows, 4 photos: the last is a bsds500 one
    want = sorted(np.asarray(Image.open(photo_set / p).convert("RGB")).tobytes() for p in picked)
    got = sorted(img.permute(1, 2, 0).numpy().tobytes() for b in load_photos_native(photo_set, "train", 4, 16)
                 for img in b)
    assert got == want


def test_eval_sees_each_photo_at_its_own_size_or_at_the_work_side_given(photo_set, network_sizes, capsys):
    """Evaluation sees the photos as the photo command does (224 px: these 40-px ones as they are), and with
    `--work-side` (128: as a film's frames are seen) each photo's short side scaled down to that."""
    seen = network_sizes
    metrics = []
    for extra in ([], ["--work-side", "32"]):
        seen.clear()
        assert run(["eval", str(photo_set), "--model", "tiny-random", "--json", "-q", *extra]) == 0
        metrics.append(json.loads(capsys.readouterr().out))
        assert set(seen) == ({(40, 40)} if not extra else {(32, 32)})  # the val photos are 40 px
    assert metrics[0]["images"] == metrics[1]["images"] == 4
    assert (metrics[0]["work_side"], metrics[1]["work_side"]) == (224, 32)  # the figures say what they measured
    assert run(["eval", str(photo_set), "--model", "tiny-random", "--work-side", "8"]) == 2
    assert "--work-side" in capsys.readouterr().err


def test_training_and_evaluation_run_without_pyav():
    """The GPU machine has no PyAV and each call's 64 MiB goes to photos: training must not import it."""
    import subprocess
    import sys

    code = ("import sys, vidcolor, vidcolor.train.loop, vidcolor.train.evaluate; assert 'av' not in sys.modules; "
            "vidcolor.colorize_video; assert 'av' in sys.modules; [getattr(vidcolor, n) for n in vidcolor.__all__]")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_exposure_augmentation_brightens_and_darkens_within_range():
    """A uniform gray photo: crops keep it gray; +-1 stop changes each copy's level, never past [0, 1]."""
    gray = torch.full((64, 3, 24, 24), 0.5)
    plain = augment(gray, 16, torch.Generator().manual_seed(0))
    assert torch.allclose(plain, torch.full_like(plain, 0.5), atol=1e-5)
    lit = augment(gray, 16, torch.Generator().manual_seed(0), exposure=1.0)
    levels = lit.mean((1, 2, 3))
    assert lit.min() >= 0 and lit.max() <= 1
    assert levels.min() < 0.4 and levels.max() > 0.6  # 0.5 is 0.214 linear: -1 stop 0.36, +1 stop 0.69
    assert torch.allclose(lit.std((1, 2, 3)), torch.zeros(64), atol=1e-5)  # one gain per photo


def test_crop_min_sets_how_far_crops_zoom_in():
    ramp = torch.linspace(0, 1, 64).expand(32, 3, 64, 64).contiguous()  # dark left, bright right
    crops = {m: augment(ramp, 16, torch.Generator().manual_seed(0), crop_min=m) for m in (0.2, 1.0)}
    spans = {m: c.amax((1, 2, 3)) - c.amin((1, 2, 3)) for m, c in crops.items()}
    assert spans[1.0].min() > 0.8  # whole photos (aspect jitter trims a little)
    assert spans[0.2].min() < 0.5  # some crops are small parts of it


def test_export_carries_a_chroma_gain(photo_set, tmp_path, capsys):
    """The gain a weights file carries scales its a*b* at inference, under --saturation; export keeps the rest."""
    from vidcolor.colorizer import Colorizer
    from vidcolor.model.weights import load_model

    assert run(["train", str(photo_set), "--checkpoint", str(tmp_path / "a.pt"), "--width", "8", "--size", "32",
                "--global-size", "32", "--batch-size", "4", "--workers", "1", "--steps", "2"]) == 0
    assert run(["export", str(tmp_path / "a.pt"), "-o", str(tmp_path / "a.safetensors")]) == 0
    assert run(["export", str(tmp_path / "a.safetensors"), "-o", str(tmp_path / "g.safetensors"),
                "--chroma-gain", "1.5"]) == 0
    plain, gained = load_model(tmp_path / "a.safetensors"), load_model(tmp_path / "g.safetensors")
    assert (plain.chroma_gain, gained.chroma_gain) == (1.0, 1.5)
    assert gained.train_info == plain.train_info and gained.train_info["step"] == 2
    assert gained.classes == plain.classes
    for a, b in zip(plain.state_dict().values(), gained.state_dict().values()):
        assert torch.equal(a, b)
    L = torch.rand(2, 1, 40, 56)
    ab = Colorizer(plain, "cpu", None, precision="float32").ab(L)
    assert ab.abs().max() > 0.1
    assert torch.allclose(Colorizer(gained, "cpu", None, precision="float32").ab(L), 1.5 * ab, atol=1e-4)
    assert torch.allclose(Colorizer(gained, "cpu", None, 0.5, precision="float32").ab(L), 0.75 * ab, atol=1e-4)


def test_training_commands_refuse_bad_options_and_outputs_before_their_work(photo_set, tmp_path, capsys):
    """A wrong optimizer had trained with AdamW without a word; a missing folder for the checkpoint, the
    exported weights, the shard or the eval sheet crashed ("internal error") once the work was done; a file
    that is not a checkpoint crashed too. Each is now one line with its exit code, before any step."""
    tiny = ["--width", "8", "--size", "32", "--global-size", "32", "--batch-size", "4", "--workers", "1"]
    gone = tmp_path / "gone"
    not_a_checkpoint = tmp_path / "notes.pt"
    not_a_checkpoint.write_text("not a checkpoint")
    junk = tmp_path / "junk.pt"
    junk.write_text("junk\n")  # torch.load: KeyError
    foreign = tmp_path / "foreign.pt"  # reads as a checkpoint; its network is another's
    torch.save({"config": {}, "classes": [], "model": {"fc.weight": torch.zeros(2)}}, foreign)
    train = ["train", str(photo_set), "--checkpoint", str(tmp_path / "a.pt")]
    cases = [
        *[([*train, *tiny, option, "0"], 2, f"'{option}'") for option in ("--batch-size", "--workers", "--limit")],
        ([*train, *tiny, "--lr", "0"], 2, "lr 0.0: use a learning rate above 0"),
        (["train", str(photo_set), "--checkpoint", str(junk), *tiny], 5, "not a readable training"),
        (["export", str(junk), "-o", str(tmp_path / "m.safetensors")], 5, "not a readable training"),
        (["train", str(photo_set), "--checkpoint", str(foreign), *tiny], 5, "its network does not load"),
        (["export", str(foreign), "-o", str(tmp_path / "m.safetensors")], 5, "its network does not load"),
        (["pack", str(photo_set), "-o", str(tmp_path / "s.tar"), "--count", "0"], 2, "'--count'"),
        (["pack", str(photo_set), "-o", str(tmp_path / "s.tar"), "--start", "12"], 2,
         "--start 12: split 'train' has photos 0 to 11"),
        (["train", str(photo_set), "--checkpoint", str(tmp_path / "a.pt"), "--optimizer", "sgd", *tiny], 2,
         "optimizer 'sgd': use adamw or adadelta"),
        (["train", str(photo_set), "--checkpoint", str(tmp_path / "a.pt"), "--variant", "fc", *tiny], 2,
         "variant 'fc': use pooled or paper"),
        (["train", str(photo_set), "--checkpoint", str(gone / "a.pt"), *tiny], 4, f"folder {gone} does not exist"),
        (["train", str(photo_set), "--checkpoint", str(not_a_checkpoint), *tiny], 5, "not a readable training"),
        (["export", str(not_a_checkpoint), "-o", str(tmp_path / "m.safetensors")], 5, "not a readable training"),
        (["export", str(tmp_path / "none.pt"), "-o", str(tmp_path / "m.safetensors")], 5, "no such checkpoint"),
        (["pack", str(photo_set), "-o", str(gone / "s.tar")], 4, f"folder {gone} does not exist"),
        (["eval", str(photo_set), "--model", "tiny-random", "--sheet", str(gone / "s.png")], 4,
         f"folder {gone} does not exist"),
        (["eval", str(photo_set), "--model", "tiny-random", "--sheet", str(tmp_path / "s.xyz")], 4,
         "unknown image format '.xyz'"),  # it had failed once every photo was measured
    ]
    for argv, code, said in cases:
        assert run(argv) == code, argv
        out, err = capsys.readouterr()
        assert said in err and "internal error" not in err and "step" not in out, argv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign.pt", "junk.pt", "notes.pt", "photos"]


def test_export_pack_and_eval_replace_neither_their_input_nor_a_file_unasked(photo_set, tmp_path, capsys):
    """`export w.safetensors -o w.safetensors` had rewritten the shipped weights in place; pack and eval's
    sheet wrote over any file (a shard packed onto itself truncated it as it read it). Each is refused now,
    as a colorized film's output is, and each writes under a temporary name."""
    import tarfile

    assert run(["train", str(photo_set), "--checkpoint", str(tmp_path / "a.pt"), "--width", "8", "--size", "32",
                "--global-size", "32", "--batch-size", "4", "--workers", "1", "--steps", "1"]) == 0
    weights, shard = tmp_path / "a.safetensors", tmp_path / "s.tar"
    assert run(["export", str(tmp_path / "a.pt"), "-o", str(weights)]) == 0
    assert run(["pack", str(photo_set), "-o", str(shard), "--count", "4"]) == 0
    capsys.readouterr()
    index = photo_set / "index.csv"
    kept = {path: path.read_bytes() for path in (weights, shard, index)}
    cases = [
        (["export", str(weights), "-o", str(weights), "--chroma-gain", "2"], "the output is the input"),
        (["export", str(tmp_path / "a.pt"), "-o", str(weights)], "already exists (use --overwrite"),
        (["pack", str(shard), "-o", str(shard), "--overwrite"], "the output is the input"),
        (["pack", str(photo_set), "-o", str(index)], "already exists (use --overwrite"),
        (["eval", str(photo_set), "--model", "tiny-random", "--sheet", str(shard)], "already exists (use --overwrite"),
    ]
    for argv, said in cases:
        assert run(argv) == 4, argv
        assert said in capsys.readouterr().err, argv
    assert all(path.read_bytes() == data for path, data in kept.items())
    assert run(["export", str(weights), "-o", str(weights.with_name("b.safetensors")), "--chroma-gain", "2"]) == 0
    assert run(["eval", str(photo_set), "--model", "tiny-random", "--sheet", str(tmp_path / "s.png")]) == 0
    assert run(["eval", str(photo_set), "--model", "tiny-random", "--sheet", str(tmp_path / "s.png"),
                "--overwrite"]) == 0
    assert run(["pack", str(shard), "-o", str(tmp_path / "s2.tar"), "--count", "2"]) == 0
    assert run(["pack", str(shard), "-o", str(shard.with_name("s2.tar")), "--count", "3", "--overwrite"]) == 0
    with tarfile.open(tmp_path / "s2.tar") as tar:
        assert len(tar.getnames()) == 4  # the index and three photos
    assert not [p.name for p in tmp_path.iterdir() if ".part" in p.name]


@pytest.mark.parametrize("sig,said", [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "stopped by SIGTERM")])
def test_ctrl_c_stops_training_after_its_step_and_saves_the_checkpoint(photo_set, tmp_path, sig, said):
    """A Ctrl-C had ended a run without its checkpoint: every step since the start was lost. It now stops
    after the step under way, saves, and dies of the signal (a shell shows 130); the same command resumes from
    there. So does a job scheduler's SIGTERM (it had ended the process at once; 143)."""
    ckpt = tmp_path / "c.pt"
    argv = [sys.executable, "-m", "vidcolor", "train", str(photo_set), "--checkpoint", str(ckpt), "--width", "8",
            "--size", "32", "--global-size", "32", "--batch-size", "4", "--workers", "1", "--steps", "1000000"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_at_a_terminal)
    assert "parameters" in proc.stdout.readline()  # the photos are loaded and the steps begin
    time.sleep(1.0)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -sig, err
    step = torch.load(ckpt, weights_only=True)["step"]
    assert step >= 1 and f"stopped at step {step}: saved {ckpt}" in out
    assert said in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt", "photos"]
    done = subprocess.run([*argv[:-1], str(step + 2)], capture_output=True, text=True, timeout=120)
    assert json.loads(done.stdout.strip().splitlines()[-1])["step"] == step + 2, done.stderr


def test_ctrl_c_while_photos_decode_leaves_no_process_behind(tmp_path):
    """A terminal's Ctrl-C, and a job scheduler's SIGTERM, reach every process of the job. The processes that
    decode the photos had caught it and sent it back as their result to a main process already stopping: they
    stayed for good, blocked on that pipe (and holding the job's own pipes open). They leave it to the main
    process now, which stops them after the photos in hand."""
    root = tmp_path / "photos"
    (root / "p").mkdir(parents=True)
    Image.fromarray(photo(PHOTOS[0], 512, 384)).save(root / "p" / "a.jpg")
    with open(root / "index.csv", "w", newline="") as f:
        f.write("path,split,label\n" + f"p/a.jpg,train,{PHOTOS[0]}\n" * 6000)  # seconds of decoding
    proc = subprocess.Popen([sys.executable, "-m", "vidcolor", "train", str(root), "--workers", "2", "--size", "32",
                             "--checkpoint", str(tmp_path / "c.pt"), "--steps", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=foreground_job)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and len(_children(proc.pid)) < 2:  # the decoding has begun
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)  # a worker left behind holds its pipes open
        assert proc.returncode == -signal.SIGINT and "interrupted" in err and "Traceback" not in err, err
        with pytest.raises(ProcessLookupError):
            os.killpg(proc.pid, 0)  # none of the job's processes is left
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            kids.append(int(stat.parent.name))
    return kids


def test_a_damaged_photo_is_skipped_and_named(photo_set, tmp_path, capsys):
    """One truncated JPEG and one that is not a picture among the photos had ended training, evaluation and
    packing with an internal error. Each is now skipped with a warning naming it; the others are used."""
    import tarfile

    rows = list(csv.DictReader(open(photo_set / "index.csv")))
    cut = next(r["path"] for r in rows if r["split"] == "train")
    junk = next(r["path"] for r in rows if r["split"] == "val")
    (photo_set / cut).write_bytes((photo_set / cut).read_bytes()[:200])
    (photo_set / junk).write_bytes(b"not a picture")
    ckpt = tmp_path / "c.pt"
    assert run(["train", str(photo_set), "--checkpoint", str(ckpt), "--width", "8", "--size", "32",
                "--global-size", "32", "--batch-size", "4", "--workers", "1", "--steps", "1"]) == 0
    out, err = capsys.readouterr()
    assert "11 photos" in out and f"{cut} cannot be read as a photo (OSError: " in err
    assert run(["eval", str(photo_set), "--model", str(ckpt), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["images"] == 3 and f"{junk} cannot be read as a photo (not a picture Pillow reads)" in err
    assert run(["pack", str(photo_set), "-o", str(tmp_path / "s.tar"), "--side", "24"]) == 0
    assert json.loads(capsys.readouterr().out)["photos"] == 11
    with tarfile.open(tmp_path / "s.tar") as tar:
        listed = [r["path"] for r in csv.DictReader(io.TextIOWrapper(tar.extractfile("index.csv")))]
        assert cut not in listed and len(listed) == 11 and set(listed) | {"index.csv"} == set(tar.getnames())


def test_an_index_of_path_and_split_is_enough_and_a_malformed_one_is_named(tmp_path, capsys):
    """A user's own photos (a film's period or place) need an index.csv of path and split only: train, eval
    and pack take it. A column missing, a line with a field more or less (an unquoted comma in a name) or an
    index that is not text had been internal errors (KeyError, TypeError, UnicodeDecodeError)."""
    own = tmp_path / "own"
    own.mkdir()
    for i, name in enumerate(PHOTOS[:5]):
        Image.fromarray(photo(name, 40, 40)).save(own / f"{i}.jpg")
    (own / "index.csv").write_text("path,split\n" + "".join(f"{i}.jpg,{'val' if i == 0 else 'train'}\n"
                                                             for i in range(5)))
    ckpt = tmp_path / "c.pt"
    assert run(["train", str(own), "--checkpoint", str(ckpt), "--width", "8", "--size", "32",
                "--global-size", "32", "--batch-size", "4", "--workers", "1", "--steps", "1"]) == 0
    assert "4 photos" in capsys.readouterr().out
    assert run(["eval", str(own), "--model", str(ckpt), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["images"] == 1
    assert run(["pack", str(own), "-o", str(tmp_path / "s.tar"), "--side", "24"]) == 0
    assert json.loads(capsys.readouterr().out)["photos"] == 4
    for index, said in [("path,label\n0.jpg,x\n", "index.csv has no split column"),
                        ("path,source,label,split\n0.jpg,x,y\n", "index.csv line 2 has more or fewer fields"),
                        ("path,split\n0,1.jpg,val\n", "index.csv line 2 has more or fewer fields"),
                        (b"\xff\xfe\x00junk", "cannot read index.csv")]:
        (own / "index.csv").write_bytes(index if isinstance(index, bytes) else index.encode())
        assert run(["eval", str(own), "--model", "tiny-random"]) == 3
        assert said in capsys.readouterr().err, index


def test_a_crash_mid_training_keeps_the_checkpoint_of_the_last_save(photo_set, tmp_path, monkeypatch):
    """The checkpoint was written at the end only: a crash hours in (out of memory, a lost GPU) lost every
    step. It is written every SAVE_EVERY_S too (here after every step); the same command resumes from it."""
    from vidcolor.train import loop

    ckpt = tmp_path / "c.pt"
    args = loop.TrainArgs(str(photo_set), str(ckpt), width=8, size=32, global_size=32, batch_size=4, steps=10,
                          workers=1)
    steps, real = [0], loop.loss_fn

    def crashing(*a, **kw):
        steps[0] += 1
        if steps[0] == 4:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return real(*a, **kw)

    monkeypatch.setattr(loop, "SAVE_EVERY_S", 0.0)
    monkeypatch.setattr(loop, "loss_fn", crashing)
    with pytest.raises(RuntimeError, match="illegal memory access"):
        loop.train(args)
    state = torch.load(ckpt, weights_only=True)
    assert state["step"] == 3 and state["images_seen"] == 12 and state["seconds"] > 0
    monkeypatch.setattr(loop, "loss_fn", real)
    assert loop.train(args)["step"] == 10  # resumed
    assert not ckpt.with_suffix(".tmp").exists()
