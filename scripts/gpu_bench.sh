#!/usr/bin/env bash
# The pipeline's GPU figures (issue 3) in one device call of about 5 minutes.
#
# Here, once (the wheel is git-ignored; PyAV is missing on the GPU machine, the abi3 wheel fits its Python 3.12):
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl av==18.1.0
# Then:
#   run(command="bash scripts/gpu_bench.sh", carry=[".whl"], timeout_s=540)
# $OUT gets throughput.jsonl (1080p and 480p: end-to-end, model-only and plain-transcode fps, same
# libx264 settings), overlap.jsonl (bench/overlap.py), memory.json (peak RSS, 10 s vs 100 s clip) and
# cpu.jsonl (--device cpu with and without the slice workers). SECONDS_PER_CLIP shortens a dry run.
set -euo pipefail
OUT=${OUT:-$(mktemp -d)}
if ! python3 -c "import av" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/av-*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "no GPU: CPU figures"
python3 -c "import torch, av; print('torch', torch.__version__, 'av', av.__version__, 'cpus', __import__('os').cpu_count())"
model=weights/fusion-small.safetensors  # a path: the package is not installed there
for height in 1080 480; do
    python3 bench/throughput.py --height "$height" --seconds "${SECONDS_PER_CLIP:-20}" --model "$model" --json \
        | tee -a "$OUT/throughput.jsonl"
done
for height in 1080 480; do  # where the time goes: the stages alone, and the pipeline under other thread settings
    python3 bench/overlap.py --height "$height" --seconds "${SECONDS_PER_CLIP:-20}" --model "$model" --json \
        | tee -a "$OUT/overlap.jsonl"
done
python3 bench/memory.py --height 480 --model "$model" --json | tee "$OUT/memory.json"
for mode in "" --whole-batches; do  # the 16-core CPU alone: slice workers (1 frame each) vs torch's own threads
    python3 bench/throughput.py --device cpu --height 480 --seconds 4 --model "$model" --json $mode \
        | tee -a "$OUT/cpu.jsonl"
done
