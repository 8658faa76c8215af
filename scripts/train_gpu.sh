#!/usr/bin/env bash
# Train goai for a wall-clock budget on one NVIDIA GPU, or on CPU with a tiny budget.
#
#   scripts/train_gpu.sh --minutes M --out RUN_DIR [--data DIR] [--preset P] [--profile hour]
#                        [--window W] [-- GOAI_TRAIN_OPTIONS]
#
# --data is a folder of goai prepare output (train.npz, val.npz; default
# prepared/pro). To train on a fresh machine, put the store inside the
# repository tree, which is what gets copied there: the version-2 store of all
# of Tom + Tygem is ~39 MB (train/val/test.npz; the parts/ cache is not needed).
# Options after "--" go to goai train as they are (e.g. -- --lr 4e-3 --batch-size 2048;
# -- --resume to continue a run in RUN_DIR, -- --force to replace it: goai train refuses
# a RUN_DIR that holds a run otherwise).
#
# --profile hour: the one-hour recipe for one H200-class GPU (16 cores), aiming at
# >= 55% top-1 on held-out 9-dan games. Train on Tom + Tygem 9-dan games and KGS 6d+
# games together (scripts/merge_stores.py; the handicap and komi of KGS games do not
# matter to the policy), with the 9-dan val split held out. Its settings, each
# overridable after "--":
#   --preset b15c192      ~21.6 GFLOP a training position (goai bench counts them):
#                         ~20k positions/s on an H200 in bf16, so ~70M positions (two
#                         passes over the ~40M positions) in the hour
#   --batch-size 2048 --lr 2.8e-3 --warmup-steps 500
#                         twice the 1024 of the 5-minute run, the learning rate scaled
#                         by sqrt(2) with it (AdamW: the square-root rule)
#   --ema 0.999           weights averaged over the last ~1000 steps (~100 s), used for
#                         validation and saved in model.pt
#   --value-weight 0.5    a value head worth searching with (0.1 left it weak)
#   --games-per-chunk 256 ~8 positions of a game in a batch of 2048
#   --minutes 60          unless --minutes is given
# --window W ends this session after W minutes, saved: run the same command again with
# "-- --resume" to go on. The learning-rate schedule spans the whole --minutes of
# training time over all sessions, so a run trained in windows gets one run's schedule.
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
minutes="" out="" data="prepared/pro" preset="" profile="" window=""
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --minutes) minutes="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --data) data="$2"; shift 2 ;;
        --preset) preset="$2"; shift 2 ;;
        --profile) profile="$2"; shift 2 ;;
        --window) window="$2"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) echo "$usage"; exit 0 ;;
        *) echo "$0: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
    esac
done
case "$profile" in
    "") : "${preset:=b6c64}" ;;
    hour) : "${preset:=b15c192}" "${minutes:=60}" ;;
    *) echo "$0: unknown profile $profile (known: hour)" >&2; exit 2 ;;
esac
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
recipe=()
if [[ "$profile" == hour ]]; then
    if (( gpu )); then batch=2048; chunk=256; fi
    recipe=(--lr 2.8e-3 --warmup-steps 500 --ema 0.999 --value-weight 0.5)
fi
if [[ -n "$window" ]]; then
    recipe+=(--window-minutes "$window")
fi
echo "train_gpu.sh: gpu=$gpu batch=$batch loader_workers=$workers minutes=$minutes" \
     "preset=$preset profile=${profile:-none} window=${window:-none} data=$data out=$out" >&2
# --steps is only a ceiling: --minutes ends the run and sets the schedule.
exec "$python" -m goai train --data "$data" --out "$out" --preset "$preset" \
    --minutes "$minutes" --steps 100000000 --device auto --batch-size "$batch" \
    --loader-workers "$workers" --games-per-chunk "$chunk" ${recipe[@]+"${recipe[@]}"} \
    ${extra[@]+"${extra[@]}"}
