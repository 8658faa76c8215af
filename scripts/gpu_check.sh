#!/usr/bin/env bash
# One GPU session's checks for the GPU-pace issue (15): the bench, then the hour recipe for
# the time left, bringing back the figures and the trained weights.
#
#   OUT=DIR [BUDGET_SECONDS=480] [DATA=prepared/gpu] [COMPILE=1] scripts/gpu_check.sh
#
# To try the script on a CPU: DEVICE=cpu COMPILE=0 PRESETS=b1c8 BENCH_STEPS=2 BENCH_BATCH=32
# VAL_POSITIONS=200 RECIPE_ARGS="--preset b1c8" (RECIPE_ARGS go to goai train after the
# profile's options, so they win).
#
# Made for the device tool: the checkout travels to the GPU machine, ../shared does not,
# so the store must be in the checkout, in an ignored folder carried with the command:
#     run(command="bash scripts/gpu_check.sh", carry=["prepared/gpu"], timeout_s=600)
# prepared/gpu (~45 MB) is Tom + Tygem 9-dan and KGS 6d+ games, train splits merged, the
# 9-dan val/test splits held out (scripts/merge_stores.py; its manifest.json says so).
#
# Writes at most 8 files into OUT (each under 16 MiB):
#   log.txt          nvidia-smi, lscpu (threads per core), torch version, every stderr
#   bench.json       goai.cli.bench: b6c64 and b10c128 at batch 1024 (real data with one loader
#                    process per core but one vs random tensors, TFLOP/s), b10c128 compiled,
#                    and the loader alone with 1, 4 and N-1 processes
#   metrics.jsonl    the recipe's learning curve (val_top1 on 8192 held-out 9-dan positions)
#   config.json      the recipe's TrainConfig
#   val.json         top-1 of the saved (averaged) model on the whole 9-dan val split
#   model-fp16.pt.part-a?   the saved model in half precision, split in 15 MiB parts:
#                    cat model-fp16.pt.part-* > model.pt   (goai loads it as any checkpoint)
# The recipe trains --profile hour, but its schedule compressed into the minutes left
# (a 60-minute schedule cut short would end at a high learning rate, and a checkpoint
# with the optimizer is too big to bring back and resume in another session).
set -uo pipefail

out="${OUT:?set OUT to the folder for the results}"
budget="${BUDGET_SECONDS:-480}"
data="${DATA:-prepared/gpu}"
compile="${COMPILE:-1}"
device="${DEVICE:-cuda}"
bench_steps="${BENCH_STEPS:-150}"
bench_batch="${BENCH_BATCH:-1024}"
val_positions="${VAL_POSITIONS:-0}"  # 0: the whole val split
presets="${PRESETS:-b6c64 b10c128}"
read -r -a recipe_args <<< "${RECIPE_ARGS:-}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$out"
log="$out/log.txt"
say() { echo "[gpu_check $(date -u +%H:%M:%S) +${SECONDS}s] $*" | tee -a "$log" >&2; }

if [[ ! -f "$data/train.npz" ]]; then
    say "no $data/train.npz: carry the prepared store (carry=[\"$data\"])"
    exit 1
fi
{ nvidia-smi; nproc; lscpu; free -g; python3 -c "import torch; print('torch', torch.__version__,
'cuda', torch.version.cuda, torch.cuda.is_available())"; cat "$data/manifest.json"; } \
    >> "$log" 2>&1
workers=$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))

# 1. The bench (about 1-3 minutes; compiling b10c128 is most of it).
say "bench: $presets (eager), the last compiled ($compile), loader 1,4,$workers"
python3 - "$data" "$workers" "$compile" "$device" "$bench_steps" "$bench_batch" "$presets" \
    > "$out/bench.json" 2>> "$log" <<'PY'
import json, sys, time
from goai.cli.bench import bench_loader, bench_training
data, workers, compile_, device = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
steps, batch, presets = int(sys.argv[5]), int(sys.argv[6]), sys.argv[7].split()
report = {}
# Each preset eager, then the last one compiled.
runs = [(preset, False) for preset in presets] + ([(presets[-1], True)] if compile_ else [])
for preset, compiled in runs:
    name = f"{preset}{'-compiled' if compiled else ''}"
    start = time.perf_counter()
    try:
        report[name] = bench_training(data, preset=preset, batch_size=batch, steps=steps,
                                      warmup=10 if not compiled else 20,
                                      loader_workers=workers, device=device,
                                      compile=compiled, games_per_chunk=128)
    except Exception as error:  # one failure must not lose the others' figures
        report[name] = {"error": repr(error)}
    report[name]["wall_seconds"] = time.perf_counter() - start
    print(name, json.dumps(report[name]), file=sys.stderr, flush=True)
try:
    report["loader"] = bench_loader(data, sorted({1, 4, workers}), batch_size=batch,
                                    chunks=3, games_per_chunk=128)
except Exception as error:
    report["loader"] = {"error": repr(error)}
print(json.dumps(report, indent=2))
PY
say "bench done (exit $?)"

# 2. The recipe for the time left, less 90 s for validation, packing and slack.
left=$(( budget - SECONDS - 90 ))
if (( left < 60 )); then
    say "only ${left}s left: no training"
    exit 0
fi
minutes=$(python3 -c "print(round($left / 60, 2))")
say "recipe: --profile hour for $minutes minutes"
run="$repo/runs/gpu-check"
rm -rf "$run"
bash scripts/train_gpu.sh --profile hour --minutes "$minutes" --out "$run" --data "$data" -- \
    --checkpoint-every 100000000 --eval-every 1000 --log-every 100 --val-positions 8192 \
    --device "$device" ${recipe_args[@]+"${recipe_args[@]}"} 2>> "$log" > /dev/null || true
cp "$run/metrics.jsonl" "$run/config.json" "$out/" 2>/dev/null
say "recipe done"

# 3. The saved (averaged) model: top-1 on the whole 9-dan val split, then half precision.
python3 - "$run/model.pt" "$data" "$out" "$device" "$val_positions" >> "$log" 2>&1 <<'PY'
import json, sys, time
from pathlib import Path
import torch
from goai.nn.checkpoint import load_model, save_checkpoint
from goai.records.store import GameStore
from goai.learn.stream import fixed_positions
from goai.learn.train import validate
model_path, data, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
device, positions = torch.device(sys.argv[4]), int(sys.argv[5])
loaded = load_model(model_path, device)
store = GameStore(data / "val.npz")
start = time.perf_counter()
batch = fixed_positions(store, loaded.feature_set, positions or store.num_positions)
figures = validate(loaded.model, batch, device, batch_size=2048)
figures |= {"positions": len(batch.moves), "games": len(store),
            "seconds": time.perf_counter() - start, "training": loaded.training}
(out / "val.json").write_text(json.dumps(figures, indent=2))
try:  # goai's own half-precision storage where this checkout has it
    save_checkpoint(out / "model-fp16.pt", loaded.model.cpu(), loaded.feature_set,
                    loaded.training, half_precision=True)
except TypeError:
    save_checkpoint(out / "model-fp16.pt", loaded.model.cpu().half(), loaded.feature_set,
                    loaded.training)
print("val", json.dumps({k: v for k, v in figures.items() if k != "training"}))
PY
if [[ -f "$out/model-fp16.pt" ]]; then
    split -b 15M "$out/model-fp16.pt" "$out/model-fp16.pt.part-" && rm "$out/model-fp16.pt"
fi
say "done: $(ls "$out" | tr '\n' ' ')"
