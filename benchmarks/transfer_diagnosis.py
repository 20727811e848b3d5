"""Why does (or doesn't) mouse pretraining help on few human cells? A diagnosis on a finished run.

Usage: .venv/bin/python benchmarks/transfer_diagnosis.py [--run .] [--fractions 0.1 1.0] [--finetune]

For every seed x fold of the run's human splits and each fraction of the training fold (the learning curve's
stratified subsample), prints mean +- SD over seed x fold of the human test macro-F1 of:
- `zero-shot`: the mouse-pretrained model's own mouse head, no human label used (human cells z-scored with the
  subsampled training cells; mouse subclasses mapped to human ones with config `classes.cross_species`);
- with --finetune, `full`-strategy fine-tuning (this repository's `bilstm.finetune` settings) from two starting
  heads: `random` (strategy `full`) and `mouse` (the human head initialised from the mouse head's rows of the mapped
  classes: strategy `mapped`).
Reads results/{splits,pretrain,features} of the run; writes nothing.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow_scripts"))

from patchseq_ml.learn.sequence_sources import open_source  # noqa: E402
from patchseq_ml.learn.splits import subsample_training  # noqa: E402
from patchseq_ml.learn.training import load_checkpoint, predict_proba, seed_everything, train  # noqa: E402
from patchseq_ml.learn.transfer import fold_data, initialise_head_from_mouse, mouse_rows, with_new_head  # noqa: E402


def score(proba: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    return float(f1_score(y, proba.argmax(axis=1), labels=np.arange(n_classes), average="macro", zero_division=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("."))
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--finetune", action="store_true")
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    class_map, cpu = config["classes"]["cross_species"], torch.device("cpu")
    rows = []
    for path in sorted((args.run / "results/pretrain/mouse").glob("seed*/checkpoint.pt")):
        seed = int(path.parent.name.removeprefix("seed"))
        pretrained, meta = load_checkpoint(path)
        settings = json.loads(meta["settings"])
        source = open_source(args.run / "results/features/human/families.npz", meta["layout"]["kind"])
        splits = pd.read_csv(args.run / f"results/splits/human/seed{seed}.tsv", sep="\t", dtype={"cell_id": str})
        for fold in sorted(splits.fold.unique()):
            fold = int(fold)
            for fraction in args.fractions:
                part = subsample_training(splits[splits.fold == fold], fraction, seed + 1000 * fold)
                classes = sorted(part.loc[part.role.isin(["train", "val", "test"]), "subclass"].unique())
                data, _, ids = fold_data(source, part, classes)
                mapped = mouse_rows(meta["classes"], classes, class_map)
                zero = predict_proba(pretrained, data["test"], "mouse", cpu)
                zero = np.stack([zero[:, r].sum(axis=1) for r in mapped], axis=1)
                row = {"seed": seed, "fold": fold, "fraction": fraction, "n_train": len(ids["train"])}
                row["zero-shot"] = score(zero, data["test"].y, len(classes))
                for init in ("random", "mouse") if args.finetune else ():
                    seed_everything(seed + 1000 * fold, 1)
                    model = with_new_head(pretrained, "human", len(classes), seed + 1000 * fold)
                    if init == "mouse":
                        initialise_head_from_mouse(model, mapped)
                    tune = {**settings["pretrain"], "lr": config["bilstm"]["finetune"]["lr"]}
                    warmup = int(config["bilstm"]["finetune"]["warmup_frozen_epochs"])
                    train(model, {"human": data["train"]}, data["val"], "human", tune, seed, cpu, frozen_epochs=warmup)
                    row[f"full, {init} head"] = score(
                        predict_proba(model, data["test"], "human", cpu), data["test"].y, len(classes)
                    )
                rows.append(row)
    table = pd.DataFrame(rows)
    methods = [c for c in table.columns if c not in ("seed", "fold", "fraction", "n_train")]
    summary = table.groupby("fraction").agg(
        runs=("fold", "size"), human_training_cells=("n_train", "mean"), **{m: (m, "mean") for m in methods}
    )
    spread = table.groupby("fraction")[methods].std(ddof=1)
    for m in methods:
        summary[m] = [f"{a:.3f} +- {s:.3f}" for a, s in zip(summary[m], spread[m])]
    print(summary.to_markdown() if hasattr(summary, "to_markdown") else summary.to_string())


if __name__ == "__main__":
    main()
