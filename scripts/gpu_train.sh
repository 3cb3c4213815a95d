#!/usr/bin/env bash
# Train weights on a lent GPU (the device tool) in back-to-back calls, the last one training.
#
# A call sends at most 64 MiB with the working tree (about 22 MB, the shipped weights included), so the
# 20,512 training photos travel as three shards stored at the size training reads them (128 px, JPEG q85:
# about 43 MB each) and the val photos (9.5 MB) ride along with the benchmark's PyAV wheel. Here, once
# (the data is third-party: .train/ is git-ignored, never committed):
#   vidcolor pack ../shared/data/places-like -o .train/a.tar --side 128 --quality 85 --count 6840
#   vidcolor pack ../shared/data/places-like -o .train/b.tar --side 128 --quality 85 --start 6840 --count 6840
#   vidcolor pack ../shared/data/places-like -o .train/c.tar --side 128 --quality 85 --start 13680
#   vidcolor pack ../shared/data/places-like -o .train/val.tar --split val
# Then device calls, each within 30 s of the last (files in /tmp there survive only so long):
#   run(command="bash scripts/gpu_train.sh stash val && bash scripts/gpu_bench.sh", carry=[".whl", ".train/val.tar"])
#   run(command="bash scripts/gpu_train.sh stash a", carry=[".train/a.tar"])
#   run(command="bash scripts/gpu_train.sh stash b", carry=[".train/b.tar"])
#   run(command="MINUTES=6 RECIPES='...;...' bash scripts/gpu_train.sh train c", carry=[".train/c.tar"])
# The last trains one run per ';'-separated recipe, all at once on the one GPU for $MINUTES (the learning
# rate decays over $MINUTES whatever the GPU's speed), evaluates each on val and leaves in $OUT one
# bundle (run<i>/: fp16 weights, eval.json, train.log, val contact sheet) in 15 MiB parts, since files
# come back at most 8 and 16 MiB each. A recipe is TrainArgs fields, comma-separated:
# "init=weights/fusion-small.safetensors,lr=1e-3" or "variant=paper,global_size=224". RETURN_WEIGHTS=0
# leaves the weights out (the paper variant at width 64 is 84 MB in fp16). Then, here:
#   cat <files_at>/bundle.tar.part* | tar -x -C runs/gpu
set -euo pipefail
stage=$1
shift
store=/tmp/vidcolor-data
mkdir -p "$store/train"
for name in "$@"; do
    if [ "$name" = val ]; then cp .train/val.tar "$store/val.tar"; else cp ".train/$name.tar" "$store/train/"; fi
done
if [ "$stage" = stash ]; then ls -la "$store" "$store/train"; exit 0; fi

export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv || echo "no GPU: a CPU dry run"
shards=$(ls "$store"/train/*.tar | paste -sd, -)
val=$store/val.tar
[ -f "$val" ] || val=.train/val.tar
work=$(mktemp -d)
IFS=';' read -ra recipes <<< "${RECIPES:-}"
[ ${#recipes[@]} -gt 0 ] || recipes=("")
pids=()
for i in "${!recipes[@]}"; do
    mkdir -p "$work/run$i"
    python3 - "$shards" "$val" "${MINUTES:-7}" "${recipes[$i]}" "$work/run$i" "$store/ckpt$i.pt" \
        > "$work/run$i/train.log" 2>&1 <<'PY' &
import json, sys
from pathlib import Path
from vidcolor.colorizer import Colorizer
from vidcolor.model.weights import save_weights
from vidcolor.train.evaluate import evaluate
from vidcolor.train.loop import TrainArgs, load_checkpoint_model, train

shards, val, minutes, recipe, out, ckpt = sys.argv[1:]
out = Path(out)
base = dict(data=shards, checkpoint=ckpt, size=128, global_size=128, batch_size=128,
            steps=1_000_000, lr=2e-3, minutes=float(minutes), workers=8, log_every=500)
for item in filter(None, recipe.split(",")):
    key, value = item.split("=", 1)
    base[key] = json.loads(value) if value[:1].isdigit() or value[:1] in "-." else value
args = TrainArgs(**base)
print(json.dumps(base))
print(json.dumps(train(args)))
net = load_checkpoint_model(Path(args.checkpoint))
metrics = evaluate(Colorizer(net, "auto"), Path(val), "val", sheet=out / "sheet.png")
print("EVAL", json.dumps(metrics | {"recipe": recipe}))
(out / "eval.json").write_text(json.dumps(metrics | {"recipe": recipe, "train": net.train_info}))
print("sha256", save_weights(net, out / "weights.safetensors", net.classes, net.train_info))
PY
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for i in "${!recipes[@]}"; do
    { grep '^step' "$work/run$i/train.log" | tail -n 2; grep -v '^step' "$work/run$i/train.log" | tail -n 6; } |
        sed "s/^/run$i: /" || true
done
[ "${RETURN_WEIGHTS:-1}" = 1 ] || rm -f "$work"/run*/weights.safetensors
tar -cf "$work/bundle.tar" -C "$work" $(cd "$work" && ls -d run*)
split -b 15m -d "$work/bundle.tar" "$OUT/bundle.tar.part"
ls -la "$OUT"
exit $status
