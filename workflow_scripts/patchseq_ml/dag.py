"""Pure helpers that build the workflow's DAG (run inside the Snakemake process: standard library only).

They turn the config into the lists of wildcard values (species, batches, cells) and file paths; tested in
``tests/unit/test_dag.py``.
"""

from __future__ import annotations

from .acquire.cell_ids import batch_ids, cell_ids, cell_index, nwb_relpath

SPECIES = ("mouse", "human")
RAW_SIMULATED = "results/raw/simulated"


def n_cells(config: dict, species: str) -> int:
    """Number of simulated cells of a species under the configured preset."""
    preset = config["preset"]
    if preset not in config["presets"]:
        raise ValueError(f"config: preset {preset!r} is not one of {sorted(config['presets'])}")
    return int(config["presets"][preset][species])


def batches(config: dict, species: str) -> list[str]:
    return batch_ids(n_cells(config, species), int(config["simulation"]["batch_size"]))


def cells(config: dict, species: str) -> list[str]:
    """Cell ids (the `ses-` ids) of a species."""
    return [session for _, session, _ in cell_ids(species, n_cells(config, species))]


def batch_of_cell(config: dict, species: str, cell: str) -> str:
    """The simulation batch that writes a cell."""
    return f"{cell_index(species, cell) // int(config['simulation']['batch_size']):03d}"


def simulated_nwb(config: dict, species: str, cell: str) -> str:
    """Path of a simulated cell's NWB file (inside its batch folder, in the DANDI asset layout)."""
    subject, session, _ = cell_ids(species, n_cells(config, species))[cell_index(species, cell)]
    return f"{RAW_SIMULATED}/{species}/batch{batch_of_cell(config, species, cell)}/{nwb_relpath(subject, session)}"
