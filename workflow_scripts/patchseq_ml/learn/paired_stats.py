"""Paired comparisons on identical (seed, fold) test sets: mean difference, bootstrap CI, Wilcoxon signed-rank."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from .evaluation import bootstrap_ci


def paired_differences(per_fold: pd.DataFrame, reference: str, metric: str = "macro_f1") -> pd.DataFrame:
    """For every method in ``per_fold`` (columns method, seed, fold, metric) other than ``reference``: the mean
    paired difference method - reference over shared (seed, fold) units, its 95 % bootstrap CI and the Wilcoxon
    signed-rank p-value (two-sided; NaN with fewer than 2 non-zero differences)."""
    wide = per_fold.pivot_table(index=["seed", "fold"], columns="method", values=metric)
    if reference not in wide:
        return pd.DataFrame()
    rows = []
    for method in wide.columns:
        if method == reference:
            continue
        pair = wide[[method, reference]].dropna()
        diff = (pair[method] - pair[reference]).to_numpy()
        low, high = bootstrap_ci(diff)
        nonzero = np.count_nonzero(diff)
        p = float(wilcoxon(diff).pvalue) if nonzero >= 2 else np.nan
        rows.append(
            {
                "method": method,
                "reference": reference,
                "metric": metric,
                "n_pairs": len(diff),
                "mean_difference": float(diff.mean()) if len(diff) else np.nan,
                "ci_low": low,
                "ci_high": high,
                "wilcoxon_p": p,
                "wins": int((diff > 0).sum()),
                "losses": int((diff < 0).sum()),
            }
        )
    return pd.DataFrame(rows)
