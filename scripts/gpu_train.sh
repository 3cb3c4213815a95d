#!/usr/bin/env bash
# Train the shipped weights on a lent GPU (the device tool): three calls back to back, the last one training.
#
# A call may send 64 MiB with the code (about 11 MB), so the 20,512 training photos travel as three
# shards stored at the size training reads them (128 px, JPEG q85: about 43 MB each). On this machine,
# once (the data is third-party: .train/ is git-ignored, never committed):
#   vidcolor pack ../shared/data/places-like -o .train/a.tar --side 128 --quality 85 --count 6840
#   vidcolor pack ../shared/data/places-like -o .train/b.tar --side 128 --quality 85 --start 6840 --count 6840
#   vidcolor pack ../shared/data/places-like -o .train/c.tar --side 128 --quality 85 --start 13680
#   vidcolor pack ../shared/data/places-like -o .train/val.tar --split val
# Then three device calls, each within 30 s of the last (files in /tmp there survive only so long):
#   run(command="bash scripts/gpu_train.sh stash a", carry=[".train/a.tar"])
#   run(command="bash scripts/gpu_train.sh stash b", carry=[".train/b.tar"])
#   run(command="MINUTES=7 bash scripts/gpu_train.sh train c", carry=[".train/c.tar", ".train/val.tar"])
# The last trains on all three shards for $MINUTES, evaluates on val and leaves in $OUT the fp16 weights in
# 15 MiB parts (files back are limited to 16 MiB each), the metrics (eval.json), the log and a val contact
# sheet. Training needs no PyAV. RECIPE="variant=paper,rebalance=0.8" (TrainArgs fields, comma-separated)
# changes the recipe; the learning rate decays over $MINUTES whatever the GPU's speed. RETURN_WEIGHTS=0
# returns the metrics only (the paper variant at width 64 is 84 MB in fp16: over the 64 MiB that comes
# back, and over the 50 MB weights limit; run it that way for the paper-vs-pooled comparison). Then, here:
#   cat <files_at>/weights.safetensors.part* > weights/fusion-small.safetensors
#   and put the printed sha256 into vidcolor/model/weights.py.
set -euo pipefail
stage=$1 shard=$2
store=/tmp/vidcolor-data
mkdir -p "$store"
cp ".train/$shard.tar" "$store/"
if [ "$stage" = stash ]; then ls -la "$store"; exit 0; fi

export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv || echo "no GPU: a CPU dry run"
shards=$(ls "$store"/*.tar | paste -sd, -)
python3 - "$shards" "${MINUTES:-7}" "${RECIPE:-}" <<'PY' 2>&1 | tee "$OUT/train.log"
import json, os, sys
from pathlib import Path
from vidcolor.colorizer import Colorizer
from vidcolor.model.weights import save_weights
from vidcolor.train.evaluate import evaluate
from vidcolor.train.loop import TrainArgs, load_checkpoint_model, train

shards, minutes, recipe = sys.argv[1], float(sys.argv[2]), sys.argv[3]
out = Path(os.environ["OUT"])
base = dict(data=shards, checkpoint="/tmp/vidcolor-ckpt.pt", size=128, global_size=128, batch_size=128,
            steps=1_000_000, lr=2e-3, minutes=minutes, workers=16, log_every=200)
for item in filter(None, recipe.split(",")):
    key, value = item.split("=", 1)
    base[key] = json.loads(value) if value[:1].isdigit() or value[:1] in "-." else value
args = TrainArgs(**base)
print(json.dumps(base))
print(json.dumps(train(args)))
net = load_checkpoint_model(Path(args.checkpoint))
metrics = evaluate(Colorizer(net, "auto", work_side=None), Path(".train/val.tar"), "val", sheet=out / "sheet.png")
print(json.dumps(metrics))
(out / "eval.json").write_text(json.dumps(metrics | {"train": net.train_info}))
print("sha256", save_weights(net, out / "weights.safetensors", net.classes, net.train_info))
PY
if [ "${RETURN_WEIGHTS:-1}" = 1 ]; then
    split -b 15m -d "$OUT/weights.safetensors" "$OUT/weights.safetensors.part"
fi
rm "$OUT/weights.safetensors"
ls -la "$OUT"
