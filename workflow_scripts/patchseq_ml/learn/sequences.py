"""Cells as sequences of feature families: (cells, steps, width) arrays with a presence mask per step.

Each family (a group of scalar features, in a configured order) is one time step, zero-padded to the widest family.
Shared families hold the cross-species aligned quantities; a species' own features (those only its table has) form
extra families named ``{species}:{family}`` that are absent (masked) in every cell of the other species. Values are
standardised per feature with training-cell statistics only, and missing values inside a present family become 0
(the training centre). A family whose features are all missing is marked absent in the mask: the model gives it no
attention weight, instead of reading zeros that look like data.

Standardisation (``method``): ``zscore`` ((x - mean) / SD) or ``quantile`` (rank -> standard normal through the
training cells' quantiles, clipped at +-3.09; robust to the heavy tails of AP widths, rates and impedances).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtri

OWN_SEPARATOR = ":"  # "human:width_rheo" = the human table's own feature width_rheo
QUANTILE_LEVELS = 101  # quantiles stored per feature for the quantile standardisation
QUANTILE_CLIP = 1e-3  # levels are clipped to [clip, 1 - clip] before the normal quantile function: |z| <= 3.09
_QUANTILE_GRID = np.linspace(0.0, 1.0, QUANTILE_LEVELS)


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


def own_name(species: str, feature: str) -> str:
    """Column name of a species' own (not shared) feature in a sequence table."""
    return f"{species}{OWN_SEPARATOR}{feature}"


def _group(features: list[str], patterns: dict[str, str]) -> list[tuple[str, list[str]]]:
    families: dict[str, list[str]] = {name: [] for name in patterns}
    for feature in features:
        family = next((f for f, p in patterns.items() if re.search(p, feature)), None)
        if family is not None:
            families[family].append(feature)
    return [(name, cols) for name, cols in families.items() if cols]


def layout_from_patterns(
    features: list[str], patterns: dict[str, str], own_patterns: dict[str, dict[str, str]] | None = None
) -> SequenceLayout:
    """Group features into families by regular expression (first match wins, config order); empty families and
    unmatched features are left out. Shared features (names without ``:``) are grouped by ``patterns``; each
    species' own features (``species:feature``) by ``own_patterns[species]`` (matched on the bare feature name),
    after the shared families, as steps ``species:family``."""
    kept = _group([f for f in features if OWN_SEPARATOR not in f], patterns)
    for species, species_patterns in (own_patterns or {}).items():
        prefix = species + OWN_SEPARATOR
        bare = [f[len(prefix) :] for f in features if f.startswith(prefix)]
        for name, cols in _group(bare, species_patterns):
            kept.append((prefix + name, [prefix + c for c in cols]))
    if not kept:
        raise ValueError(f"no feature matches any sequence family (features: {features[:8]}...)")
    return SequenceLayout([n for n, _ in kept], [c for _, c in kept])


@dataclass
class Standardiser:
    """Per-feature centre and scale from training cells: mean and SD (SD 1 where a feature is constant), and for
    ``method='quantile'`` also the training quantiles at ``QUANTILE_LEVELS`` evenly spaced levels."""

    mean: dict[str, float]
    sd: dict[str, float]
    method: str = "zscore"
    quantiles: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def fit(cls, table: pd.DataFrame, layout: SequenceLayout, method: str = "zscore") -> Standardiser:
        if method not in ("zscore", "quantile"):
            raise ValueError(f"unknown standardisation {method!r} (zscore or quantile)")
        columns = [c for family in layout.families for c in family]
        values = table[columns].astype(float)
        mean = values.mean().fillna(0.0)
        sd = values.std(ddof=0).replace(0.0, 1.0).fillna(1.0)
        quantiles = {}
        if method == "quantile":
            for column in columns:
                seen = values[column].dropna().to_numpy()
                quantiles[column] = np.quantile(seen, _QUANTILE_GRID).tolist() if len(seen) else []
        return cls({k: float(v) for k, v in mean.items()}, {k: float(v) for k, v in sd.items()}, method, quantiles)

    def transform(self, raw: np.ndarray, columns: list[str]) -> np.ndarray:
        """Standardised (cells, len(columns)) values; NaN stays NaN."""
        if self.method == "zscore":
            mean = np.array([self.mean[c] for c in columns])
            sd = np.array([self.sd[c] for c in columns])
            return (raw - mean) / sd
        out = np.full(raw.shape, np.nan)
        levels = _QUANTILE_GRID
        for j, column in enumerate(columns):
            q = np.asarray(self.quantiles.get(column, []), dtype=float)
            if len(q) == 0:  # never seen in training: every value sits at the centre
                out[:, j] = np.where(np.isfinite(raw[:, j]), 0.0, np.nan)
                continue
            # the mean of the upward and downward interpolations puts tied quantiles at their middle level
            u = 0.5 * (np.interp(raw[:, j], q, levels) - np.interp(-raw[:, j], -q[::-1], -levels[::-1]))
            out[:, j] = ndtri(np.clip(u, QUANTILE_CLIP, 1.0 - QUANTILE_CLIP))
        return out

    def to_dict(self) -> dict:
        return {"mean": self.mean, "sd": self.sd, "method": self.method, "quantiles": self.quantiles}

    @classmethod
    def from_dict(cls, data: dict) -> Standardiser:
        return cls(
            dict(data["mean"]),
            dict(data["sd"]),
            data.get("method", "zscore"),
            {k: list(v) for k, v in data.get("quantiles", {}).items()},
        )


def to_sequences(table: pd.DataFrame, layout: SequenceLayout, scaler: Standardiser) -> tuple[np.ndarray, np.ndarray]:
    """(cells, steps, width) float32 values and (cells, steps) bool presence mask."""
    n, steps, width = len(table), len(layout.families), layout.width
    x = np.zeros((n, steps, width), dtype=np.float32)
    mask = np.zeros((n, steps), dtype=bool)
    for k, family in enumerate(layout.families):
        raw = table[family].astype(float).to_numpy()
        mask[:, k] = np.isfinite(raw).any(axis=1)
        x[:, k, : len(family)] = np.nan_to_num(scaler.transform(raw, family), nan=0.0)
    return x, mask
