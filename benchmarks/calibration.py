"""Benchmark: calibration of the scikit-learn baselines' probabilities (``baseline.calibration``) on a run's folds.

Usage: .venv/bin/python benchmarks/calibration.py RUN_DIR [--species human] [--seeds 2 3 4] [--models rf hgb]
       [--methods none temperature sigmoid isotonic]
RUN_DIR is a run folder that holds results/features/{species}/features.tsv and results/splits/{species}/seed*.tsv
(e.g. results/tables after `make tables`, or after `snakemake --directory results/tables --configfile
config/config.yaml config/tables.yaml results/splits/human/seed2.tsv ...`). Every (model, method) is fitted on the
training cells of every (seed, fold), as rule fit_baseline does, and scored on the test fold. Prints per (model,
method): mean macro-F1, accuracy, top-label ECE (10 bins, per run then averaged), multiclass log-loss and the CPU
seconds of the fits; the rows of one model are paired (same folds).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.metrics import f1_score, log_loss

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow_scripts"))

from patchseq_ml.learn.baselines import build_model, fit_predict, usable_features  # noqa: E402
from patchseq_ml.learn.calibration import (  # noqa: E402
    confidence_and_correct,
    expected_calibration_error,
    reliability_bins,
)
from patchseq_ml.learn.splits import fold_runs  # noqa: E402
from patchseq_ml.tsv import read_tsv  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def score(predictions: pd.DataFrame) -> dict[str, float]:
    columns = [c for c in predictions.columns if c.startswith("p_")]
    proba = predictions[columns].to_numpy(float)
    confidence, correct = confidence_and_correct(predictions)
    return {
        "macro_f1": f1_score(predictions.true, predictions.pred, average="macro"),
        "accuracy": float(correct.mean()),
        "ece": expected_calibration_error(reliability_bins(confidence, correct, 10)),
        "log_loss": log_loss(predictions.true, np.clip(proba, 1e-15, 1), labels=[c[2:] for c in columns]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--species", default="human")
    parser.add_argument("--seeds", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--models", nargs="+", default=["rf", "hgb"])
    parser.add_argument("--methods", nargs="+", default=["none", "temperature", "sigmoid", "isotonic"])
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    base = config["baseline"]
    folds = range(config["splits"][args.species]["folds"])
    table = read_tsv(args.run_dir / f"results/features/{args.species}/features.tsv")
    features, _ = usable_features(table, base["max_missing"])
    rows = []
    for model in args.models:
        for method in args.methods:
            settings = base | {"calibration": method}
            runs, cpu = [], 0.0
            for seed in args.seeds:
                splits = read_tsv(args.run_dir / f"results/splits/{args.species}/seed{seed}.tsv")
                for run in fold_runs(splits, seed, folds):
                    train = run.rows.loc[run.rows.role.isin(["train", "val"]), "cell_id"].tolist()
                    test = run.rows.loc[run.rows.role == "test", "cell_id"].tolist()
                    start = time.process_time()
                    pipeline = build_model(model, features, settings, seed)
                    predictions = fit_predict(pipeline, table, features, train, test)
                    cpu += time.process_time() - start
                    runs.append(score(predictions))
            mean = pd.DataFrame(runs).mean()
            row = {"model": model, "calibration": method, "runs": len(runs), **mean.round(4)}
            rows.append(row | {"cpu_s": round(cpu, 1)})
            print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1), flush=True)
    print()
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
