# Config validation, wildcard constraints and the input functions of every stage.
import os
import sys

from snakemake.utils import validate

sys.path.insert(0, os.path.join(workflow.basedir, "workflow_scripts"))
from patchseq_ml import dag  # noqa: E402

validate(config, os.path.join(workflow.basedir, "config/schema/config.schema.yaml"))

SPECIES = list(dag.SPECIES)


wildcard_constraints:
    species="|".join(SPECIES),
    batch=r"\d{3}",
    cell=r"\d+",


def repo_path(path):
    """A path from the config or the library, resolved against the repository (works with --directory)."""
    return path if os.path.isabs(path) else os.path.join(workflow.basedir, path)


def library(*modules):
    """Library modules a script imports, declared as inputs so that editing them reruns its jobs."""
    return [repo_path(f"workflow_scripts/patchseq_ml/{m}") for m in modules]


def species_cell_count(wildcards):
    return dag.n_cells(config, wildcards.species)


def simulated_batch_dirs(wildcards):
    return [
        f"results/raw/simulated/{wildcards.species}/batch{b}"
        for b in dag.batches(config, wildcards.species)
    ]


def simulated_batch_files(kind):
    """Input function: every batch's label (kind='labels') or truth (kind='truth') file of a species."""
    suffix = {"labels": "tsv", "truth": "json"}[kind]

    def files(wildcards):
        return [
            f"results/raw/simulated/{wildcards.species}/{kind}_batch{b}.{suffix}"
            for b in dag.batches(config, wildcards.species)
        ]

    return files


def species_nwb_paths(wildcards):
    return [
        dag.simulated_nwb(config, wildcards.species, c)
        for c in dag.cells(config, wildcards.species)
    ]


def cell_nwb_path(wildcards):
    return dag.simulated_nwb(config, wildcards.species, wildcards.cell)


def cell_batch_dir(wildcards):
    batch = dag.batch_of_cell(config, wildcards.species, wildcards.cell)
    return f"results/raw/simulated/{wildcards.species}/batch{batch}"


def species_cell_records(wildcards):
    return [
        f"results/features/{wildcards.species}/cells/{c}.json"
        for c in dag.cells(config, wildcards.species)
    ]


def species_labels(wildcards):
    return config["labels"][wildcards.species]


def report_provenance():
    """Settings shown in the report (strings only, so that the params stay stable between runs)."""
    return {
        "source": config["source"],
        "preset": config["preset"],
        "cells (mouse, human)": ", ".join(str(dag.n_cells(config, s)) for s in SPECIES),
        "simulation seed": str(config["simulation"]["seed"]),
    }
