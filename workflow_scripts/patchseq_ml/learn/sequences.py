"""Cells as sequences of feature families: (cells, steps, width) arrays with a presence mask per step.

Each family (a group of scalar features, in a configured order) is one time step, zero-padded to the widest family.
Values are standardised per (step, feature) with training-cell statistics only, and missing values inside a present
family become 0 (the training mean). A family whose features are all missing is marked absent in the mask: the
model gives it no attention weight, instead of reading zeros that look like data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class SequenceLayout:
    """Which feature sits at which (step, slot); ``families[k]`` lists the features of step k."""

    family_names: list[str]
    families: list[list[str]]

    @property
    def width(self) -> int:
        return max(len(f) for f in self.families)

    def to_dict(self) -> dict:
        return {"family_names": self.family_names, "families": self.families}


def layout_from_patterns(features: list[str], patterns: dict[str, str]) -> SequenceLayout:
    """Group features into families by regular expression (first match wins, config order); empty families and
    unmatched features are left out."""
    families: dict[str, list[str]] = {name: [] for name in patterns}
    for feature in features:
        family = next((f for f, p in patterns.items() if re.search(p, feature)), None)
        if family is not None:
            families[family].append(feature)
    kept = [(name, cols) for name, cols in families.items() if cols]
    return SequenceLayout([n for n, _ in kept], [c for _, c in kept])


@dataclass
class Standardiser:
    """Per-feature mean and SD from training cells (SD 1 where a feature is constant)."""

    mean: dict[str, float]
    sd: dict[str, float]

    @classmethod
    def fit(cls, table: pd.DataFrame, layout: SequenceLayout) -> Standardiser:
        columns = [c for family in layout.families for c in family]
        values = table[columns].astype(float)
        mean = values.mean().fillna(0.0)
        sd = values.std(ddof=0).replace(0.0, 1.0).fillna(1.0)
        return cls({k: float(v) for k, v in mean.items()}, {k: float(v) for k, v in sd.items()})

    def to_dict(self) -> dict:
        return {"mean": self.mean, "sd": self.sd}


def to_sequences(table: pd.DataFrame, layout: SequenceLayout, scaler: Standardiser) -> tuple[np.ndarray, np.ndarray]:
    """(cells, steps, width) float32 values and (cells, steps) bool presence mask."""
    n, steps, width = len(table), len(layout.families), layout.width
    x = np.zeros((n, steps, width), dtype=np.float32)
    mask = np.zeros((n, steps), dtype=bool)
    for k, family in enumerate(layout.families):
        raw = table[family].astype(float).to_numpy()
        mean = np.array([scaler.mean[c] for c in family])
        sd = np.array([scaler.sd[c] for c in family])
        z = (raw - mean) / sd
        mask[:, k] = np.isfinite(raw).any(axis=1)
        x[:, k, : len(family)] = np.nan_to_num(z, nan=0.0)
    return x, mask
