"""Fetch one DANDI asset: from a local mirror when it holds the file, else a resumable download; sha256-verified.

Download: the ``dandi`` client's ``get_download_file_iter()`` (a GET of ``/assets/{id}/download/``, following the
redirect, with ``Range: bytes=N-`` when resuming) feeds ``<destination>.part`` in the destination's folder; a dropped
connection resumes from the bytes on disk (also across runs); after the last byte OUR sha256 is compared with the
listing's, a mismatch deletes the file, and only a verified file is moved into place with ``os.replace``. (The
client's ``dandi.download.download()`` retries and resumes but checks only the etag and leaves a bad file in place;
``RemoteAsset.download()`` neither retries, resumes nor verifies.)

Mirror: ``mirror / row.path`` is verified (size, and sha256 when known) and then HARD-LINKED to the destination
(no copy, no dangling symlink if the mirror moves; a copy where a hard link is impossible, e.g. across file systems).
Outputs must be treated as read-only, since a hard link shares its content with the mirror file.
Streaming (``dandi.stream``) downloads nothing: extraction opens the asset's archive URL with remfile
(`patchseq_ml.acquire.nwb_reader.open_nwb`).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from patchseq_ml.acquire.dandi_assets import DANDI_API_URL, AssetRow, make_client, validate_asset_path
from patchseq_ml.acquire.fetch import sha256_of

LOG = logging.getLogger(__name__)
CHUNK_BYTES = 1 << 20
FATAL_HTTP = (400, 401, 403, 404, 410)


class DownloadError(RuntimeError):
    """An asset that could not be fetched or failed verification; the one-line message names it."""


def _verify(path: Path, row: AssetRow, source: str) -> None:
    """Raise `DownloadError` unless ``path`` has ``row.size`` bytes and (when known) ``row.sha256``."""
    size = path.stat().st_size
    if size != row.size:
        raise DownloadError(f"{row.path} (asset {row.asset_id}) from {source}: {size} bytes, expected {row.size}")
    if row.sha256 and (actual := sha256_of(path)) != row.sha256:
        mismatch = f"sha256 {actual} does not match the archive's {row.sha256}"
        raise DownloadError(f"{row.path} (asset {row.asset_id}) from {source}: {mismatch}")


def from_mirror(row: AssetRow, mirror: Path, destination: Path, verify: bool = True) -> bool:
    """Hard-link (else copy) ``mirror / row.path`` to ``destination`` after verifying it; False if it is absent."""
    source = Path(mirror) / validate_asset_path(row.path).string
    if not source.is_file():
        return False
    if verify:
        _verify(source, row, f"mirror {mirror}")
    tmp = destination.with_name(destination.name + ".link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, destination)
    LOG.info("%s: used the mirror file %s", row.path, source)
    return True


def _progress(row: AssetRow) -> Callable[[int], None]:
    """A callback that logs a line each time ``done`` bytes cross another 10% of ``row.size``."""
    state = {"last": -1}

    def report(done: int) -> None:
        decile = 10 if row.size == 0 else min(10, done * 10 // row.size)
        if decile > state["last"]:
            state["last"] = decile
            LOG.info("%s: %d%% (%d of %d bytes)", row.path, decile * 10, done, row.size)

    return report


def download_to(
    row: AssetRow,
    part: Path,
    downloader: Callable[[int], Iterator[bytes]],
    attempts: int = 8,
    retry_wait_s: float = 1.0,
) -> None:
    """Fill ``part`` with the ``row.size`` bytes of the asset, resuming after dropped connections.

    ``downloader(offset)`` yields the bytes from ``offset`` on. Up to ``attempts`` consecutive failures without
    progress are retried, waiting ``retry_wait_s`` * 2**k seconds (at most 30 s); the part file is kept for a
    later run when they are exhausted. A part larger than the asset (a server that ignored Range) restarts at 0.
    """
    import requests

    report, failures = _progress(row), 0
    part.touch()
    while (offset := part.stat().st_size if part.exists() else 0) != row.size:
        if offset > row.size:
            LOG.warning("%s: %d bytes on disk, more than %d; restarting", row.path, offset, row.size)
            part.unlink()
            offset = 0
        report(offset)
        start = offset
        try:
            with open(part, "ab") as handle:
                for block in downloader(offset):
                    handle.write(block)
                    offset += len(block)
                    report(offset)
            if offset < row.size:
                raise requests.ConnectionError(f"stream ended after {offset} of {row.size} bytes")
        except (requests.RequestException, ConnectionError, TimeoutError) as error:  # not local disk errors
            status = getattr(getattr(error, "response", None), "status_code", None)
            reason = " ".join(str(error).split())
            failures = 1 if offset > start else failures + 1
            if status in FATAL_HTTP or failures > attempts:
                raise DownloadError(f"{row.path} (asset {row.asset_id}): download failed ({reason})") from None
            wait = min(30.0, retry_wait_s * 2 ** (failures - 1))
            LOG.warning("%s: %s; resuming at byte %d in %.1f s", row.path, reason, offset, wait)
            time.sleep(wait)


def fetch_asset(
    row: AssetRow,
    destination: Path,
    api_url: str | None = DANDI_API_URL,
    mirror: Path | None = None,
    client: Any = None,
    attempts: int = 8,
    retry_wait_s: float = 1.0,
    chunk_bytes: int = CHUNK_BYTES,
) -> str:
    """Put the verified asset ``row`` at ``destination``; returns where it came from ("mirror" or the API URL).

    With ``mirror``, a file there is used as is (see `from_mirror`); without one there, the asset is downloaded
    from ``api_url`` (None: mirror only) in blocks of ``chunk_bytes`` bytes. A sha256 mismatch deletes the
    downloaded file and raises `DownloadError`.
    """
    validate_asset_path(row.path)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if mirror is not None and from_mirror(row, Path(mirror), destination):
        return "mirror"
    if api_url is None and client is None:
        raise DownloadError(f"{row.path} (asset {row.asset_id}): not in the mirror {mirror} and no archive URL given")
    client = client or make_client(api_url)
    try:
        downloader = client.get_asset(row.asset_id).get_download_file_iter(chunk_size=chunk_bytes)
    except Exception as error:  # the client's NotFoundError, or an HTTP error after its retries
        where = f"{row.path} (asset {row.asset_id})"
        raise DownloadError(
            f"{where}: could not be looked up on {client.api_url} ({' '.join(str(error).split())})"
        ) from None
    part = destination.with_name(destination.name + ".part")
    download_to(row, part, downloader, attempts, retry_wait_s)
    try:
        _verify(part, row, client.api_url)
    except DownloadError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, destination)
    return str(client.api_url)
