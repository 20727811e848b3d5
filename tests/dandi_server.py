"""A loopback DANDI archive for tests: the subset of the REST API that ``dandi.dandiapi`` uses, served by threads.

Endpoints (GET; HEAD too for downloads and blobs):
  /server-info, /api/info/                            server info (``services.api.url`` = this server's /api)
  /api/dandisets/{id}/                                dandiset with its draft and published version
  /api/dandisets/{id}/versions/{v}/                   raw dandiset metadata
  /api/dandisets/{id}/versions/{v}/info/              version + empty validation errors
  /api/dandisets/{id}/versions/{v}/assets/            paginated (``page``, ``page_size``; ``path`` = prefix)
  /api/dandisets/{id}/versions/{v}/assets/{aid}/      asset metadata (digest: sha2-256 and dandi-etag)
  /api/dandisets/{id}/versions/{v}/assets/{aid}/info/ and /api/assets/{aid}/info/: asset + its metadata
  /api/assets/{aid}/                                  asset metadata
  .../assets/{aid}/download/                          302 to /blobs/{aid}
  /blobs/{aid}                                        the bytes; ``Range: bytes=N-`` or ``bytes=N-M`` answered
                                                      with 206 (what remfile sends when streaming)
Every blob GET is recorded in ``blob_reads`` (asset id, Range header, bytes written to the socket; a client that
hangs up early, as remfile's length probe does, shows the bytes written before it did).
Faults: `corrupt` flips one served byte of a file (digests stay the true ones); `drop_after` closes the
connection after N bytes the first time a file's blob is requested.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

STAMP = "2024-01-01T00:00:00Z"
TIMES = {"created": STAMP, "modified": STAMP}


def dandi_etag(data: bytes) -> str:
    """The archive's ``dandi:dandi-etag`` of ``data`` (md5 of the 64 MiB+ parts' md5s, "-<parts>")."""
    from dandischema.digests.dandietag import DandiETag

    etag = DandiETag(len(data))
    offset = 0
    for part in etag.get_parts():
        etag.update(data[offset : offset + part.size])
        offset += part.size
    return etag.as_str()


@dataclass
class ServedFile:
    """One asset: its dandiset path, bytes, id and fault settings."""

    path: str
    data: bytes
    asset_id: str
    corrupt_at: int | None = None
    drop_after: int | None = None
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        self.sha256 = hashlib.sha256(self.data).hexdigest()

    def served(self) -> bytes:
        if self.corrupt_at is None:
            return self.data
        flipped = bytes([self.data[self.corrupt_at] ^ 0xFF])
        return self.data[: self.corrupt_at] + flipped + self.data[self.corrupt_at + 1 :]


@dataclass
class BlobRead:
    """One GET of a blob: the asset, its Range header (None: whole file) and the bytes written before it ended."""

    asset_id: str
    range: str | None
    bytes_sent: int = 0


class FakeDandiArchive:
    """A threaded HTTP server on 127.0.0.1 (ephemeral port) serving one dandiset version; use as a context manager."""

    def __init__(self, dandiset_id: str = "000020", version: str = "0.240101.0000", page_size: int = 2) -> None:
        self.dandiset_id, self.version, self.page_size = dandiset_id, version, page_size
        self.files: dict[str, ServedFile] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        self.blob_reads: list[BlobRead] = []
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api"

    def add_bytes(self, path: str, data: bytes) -> ServedFile:
        """Serve ``data`` as the asset at dandiset ``path`` (not validated: bad paths are for tests)."""
        asset_id = hashlib.md5(path.encode()).hexdigest()
        self.files[asset_id] = ServedFile(path, data, asset_id)
        return self.files[asset_id]

    def add_folder(self, folder: Path, glob: str = "**/*.nwb") -> list[ServedFile]:
        """Serve every file under ``folder`` matching ``glob`` at its relative POSIX path (e.g. simulated NWB)."""
        return [self.add_bytes(p.relative_to(folder).as_posix(), p.read_bytes()) for p in sorted(folder.glob(glob))]

    def by_path(self, path: str) -> ServedFile:
        return next(f for f in self.files.values() if f.path == path)

    def reads_of(self, path: str) -> list[BlobRead]:
        """The blob GETs of the asset at ``path`` so far."""
        asset_id = self.by_path(path).asset_id
        return [r for r in self.blob_reads if r.asset_id == asset_id]

    def corrupt(self, path: str, offset: int | None = None) -> None:
        """Flip one byte (default: the middle one) of the file served for ``path``."""
        served = self.by_path(path)
        served.corrupt_at = len(served.data) // 2 if offset is None else offset

    def drop_after(self, path: str, n_bytes: int) -> None:
        """Close the connection after ``n_bytes`` the first time the bytes of ``path`` are requested."""
        self.by_path(path).drop_after = n_bytes

    def start(self) -> FakeDandiArchive:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and close the keep-alive connections still open."""
        self._server.shutdown()
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._server.server_close()

    def __enter__(self) -> FakeDandiArchive:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def version_json(self) -> dict[str, Any]:
        size = sum(len(f.data) for f in self.files.values())
        return dict(
            TIMES, version=self.version, name="fake", asset_count=len(self.files), size=size, status="Published"
        )

    def asset_json(self, f: ServedFile) -> dict[str, Any]:
        return dict(TIMES, asset_id=f.asset_id, blob=f.asset_id, path=f.path, size=len(f.data))

    def metadata(self, f: ServedFile) -> dict[str, Any]:
        digest = {"dandi:dandi-etag": dandi_etag(f.data), "dandi:sha2-256": f.sha256}
        url = f"{self.api_url}/assets/{f.asset_id}/download/"
        return dict(identifier=f.asset_id, path=f.path, contentSize=len(f.data), blobDateModified=STAMP, digest=digest,
                    encodingFormat="application/x-nwb", contentUrl=[url])  # fmt: skip

    def route(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        """(status, JSON body) of an API GET, or (302, location) for a download."""
        base = f"/api/dandisets/{self.dandiset_id}/"
        vbase = f"{base}versions/{self.version}/"
        if path in ("/server-info", "/api/info/"):
            api = {"api": {"url": self.api_url}}
            return 200, {"version": "0.0.0", "cli-minimal-version": "0.0.0", "cli-bad-versions": [], "services": api}
        if path == base:
            v = self.version_json()
            draft = {**v, "version": "draft", "status": "Valid"}
            return 200, dict(TIMES, identifier=self.dandiset_id, contact_person="x", embargo_status="OPEN",
                             draft_version=draft, most_recent_published_version=v)  # fmt: skip
        if path == vbase:
            return 200, {"identifier": f"DANDI:{self.dandiset_id}", "name": "fake", "version": self.version}
        if path == vbase + "info/":
            return 200, {**self.version_json(), "asset_validation_errors": [], "version_validation_errors": []}
        if path == vbase + "assets/":
            prefix = query.get("path", [""])[0]
            rows = sorted((f for f in self.files.values() if f.path.startswith(prefix)), key=lambda f: f.path)
            page, size = int(query.get("page", ["1"])[0]), int(query.get("page_size", [self.page_size])[0])
            more = page * size < len(rows)
            nxt = {**{k: v[0] for k, v in query.items()}, "page": page + 1}
            results = [self.asset_json(f) for f in rows[(page - 1) * size : page * size]]
            nxt_url = f"http://127.0.0.1:{self.port}{path}?{urlencode(nxt)}" if more else None
            return 200, {"count": len(rows), "previous": None, "results": results, "next": nxt_url}
        match = re.fullmatch(rf"(?:{re.escape(vbase)}|/api/)assets/(\w+)/(info/|download/)?", path)
        if match and match[1] in self.files:
            f = self.files[match[1]]
            if match[2] == "download/":
                return 302, f"http://127.0.0.1:{self.port}/blobs/{f.asset_id}"
            if match[2] == "info/":
                return 200, {**self.asset_json(f), "metadata": self.metadata(f)}
            return 200, self.metadata(f)
        return 404, {"detail": "Not found."}


def _handler(archive: FakeDandiArchive) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def setup(self) -> None:
            super().setup()
            with archive._lock:
                archive._sockets.add(self.connection)

        def finish(self) -> None:
            with archive._lock:
                archive._sockets.discard(self.connection)
            super().finish()

        def _send(
            self,
            status: int,
            body: bytes,
            headers: dict[str, str],
            cut: int | None = None,
            read: BlobRead | None = None,
        ) -> None:
            """Answer ``body``; with ``cut``, announce all of it but close the connection after ``cut`` bytes.
            With ``read``, count the bytes written (in 64 KiB blocks, until the client hangs up)."""
            self.send_response(status)
            for key, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self._write(body if cut is None else body[:cut], read)
            if cut is not None:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

        def _write(self, data: bytes, read: BlobRead | None, block: int = 1 << 16) -> None:
            for start in range(0, len(data), block):
                self.wfile.write(data[start : start + block])
                if read is not None:
                    read.bytes_sent += len(data[start : start + block])

        def handle(self) -> None:
            try:
                super().handle()
            except (BrokenPipeError, ConnectionResetError):  # a client that hung up (remfile's length probe does)
                pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            archive.requests.append((self.command, url.path, self.headers.get("Range")))
            if url.path.startswith("/blobs/") and url.path[7:] in archive.files:
                return self._blob(archive.files[url.path[7:]])
            status, body = archive.route(url.path, parse_qs(url.query))
            if status == 302:
                return self._send(302, b"", {"Location": body})
            self._send(status, json.dumps(body).encode(), {"Content-Type": "application/json"})

        do_HEAD = do_GET

        def _blob(self, f: ServedFile) -> None:
            data, header = f.served(), self.headers.get("Range")
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", header or "")
            start, stop = (int(match[1]), min(int(match[2] or len(data) - 1), len(data) - 1)) if match else (0, None)
            if match and start >= len(data):
                return self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"})
            headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
            if match:
                headers["Content-Range"] = f"bytes {start}-{stop}/{len(data)}"
            cut, read = None, None
            if self.command == "GET":
                cut, f.drop_after = f.drop_after, None
                read = BlobRead(f.asset_id, header)
                archive.blob_reads.append(read)
            body = data[start : stop + 1] if match else data
            self._send(206 if match else 200, body, headers, cut, read)

    return Handler


def isolate_dandi_client(monkeypatch: Any, tmp_path: Path) -> None:
    """Keep the ``dandi`` client offline and out of the home folder (no release check, no digest cache)."""
    monkeypatch.setenv("DANDI_NO_ET", "1")
    monkeypatch.setenv("DANDI_CACHE", "ignore")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def random_bytes(n_bytes: int, seed: int = 0) -> bytes:
    """``n_bytes`` reproducible random bytes standing in for an NWB file."""
    import random

    return random.Random(seed).randbytes(n_bytes)
