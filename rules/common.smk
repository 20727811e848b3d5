# Config validation, wildcard constraints and the input functions of every stage.
import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, os.path.join(workflow.basedir, "workflow_scripts"))
from patchseq_ml import dag  # noqa: E402
from patchseq_ml.acquire import dandi_assets  # noqa: E402
from patchseq_ml.learn import split_sizes  # noqa: E402

validate(config, os.path.join(workflow.basedir, "config/schema/config.schema.yaml"))

SPECIES = list(dag.SPECIES)
if config["bilstm"]["input"] == "families" and config["source"] == "tables":
    raise WorkflowError(
        "bilstm.input: families needs raw sweeps; with source: tables set bilstm.input: features"
    )

# source: dandi -- the assets of each species (ses- id -> listing row), from the cached listing or the archive, and
# where each is read (ses- id -> dag.NWBSource: the downloaded file, or with dandi.stream the mirror file or URL)
DANDI_ASSETS = {}
DANDI_SOURCES = {}
if config["source"] == "dandi":
    try:
        DANDI_ASSETS = {
            s: {row.session_id: row for row in dag.dandi_assets(config, s)}
            for s in SPECIES
        }
        DANDI_SOURCES = {
            s: {c: dag.dandi_source(config, s, row) for c, row in rows.items()}
            for s, rows in DANDI_ASSETS.items()
        }
    except (
        dandi_assets.ArchiveUnreachable,
        dandi_assets.AssetPathError,
        dandi_assets.ListingError,
    ) as error:
        raise WorkflowError(str(error)) from None


wildcard_constraints:
    species="|".join(SPECIES),
    batch=r"\d{3}",
    cell=r"\d+",
    seed=r"\d+",
    fold=r"\d+",
    model="|".join(config["baseline"]["models"]),
    kind="features|labels",
    strategy="|".join(config["bilstm"]["strategies"]),
    fraction=r"0\.\d+",
    asset=r"sub-[^/]+/sub-[^/]+_icephys\.nwb",


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


def is_simulated():
    return config["source"] == "simulated"


def species_cells(species):
    """Cell ids (`ses-` ids) of a species: simulated, or listed in the archive."""
    if config["source"] == "dandi":
        return list(DANDI_ASSETS[species])
    return dag.cells(config, species)


def species_nwb_paths(wildcards):
    """The NWB files of a species in the archive layout (what the cell sheet takes the cell ids from)."""
    if config["source"] == "dandi":
        return [
            dag.dandi_nwb(config, wildcards.species, row)
            for row in DANDI_ASSETS[wildcards.species].values()
        ]
    return [
        dag.simulated_nwb(config, wildcards.species, c)
        for c in dag.cells(config, wildcards.species)
    ]


def species_nwb_sources(wildcards):
    """Where each NWB file of ``species_nwb_paths`` is read: the same paths, unless streamed (dandi.stream)."""
    if config["source"] == "dandi":
        return [src.location for src in DANDI_SOURCES[wildcards.species].values()]
    return species_nwb_paths(wildcards)


def species_nwb_inputs(wildcards):
    """What the NWB files of a species come from: downloaded (or mirror) files, none when streamed, or simulation
    batch folders."""
    if config["source"] == "dandi":
        sources = DANDI_SOURCES[wildcards.species].values()
        return [path for src in sources for path in src.input_files]
    return simulated_batch_dirs(wildcards)


def species_label_file(wildcards):
    if config["source"] == "dandi":
        return f"results/raw/dandi/{wildcards.species}_labels.csv"
    return f"results/raw/simulated/{wildcards.species}/labels.csv"


def cell_nwb_path(wildcards):
    """Where a cell's NWB file is read: a local path, or its archive URL when streamed."""
    if config["source"] == "dandi":
        return DANDI_SOURCES[wildcards.species][wildcards.cell].location
    return dag.simulated_nwb(config, wildcards.species, wildcards.cell)


def cell_nwb_input(wildcards):
    """The input that provides a cell's NWB file: the file itself (none when streamed), or its simulation batch
    folder."""
    if config["source"] == "dandi":
        return DANDI_SOURCES[wildcards.species][wildcards.cell].input_files
    batch = dag.batch_of_cell(config, wildcards.species, wildcards.cell)
    return f"results/raw/simulated/{wildcards.species}/batch{batch}"


