"""Where a cell's sequence comes from: the 12 feature-vector families (NWB path) or groups of scalar features.

Both give (cells, steps, width) float32 arrays and a (cells, steps) presence mask, standardised with training-cell
statistics only (per species, per fold):
- ``FamilySequences``: the families array of ``results/features/{species}/families.npz`` (ephys/families.py), z-scored
  per (step, dim) over the training cells where that family is present; an absent family stays all zeros and masked;
- ``TableSequences``: aligned scalar features grouped into families by ``sequences.layout_from_patterns`` (feature
  tables, where no raw sweeps exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .sequences import SequenceLayout, Standardiser, layout_from_patterns, to_sequences


class SequenceSourceError(ValueError):
    """Cells or settings that do not fit the sequence source; the message names the file or cell."""


@dataclass
class FamilyStandardiser:
    """Mean and SD per (step, dim) from training cells with the family present (SD 1 where constant or unseen)."""

    mean: np.ndarray
    sd: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray, mask: np.ndarray) -> FamilyStandardiser:
        present = mask[:, :, None].astype(np.float64)
        count = present.sum(axis=0)
        mean = np.divide((values * present).sum(axis=0), count, out=np.zeros(values.shape[1:]), where=count > 0)
        var = np.divide(
            (((values - mean) * present) ** 2).sum(axis=0), count, out=np.zeros(values.shape[1:]), where=count > 0
        )
        sd = np.sqrt(var)
        return cls(mean, np.where(sd > 1e-12, sd, 1.0))

    def apply(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        z = (values - self.mean) / self.sd
        return np.where(mask[:, :, None], z, 0.0).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "sd": self.sd.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> FamilyStandardiser:
        return cls(np.asarray(data["mean"]), np.asarray(data["sd"]))


class FamilySequences:
    """The families array of one species, addressed by cell id."""

    kind = "families"

    def __init__(self, path: str | Path) -> None:
        with np.load(path) as arrays:
            self.values = arrays["values"].astype(np.float64)
            self.mask = arrays["mask"].astype(bool)
            self.family_names = [str(n) for n in arrays["family_names"]]
            self.widths = [int(w) for w in arrays["family_widths"]]
            self.index = {str(c): k for k, c in enumerate(arrays["cell_ids"])}
        self.path = Path(path)

    @property
    def width(self) -> int:
        return self.values.shape[2]

    def rows(self, ids: list[str]) -> np.ndarray:
        missing = [c for c in ids if c not in self.index]
        if missing:
            raise SequenceSourceError(f"{self.path}: no families for cell(s) {missing[:5]}")
        return np.array([self.index[c] for c in ids], dtype=np.int64)

    def fit(self, ids: list[str]) -> FamilyStandardiser:
        rows = self.rows(ids)
        return FamilyStandardiser.fit(self.values[rows], self.mask[rows])

    def encode(self, ids: list[str], scaler: FamilyStandardiser) -> tuple[np.ndarray, np.ndarray]:
        rows = self.rows(ids)
        return scaler.apply(self.values[rows], self.mask[rows]), self.mask[rows].copy()

    def layout_dict(self) -> dict:
        return {"kind": self.kind, "family_names": self.family_names, "widths": self.widths}

    def check_layout(self, layout: dict) -> None:
        """Refuse to fine-tune a model pretrained on other families (names or widths)."""
        if layout.get("kind") != self.kind or layout["family_names"] != self.family_names:
            raise SequenceSourceError(f"{self.path}: families differ from the checkpoint's ({layout.get('kind')})")
        if layout["widths"] != self.widths:
            raise SequenceSourceError(f"{self.path}: family widths {self.widths} != checkpoint {layout['widths']}")


class TableSequences:
    """Scalar features of one species grouped into families (``sequences.SequenceLayout``), standardised by
    ``method`` (``sequences.Standardiser``)."""

    kind = "features"

    def __init__(self, table: pd.DataFrame, layout: SequenceLayout, method: str = "zscore") -> None:
        self.table = table.set_index("cell_id")
        missing = [c for family in layout.families for c in family if c not in self.table]
        if missing:
            raise SequenceSourceError(f"features {missing[:5]} of the sequence layout are not in the table")
        self.layout = layout
        self.family_names = layout.family_names
        self.method = method

    @property
    def width(self) -> int:
        return self.layout.width

    def fit(self, ids: list[str]) -> Standardiser:
        return Standardiser.fit(self.table.loc[ids], self.layout, self.method)

    def encode(self, ids: list[str], scaler: Standardiser) -> tuple[np.ndarray, np.ndarray]:
        return to_sequences(self.table.loc[ids], self.layout, scaler)

    def layout_dict(self) -> dict:
        return {"kind": self.kind, **self.layout.to_dict(), "standardise": self.method}

    def check_layout(self, layout: dict) -> None:
        if layout.get("kind", "features") != self.kind:
            raise SequenceSourceError(f"the checkpoint was trained on {layout.get('kind')}, this run reads features")


def open_source(
    path: str | Path,
    kind: str,
    patterns: dict[str, str] | None = None,
    layout: dict | None = None,
    own_patterns: dict[str, dict[str, str]] | None = None,
    standardise: str = "zscore",
):
    """A species' sequence source: ``kind`` 'families' (an .npz) or 'features' (a sequence table; families and
    standardisation from ``layout`` (a checkpoint's) when given, else grouped by ``patterns`` (shared features)
    and ``own_patterns`` (each species' own features) and standardised by ``standardise``)."""
    if kind == "families":
        return FamilySequences(path)
    table = pd.read_csv(path, sep="\t", dtype={"cell_id": str, "subclass": str})
    try:
        if layout is not None:
            groups = SequenceLayout(layout["family_names"], layout["families"])
            return TableSequences(table, groups, layout.get("standardise", "zscore"))
        groups = layout_from_patterns(list(table.columns[4:]), patterns or {}, own_patterns)
        return TableSequences(table, groups, standardise)
    except (SequenceSourceError, ValueError) as error:
        raise SequenceSourceError(f"{path}: {error}") from None
