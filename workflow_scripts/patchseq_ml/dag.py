"""Pure helpers that build the workflow's DAG (run inside the Snakemake process: standard library only).

They turn the config into the lists of wildcard values (species, batches, cells) and file paths; tested in
``tests/unit/test_dag.py``.
"""

from __future__ import annotations

import ast
import os
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from .acquire.cell_ids import batch_ids, cell_ids, nwb_relpath
from .acquire.dandi_assets import (
    ArchiveUnreachable,
    AssetRow,
    ListingError,
    check_reachable,
    list_assets,
    read_listing,
    write_listing,
)
from .acquire.local_sheet import SheetError, SheetRow, read_sheet

SPECIES = ("mouse", "human")
RAW_SIMULATED = "results/raw/simulated"
RAW_DANDI = "results/raw/dandi"


def n_cells(config: dict, species: str) -> int:
    """Number of simulated cells of a species under the configured preset."""
    preset = config["preset"]
    if preset not in config["presets"]:
        raise ValueError(f"config: preset {preset!r} is not one of {sorted(config['presets'])}")
    return int(config["presets"][preset][species])


def batches(config: dict, species: str) -> list[str]:
    return batch_ids(n_cells(config, species), int(config["simulation"]["batch_size"]))


def simulated_batch_files(config: dict, species: str, kind: str) -> list[str]:
    """Every simulation batch's label (``kind="labels"``) or truth (``kind="truth"``) file of a species."""
    suffix = {"labels": "tsv", "truth": "json"}[kind]
    return [f"{RAW_SIMULATED}/{species}/{kind}_batch{b}.{suffix}" for b in batches(config, species)]


@dataclass(frozen=True)
class NWBFile:
    """One cell's NWB file: ``path`` in the archive layout (what the cell sheet records), ``location`` where a job
    reads it (that path, a mirror file read in place, or the archive URL when streamed) and ``inputs``, what provides
    it to a job (the file, its simulation batch folder; nothing when streamed)."""

    path: str
    location: str
    inputs: tuple[str, ...]

    @property
    def streamed(self) -> bool:
        return not self.inputs


def simulated_files(config: dict, species: str) -> dict[str, NWBFile]:
    """ses- id -> NWB file of every simulated cell of a species (inside its batch folder, in the archive layout)."""
    size = int(config["simulation"]["batch_size"])
    files = {}
    for i, (subject, session, _) in enumerate(cell_ids(species, n_cells(config, species))):
        folder = f"{RAW_SIMULATED}/{species}/batch{i // size:03d}"
        path = f"{folder}/{nwb_relpath(subject, session)}"
        files[session] = NWBFile(path, path, (folder,))
    return files


def nwb_files(config: dict, species: str, rows: list | None = None) -> dict[str, NWBFile]:
    """cell id -> NWB file of every cell of a species: the one place where the source decides which file a job
    reads. Simulated cells (ses- ids); the archive's assets (``rows``: AssetRows, downloaded, mirrored or streamed);
    the cell sheet's files read in place (``rows``: the species' local_sheet.SheetRows); none for tables."""
    if config["source"] == "simulated":
        return simulated_files(config, species)
    if config["source"] == "dandi":
        return {row.session_id: dandi_file(config, species, row) for row in rows or []}
    if config["source"] == "local":
        return {row.cell_id: NWBFile(row.path, row.path, (row.path,)) for row in rows or []}
    return {}


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


def schema_row_validator(schema_path: str | Path):
    """A ``validate_row`` for `read_sheet`: checks one row against the JSON schema at ``schema_path`` (YAML) and
    raises ``ValueError`` with the first error."""
    import jsonschema  # imported here: only a parse with source: local needs them (no rule script does)
    import yaml

    checker = jsonschema.Draft202012Validator(yaml.safe_load(Path(schema_path).read_text()))

    def check(row: dict) -> None:
        for error in checker.iter_errors(row):
            where = ".".join(str(p) for p in error.absolute_path)
            raise ValueError(f"{where}: {error.message}" if where else error.message)

    return check


