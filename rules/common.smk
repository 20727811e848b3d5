# Config validation, wildcard constraints, each cell's NWB file, and the input functions of the stages; the cells'
# files and batches are built in workflow_scripts/patchseq_ml/dag_cells.py, the paths and config slices in dag.py.
import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, os.path.join(workflow.basedir, "workflow_scripts"))
from patchseq_ml import dag, dag_cells  # noqa: E402
from patchseq_ml.learn import split_sizes  # noqa: E402


def repo_path(path):
    """A path from the config or the library, resolved against the repository (works with --directory)."""
    return path if os.path.isabs(path) else os.path.join(workflow.basedir, path)


validate(config, repo_path("config/schema/config.schema.yaml"))

SPECIES = list(dag_cells.SPECIES)
try:
    dag.check_config(config)
except ValueError as error:
    raise WorkflowError(str(error)) from None


# Each cell's NWB file (species -> cell id -> dag_cells.NWBFile) under the source, and the cells of each extraction
# job (species -> batch id -> cell ids); a bad asset listing or cell sheet stops the run here, before any job.
try:
    ROWS = dag_cells.source_rows(
        config, repo_path("config/schema/cell_sheet.schema.yaml")
    )
    NWB_FILES = {s: dag_cells.nwb_files(config, s, ROWS.get(s)) for s in SPECIES}
except dag_cells.SOURCE_ERRORS as error:
    raise WorkflowError(str(error)) from None
ASSET_ROWS = dag_cells.rows_by_path(ROWS) if config["source"] == "dandi" else {}
EXTRACTION_BATCHES = {
    s: dag_cells.extraction_batches(config, NWB_FILES[s]) for s in SPECIES
}
DEPLOY_SEED = dag.deploy_seed(config)


wildcard_constraints:
    species="|".join(SPECIES),
    batch=r"\d\d\d+",
    cell=r"[A-Za-z0-9][A-Za-z0-9._-]*" if config["source"] == "local" else r"\d+",
    seed=r"\d+",
    model="|".join(config["baseline"]["models"]),
    kind="features|labels",
    strategy="|".join(config["bilstm"]["strategies"]),
    fraction=r"0\.\d+",
    asset=r"sub-[^/]+/sub-[^/]+_icephys\.nwb",


def script_code(script):
    """Every library module a rule's script reaches through its imports (dag.library_modules), declared as inputs
    so that editing one reruns the rule's jobs."""
    return dag.library_modules(repo_path(f"workflow_scripts/{script}"))


def is_simulated():
    return config["source"] == "simulated"


def is_nwb_source():
    return config["source"] != "tables"


def species_cell_count(wildcards):
    return dag_cells.n_cells(config, wildcards.species)


def batch_labels(wildcards):
    return dag_cells.simulated_batch_files(config, wildcards.species, "labels")


def batch_truths(wildcards):
    return dag_cells.simulated_batch_files(config, wildcards.species, "truth")


def species_label_file(wildcards):
    return dag_cells.label_file(config, wildcards.species)


def species_sheet_rows(wildcards):
    return dag_cells.species_sheet_params(config, ROWS, wildcards.species)


def species_nwb_paths(wildcards):
    return dag_cells.nwb_paths(NWB_FILES[wildcards.species])


def species_nwb_sources(wildcards):
    return dag_cells.nwb_locations(NWB_FILES[wildcards.species])


def species_nwb_inputs(wildcards):
    return dag_cells.file_inputs(NWB_FILES[wildcards.species].values())


def batch_files(wildcards):
    batches = EXTRACTION_BATCHES[wildcards.species]
    return dag_cells.batch_files(NWB_FILES[wildcards.species], batches, wildcards.batch)


def batch_cells(wildcards):
    return dag_cells.cell_locations(batch_files(wildcards))


def batch_nwb_inputs(wildcards):
    return dag_cells.file_inputs(batch_files(wildcards).values())


def batch_stream_slots(wildcards):
    return dag_cells.stream_slots(batch_files(wildcards).values())


def species_extraction_folders(wildcards):
    batches = EXTRACTION_BATCHES[wildcards.species]
    return dag_cells.extraction_folders(wildcards.species, batches)


def species_cell_records(wildcards):
    batches = EXTRACTION_BATCHES[wildcards.species]
    return dag_cells.cell_records(wildcards.species, batches)


def asset_row(wildcards):
    return dag_cells.asset_params(ASSET_ROWS, wildcards.species, wildcards.asset)


def dandi_api_url(wildcards):
    return dag_cells.dandi_api_url(config, wildcards.species)


def dandi_mirror(wildcards):
    return dag_cells.dandi_mirror(config, wildcards.species)


def label_table_spec(wildcards):
    spec = config["dandi"]["label_tables"][wildcards.species]
    return dag.resolved_spec(spec, workflow.basedir)


def table_spec(wildcards):
    spec = config["tables"][wildcards.species][wildcards.kind]
    return dag.resolved_spec(spec, workflow.basedir)


def species_config(section, key=None):
    """Input function: the species' entry of a config section (``section[species][key]`` with ``key``)."""

    def entry(wildcards):
        value = config[section][wildcards.species]
        return value if key is None else value[key]

    return entry


def min_cells_per_class(wildcards):
    return split_sizes.min_cells_per_class(config["splits"][wildcards.species])


def baseline_predictions(wildcards):
    return dag.baseline_predictions(config, wildcards.species, wildcards.model)


def fold_outputs(pattern, species="human"):
    """``pattern`` at each fold of the species (its other wildcards kept): the outputs of one job over the folds."""
    return expand(pattern, fold=dag.folds(config, species), allow_missing=True)


def species_folds(wildcards):
    return dag.folds(config, wildcards.species)


def species_fold_minutes(wildcards):
    return dag.fold_minutes(config, wildcards.species)


def report_data_inputs(wildcards):
    return dag.report_data_files(config)


def report_provenance():
    return dag.report_settings(config, {s: len(NWB_FILES[s]) for s in SPECIES})


def gpu_request():
    return 1 if config["bilstm"]["use_gpu"] else 0


def wildcard_fraction(wildcards):
    return float(wildcards.fraction)
