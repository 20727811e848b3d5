"""The embedded default dataset: cell ids, batches, defect assignment and one batch's simulation.

Everything is derived from (seed, species, number of cells), so the cell list is known when the workflow is parsed
and a batch can be simulated independently of the others.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .cell_ids import SPECIES_INDEX, batch_members, cell_ids, nwb_relpath
from .nwb_writer import write_mies_nwb
from .phenotypes import draw_cohort, pick_cells
from .simulator import DEFECTS, SimulatedCell, inject_defects, iter_simulated_cells, leaky_seal

# label vocabularies of the real tables (Allen mouse t-types; Lee, Dalley et al. 2023 revised subclasses)
HUMAN_LABELS = {"Lamp5": "LAMP5/PAX6/Other", "Pvalb": "PVALB", "Sst": "SST", "Vip": "VIP"}


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


def assign_conditions(rng: np.random.Generator, params, spec: dict) -> list[dict[str, str]]:
    """Recording conditions (``recording`` in phenotypes.yaml) of every cell of the cohort, applied to ``params`` in
    place; returns each cell's conditions as truth-record strings."""
    n_cells = params.c_pf.size
    out: list[dict[str, str]] = [{} for _ in range(n_cells)]
    unstable = spec.get("unstable_baseline")
    if unstable:
        cells = np.flatnonzero(pick_cells(rng, n_cells, float(unstable["fraction"])))
        low, high = unstable["baseline_mv"]
        target = rng.uniform(float(low), float(high), cells.size)
        if cells.size:
            leaky_seal(params, cells, target, float(unstable["drift"]))
        for i, v in zip(cells, target):
            out[i]["unstable_baseline"] = f"seal leak to {v:.1f} mV, drift {float(unstable['drift']):g}"
    return out


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
    conditions = assign_conditions(cohort_rng, cohort.params, phenotypes.get("recording", {}) or {})
    members = np.array(batch_members(batch, n_cells, int(settings["batch_size"])))
    rng = np.random.default_rng([seed, species_i, int(batch) + 1])
    cells = iter_simulated_cells(cohort.subclass[members], cohort.params.take(members), settings["protocol"], rng)
    ids = cell_ids(species, n_cells)
    labels, truth = [], {}
    for index, cell in zip(members, cells):  # each cell is written and let go before the next one is made
        subject, session, specimen = ids[index]
        cell.modifiers, cell.conditions = list(cohort.modifiers[index]), conditions[index]
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
        "modifiers": cell.modifiers,
        "recording_conditions": cell.conditions,
        "spike_times_s": {str(k): v for k, v in cell.true_spikes_s.items()},
    }


def write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, sort_keys=True))
