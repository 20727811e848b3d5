"""One extraction job's batch of cells: each cell's record written to the batch folder as ``{cell}.json``.

A cell that cannot be featurised is a record with status "failed" and its reason, never a stopped or shortened
batch: ``extract_cell`` turns bad data into failures itself, and an unexpected error on one cell (a bug, a file the
reader does not know) is recorded as ``extraction_error`` with its type and message, its traceback in the job log.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

from ..acquire.stimulus_table import StimulusTable
from .cell_features import CellResult, Failure, extract_cell

log = logging.getLogger(__name__)


def extract_one(cell_id: str, location: str, table: StimulusTable, config: dict) -> CellResult:
    """``extract_cell``, with an unexpected error recorded as the cell's failure instead of raised."""
    try:
        return extract_cell(location, cell_id, table, config)
    except Exception as error:  # noqa: BLE001 (recorded per cell, counted in the report, traceback in the log)
        log.exception("%s (%s): extraction error", cell_id, location)
        message = " ".join(str(error).split()) or "no message"
        reason = f"extraction_error: {type(error).__name__}: {message}"
        return CellResult(cell_id=cell_id, status="failed", failures=[Failure("cell", "file", reason)])


def extract_batch(cells: list[tuple[str, str]], table: StimulusTable, config: dict, folder: Path) -> Counter:
    """Extract every (cell id, file location) of ``cells`` into ``folder``/{cell}.json (each written whole, via a
    temporary name); returns how many cells ended with each status. Memory is one cell's at a time."""
    folder.mkdir(parents=True, exist_ok=True)
    statuses: Counter = Counter()
    for cell_id, location in cells:
        result = extract_one(cell_id, location, table, config)
        out = folder / f"{cell_id}.json"
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result.to_dict()))
        tmp.replace(out)
        statuses[result.status] += 1
        log.info("%s: %s, %d sweeps, %d failures", cell_id, result.status, len(result.sweeps), len(result.failures))
    return statuses
