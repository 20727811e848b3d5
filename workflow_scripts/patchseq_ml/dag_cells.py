"""Where the cells come from: DAG helpers run inside the Snakemake process (standard library only).

Each cell's NWB file under each source (simulated batches, the DANDI archive's assets from the cached listing, the
mirror or the archive, the files of a local cell sheet), the label table its cell sheet joins, and the extraction
batches and per-cell records. The stage paths and config slices are in `dag`; tested in
``tests/unit/test_dag_cells.py``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .acquire.cell_ids import batch_ids, cell_ids, nwb_relpath
from .acquire.dandi_assets import (
    ArchiveUnreachable,
    AssetPathError,
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
# What a bad source raises while the DAG is built (a listing, the archive, the cell sheet): one line each.
SOURCE_ERRORS = (ArchiveUnreachable, AssetPathError, ListingError, SheetError)


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


def nwb_paths(files: dict[str, NWBFile]) -> list[str]:
    """The cells' NWB files in the archive layout (what the cell sheet takes the cell ids from), in cell order."""
    return [f.path for f in files.values()]


def nwb_locations(files: dict[str, NWBFile]) -> list[str]:
    """Where each file of `nwb_paths` is read (a URL when streamed)."""
    return [f.location for f in files.values()]


def file_inputs(files) -> list[str]:
    """What provides these NWB files to a job (``NWBFile.inputs``: simulation batch folders, downloaded or mirror
    files; none when streamed), each path once, in order."""
    return list(dict.fromkeys(path for f in files for path in f.inputs))


def batch_files(files: dict[str, NWBFile], batches: dict[str, list[str]], batch: str) -> dict[str, NWBFile]:
    """cell id -> NWB file of each cell of one extraction batch (``batches``: `extraction_batches`), in cell order."""
    return {cell: files[cell] for cell in batches[batch]}


def cell_locations(files: dict[str, NWBFile]) -> list[list[str]]:
    """[cell id, where its file is read] of each cell (plain values: stable params)."""
    return [[cell, f.location] for cell, f in files.items()]


def stream_slots(files) -> int:
    """The `downloads` a job reading these NWB files holds: 1 when it streams any from the archive (one at a time),
    else 0."""
    return int(any(f.streamed for f in files))


def extraction_folder(species: str, batch: str) -> str:
    """The folder of one extraction batch's per-cell records (its job's output)."""
    return f"results/features/{species}/cells/batch{batch}"


def extraction_folders(species: str, batches: dict[str, list[str]]) -> list[str]:
    """The folders of every extraction batch of a species (the outputs of its extraction jobs), in batch order."""
    return [extraction_folder(species, b) for b in batches]


def cell_records(species: str, batches: dict[str, list[str]]) -> list[str]:
    """The per-cell extraction records of a species, in cell order: ``{cell}.json`` in its batch's folder."""
    return [f"{extraction_folder(species, b)}/{cell}.json" for b, cells in batches.items() for cell in cells]


def dandi_mirror(config: dict, species: str) -> str:
    """The species' folder of the local mirror (``dandi.mirror``), '' without one."""
    mirror = config["dandi"].get("mirror")
    return os.path.join(mirror, species) if mirror else ""


def sheet_params(rows: list[SheetRow]) -> list[dict]:
    """Sheet rows as plain values (cell_id, path, label) for a rule's params (stable across parses)."""
    return [{"cell_id": r.cell_id, "path": r.path, "label": r.label} for r in rows]


def species_sheet_params(config: dict, rows: dict[str, list], species: str) -> list[dict]:
    """The species' rows of the local cell sheet (``rows``: `source_rows`) as `sheet_params`; [] for other sources."""
    return sheet_params(rows.get(species, [])) if config["source"] == "local" else []


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
