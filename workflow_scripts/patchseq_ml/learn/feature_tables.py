"""Published per-cell feature tables + label tables -> the workflow's features table.

The output has the same shape as the NWB path's ``collect_features`` table (``cell_id, subclass, exclusion, status``
then numeric features), so every later stage runs the same whichever way features came in. Bad tables fail with one
line naming the file and the problem.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

META_COLUMNS = ["cell_id", "subclass", "exclusion", "status"]


class TableError(ValueError):
    """A feature or label table that cannot be used; the message names the file."""


def _read(path: str | Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, low_memory=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise TableError(f"{path}: cannot be read as CSV ({error})") from None


def _unique_ids(table: pd.DataFrame, column: str, path: str | Path) -> pd.DataFrame:
    if column not in table:
        raise TableError(f"{path}: missing id column {column!r}")
    table = table.dropna(subset=[column]).drop_duplicates()  # identical duplicate rows are harmless
    table[column] = table[column].astype(str).str.removesuffix(".0")
    duplicated = table[column].duplicated(keep=False)
    if duplicated.any():
        ids = sorted(table.loc[duplicated, column].unique())
        raise TableError(f"{path}: {len(ids)} duplicate ids with conflicting rows in {column!r}, e.g. {ids[:3]}")
    return table.set_index(column)


def load_feature_table(path: str | Path, spec: dict) -> pd.DataFrame:
    """Numeric features indexed by cell id (string). ``spec``: ``id_column``, optional ``drop_columns``."""
    table = _unique_ids(_read(path), spec["id_column"], path)
    table = table.drop(columns=[c for c in spec.get("drop_columns", []) if c in table])
    non_numeric = [c for c in table if not pd.api.types.is_numeric_dtype(table[c])]
    if non_numeric:
        raise TableError(f"{path}: non-numeric feature columns {non_numeric[:5]} (drop them in drop_columns)")
    return table.astype(float)


def load_label_table(path: str | Path, spec: dict) -> pd.Series:
    """Subclass per cell id after ``first_word``, ``require_true`` and the class map; labels that are neither
    mapped nor listed in ``drop_labels`` are an error (listed with their counts)."""
    table = _unique_ids(_read(path), spec["id_column"], path)
    if spec["label_column"] not in table:
        raise TableError(f"{path}: missing label column {spec['label_column']!r}")
    for column in spec.get("require_true", []):
        if column not in table:
            raise TableError(f"{path}: missing column {column!r} (require_true)")
        table = table[table[column].astype(str).str.lower() == "true"]
    labels = table[spec["label_column"]].dropna().astype(str).str.strip()
    if spec.get("first_word"):
        labels = labels.str.split().str[0]
    known = set(spec["class_map"]) | set(spec.get("drop_labels", []))
    unknown = labels[~labels.isin(known)].value_counts()
    if len(unknown):
        listed = ", ".join(f"{name} ({count})" for name, count in unknown.items())
        raise TableError(f"{path}: labels not in the class map or drop_labels: {listed}")
    return labels[labels.isin(spec["class_map"].keys())].map(spec["class_map"])


def join(features: pd.DataFrame, labels: pd.Series, min_cells_per_class: int, path: str | Path) -> pd.DataFrame:
    """Features of every cell, with its subclass (empty and excluded when unlabelled)."""
    subclass = labels.reindex(features.index)
    out = pd.DataFrame(
        {
            "cell_id": features.index,
            "subclass": subclass.fillna("").to_numpy(),
            "exclusion": np.where(subclass.isna(), "no_label", ""),
            "status": "ok",
        }
    )
    counts = out.loc[out.subclass != "", "subclass"].value_counts()
    small = counts[counts < min_cells_per_class]
    if len(small):
        listed = ", ".join(f"{k} ({v})" for k, v in small.items())
        raise TableError(f"{path}: classes with fewer cells than folds ({min_cells_per_class}): {listed}")
    return pd.concat([out.reset_index(drop=True), features.reset_index(drop=True)], axis=1)
