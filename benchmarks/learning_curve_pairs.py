"""Benchmark: the learning curve's paired comparison for the runs a (possibly partial) run has at one fraction.

Usage: .venv/bin/python benchmarks/learning_curve_pairs.py RUN_DIR --fraction 0.1 [--seed 0]
Reads RUN_DIR/results/learning_curve/human/{method}/frac{fraction}/seed{seed}/ (BiLSTM strategies: fold*/
predictions.tsv; baselines: fold*.tsv), keeps the folds every method has, and prints macro-F1 per method and each
method minus the best human-only model (forest, hgb, scratch) on those folds, with the workflow's paired statistics
(bootstrap CI, Wilcoxon p): what rule evaluate_learning_curve writes, for a run that did not make every fraction.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow_scripts"))

from patchseq_ml.learn.evaluation import per_fold_table  # noqa: E402
from patchseq_ml.learn.paired_stats import paired_differences  # noqa: E402
from patchseq_ml.tsv import read_tsv  # noqa: E402

NAMES = {"rf": "forest"}
HUMAN_ONLY = ("forest", "hgb", "scratch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--fraction", default="0.1")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = args.run_dir / "results/learning_curve/human"
    tables = []
    for folder in sorted(root.glob(f"*/frac{args.fraction}/seed{args.seed}")):
        files = sorted(folder.glob("fold*/predictions.tsv")) or sorted(folder.glob("fold*.tsv"))
        if not files:
            continue
        predictions = pd.concat([read_tsv(f) for f in files], ignore_index=True)
        method = NAMES.get(folder.parts[-3], folder.parts[-3])
        tables.append(per_fold_table(predictions, sorted(predictions["true"].unique())).assign(method=method))
    per_fold = pd.concat(tables, ignore_index=True)
    folds = set.intersection(*(set(g.fold) for _, g in per_fold.groupby("method")))
    per_fold = per_fold[per_fold.fold.isin(folds)]
    means = per_fold.groupby("method").macro_f1.mean().sort_values(ascending=False)
    best = means[means.index.isin(HUMAN_ONLY)].idxmax()
    print(f"fraction {args.fraction}, seed {args.seed}, folds {sorted(folds)}\n{means.round(3).to_string()}")
    print(f"\nminus the best human-only model ({best}), paired over the folds:")
    print(paired_differences(per_fold, best).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
