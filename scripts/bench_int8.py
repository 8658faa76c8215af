"""Is an int8 network worth it on a CPU? Speed and accuracy of a model in int8 next to float32.

    python scripts/bench_int8.py [--model default] --calibrate STORE/val.npz \\
        --test STORE/test-sample300.npz [--positions 2000] [--threads 1] [--json]

The model is quantized after training with PyTorch's FX graph mode (x86
backend: int8 weights per channel, int8 activations whose scales come from
``--calibration-positions`` positions of ``--calibrate``; keep those out of the
test set: use the validation split). Then both models run the same
``--positions`` held-out positions of ``--test`` (whole games in a seeded
order, as ``goai train`` validates) at ``--batch-size`` on ``--threads`` torch
threads, and the script prints for each: positions per second, policy top-1,
the value's sign agreement with the recorded result and its squared error
(decisive games only); and how often the two agree on the top move.

Why a script and not an option of the engine: quantizing needs calibration
data and minutes of forward passes (each engine start would pay them, or the
quantized graph would need a file format of its own), and the FX path is the
part of torch that is being moved out to ``torchao``. The figures it prints are
what decides whether that is worth building: the search's strength per second
grows with playouts per second, and falls with the policy's accuracy.

Timings move with whatever else runs on the machine; both models are timed
in the same process, one after the other, so their ratio is the figure to quote.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
import warnings

import numpy as np
import torch

from goai.learn.stream import fixed_positions
from goai.nn.checkpoint import CheckpointError, load_model, resolve_model
from goai.records.store import GameStore, StoreError


def quantize(model: torch.nn.Module, calibration: np.ndarray, batch_size: int) -> torch.nn.Module:
    """An int8 copy of ``model`` (eval mode), calibrated on ``calibration`` (N, C, 19, 19)."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FX quantization warns that it is deprecated
        example = (torch.from_numpy(calibration[:batch_size]).float(),)
        prepared = prepare_fx(copy.deepcopy(model).eval(), get_default_qconfig_mapping("x86"),
                              example)
        with torch.no_grad():
            for start in range(0, len(calibration), batch_size):
                prepared(torch.from_numpy(calibration[start:start + batch_size]).float())
        return convert_fx(prepared)


def measure(model: torch.nn.Module, planes: np.ndarray, moves: np.ndarray, values: np.ndarray,
            batch_size: int) -> tuple[dict, np.ndarray]:
    """Speed and accuracy of ``model`` on the positions; also its top moves (N,)."""
    tops, predicted = [], []
    started = time.perf_counter()
    with torch.no_grad():
        for start in range(0, len(moves), batch_size):
            out, value = model(torch.from_numpy(planes[start:start + batch_size]).float())[:2]
            tops.append(out.argmax(1).numpy())
            predicted.append(value.numpy())
    seconds = time.perf_counter() - started
    top = np.concatenate(tops)
    value = np.concatenate(predicted)
    decisive = values != 0
    return {
        "positions_per_second": len(moves) / seconds,
        "top1": float((top == moves).mean()),
        "value_sign_agreement": float(((value[decisive] > 0) == (values[decisive] > 0)).mean()),
        "value_squared_error": float(((value[decisive] - values[decisive]) ** 2).mean()),
    }, top


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default", help="default, small or a checkpoint path")
    parser.add_argument("--calibrate", required=True, metavar="STORE",
                        help="game store whose positions set the activation scales (val split)")
    parser.add_argument("--test", required=True, metavar="STORE", help="held-out game store")
    parser.add_argument("--calibration-positions", type=int, default=1024, metavar="N")
    parser.add_argument("--positions", type=int, default=2000, metavar="N")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if min(args.calibration_positions, args.positions, args.batch_size, args.threads) < 1:
        print("error: positions, batch size and threads must be positive", file=sys.stderr)
        return 2
    try:
        loaded = load_model(resolve_model(args.model))
        calibration = fixed_positions(GameStore(args.calibrate), loaded.feature_set,
                                      args.calibration_positions, seed=1)
        test = fixed_positions(GameStore(args.test), loaded.feature_set, args.positions, seed=0)
    except (CheckpointError, StoreError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    model = loaded.model.eval()
    started = time.perf_counter()
    int8 = quantize(model, calibration.planes, args.batch_size)
    report: dict = {"model": args.model, "positions": len(test.moves),
                    "calibration_positions": len(calibration.moves),
                    "quantize_seconds": time.perf_counter() - started,
                    "batch_size": args.batch_size, "threads": args.threads}
    report["float32"], top32 = measure(model, test.planes, test.moves, test.values,
                                       args.batch_size)
    report["int8"], top8 = measure(int8, test.planes, test.moves, test.values, args.batch_size)
    report["top_move_agreement"] = float((top32 == top8).mean())
    report["speedup"] = (report["int8"]["positions_per_second"]
                         / report["float32"]["positions_per_second"])
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.model}: {report['positions']} held-out positions, batch {args.batch_size}, "
          f"{args.threads} thread(s); quantized in {report['quantize_seconds']:.0f} s")
    for name in ("float32", "int8"):
        row = report[name]
        print(f"  {name:8} {row['positions_per_second']:7.1f} positions/s  top-1 "
              f"{100 * row['top1']:.2f}%  value sign {100 * row['value_sign_agreement']:.1f}%"
              f"  squared error {row['value_squared_error']:.3f}")
    print(f"  int8 is {report['speedup']:.2f}x as fast; the two agree on the top move at "
          f"{100 * report['top_move_agreement']:.1f}% of positions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
