"""Fetch a published table: a local copy when it exists, else a download; sha256-verified, written atomically."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

TIMEOUT_S = 20


class FetchError(RuntimeError):
    """A table that could not be fetched or failed its checksum; the message names it."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_table(spec: dict, destination: Path) -> str:
    """Copy ``spec['path']`` (if it exists) or download ``spec['url']`` to ``destination``; returns the source.

    The file is checked against ``spec['sha256']`` when given, and only then moved into place.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=destination.parent, suffix=".part")
    os.close(fd)
    try:
        local = spec.get("path")
        if local and Path(local).exists():
            shutil.copyfile(local, tmp)
            source = str(local)
        elif spec.get("url"):
            source = spec["url"]
            try:
                with urllib.request.urlopen(source, timeout=TIMEOUT_S) as response, open(tmp, "wb") as out:
                    shutil.copyfileobj(response, out)
            except OSError as error:
                raise FetchError(f"{source}: download failed ({error}); set `path` to a local copy") from None
        else:
            raise FetchError(f"{local}: file not found and no url to download it from")
        expected = spec.get("sha256")
        if expected and (actual := sha256_of(Path(tmp))) != expected:
            raise FetchError(f"{source}: sha256 {actual} does not match the expected {expected}")
        os.replace(tmp, destination)
        return source
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
