"""Ids, file paths and batches of the simulated cells: pure Python, so that the DAG helpers (run inside the
Snakemake process at every parse) need neither numpy nor h5py nor the simulator itself."""

from __future__ import annotations

SPECIES_INDEX = {"mouse": 0, "human": 1}
_ID_BASES = {"mouse": (500000, 800000000, 600000000), "human": (1200, 1100000000, 700000000)}
CELLS_PER_HUMAN_DONOR = 3


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
