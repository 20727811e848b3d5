"""Classification metrics per (seed, fold), and their aggregation with bootstrap confidence intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)


def fold_metrics(true: np.ndarray, pred: np.ndarray, classes: list[str]) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro-F1 and per-class precision/recall/F1 of one test fold."""
    out = {
        "accuracy": accuracy_score(true, pred),
        "balanced_accuracy": balanced_accuracy_score(true, pred),
        "macro_f1": f1_score(true, pred, labels=classes, average="macro", zero_division=0),
        "n_test": int(len(true)),
    }
    precision, recall, f1, _ = precision_recall_fscore_support(true, pred, labels=classes, zero_division=0)
    for k, cls in enumerate(classes):
        out.update({f"precision_{cls}": precision[k], f"recall_{cls}": recall[k], f"f1_{cls}": f1[k]})
    return {k: float(v) for k, v in out.items()}


def per_fold_table(predictions: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """One row of metrics per (seed, fold) from a predictions table with ``seed, fold, true, pred``."""
    rows = []
    for (seed, fold), group in predictions.groupby(["seed", "fold"], sort=True):
        rows.append(
            {"seed": seed, "fold": fold, **fold_metrics(group["true"].to_numpy(), group["pred"].to_numpy(), classes)}
        )
    return pd.DataFrame(rows)


def bootstrap_ci(values: np.ndarray, seed: int = 0, n_boot: int = 2000, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean over the (seed, fold) units."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, (n_boot, values.size))].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1.0 - alpha))


def summarise(per_fold: pd.DataFrame) -> pd.DataFrame:
    """mean, SD and 95 % bootstrap CI of every metric column over the (seed, fold) rows."""
    rows = []
    for metric in [c for c in per_fold.columns if c not in ("seed", "fold", "n_test")]:
        values = per_fold[metric].to_numpy(float)
        low, high = bootstrap_ci(values)
        rows.append(
            {
                "metric": metric,
                "mean": values.mean(),
                "sd": values.std(ddof=1) if values.size > 1 else 0.0,
                "ci_low": low,
                "ci_high": high,
                "n": values.size,
            }
        )
    return pd.DataFrame(rows)


def confusion(predictions: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Confusion matrix (rows: true, columns: predicted), counts summed over folds and averaged over seeds."""
    n_seeds = predictions["seed"].nunique()
    matrix = confusion_matrix(predictions["true"], predictions["pred"], labels=classes) / max(n_seeds, 1)
    return pd.DataFrame(matrix, index=pd.Index(classes, name="true"), columns=classes)


def files_by_method(strategy_files: list[str], strategies: list[str], forest: str, forest_files: list[str]) -> dict:
    """Method -> its prediction files, from the strategy-major list of every strategy's files and the forest's."""
    n = len(strategy_files) // len(strategies)
    methods = {s: strategy_files[i * n : (i + 1) * n] for i, s in enumerate(strategies)}
    methods[forest] = forest_files
    return methods
