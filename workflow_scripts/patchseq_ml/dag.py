"""Pure helpers that build the workflow's DAG (run inside the Snakemake process: standard library only).

The stage paths (the files each stage reads, in the order its script expects), the config slice each job reads
and the library modules a rule's script reaches; where the cells come from (each cell's NWB file, the extraction
batches) is in `dag_cells`. Tested in ``tests/unit/test_dag.py``.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from .dag_cells import SPECIES, n_cells


def check_config(config: dict) -> None:
    """What the schema cannot say: a ``ValueError`` (one line) when settings contradict each other (families need
    raw sweeps; every selection or learning-curve candidate must be one that is trained)."""
    if config["bilstm"]["input"] == "families" and config["source"] == "tables":
        raise ValueError("bilstm.input: families needs raw sweeps; with source: tables set bilstm.input: features")
    for (section, key), (owner, known) in (
        (("selection", "baselines"), ("baseline", "models")),
        (("selection", "strategies"), ("bilstm", "strategies")),
        (("learning_curve", "baselines"), ("baseline", "models")),
    ):
        missing = set(config[section][key]) - set(config[owner][known])
        if missing:
            raise ValueError(f"{section}.{key}: {sorted(missing)} not in {owner}.{known} (each must be trained)")


def feature_sources(config: dict) -> dict[str, str]:
    """Species -> the column of config/feature_alignment.tsv naming its features (``nwb`` for recorded sources)."""
    return {s: ("nwb" if config["source"] != "tables" else s) for s in SPECIES}


def stimulus_map(config: dict) -> list[str]:
    """The user's stimulus map (``features.stimulus_map``, relative to the run folder) as a list of 0 or 1 paths."""
    path = config["features"].get("stimulus_map")
    return [path] if path else []


def resolved_spec(spec: dict, basedir: str) -> dict:
    """A table's config with its local ``path`` resolved against ``basedir`` (the repository; works with
    --directory)."""
    spec = dict(spec)
    if "path" in spec and not Path(spec["path"]).is_absolute():
        spec["path"] = str(Path(basedir) / spec["path"])
    return spec


# --- settings: the config slice each job reads (its params), so that changing another key does not rerun it ---


def config_slice(section: dict, keys=None, without=()) -> dict:
    """The keys of a config section that a job reads (``keys``; all when None) less ``without``, in config order."""
    return {k: v for k, v in section.items() if (keys is None or k in keys) and k not in without}


def extraction_settings(config: dict) -> dict:
    """What extraction reads of ``features``: every key but the stimulus table (an input file), the collection's
    failure threshold and the batch size (it only groups cells into jobs), so a new key there reaches the
    extraction jobs and the checkpoints (`predict` uses them)."""
    return config_slice(
        config["features"], without=("stimulus_codes", "stimulus_map", "max_failed_fraction", "batch_size")
    )


def baseline_settings(config: dict, species: str) -> dict:
    """What a baseline fit of ``species`` reads of ``baseline``: every key but the model list (adding a model refits
    nothing) and ``calibration_species``; a species left out of that list is fitted uncalibrated (its slice says
    ``calibration: none``, without the inner-fold count), so calibrating one species never refits the other."""
    settings = config_slice(config["baseline"], without=["models", "calibration_species"])
    if species not in config["baseline"]["calibration_species"]:
        settings["calibration"] = "none"
    if settings["calibration"] == "none":
        settings.pop("calibration_folds")
    return settings


def learning_curve_baseline_settings(config: dict) -> dict:
    """The human baseline settings of the learning curve, which scores predicted classes only: a ``temperature``
    calibration (it changes no class) is not fitted there, sigmoid or isotonic (they can) are."""
    settings = baseline_settings(config, "human")
    if settings["calibration"] == "temperature":
        settings["calibration"] = "none"
        settings.pop("calibration_folds")
    return settings


def bilstm_settings(config: dict, stage: str = "finetune") -> dict:
    """The ``bilstm`` slice a training stage reads (GPU use is a resource, not a setting); pretraining does not see
    the fine-tuning settings, so changing them never reruns it."""
    skip = ("strategies", "use_gpu", "deploy") + (("finetune",) if stage == "pretrain" else ())
    return config_slice(config["bilstm"], without=skip)


def deploy_seed(config: dict) -> int:
    """Seed of the deployable human model: ``bilstm.deploy.seed``, else the first split seed."""
    seed = config["bilstm"]["deploy"].get("seed")
    return config["splits"]["seeds"][0] if seed is None else seed


