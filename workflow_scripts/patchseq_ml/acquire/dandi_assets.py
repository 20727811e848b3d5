"""List the NWB assets of a DANDI dandiset at a pinned version through the ``dandi`` client, as a TSV listing.

Every asset path is validated before anything is written (relative, no ``..``, no backslash, expected pattern).
The ``ses-`` entity of a path is the mouse ``ephys_session_id`` (000020) or the human ``nwb_id`` (000636); the
``sub-`` number is a subject, not a donor id. A reachability probe (one GET, a few seconds, no retries) runs before
the client, whose own calls retry for ~50 s each when the archive is down.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DANDI_API_URL = "https://api.dandiarchive.org/api"
PROBE_TIMEOUT_S = 5.0
ASSET_PATH_PATTERN = (
    r"sub-(?P<subject>[A-Za-z0-9][A-Za-z0-9_.-]*)/sub-(?P=subject)_ses-(?P<session>[A-Za-z0-9][A-Za-z0-9.-]*)"
    r"(?:_[A-Za-z]+-[A-Za-z0-9.-]+)*_icephys\.nwb"
)
OFFLINE_HINT = (
    "to run without the archive, point the workflow at local files: a local mirror folder in the archive's layout "
    "(dandi.mirror: <folder>/<species>/sub-*/sub-*_ses-*_icephys.nwb) or a cached asset listing TSV "
    "(results/raw/dandi/<species>_assets.tsv)"
)
COLUMNS = ("path", "size_bytes", "sha256", "asset_id", "session_id")


class ArchiveUnreachable(RuntimeError):
    """The DANDI API did not answer the reachability probe; the one-line message says how to work offline."""


class AssetPathError(ValueError):
    """An asset path that is unsafe or does not match the expected pattern; the message names it."""


class ListingError(RuntimeError):
    """An asset listing that could not be made or read; the message names the asset or file."""


@dataclass(frozen=True)
class AssetRow:
    """One NWB asset: its path in the dandiset, size (bytes), sha256 hex digest and DANDI asset id."""

    path: str
    size: int
    sha256: str
    asset_id: str

    @property
    def session_id(self) -> str:
        """The ``ses-`` entity of the path (mouse: ephys_session_id, human: nwb_id)."""
        return session_id(self.path)


def validate_asset_path(path: str, pattern: str = ASSET_PATH_PATTERN) -> re.Match[str]:
    """Check that ``path`` is a safe relative POSIX path matching ``pattern`` in full; returns the match."""
    reason = None
    if not path or "\x00" in path:
        reason = "is empty or holds a NUL byte"
    elif "\\" in path:
        reason = "holds a backslash"
    elif path.startswith("/") or re.match(r"[A-Za-z]:", path):
        reason = "is absolute"
    elif any(part in ("", ".", "..") for part in path.split("/")):
        reason = "has an empty, '.' or '..' component"
    match = None if reason else re.fullmatch(pattern, path)
    if match is None:
        reason = reason or f"does not match the expected pattern {pattern}"
        raise AssetPathError(f"unsafe or unexpected DANDI asset path {path!r}: it {reason}")
    return match


def session_id(path: str, pattern: str = ASSET_PATH_PATTERN) -> str:
    """The ``ses-`` id of a validated asset path (the pattern must have a ``session`` group)."""
    return validate_asset_path(path, pattern)["session"]


def check_reachable(api_url: str = DANDI_API_URL, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """One GET of ``{api_url}/info/`` within ``timeout_s`` seconds, no retries; raises `ArchiveUnreachable`."""
    import urllib.error  # imported here: the DAG helpers import this module at every parse
    import urllib.request

    url = api_url.rstrip("/") + "/info/"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            response.read(1 << 16)
    except (OSError, ValueError) as error:
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        reason = " ".join(str(reason).split())
        raise ArchiveUnreachable(f"DANDI archive {api_url} is unreachable ({reason}); {OFFLINE_HINT}") from None


def make_client(api_url: str = DANDI_API_URL, timeout_s: float = PROBE_TIMEOUT_S) -> Any:
    """A ``dandi.dandiapi.DandiAPIClient`` for ``api_url``, after the reachability probe.

    Sets ``DANDI_NO_ET=1`` unless set (the client otherwise checks online for a newer release at construction).
    """
    check_reachable(api_url, timeout_s)
    os.environ.setdefault("DANDI_NO_ET", "1")
    from dandi.dandiapi import DandiAPIClient

    return DandiAPIClient(api_url=api_url)


def list_assets(
    dandiset_id: str,
    version: str,
    api_url: str = DANDI_API_URL,
    pattern: str = ASSET_PATH_PATTERN,
    workers: int = 4,
    client: Any = None,
) -> list[AssetRow]:
    """Rows of the NWB assets of ``dandiset_id`` at ``version``, sorted by path; every path validated.

    Assets whose path does not end in ``.nwb`` (dandiset.yaml, README, ...) are skipped; any ``.nwb`` path that
    fails `validate_asset_path` aborts the listing. The sha256 digest comes from each asset's metadata (one
    request per asset, ``workers`` at a time).
    """
    client = client or make_client(api_url)
    dandiset = client.get_dandiset(dandiset_id, version)
    assets = [asset for asset in dandiset.get_assets() if asset.path.endswith(".nwb")]
    for asset in assets:
        validate_asset_path(asset.path, pattern)

    def row(asset: Any) -> AssetRow:
        try:
            digest = asset.get_raw_digest("dandi:sha2-256")
        except Exception as error:  # the client's NotFoundError, or an HTTP error after its retries
            raise ListingError(
                f"{asset.path} (asset {asset.identifier}): no sha256 digest ({' '.join(str(error).split())})"
            ) from None
        return AssetRow(asset.path, int(asset.size), digest, asset.identifier)

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        rows = list(pool.map(row, assets))
    return sorted(rows, key=lambda r: r.path)


def write_listing(rows: list[AssetRow], destination: Path, pattern: str = ASSET_PATH_PATTERN) -> None:
    """Write ``rows`` as a TSV (columns `COLUMNS`), atomically; every path is validated first."""
    for row in rows:
        validate_asset_path(row.path, pattern)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=destination.parent, suffix=".part")
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(COLUMNS)
            for row in rows:
                writer.writerow([row.path, row.size, row.sha256, row.asset_id, row.session_id])
        os.replace(tmp, destination)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_listing(source: Path, pattern: str = ASSET_PATH_PATTERN) -> list[AssetRow]:
    """Rows of a TSV written by `write_listing`; every path is validated."""
    with open(source, newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = set(COLUMNS[:4]) - set(reader.fieldnames or ())
        if missing:
            raise ListingError(f"{source}: asset listing lacks column(s) {', '.join(sorted(missing))}")
        rows = [AssetRow(r["path"], int(r["size_bytes"]), r["sha256"], r["asset_id"]) for r in reader]
    for row in rows:
        validate_asset_path(row.path, pattern)
    return rows
