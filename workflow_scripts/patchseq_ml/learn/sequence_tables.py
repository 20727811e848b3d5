"""The tables the BiLSTM reads on feature input: the shared (aligned) quantities plus each species' own features.

A species' own features are what only its table has (the published human table has AP widths, up/down stroke
rates, ISI shape, depolarising sag, chirp; the mouse table peak and trough voltages and times). As extra steps,
masked in the other species, they let the human model read all human features while the encoder and the shared
steps still carry over from mouse (``sequences.layout_from_patterns``).
"""

from __future__ import annotations

import pandas as pd

from .alignment import META
from .sequences import own_name


def sequence_tables(
    aligned: dict[str, pd.DataFrame],
    features: dict[str, pd.DataFrame],
    shared_sources: dict[str, set[str]],
    max_missing: float,
    own: bool,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """What the BiLSTM reads per species: the aligned (shared) quantities plus, with ``own``, every species' own
    features (numeric columns of its table that no shared quantity comes from, missing in at most ``max_missing`` of
    its usable cells) as ``species:feature``. Every table holds the same columns, so one sequence layout fits both;
    the other species' own features are empty there (its families are absent, i.e. masked). Returns the tables and
    one row per candidate own feature: kept, or dropped with the reason."""
    own_columns: dict[str, pd.DataFrame] = {}
    rows = []
    for species, table in features.items():
        usable = table.status == "ok" if "status" in table else pd.Series(True, index=table.index)
        kept = {}
        candidates = [c for c in table.columns if c not in META and c not in shared_sources[species]] if own else []
        for column in candidates:
            values = pd.to_numeric(table[column], errors="coerce")
            missing = float(values[usable].isna().mean()) if usable.any() else 1.0
            reason = ""
            if values.notna().sum() == 0:
                reason = "not numeric" if table[column].notna().any() else "empty"
            elif missing > max_missing:
                reason = f"missing in {missing:.0%} of cells"
            rows.append(
                {
                    "species": species,
                    "feature": column,
                    "missing": missing,
                    "status": "dropped" if reason else "own",
                    "reason": reason,
                }
            )
            if not reason:
                kept[own_name(species, column)] = values.to_numpy()
        own_columns[species] = pd.DataFrame(kept, index=table.cell_id.astype(str))
    all_own = [c for frame in own_columns.values() for c in frame.columns]
    out = {}
    for species, table in aligned.items():
        extra = own_columns[species].reindex(table.cell_id.astype(str)).reindex(columns=all_own)
        out[species] = pd.concat([table.reset_index(drop=True), extra.reset_index(drop=True)], axis=1)
    report = pd.DataFrame(rows, columns=["species", "feature", "missing", "status", "reason"])
    return out, report
