"""Pure helpers that build the workflow's DAG (run inside the Snakemake process: standard library only).

They turn the config into the lists of wildcard values (species, batches, cells) and file paths; tested in
``tests/unit/test_dag.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .acquire.cell_ids import batch_ids, cell_ids, cell_index, nwb_relpath
from .acquire.dandi_assets import (
    ArchiveUnreachable,
    AssetRow,
    ListingError,
    check_reachable,
    list_assets,
    read_listing,
    write_listing,
)

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


@dataclass(frozen=True)
class NWBSource:
    """Where a job reads one NWB file: a local path, or an http(s) URL that it streams (``streamed``)."""

    location: str
    streamed: bool = False

    @property
    def input_files(self) -> list[str]:
        """The files a job reading it needs (none when streamed)."""
        return [] if self.streamed else [self.location]


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


def dandi_nwb(config: dict, species: str, row: AssetRow) -> str:
    """Local path of a downloaded (or mirrored) asset."""
    return f"{RAW_DANDI}/{species}/{row.path}"


def dandi_content_url(api_url: str, asset_id: str) -> str:
    """The archive URL of an asset's bytes (``{api_url}/assets/{asset_id}/download/``; redirects to the blob store)."""
    return f"{api_url.rstrip('/')}/assets/{asset_id}/download/"


def dandi_source(config: dict, species: str, row: AssetRow) -> NWBSource:
    """Where extraction reads an asset: its downloaded file; with ``dandi.stream``, the mirror's file when the mirror
    holds it (read in place), else the archive URL. `ListingError` for a row to stream without an asset id."""
    spec = config["dandi"]
    if not spec.get("stream"):
        return NWBSource(dandi_nwb(config, species, row))
    mirrored = Path(spec["mirror"]) / species / row.path if spec.get("mirror") else None
    if mirrored is not None and mirrored.is_file():
        return NWBSource(str(mirrored))
    if not row.asset_id:
        raise ListingError(
            f"{dandi_listing_path(config, species)}: {row.path} has no asset id to stream it by and is not in the "
            "mirror (a listing made from the mirror); delete the listing to list the archive again"
        )
    return NWBSource(dandi_content_url(dandi_api_url(config, species), row.asset_id), streamed=True)