# --- stage paths: the files a stage reads, in the order its script expects ---

FOREST_MODEL = "rf"  # the baseline model the transfer study and the learning curve compare with
FOREST = "forest"  # its name in their tables


def n_folds(config: dict, species: str) -> int:
    scheme = config["splits"][species]
    return int(scheme["folds"]) if scheme["kind"] == "kfold" else 1


def fold_minutes(config: dict, species: str) -> int:
    """SLURM runtime of a job over the species' folds (one training job per seed): 20 minutes per fold."""
    return 20 * n_folds(config, species)


def folds(config: dict, species: str) -> list[int]:
    """The fold numbers of a species' splits: what one training job covers (one job per seed, not per fold)."""
    return list(range(n_folds(config, species)))


def runs(config: dict, species: str = "human", seeds=None) -> list[tuple[int, int]]:
    """(seed, fold) of every run of a species (``seeds``: the split seeds unless given)."""
    return [(s, k) for s in (config["splits"]["seeds"] if seeds is None else seeds) for k in folds(config, species)]


def sequence_file(config: dict, species: str) -> str:
    """What the BiLSTM reads for a species: the families array (NWB sources) or the sequence table (shared and own
    features, rule sequence_features)."""
    if config["bilstm"]["input"] == "families":
        return f"results/features/{species}/families.npz"
    return f"results/features/sequence/{species}.tsv"


def baseline_keys(config: dict) -> list[tuple[str, str]]:
    """(species, model) of every baseline, in a fixed order."""
    return [(s, m) for s in SPECIES for m in config["baseline"]["models"]]


def baseline_files(config: dict, kinds=("metrics_summary", "confusion", "metrics_per_fold")) -> list[str]:
    """Each baseline's evaluation tables of the given kinds, baseline-major (the order of ``baseline_keys``)."""
    return [f"results/baseline/{s}/{m}/{kind}.tsv" for s, m in baseline_keys(config) for kind in kinds]


def baseline_predictions(config: dict, species: str, model: str, seeds=None) -> list[str]:
    return [f"results/baseline/{species}/{model}/seed{s}/fold{k}.tsv" for s, k in runs(config, species, seeds)]


def finetune_files(config: dict, name: str = "predictions.tsv", strategies=None, seeds=None) -> list[str]:
    """A file of every human fine-tuning run, strategy-major (the order the evaluations expect)."""
    return [
        f"results/finetune/human/{strategy}/seed{s}/fold{k}/{name}"
        for strategy in (config["bilstm"]["strategies"] if strategies is None else strategies)
        for s, k in runs(config, "human", seeds)
    ]


def learning_curve_files(config: dict) -> list[tuple[str, float, str]]:
    """(method, fraction, predictions) of every learning-curve run: the chosen strategies and baselines (the forest
    named ``forest``) at each fraction of the training folds, then at fraction 1.0 the full-data runs of the same
    seeds and folds."""
    lc = config["learning_curve"]
    baselines = {(FOREST if m == FOREST_MODEL else m): m for m in lc["baselines"]}
    files = []
    for method in [*lc["strategies"], *baselines]:
        for fraction in lc["fractions"]:
            for s, k in runs(config, "human", lc["seeds"]):
                if method in baselines:
                    path = f"results/learning_curve/human/{baselines[method]}/frac{fraction}/seed{s}/fold{k}.tsv"
                else:
                    path = f"results/learning_curve/human/{method}/frac{fraction}/seed{s}/fold{k}/predictions.tsv"
                files.append((method, fraction, path))
        if method in baselines:
            full = baseline_predictions(config, "human", baselines[method], lc["seeds"])
        else:
            full = finetune_files(config, strategies=[method], seeds=lc["seeds"])
        files += [(method, 1.0, path) for path in full]
    return files


def human_only_methods(config: dict) -> list[str]:
    """The learning curve's methods that never see a mouse cell (its baselines, and `scratch` when run): what
    each transfer method is compared with at the same n."""
    lc = config["learning_curve"]
    return [FOREST if m == FOREST_MODEL else m for m in lc["baselines"]] + [
        s for s in lc["strategies"] if s == "scratch"
    ]


def selection_candidates(config: dict) -> list[tuple[str, str, str]]:
    """(name, kind, source) of every model-selection candidate, in config order: the scikit-learn baselines of
    ``selection.baselines`` (kind ``sklearn``; the forest under its table name) then the BiLSTM strategies of
    ``selection.strategies`` (kind ``bilstm``)."""
    sel = config["selection"]
    baselines = [(FOREST if m == FOREST_MODEL else m, "sklearn", m) for m in sel["baselines"]]
    return baselines + [(s, "bilstm", s) for s in sel["strategies"]]


