"""The cell sheet: one row per NWB file, joined to its transcriptomic label.

Columns: ``cell_id`` (the file's `ses-` id), ``species``, ``subject_id``, ``specimen_id``, ``nwb_path`` (where the
file is read: a local path, or an http(s) URL when streamed), ``label_raw`` (as in the label table), ``subclass``
(after the class map) and ``exclusion`` (empty, ``no_label`` or ``label_not_in_class_map``). Cells without a usable
label stay in the sheet: their features are still extracted and they are counted in the report, but no classifier
trains or tests on them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .local_sheet import subclass_of

SHEET_COLUMNS = ["cell_id", "species", "subject_id", "specimen_id", "nwb_path", "label_raw", "subclass", "exclusion"]
_ASSET = re.compile(r"sub-(?P<subject>[^/_]+)_ses-(?P<session>[^/_]+)_icephys\.nwb$")


class LabelTableError(ValueError):
    """A label table that cannot be joined; the message names the file and the problem."""


def parse_asset_name(path: str) -> tuple[str, str]:
    """(subject, session) from a DANDI asset name ``sub-<subject>_ses-<session>_icephys.nwb``."""
    match = _ASSET.search(str(path))
    if not match:
        raise ValueError(f"{path}: not a DANDI icephys asset name (sub-<subject>_ses-<session>_icephys.nwb)")
    return match["subject"], match["session"]


def load_labels(path: str | Path, cfg: dict) -> pd.DataFrame:
    """Label table indexed by the id column (as string). Identical duplicate rows are dropped; conflicting
    duplicates, or missing id/label columns, raise ``LabelTableError``."""
    table = pd.read_csv(path, dtype=str)
    for key in ("id_column", "label_column"):
        if cfg[key] not in table.columns:
            raise LabelTableError(f"{path}: missing {key.replace('_', ' ')} {cfg[key]!r}")
    table = table.dropna(subset=[cfg["id_column"]]).drop_duplicates()
    duplicated = table[cfg["id_column"]].duplicated(keep=False)
    if duplicated.any():
        ids = sorted(table.loc[duplicated, cfg["id_column"]].unique())[:5]
        raise LabelTableError(f"{path}: conflicting rows for {cfg['id_column']} {ids}")
    return table.set_index(cfg["id_column"])


def build_sheet(
    species: str, nwb_paths: list[str], labels: pd.DataFrame, cfg: dict, sources: list[str] | None = None
) -> pd.DataFrame:
    """Join NWB files to labels on the `ses-` id and map labels onto subclass names.

    ``sources`` (one per path, e.g. the archive URLs of streamed files) replace the paths in the ``nwb_path`` column.
    """
    if sources is not None and len(sources) != len(nwb_paths):
        raise ValueError(f"{len(sources)} NWB sources for {len(nwb_paths)} NWB paths")
    rows = []
    for path, source in zip(nwb_paths, sources or nwb_paths):
        subject, session = parse_asset_name(path)
        row = {
            "cell_id": session,
            "species": species,
            "subject_id": subject,
            "specimen_id": "",
            "nwb_path": str(source),
            "label_raw": "",
            "subclass": "",
            "exclusion": "",
        }
        if session in labels.index and pd.notna(labels.at[session, cfg["label_column"]]):
            label = str(labels.at[session, cfg["label_column"]]).strip()
            specimen = labels.at[session, cfg["specimen_column"]] if cfg["specimen_column"] in labels else ""
            row.update(label_raw=label, specimen_id="" if pd.isna(specimen) else str(specimen))
            key = label.split()[0] if cfg["first_word"] else label
            if key in cfg["class_map"]:
                row["subclass"] = cfg["class_map"][key]
            else:
                row["exclusion"] = "label_not_in_class_map"
        else:
            row["exclusion"] = "no_label"
        rows.append(row)
    return pd.DataFrame(rows, columns=SHEET_COLUMNS)


def build_local_sheet(species: str, rows: list[dict], cfg: dict) -> pd.DataFrame:
    """The sheet of ``source: local`` from the species' rows of your cell sheet (``cell_id``, ``path``, ``label``):
    labels mapped as the archive tables' are, or already a class name (`local_sheet.subclass_of`)."""
    out = []
    for row in rows:
        subclass, exclusion = subclass_of(row.get("label", ""), cfg)
        out.append(
            {
                "cell_id": str(row["cell_id"]),
                "species": species,
                "subject_id": "",
                "specimen_id": "",
                "nwb_path": str(row["path"]),
                "label_raw": row.get("label", ""),
                "subclass": subclass,
                "exclusion": exclusion,
            }
        )
    return pd.DataFrame(out, columns=SHEET_COLUMNS)