def source_rows(config: dict, sheet_schema: str | Path) -> dict[str, list]:
    """species -> the rows the source lists: the asset listing (``dandi``), the cell sheet checked against
    ``sheet_schema`` (``local``); {} for simulated cells and feature tables. Errors as `dandi_assets` and
    `local_sheet` raise them."""
    if config["source"] == "local":
        return local_rows(config, schema_row_validator(sheet_schema))
    if config["source"] == "dandi":
        return {s: dandi_assets(config, s) for s in SPECIES}
    return {}


def rows_by_path(rows: dict[str, list[AssetRow]]) -> dict[str, dict[str, AssetRow]]:
    """species -> asset path -> its listing row."""
    return {species: {row.path: row for row in listing} for species, listing in rows.items()}


def asset_params(rows: dict[str, dict[str, AssetRow]], species: str, asset: str) -> dict:
    """The listing row of ``asset`` as plain values (stable params); ``ValueError`` when the listing lacks it."""
    row = rows.get(species, {}).get(asset)
    if row is None:
        raise ValueError(f"{asset}: not in the {species} asset listing")
    return asdict(row)


def extraction_batches(config: dict, files: dict[str, NWBFile]) -> dict[str, list[str]]:
    """batch id -> the cell ids one extraction job reads, in the species' cell order: simulated cells by their
    simulation batch (``simulation.batch_size``), the archive's and the cell sheet's in chunks of
    ``features.batch_size`` in the sheet's (listing's) order."""
    key = ("simulation", "batch_size") if config["source"] == "simulated" else ("features", "batch_size")
    size = int(config[key[0]][key[1]])
    cells = list(files)
    return {f"{b:03d}": cells[b * size : (b + 1) * size] for b in range(-(-len(cells) // size))}


def file_inputs(files) -> list[str]:
    """What provides these NWB files to a job (``NWBFile.inputs``), each path once, in order."""
    return list(dict.fromkeys(path for f in files for path in f.inputs))


def extraction_folder(species: str, batch: str) -> str:
    """The folder of one extraction batch's per-cell records (its job's output)."""
    return f"results/features/{species}/cells/batch{batch}"


def cell_records(species: str, batches: dict[str, list[str]]) -> list[str]:
    """The per-cell extraction records of a species, in cell order: ``{cell}.json`` in its batch's folder."""
    return [f"{extraction_folder(species, b)}/{cell}.json" for b, cells in batches.items() for cell in cells]


def dandi_mirror(config: dict, species: str) -> str:
    """The species' folder of the local mirror (``dandi.mirror``), '' without one."""
    mirror = config["dandi"].get("mirror")
    return os.path.join(mirror, species) if mirror else ""


def feature_sources(config: dict) -> dict[str, str]:
    """Species -> the column of config/feature_alignment.tsv naming its features (``nwb`` for recorded sources)."""
    return {s: ("nwb" if config["source"] != "tables" else s) for s in SPECIES}


def sheet_params(rows: list[SheetRow]) -> list[dict]:
    """Sheet rows as plain values (cell_id, path, label) for a rule's params (stable across parses)."""
    return [{"cell_id": r.cell_id, "path": r.path, "label": r.label} for r in rows]


def resolved_spec(spec: dict, basedir: str) -> dict:
    """A table's config with its local ``path`` resolved against ``basedir`` (the repository; works with
    --directory)."""
    spec = dict(spec)
    if "path" in spec and not Path(spec["path"]).is_absolute():
        spec["path"] = str(Path(basedir) / spec["path"])
    return spec


def local_rows(config: dict, validate_row=None) -> dict[str, list[SheetRow]]:
    """species -> the rows of the cell sheet of ``source: local`` (`local_sheet.SheetError` for a bad sheet or a
    species without cells: pretraining needs mouse cells and fine-tuning human ones)."""
    rows = read_sheet(config["local"]["sheet"], validate_row)
    by_species = {s: [r for r in rows if r.species == s] for s in SPECIES}
    for species, cells in by_species.items():
        if not cells:
            raise SheetError(
                f"{config['local']['sheet']}: no {species} cells; the workflow pretrains on mouse cells and carries "
                "the model to human cells, so the sheet needs both species"
            )
    return by_species


def label_file(config: dict, species: str) -> str:
    """The label table a species' cell sheet joins (simulated or archive source; the cell sheet itself for local)."""
    if config["source"] == "local":
        return config["local"]["sheet"]
    if config["source"] == "dandi":
        return f"{RAW_DANDI}/{species}_labels.csv"
    return f"{RAW_SIMULATED}/{species}/labels.csv"


def dandi_api_url(config: dict, species: str) -> str:
    """The DANDI API of a species' dandiset (its own ``api_url``, else ``dandi.api_url``)."""
    return config["dandi"]["dandisets"][species].get("api_url") or config["dandi"]["api_url"]


def dandi_listing_path(config: dict, species: str) -> str:
    """Where a species' asset listing is cached (the DAG of a `dandi` run is built from it)."""
    return f"{config['dandi']['listing_dir']}/{species}_assets.tsv"


def dandi_assets(config: dict, species: str) -> list[AssetRow]:
    """The species' assets this run uses: from the cached listing; else from the local mirror when the archive
    cannot be reached; else listed from the archive (reachability probed first: `ArchiveUnreachable` within
    seconds) and cached. Then ``subset`` (ses- ids) and ``max_cells`` (first N by path) apply."""
    spec = config["dandi"]
    dandiset = spec["dandisets"][species]
    cache = Path(dandi_listing_path(config, species))
    if cache.exists():
        rows = read_listing(cache)
    else:
        api_url = dandi_api_url(config, species)
        try:
            check_reachable(api_url)
        except ArchiveUnreachable:
            if not spec.get("mirror"):
                raise
            rows = listing_from_mirror(Path(spec["mirror"]) / species)
        else:
            rows = list_assets(str(dandiset["id"]), str(dandiset["version"]), api_url)
        write_listing(rows, cache)
    subset = {str(s) for s in spec.get("subset") or []}
    if subset:
        rows = [r for r in rows if r.session_id in subset]
    if spec.get("max_cells"):
        rows = rows[: int(spec["max_cells"])]
    return rows


def listing_from_mirror(folder: Path) -> list[AssetRow]:
    """Rows for the NWB files of a local mirror in the archive's layout (sha256 unknown: empty; sizes from disk)."""
    rows = [
        AssetRow(p.relative_to(folder).as_posix(), p.stat().st_size, "", "")
        for p in sorted(folder.glob("sub-*/sub-*_icephys.nwb"))
    ]
    if not rows:
        raise ArchiveUnreachable(f"the archive is unreachable and the mirror {folder} holds no sub-*/*_icephys.nwb")
    return rows


def dandi_nwb(species: str, row: AssetRow) -> str:
    """Local path of a downloaded (or mirrored) asset (the output of rule download_asset)."""
    return f"{RAW_DANDI}/{species}/{row.path}"


def dandi_content_url(api_url: str, asset_id: str) -> str:
    """The archive URL of an asset's bytes (``{api_url}/assets/{asset_id}/download/``; redirects to the blob store)."""
    return f"{api_url.rstrip('/')}/assets/{asset_id}/download/"


def dandi_file(config: dict, species: str, row: AssetRow) -> NWBFile:
    """An asset's file: downloaded; with ``dandi.stream``, the mirror's file when the mirror holds it (read in
    place), else streamed from the archive URL. `ListingError` for a row to stream without an asset id."""
    spec, path = config["dandi"], dandi_nwb(species, row)
    if not spec.get("stream"):
        return NWBFile(path, path, (path,))
    mirrored = Path(spec["mirror"]) / species / row.path if spec.get("mirror") else None
    if mirrored is not None and mirrored.is_file():
        return NWBFile(path, str(mirrored), (str(mirrored),))
    if not row.asset_id:
        raise ListingError(
            f"{dandi_listing_path(config, species)}: {row.path} has no asset id to stream it by and is not in the "
            "mirror (a listing made from the mirror); delete the listing to list the archive again"
        )
    return NWBFile(path, dandi_content_url(dandi_api_url(config, species), row.asset_id), ())


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
