"""The embedded default dataset: cell ids, batches, defect assignment and one batch's simulation.

Everything is derived from (seed, species, number of cells), so the cell list is known when the workflow is parsed
and a batch can be simulated independently of the others.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .nwb_writer import write_mies_nwb
from .phenotypes import draw_cohort
from .simulator import DEFECTS, SimulatedCell, inject_defects, simulate_cells

SPECIES_INDEX = {"mouse": 0, "human": 1}
_ID_BASES = {"mouse": (500000, 800000000, 600000000), "human": (1200, 1100000000, 700000000)}
CELLS_PER_HUMAN_DONOR = 3
# label vocabularies of the real tables (Allen mouse t-types; Lee, Dalley et al. 2023 revised subclasses)
HUMAN_LABELS = {"Lamp5": "LAMP5/PAX6/Other", "Pvalb": "PVALB", "Sst": "SST", "Vip": "VIP"}


def cell_ids(species: str, n_cells: int) -> list[tuple[str, str, str]]:
    """(subject, session, specimen) ids of the simulated cells of a species, as strings."""
    subject0, session0, specimen0 = _ID_BASES[species]
    per_subject = CELLS_PER_HUMAN_DONOR if species == "human" else 1
    return [(str(subject0 + i // per_subject), str(session0 + i), str(specimen0 + i)) for i in range(n_cells)]


def cell_index(species: str, session: str) -> int:
    """Position of a simulated cell (by its session id) in its species' cohort."""
    return int(session) - _ID_BASES[species][1]


def nwb_relpath(subject: str, session: str) -> str:
    """DANDI asset layout of one cell's file."""
    return f"sub-{subject}/sub-{subject}_ses-{session}_icephys.nwb"


def batch_ids(n_cells: int, batch_size: int) -> list[str]:
    return [f"{b:03d}" for b in range(-(-n_cells // batch_size))]


def batch_members(batch: str, n_cells: int, batch_size: int) -> range:
    start = int(batch) * batch_size
    return range(start, min(start + batch_size, n_cells))


def assign_defects(rng: np.random.Generator, n_cells: int, rates: dict[str, float]) -> list[set[str]]:
    """Each defect goes to round(rate * n) cells (at least one when its rate > 0), distinct cells where possible."""
    assigned: list[set[str]] = [set() for _ in range(n_cells)]
    order = list(rng.permutation(n_cells))
    for defect in DEFECTS:
        rate = float(rates.get(defect, 0.0))
        if rate <= 0:
            continue
        for _ in range(max(1, int(round(rate * n_cells)))):
            if not order:
                order = list(rng.permutation(n_cells))
            assigned[order.pop()].add(defect)
    return assigned


def simulate_batch(
    species: str, batch: str, n_cells: int, settings: dict, phenotypes: dict, out_dir: Path
) -> tuple[list[dict], dict]:
    """Simulate and write the cells of one batch; returns their label rows and their truth records.

    ``settings`` is the ``simulation`` config section plus ``batch_size``; files go to
    ``out_dir/sub-*/sub-*_ses-*_icephys.nwb``.
    """
    seed, species_i = int(settings["seed"]), SPECIES_INDEX[species]
    cohort_rng = np.random.default_rng([seed, species_i])
    cohort = draw_cohort(cohort_rng, phenotypes, species, n_cells)
    defects = assign_defects(cohort_rng, n_cells, settings["defects"])
    members = np.array(batch_members(batch, n_cells, int(settings["batch_size"])))
    rng = np.random.default_rng([seed, species_i, int(batch) + 1])
    cells = simulate_cells(cohort.subclass[members], cohort.params.take(members), settings["protocol"], rng)
    ids = cell_ids(species, n_cells)
    labels, truth = [], {}
    for index, cell in zip(members, cells):
        subject, session, specimen = ids[index]
        inject_defects(cell, defects[index], rng)
        write_mies_nwb(out_dir / nwb_relpath(subject, session), f"sim-{species}-{session}", cell.sweeps, subject)
        truth[session] = _truth_record(cell)
        if "unlabeled" not in cell.defects:
            labels.append(label_row(species, session, specimen, cell.subclass, rng))
    return labels, truth


def label_row(species: str, session: str, specimen: str, subclass: str, rng: np.random.Generator) -> dict:
    """One row of the species' label table, in the real table's columns."""
    if species == "mouse":
        return {
            "cell_specimen_id": specimen,
            "ephys_session_id": session,
            "T-type Label": f"{subclass} Sim{int(rng.integers(1, 4))}",
        }
    return {
        "specimen_id_x": specimen,
        "nwb_id": session,
        "Revised_subclass_label": HUMAN_LABELS[subclass],
        "Has_ephys": True,
    }


def _truth_record(cell: SimulatedCell) -> dict:
    return {
        "subclass": cell.subclass,
        "defects": cell.defects,
        "spike_times_s": {str(k): v for k, v in cell.true_spikes_s.items()},
    }


def write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, sort_keys=True))