def selection_files(config: dict) -> list[str]:
    """Test-fold predictions of every candidate on every (seed, fold), candidate-major (``selection_candidates``)."""
    files = []
    for _, kind, source in selection_candidates(config):
        if kind == "sklearn":
            files += baseline_predictions(config, "human", source)
        else:
            files += finetune_files(config, strategies=[source])
    return files


def report_data_files(config: dict) -> dict[str, list[str]]:
    """Per-species tables for the report; the NWB-only ones (sheets, sweeps, traces) only for NWB input, spike
    detection only for simulated cells (it needs their truth)."""
    nwb, simulated = config["source"] != "tables", config["source"] == "simulated"
    per_species = {
        "features": "results/features/{}/features.tsv",
        "failures": "results/features/{}/failures.tsv",
        "sheets": "results/sheets/{}_cells.tsv" if nwb else None,
        "sweep_counts": "results/features/{}/sweep_counts.tsv" if nwb else None,
        "spike_detection": "results/features/{}/spike_detection.tsv" if simulated else None,
        "traces": "results/report/traces/{}.npz" if nwb else None,
    }
    return {key: [pattern.format(s) for s in SPECIES] if pattern else [] for key, pattern in per_species.items()}


def report_settings(config: dict, listed: dict[str, int]) -> dict[str, str]:
    """Settings shown in the report (strings only, so that the params stay stable between runs); ``listed``: the
    assets each species' listing holds (source dandi)."""
    settings = {"source": config["source"], "split seeds": str(config["splits"]["seeds"])}
    if config["source"] == "dandi":
        for s in SPECIES:
            dandiset = config["dandi"]["dandisets"][s]
            settings[f"{s} dandiset"] = f"{dandiset['id']} version {dandiset['version']}"
            settings[f"{s} cells listed"] = str(listed[s])
    elif config["source"] == "local":
        settings["cell sheet"] = str(config["local"]["sheet"])
        for s in SPECIES:
            settings[f"{s} cells listed"] = str(listed[s])
    elif config["source"] == "simulated":
        settings["preset"] = config["preset"]
        settings["cells (mouse, human)"] = ", ".join(str(n_cells(config, s)) for s in SPECIES)
        settings["simulation seed"] = str(config["simulation"]["seed"])
    return settings


# --- code inputs: the library modules a rule's script reaches, read from the imports of the source files ---

PACKAGE_DIR = Path(__file__).resolve().parent


def library_modules(script: str | Path, package_dir: str | Path = PACKAGE_DIR) -> list[str]:
    """Every module of the library (the package in ``package_dir``) that ``script`` reaches through its imports,
    transitively, as sorted absolute paths; a package's ``__init__.py`` is included with any module under it (an
    import runs it). Read from the source files (``ast``: imports anywhere in a file, relative or absolute, count),
    nothing is imported. A rule declares them as inputs, so that editing one reruns its jobs."""
    package = Path(package_dir).resolve()
    seen: set[Path] = set()
    todo = [Path(script).resolve()]
    while todo:
        for module in _imported_modules(todo.pop(), package):
            if module not in seen:
                seen.add(module)
                todo.append(module)
    return sorted(str(m) for m in seen)


@cache
def _imported_modules(path: Path, package: Path) -> frozenset[Path]:
    """Library files one source file imports directly (with the ``__init__.py`` of each package on the way)."""
    inside = path.is_relative_to(package)
    here = list(path.relative_to(package.parent).with_suffix("").parts) if inside else []
    if here and here[-1] == "__init__":
        here.pop()  # a package's __init__ resolves relative imports against the package itself
    elif here:
        here.pop()  # a module's against the package that holds it
    names: list[list[str]] = []
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level and not inside:
                continue
            base = here[: len(here) - node.level + 1] if node.level else []
            base = base + (node.module.split(".") if node.module else [])
            names.append(base)
            names += [base + [alias.name] for alias in node.names if alias.name != "*"]
    found: set[Path] = set()
    for parts in names:
        if not parts or parts[0] != package.name:
            continue
        for depth in range(1, len(parts) + 1):
            target = package.parent.joinpath(*parts[:depth])
            for candidate in (target / "__init__.py", target.with_suffix(".py")):
                if candidate.is_file():
                    found.add(candidate)
                    break
            else:
                break  # a name imported from a module (a function, a class), not a module itself
    return frozenset(found)
