"""Cross-species feature alignment: the features that mean the same quantity in mouse and human, in one unit.

The table ``config/feature_alignment.tsv`` names each quantity in each source (``nwb``, ``mouse``, ``human``) with
the factor to its common unit. A feature is shared when both species have it with at most ``max_missing`` missing
values; otherwise it is dropped with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

META = ["cell_id", "subclass", "exclusion", "status"]


def load_alignment(path: str | Path) -> pd.DataFrame:
    table = pd.read_csv(path, sep="\t", comment="#", dtype=str, keep_default_na=False)
    missing = {"feature", "unit", "nwb", "mouse", "human"} - set(table.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    return table


def to_common(features: pd.DataFrame, alignment: pd.DataFrame, source: str) -> pd.DataFrame:
    """Meta columns plus every aligned quantity available in ``source`` (renamed, scaled to the common unit)."""
    out = features[[c for c in META if c in features]].copy()
    for _, row in alignment.iterrows():
        name = row[source]
        if name and name in features:
            out[row["feature"]] = pd.to_numeric(features[name], errors="coerce") * float(row[f"{source}_scale"] or 1)
    return out


def alignment_report(
    common: dict[str, pd.DataFrame], alignment: pd.DataFrame, sources: dict[str, str], max_missing: float
) -> pd.DataFrame:
    """One row per aligned quantity: its name in each species' source, missing fractions, shared or dropped (why)."""
    rows = []
    for _, row in alignment.iterrows():
        record = {"feature": row["feature"], "unit": row["unit"]}
        reasons = []
        for species, source in sources.items():
            record[f"{species}_name"] = row[source] or "-"
            table = common[species]
            if row["feature"] not in table:
                reasons.append(f"absent from {species} ({source})")
                record[f"{species}_missing"] = 1.0
                continue
            missing = float(table.loc[table.status == "ok", row["feature"]].isna().mean())
            record[f"{species}_missing"] = missing
            if missing > max_missing:
                reasons.append(f"{species}: missing in {missing:.0%} of cells")
        record["status"] = "dropped" if reasons else "shared"
        record["reason"] = "; ".join(reasons)
        rows.append(record)
    return pd.DataFrame(rows)
