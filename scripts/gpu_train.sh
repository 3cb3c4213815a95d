#!/usr/bin/env bash
# Train the shipped weights on a lent GPU (the device tool), in runs of at most 10 minutes.
#
# On this machine, once (the data is third-party: .train/ and .whl/ are git-ignored, never committed):
#   vidcolor pack ../shared/data/places-like -o .train/a.tar --start 0 --count 10300
#   vidcolor pack ../shared/data/places-like -o .train/b.tar --start 10300
#   vidcolor pack ../shared/data/places-like -o .train/val.tar --split val
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_17_x86_64 -d .whl av==18.1.0
# Then two device calls back to back (files in /tmp there survive between calls that follow within 30 s):
#   run(command="bash scripts/gpu_train.sh stash a", carry=[".train/a.tar", ".whl"])
#   run(command="bash scripts/gpu_train.sh train b", carry=[".train/b.tar", ".train/val.tar", ".whl"])
# The second call trains on both shards for $MINUTES, evaluates on val and leaves in $OUT the fp16
# weights in 15 MiB parts (files back are limited to 16 MiB each), the metrics (eval.json), the log
# and a val contact sheet. Then, here:
#   cat <files_at>/weights.safetensors.part* > weights/fusion-small.safetensors
#   and put the printed sha256 into vidcolor/model/weights.py.
set -euo pipefail
stage=$1 shard=$2
store=/tmp/vidcolor-data
mkdir -p "$store"
cp ".train/$shard.tar" "$store/"
if [ "$stage" = stash ]; then ls -la "$store"; exit 0; fi

python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
shards=$(ls "$store"/*.tar | paste -sd, -)
python3 - "$shards" "${MINUTES:-8}" "${VARIANT:-pooled}" <<'PY' 2>&1 | tee "$OUT/train.log"
import json, os, sys
from pathlib import Path
from vidcolor.colorizer import Colorizer
from vidcolor.model.weights import save_weights
from vidcolor.train.evaluate import evaluate
from vidcolor.train.loop import TrainArgs, load_checkpoint_model, train

shards, minutes, variant = sys.argv[1], float(sys.argv[2]), sys.argv[3]
out = Path(os.environ["OUT"])
args = TrainArgs(data=shards, checkpoint="/tmp/vidcolor-ckpt.pt", variant=variant, size=128, global_size=128,
                 batch_size=128, steps=int(minutes * 60 * 30), lr=2e-3, minutes=minutes, workers=16,
                 log_every=200)
print(json.dumps(train(args)))
net = load_checkpoint_model(Path(args.checkpoint))
metrics = evaluate(Colorizer(net, "auto", work_side=None), Path(".train/val.tar"), "val", sheet=out / "sheet.png")
print(json.dumps(metrics))
(out / "eval.json").write_text(json.dumps(metrics | {"train": net.train_info}))
print("sha256", save_weights(net, out / "weights.safetensors", net.classes, net.train_info))
PY
split -b 15m -d "$OUT/weights.safetensors" "$OUT/weights.safetensors.part" && rm "$OUT/weights.safetensors"
ls -la "$OUT"
