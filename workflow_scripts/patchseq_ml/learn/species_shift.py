"""Cross-species shift of each shared feature: how far human cells sit from mouse cells, overall and within subclass.

For a feature x: standardised mean difference SMD = (mean_human - mean_mouse) / pooled SD (Cohen's d; SD units),
over all cells and within each subclass (mouse subclasses mapped to human ones); the within-subclass shift, averaged
over subclasses weighted by their human cell counts, is the part a classifier trained on mouse cannot fix by
re-weighting classes. The Kolmogorov-Smirnov statistic (0-1) measures the whole-distribution difference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

META_COLUMNS = ("cell_id", "subclass", "exclusion", "status")


def usable_cells(aligned: pd.DataFrame, class_map: dict[str, str] | None = None) -> pd.DataFrame:
    """Cells that passed QC and carry a (mapped) subclass."""
    cells = aligned[(aligned.status == "ok") & aligned.subclass.notna()].copy()
    if class_map:
        cells["subclass"] = cells.subclass.map(lambda s: class_map.get(s, s))
    return cells


def smd(human: np.ndarray, mouse: np.ndarray) -> float:
    """(mean human - mean mouse) / pooled SD; NaN with fewer than 2 values on a side or no spread."""
    human, mouse = human[np.isfinite(human)], mouse[np.isfinite(mouse)]
    if human.size < 2 or mouse.size < 2:
        return float("nan")
    pooled = ((human.size - 1) * human.var(ddof=1) + (mouse.size - 1) * mouse.var(ddof=1)) / (
        human.size + mouse.size - 2
    )
    return float((human.mean() - mouse.mean()) / np.sqrt(pooled)) if pooled > 0 else float("nan")


def shift_table(mouse: pd.DataFrame, human: pd.DataFrame, class_map: dict[str, str]) -> pd.DataFrame:
    """One row per shared feature: medians, SMD overall and within subclass, KS statistic; sorted by |within SMD|."""
    mouse, human = usable_cells(mouse, class_map), usable_cells(human)
    features = [c for c in human.columns if c not in META_COLUMNS and c in mouse.columns]
    classes = sorted(set(human.subclass) & set(mouse.subclass))
    rows = []
    for feature in features:
        h, m = human[feature].to_numpy(float), mouse[feature].to_numpy(float)
        within = {c: smd(h[human.subclass == c], m[mouse.subclass == c]) for c in classes}
        weights = {c: int(np.isfinite(h[human.subclass == c]).sum()) for c in classes}
        valid = [c for c in classes if np.isfinite(within[c]) and weights[c] > 0]
        total = sum(weights[c] for c in valid)
        both = h[np.isfinite(h)], m[np.isfinite(m)]
        rows.append(
            {
                "feature": feature,
                "median_mouse": float(np.median(both[1])) if both[1].size else np.nan,
                "median_human": float(np.median(both[0])) if both[0].size else np.nan,
                "smd_all": smd(h, m),
                "smd_within_subclass": sum(within[c] * weights[c] for c in valid) / total if total else np.nan,
                "ks": float(ks_2samp(*both).statistic) if min(b.size for b in both) else np.nan,
                **{f"smd_{c}": within[c] for c in classes},
            }
        )
    table = pd.DataFrame(rows)
    order = table.smd_within_subclass.abs().sort_values(ascending=False, na_position="last").index
    return table.loc[order].reset_index(drop=True)