def cell_stream_slots(wildcards):
    """The `downloads` a cell's extraction holds: 1 when it streams its file from the archive, else 0."""
    source = DANDI_SOURCES.get(wildcards.species, {}).get(wildcards.cell)
    return int(source is not None and source.streamed)


def species_cell_records(wildcards):
    return [
        f"results/features/{wildcards.species}/cells/{c}.json"
        for c in species_cells(wildcards.species)
    ]


def asset_row(wildcards):
    """The listing row of the asset a download job fetches (plain values: stable params)."""
    for row in DANDI_ASSETS[wildcards.species].values():
        if row.path == wildcards.asset:
            return {
                "path": row.path,
                "size": row.size,
                "sha256": row.sha256,
                "asset_id": row.asset_id,
            }
    raise WorkflowError(
        f"{wildcards.asset}: not in the {wildcards.species} asset listing"
    )


def dandi_api_url(wildcards):
    return dag.dandi_api_url(config, wildcards.species)


def dandi_mirror(wildcards):
    mirror = config["dandi"].get("mirror")
    return os.path.join(mirror, wildcards.species) if mirror else ""


def label_table_spec(wildcards):
    """A label table's config with its local path resolved against the repository."""
    spec = dict(config["dandi"]["label_tables"][wildcards.species])
    if "path" in spec:
        spec["path"] = repo_path(spec["path"])
    return spec


def species_labels(wildcards):
    return config["labels"][wildcards.species]


def report_provenance():
    """Settings shown in the report (strings only, so that the params stay stable between runs)."""
    settings = {
        "source": config["source"],
        "split seeds": str(config["splits"]["seeds"]),
    }
    if config["source"] == "dandi":
        for s in SPECIES:
            dandiset = config["dandi"]["dandisets"][s]
            settings[f"{s} dandiset"] = (
                f"{dandiset['id']} version {dandiset['version']}"
            )
            settings[f"{s} cells listed"] = str(len(DANDI_ASSETS[s]))
    elif is_nwb_source():
        settings["preset"] = config["preset"]
        settings["cells (mouse, human)"] = ", ".join(
            str(dag.n_cells(config, s)) for s in SPECIES
        )
        settings["simulation seed"] = str(config["simulation"]["seed"])
    return settings


def table_spec(wildcards):
    """A table's config with its local path resolved against the repository (works with --directory)."""
    spec = dict(config["tables"][wildcards.species][wildcards.kind])
    if "path" in spec:
        spec["path"] = repo_path(spec["path"])
    return spec


def table_features_spec(wildcards):
    return config["tables"][wildcards.species]["features"]


def table_labels_spec(wildcards):
    return config["tables"][wildcards.species]["labels"]


def species_split_scheme(wildcards):
    return config["splits"][wildcards.species]


def min_cells_per_class(wildcards):
    scheme = config["splits"][wildcards.species]
    return split_sizes.min_cells_per_class(scheme)


def n_folds(species):
    scheme = config["splits"][species]
    return scheme["folds"] if scheme["kind"] == "kfold" else 1


def baseline_predictions(wildcards):
    return [
        f"results/baseline/{wildcards.species}/{wildcards.model}/seed{seed}/fold{fold}.tsv"
        for seed in config["splits"]["seeds"]
        for fold in range(n_folds(wildcards.species))
    ]


def baseline_keys():
    """(species, model) pairs in a fixed order, matching ``baseline_stems``."""
    return [(s, m) for s in SPECIES for m in config["baseline"]["models"]]


def baseline_stems():
    return [f"results/baseline/{s}/{m}" for s, m in baseline_keys()]


def baseline_summaries():
    return [
        f"{stem}/{kind}.tsv"
        for stem in baseline_stems()
        for kind in ("metrics_summary", "confusion", "metrics_per_fold")
    ]


