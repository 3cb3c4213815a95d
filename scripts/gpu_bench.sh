#!/usr/bin/env bash
# The pipeline's GPU figures (issue 3) in one device call of about 7 minutes.
#
# Here, once (the wheels are git-ignored; PyAV and pillow-heif are missing on the GPU machine, PyAV's abi3
# wheel fits its Python 3.12; py-spy profiles the threads):
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux1_x86_64 \
#       -d .whl av==18.1.0 py-spy==0.4.3 pillow-heif==1.8.1
# Then:
#   run(command="bash scripts/gpu_bench.sh", carry=[".whl"], timeout_s=480)
# $OUT gets pytest.txt (the whole test suite, which runs on CUDA there: device auto), throughput.jsonl
# (1080p and 480p twice, alternating: end-to-end, model-only and plain-transcode fps, same libx264
# settings), overlap.jsonl (bench/overlap.py), threads_1080p.txt (py-spy's collapsed stacks of one
# throughput run, per thread, idle included), memory.json (peak RSS, 10 s vs 100 s clip), chroma_cost.json
# (bench/chroma_cost.py) and cpu.jsonl
# (--device cpu on 16, 8 and 4 cores, batches sliced or whole). Each step has its own time limit and a failing step
# does not stop the others. SECONDS_PER_CLIP shortens a dry run; the throughput rounds at 480p take
# SECONDS_480 (default 40: 1,000 frames; 300 last about a second a stage there). STEPS picks steps (default: all of
# "tests throughput overlap threads memory chroma cpu"), ROUNDS the throughput rounds (default 2, each
# 1080p then 480p), HEIGHTS their sizes: the 480p ratio, near 0.8 with a spread of +-0.04 per run, wants
#   run(command="STEPS='throughput chroma' HEIGHTS=480 ROUNDS=6 bash scripts/gpu_bench.sh", carry=[".whl"])
set -uo pipefail
OUT=${OUT:-$(mktemp -d)}
S=${SECONDS_PER_CLIP:-12}
STEPS=${STEPS:-tests throughput overlap threads memory chroma cpu}
want() { [[ " $STEPS " == *" $1 "* ]]; }
if ! python3 -c "import av" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site PATH=/tmp/site/bin:$PATH
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD PYTHONUNBUFFERED=1
step() {  # step SECONDS command...: a time limit, and a failure reported, not fatal
    local limit=$1 t0=$SECONDS
    shift
    echo "== $* (limit ${limit}s)" >&2
    timeout "$limit" "$@" || echo "!! exit $?: $*" >&2
    echo "== took $((SECONDS - t0)) s" >&2
}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "no GPU: CPU figures"
python3 -c "import torch, av; print('torch', torch.__version__, 'av', av.__version__, 'cpus', __import__('os').cpu_count())"
model=weights/fusion-small.safetensors  # a path: the package is not installed there
if want tests; then
    step 220 python3 -m pytest -q -p no:cacheprovider tests > "$OUT/pytest.txt" 2>&1
    tail -15 "$OUT/pytest.txt"
fi
for _ in $(seq "${ROUNDS:-2}"); do
    for height in ${HEIGHTS:-1080 480}; do
        seconds=$S
        [[ $height == 480 ]] && seconds=${SECONDS_480:-40}
        want throughput && step 90 python3 bench/throughput.py --height "$height" --seconds "$seconds" --model "$model" \
            --json | tee -a "$OUT/throughput.jsonl"
        # BASELINE (.baseline: git-ignored): an earlier commit's code (git archive REV vidcolor bench samples),
        # carried along: its rounds alternate with this code's, on the same machine (throughput_baseline.jsonl)
        [[ -n ${BASELINE:-} ]] && want throughput && PYTHONPATH=${PYTHONPATH/$PWD/$PWD/$BASELINE} step 90 python3 \
            "$BASELINE/bench/throughput.py" --height "$height" --seconds "$seconds" --model "$model" --json \
            | tee -a "$OUT/throughput_baseline.jsonl"
    done
done
for height in 1080 480; do  # where the time goes: the stages alone, and the pipeline under other settings
    want overlap && step 120 python3 bench/overlap.py --height "$height" --seconds "$S" --model "$model" --json \
        | tee -a "$OUT/overlap.jsonl"
done
if want threads && command -v py-spy >/dev/null; then  # what each Python thread does (or waits for) in a 1080p run
    step 60 py-spy record --nonblocking --threads --idle --rate 50 --format raw -o "$OUT/threads_1080p.txt" -- \
        python3 bench/throughput.py --height 1080 --seconds "$S" --model "$model" --json
fi
want memory && step 90 python3 bench/memory.py --height 480 --model "$model" --json | tee "$OUT/memory.json"
# what our colors cost x264 against the true colors' (skipped macroblocks, fps over gray), on its 16 cores
want chroma && step 90 python3 bench/chroma_cost.py --model "$model" --json | tee "$OUT/chroma_cost.json"
# the CPU alone, on 16, 8 and 4 of its cores: the model's batches in slices (N, the cores shared among
# them) or whole on torch's threads (0): where slices stop paying (workers.SLICE_CORES)
for cores_slices in ${CPU_SWEEP:-16:16 16:4 16:0 8:8 8:4 8:0 4:4 4:0}; do
    cores=${cores_slices%:*}
    want cpu && step 45 taskset -c 0-$((cores - 1)) python3 bench/throughput.py --device cpu --height 480 --seconds 4 \
        --model "$model" --json --slices "${cores_slices#*:}" | tee -a "$OUT/cpu.jsonl"
done
