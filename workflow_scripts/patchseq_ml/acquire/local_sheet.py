"""The cell sheet of ``source: local``: your own NWB files, anywhere on disk (pure Python: read at parse time).

A TSV with the columns ``path`` (absolute, or relative to the sheet's folder), ``cell_id``, ``species`` (mouse or
human) and an optional ``label``; each row is checked against config/schema/cell_sheet.schema.yaml and then for
what a schema cannot see (the file exists, the cell id is unique). Every problem is one line naming the sheet, the
row (by its line number in the file) and the cell, raised before any job runs, so a bad sheet leaves no partial outputs.
A file that exists but cannot be read as NWB is not a sheet error: its extraction records the cell as failed with
its reason, as for any other source.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("path", "cell_id", "species", "label")
REQUIRED = ("path", "cell_id", "species")
SPECIES = ("mouse", "human")
CELL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SheetError(ValueError):
    """A cell sheet that cannot be used; the message is one line naming the sheet, the row and the problem."""


@dataclass(frozen=True)
class SheetRow:
    """One cell of the sheet: its line in the file, id, species, resolved absolute path and label ("" if none)."""

    line: int
    cell_id: str
    species: str
    path: str
    label: str


def _where(sheet: Path, line: int, cell: str = "") -> str:
    return f"{sheet} line {line}" + (f" (cell {cell})" if cell else "")


def read_sheet(sheet: str | Path, validate_row=None) -> list[SheetRow]:
    """Every row of the sheet, checked. ``validate_row(dict)`` (the JSON schema check, from the workflow) raises
    with a message for a row that breaks the schema; the built-in checks below cover the same ground without it."""
    sheet = Path(sheet).absolute()
    if not sheet.is_file():
        raise SheetError(f"{sheet}: the cell sheet (local.sheet) does not exist")
    with sheet.open(newline="") as handle:  # (line number, text) of each line but blank ones and # comments
        lines = [(n, text) for n, text in enumerate(handle, 1) if text.strip() and not text.startswith("#")]
    if not lines:
        raise SheetError(f"{sheet}: no header (columns path, cell_id, species, label)")
    header = [c.strip() for c in next(csv.reader([lines[0][1]], delimiter="\t"))]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        raise SheetError(
            f"{sheet}: columns {header}: "
            + (f"missing {missing}" if missing else f"unknown {unknown}")
            + f" (expected {list(REQUIRED)} and optionally 'label')"
        )
    raw = []
    for n, text in lines[1:]:
        cells = next(csv.reader([text], delimiter="\t"))
        raw.append(({k: (v or "").strip() for k, v in zip(header, cells)}, n))
    rows, seen = [], {}
    for values, line in raw:
        values = {k: v for k, v in values.items() if k in COLUMNS and (k != "label" or v)}
        cell = values.get("cell_id", "")
        if validate_row is not None:
            try:
                validate_row(values)
            except Exception as error:  # the schema's own message, on the row's line
                raise SheetError(f"{_where(sheet, line, cell)}: {error}") from None
        for column in REQUIRED:
            if not values.get(column):
                raise SheetError(f"{_where(sheet, line, cell)}: empty {column}")
        if not CELL_ID.match(cell):
            raise SheetError(f"{_where(sheet, line, cell)}: cell_id may hold only letters, digits, '.', '_', '-'")
        if values["species"] not in SPECIES:
            raise SheetError(
                f"{_where(sheet, line, cell)}: unknown species {values['species']!r} (one of {', '.join(SPECIES)})"
            )
        if cell in seen:
            raise SheetError(f"{_where(sheet, line, cell)}: duplicate cell_id (first in row {seen[cell]})")
        seen[cell] = line
        path = Path(values["path"]).expanduser()
        path = path if path.is_absolute() else sheet.parent / path
        if not path.is_file():
            raise SheetError(f"{_where(sheet, line, cell)}: no such file {path}")
        rows.append(SheetRow(line, cell, values["species"], str(path.resolve()), values.get("label", "")))
    if not rows:
        raise SheetError(f"{sheet}: no cells")
    return rows


def subclass_of(label: str, cfg: dict) -> tuple[str, str]:
    """(subclass, exclusion) of a sheet label under a species' ``labels`` settings: the label mapped as the archive
    tables' labels are (``first_word``, ``class_map``), or a class name itself; empty label -> ("", "no_label")."""
    label = label.strip()
    if not label:
        return "", "no_label"
    key = label.split()[0] if cfg.get("first_word") else label
    if key in cfg["class_map"]:
        return cfg["class_map"][key], ""
    if label in set(cfg["class_map"].values()):
        return label, ""
    return "", "label_not_in_class_map"