def report_data_inputs(wildcards):
    """Per-species tables for the report; the NWB-only ones (sheets, sweeps, traces) only for NWB input."""
    inputs = {
        "features": expand("results/features/{species}/features.tsv", species=SPECIES),
        "failures": expand("results/features/{species}/failures.tsv", species=SPECIES),
        "sheets": [],
        "sweep_counts": [],
        "spike_detection": [],
        "traces": [],
    }
    if is_nwb_source():
        inputs["sheets"] = expand("results/sheets/{species}_cells.tsv", species=SPECIES)
        inputs["sweep_counts"] = expand(
            "results/features/{species}/sweep_counts.tsv", species=SPECIES
        )
        if is_simulated():
            inputs["spike_detection"] = expand(
                "results/features/{species}/spike_detection.tsv", species=SPECIES
            )
        inputs["traces"] = expand(
            "results/report/traces/{species}.npz", species=SPECIES
        )
    return inputs


def is_nwb_source():
    return config["source"] != "tables"


def feature_sources():
    """Species -> column of config/feature_alignment.tsv naming its features."""
    return {s: ("nwb" if is_nwb_source() else s) for s in SPECIES}


def bilstm_settings(stage="finetune"):
    """The BiLSTM config slice a training stage reads (GPU use is a resource, not a setting); pretraining does not
    see the fine-tuning settings, so changing them never reruns it."""
    skip = ("strategies", "use_gpu", "deploy") + (
        ("finetune",) if stage == "pretrain" else ()
    )
    return {k: v for k, v in config["bilstm"].items() if k not in skip}


def sequence_file(species):
    """What the BiLSTM reads for a species: the families array (NWB sources) or the sequence table (shared and own
    features, rule sequence_features)."""
    if config["bilstm"]["input"] == "families":
        return f"results/features/{species}/families.npz"
    return f"results/features/sequence/{species}.tsv"


def deploy_seed():
    """Seed of the deployable human model: ``bilstm.deploy.seed``, else the first split seed."""
    seed = config["bilstm"]["deploy"].get("seed")
    return config["splits"]["seeds"][0] if seed is None else seed


def gpu_request():
    return 1 if config["bilstm"]["use_gpu"] else 0


def finetune_predictions():
    """Every strategy's predictions, strategy-major (the order evaluate_transfer expects)."""
    return [
        f"results/finetune/human/{strategy}/seed{seed}/fold{fold}/predictions.tsv"
        for strategy in config["bilstm"]["strategies"]
        for seed in config["splits"]["seeds"]
        for fold in range(n_folds("human"))
    ]


def forest_predictions():
    return [
        f"results/baseline/human/rf/seed{seed}/fold{fold}.tsv"
        for seed in config["splits"]["seeds"]
        for fold in range(n_folds("human"))
    ]


def finetune_attention():
    """Attention per family and class of every fine-tuning run, in the order of ``finetune_predictions``."""
    return [
        p.replace("predictions.tsv", "attention.tsv") for p in finetune_predictions()
    ]


def wildcard_fraction(wildcards):
    return float(wildcards.fraction)


def learning_curve_methods():
    """(method, path pattern) of each learning-curve method: the chosen strategies and the forest."""
    lc = config["learning_curve"]
    methods = [
        (s, "results/learning_curve/human/{m}/frac{f}/seed{s}/fold{k}/predictions.tsv")
        for s in lc["strategies"]
    ]
    return methods + [
        ("rf", "results/learning_curve/human/{m}/frac{f}/seed{s}/fold{k}.tsv")
    ]


def learning_curve_keys():
    """(method, fraction) of every learning-curve file, in the order of ``learning_curve_predictions``."""
    lc = config["learning_curve"]
    return [
        (m, f)
        for m, _ in learning_curve_methods()
        for f in lc["fractions"]
        for s in lc["seeds"]
        for k in range(n_folds("human"))
    ]


def learning_curve_predictions():
    lc = config["learning_curve"]
    return [
        pattern.format(m=m, f=f, s=s, k=k)
        for m, pattern in learning_curve_methods()
        for f in lc["fractions"]
        for s in lc["seeds"]
        for k in range(n_folds("human"))
    ]


def learning_curve_full_predictions():
    """The full-data runs of the same methods, seeds and folds (fraction 1.0 of the curve)."""
    lc = config["learning_curve"]
    files = []
    for method, _ in learning_curve_methods():
        for s in lc["seeds"]:
            for k in range(n_folds("human")):
                if method == "rf":
                    files.append(f"results/baseline/human/rf/seed{s}/fold{k}.tsv")
                else:
                    files.append(
                        f"results/finetune/human/{method}/seed{s}/fold{k}/predictions.tsv"
                    )
    return files
