"""Per-species tables from the per-cell extraction records and the cell sheet.

- features: one row per cell (id, subclass, exclusion, status, then every cell feature; NaN where missing);
- failures: one row per lost cell, family or sweep, and per cell excluded for its label (level ``label``);
- sweep counts: per cell, sweeps matched to each stimulus type and QC-passed sweeps per analysed type;
- families: the feature-vector families of every cell as one (cells, families, width) float32 array, zero-padded,
  with a (cells, families) presence mask (a failed cell is all absent), family names and widths.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FAILURE_COLUMNS = ["cell_id", "level", "item", "reason"]


class TooManyFailuresError(RuntimeError):
    """More cells failed than the configured fraction allows."""


def collect(records: list[dict], sheet: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(features, failures, sweep counts) tables for one species."""
    sheet = sheet.set_index("cell_id")
    feature_rows, failure_rows, count_rows = [], [], []
    for record in records:
        cell = record["cell_id"]
        meta = sheet.loc[cell]
        row = {
            "cell_id": cell,
            "subclass": meta["subclass"],
            "exclusion": meta["exclusion"],
            "status": record["status"],
        }
        row.update({k: (np.nan if v is None else v) for k, v in record["features"].items()})
        feature_rows.append(row)
        failure_rows += [{"cell_id": cell, **f} for f in record["failures"]]
        if meta["exclusion"]:
            failure_rows.append({"cell_id": cell, "level": "label", "item": "label", "reason": meta["exclusion"]})
        counts = {"cell_id": cell, **record["sweep_counts"]}
        counts.update({f"usable_{k}": v for k, v in record["usable_counts"].items()})
        count_rows.append(counts)
    features = pd.DataFrame(feature_rows)
    failures = pd.DataFrame(failure_rows, columns=FAILURE_COLUMNS)
    return features, failures, pd.DataFrame(count_rows).fillna(0)


def check_failed_fraction(features: pd.DataFrame, limit: float, species: str) -> None:
    """Raise when the fraction of failed cells exceeds ``limit``."""
    failed = float((features["status"] == "failed").mean()) if len(features) else 1.0
    if failed > limit:
        raise TooManyFailuresError(
            f"{species}: {failed:.0%} of cells failed extraction (limit {limit:.0%}); see the failures table"
        )


def family_arrays(records: list[dict], names: list[str], widths: dict[str, int]) -> dict[str, np.ndarray]:
    """Arrays for ``np.savez``: ``values`` (cells, families, max width) float32 zero-padded, ``mask`` (cells,
    families) bool, ``cell_ids``, ``family_names``, ``family_widths``. A stored vector of the wrong length is an
    error naming the cell and family (features and config out of step)."""
    width = max(widths.values())
    values = np.zeros((len(records), len(names), width), dtype=np.float32)
    mask = np.zeros((len(records), len(names)), dtype=bool)
    for i, record in enumerate(records):
        for j, name in enumerate(names):
            vector = record.get("families", {}).get(name)
            if vector is None:
                continue
            if len(vector) != widths[name]:
                raise ValueError(
                    f"{record['cell_id']}: family {name} has {len(vector)} values, config expects {widths[name]}"
                )
            values[i, j, : len(vector)] = vector
            mask[i, j] = True
    return {
        "values": values,
        "mask": mask,
        "cell_ids": np.array([r["cell_id"] for r in records]),
        "family_names": np.array(names),
        "family_widths": np.array([widths[n] for n in names]),
    }
