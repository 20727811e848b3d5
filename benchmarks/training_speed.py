"""Benchmark: seconds per training epoch of the attention BiLSTM at the study's mouse size, on the CPU.

Usage: .venv/bin/python benchmarks/training_speed.py [--cells 3700] [--threads 2] [--epochs 3]
Prints a table: cells, steps x width, threads, hidden, mean and min seconds per epoch, device.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow_scripts"))

import torch  # noqa: E402

from patchseq_ml.learn.model import AttentionBiLSTM, ModelConfig  # noqa: E402
from patchseq_ml.learn.training import TaskData, pick_device, seed_everything, train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=3700)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--width", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=128)
    args = parser.parse_args()
    seed_everything(0, args.threads)
    rng = np.random.default_rng(0)
    n_train = int(args.cells * 0.6)
    make = lambda n: TaskData(
        rng.normal(size=(n, args.steps, args.width)).astype(np.float32),
        np.ones((n, args.steps), dtype=bool),
        rng.integers(0, 5, n),
    )  # noqa: E731
    optim = {
        "lr": 1e-3,
        "weight_decay": 1e-4,
        "clip": 2.0,
        "batch_size": 64,
        "max_epochs": args.epochs,
        "patience": args.epochs,
        "class_weight": "balanced",
        "calibration": "none",
    }
    model = AttentionBiLSTM(ModelConfig(args.width, args.steps, {"mouse": 5}, hidden=args.hidden))
    times = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        train(
            model,
            {"mouse": make(n_train)},
            make(int(args.cells * 0.2)),
            "mouse",
            {**optim, "max_epochs": 1},
            0,
            pick_device(),
        )
        times.append(time.perf_counter() - start)
    print(
        f"{'cells':>6} {'train':>6} {'steps x width':>13} {'threads':>7} {'hidden':>6} {'s/epoch mean':>12} "
        f"{'min':>6} device"
    )
    print(
        f"{args.cells:>6} {n_train:>6} {f'{args.steps} x {args.width}':>13} {torch.get_num_threads():>7} "
        f"{args.hidden:>6} {np.mean(times):>12.2f} {np.min(times):>6.2f} {pick_device()}"
    )


if __name__ == "__main__":
    main()
