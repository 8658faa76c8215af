#!/usr/bin/env bash
# Train goai for a wall-clock budget on one NVIDIA GPU, or on CPU with a tiny budget.
#
#   scripts/train_gpu.sh --minutes M --out RUN_DIR [--data DIR] [--preset P] [-- GOAI_TRAIN_OPTIONS]
#
# --data is a folder of goai prepare output (train.npz, val.npz; default
# prepared/pro). To train on a fresh machine, put the store inside the
# repository tree, which is what gets copied there: the version-2 store of all
# of Tom + Tygem is ~39 MB (train/val/test.npz; the parts/ cache is not needed).
# Options after "--" go to goai train as they are (e.g. -- --lr 4e-3 --batch-size 2048;
# -- --resume to continue a run in RUN_DIR, -- --force to replace it: goai train refuses
# a RUN_DIR that holds a run otherwise).
#
# What it does:
#   1. installs what is missing, and only that: goai (pip install -e .) and
#      torch (plain "pip install torch" where nvidia-smi finds a GPU: that
#      wheel carries CUDA; torch==2.13.0 elsewhere, as CI pins it);
#   2. runs goai train with the learning-rate schedule fitted to --minutes.
#      On CUDA, goai train itself uses bf16 autocast and channels-last; this
#      script adds large batches (1024), chunks of 128 games to shuffle, and one
#      loader process per core but one, as the network then outruns a single
#      loader by far (goai bench measures one loader's positions/s). On CPU:
#      batches of 64, one loader process.
#   3. goai train writes RUN_DIR/checkpoint.pt, model.pt, metrics.jsonl, config.json.
set -euo pipefail

usage="usage: $0 --minutes M --out RUN_DIR [--data DIR] [--preset P] [-- goai train options]"
minutes="" out="" data="prepared/pro" preset="b6c64"
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --minutes) minutes="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --data) data="$2"; shift 2 ;;
        --preset) preset="$2"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) echo "$usage"; exit 0 ;;
        *) echo "$0: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
    esac
done
if [[ -z "$minutes" || -z "$out" ]]; then
    echo "$usage" >&2
    exit 2
fi
if [[ ! -f "$data/train.npz" ]]; then
    echo "$0: no $data/train.npz: run goai prepare, or copy its train/val/test.npz there" >&2
    exit 1
fi

repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
if nvidia-smi -L >/dev/null 2>&1; then gpu=1; else gpu=0; fi

# 1. Install only what is missing, so a prepared machine (or CI) starts at once.
if ! "$python" -c "import torch" 2>/dev/null; then
    if (( gpu )); then
        "$python" -m pip install torch
    else
        "$python" -m pip install "torch==2.13.0"
    fi
elif (( gpu )) && ! "$python" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
    "$python" -m pip install --upgrade torch  # a CPU-only torch on a GPU machine
fi
if ! "$python" -c "import goai" 2>/dev/null; then
    "$python" -m pip install -e "$repo"
fi

# 2. Train.
# A batch of 1024 drawn from chunks of 64 games would hold ~16 positions of each
# game; chunks of 128 games halve that, at ~110 MB of planes per chunk and
# loader process (two alive while the next is encoded).
if (( gpu )); then
    batch=1024
    workers=$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))
    chunk=128
else
    batch=64
    workers=1
    chunk=64
fi
echo "train_gpu.sh: gpu=$gpu batch=$batch loader_workers=$workers minutes=$minutes" \
     "preset=$preset data=$data out=$out" >&2
# --steps is only a ceiling: --minutes ends the run and sets the schedule.
exec "$python" -m goai.cli train --data "$data" --out "$out" --preset "$preset" \
    --minutes "$minutes" --steps 100000000 --device auto --batch-size "$batch" \
    --loader-workers "$workers" --games-per-chunk "$chunk" "${extra[@]}"
