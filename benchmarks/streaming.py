"""Benchmark: streaming an NWB file (remfile + h5py, dandi.stream) against reading it from disk, over loopback.

Usage: .venv/bin/python benchmarks/streaming.py [NWB ...]   (default: the golden test cells)
Each file is served by the test archive (tests/dandi_server.py) on 127.0.0.1. Per file: its size; the time of
read_sweeps from disk and streamed (best of 3, s); for the streamed read the range requests and the bytes they
returned, and the bytes the server wrote to remfile's length probe (a GET it hangs up on after the headers); and
the bytes a metadata-only pass fetches (every group and dataset header visited, no data read). Loopback has no
latency: on the real archive add about one round trip per request.
"""

import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "workflow_scripts"), str(ROOT / "tests")]

from dandi_server import FakeDandiArchive  # noqa: E402

from patchseq_ml.acquire.nwb_reader import open_nwb, read_sweeps  # noqa: E402
from patchseq_ml.acquire.stimulus_table import StimulusTable  # noqa: E402
from patchseq_ml.dag_cells import dandi_content_url  # noqa: E402

REPEATS = 3


def best_time_s(run: Callable[[], object]) -> float:
    """The fastest of `REPEATS` runs of ``run``, in seconds."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def fetched(archive: FakeDandiArchive, path: str, run: Callable[[], object]) -> tuple[int, int, int]:
    """(range requests, bytes they returned, bytes written to the length probe) of one call of ``run``."""
    archive.blob_reads.clear()
    run()
    reads = archive.reads_of(path)
    ranged = [r.bytes_sent for r in reads if r.range]
    return len(ranged), sum(ranged), sum(r.bytes_sent for r in reads if not r.range)


def visit_metadata(url: str) -> None:
    with open_nwb(url) as h5:
        h5.visititems(lambda name, obj: None)


def measure(archive: FakeDandiArchive, file: Path, path: str, table: StimulusTable) -> str:
    """One table row for ``file``, served by ``archive`` at dandiset ``path``."""
    url = dandi_content_url(archive.api_url, archive.add_bytes(path, file.read_bytes()).asset_id)
    size = file.stat().st_size
    disk = best_time_s(lambda: read_sweeps(file, table))
    stream = best_time_s(lambda: read_sweeps(url, table))
    requests, data, probe = fetched(archive, path, lambda: read_sweeps(url, table))
    metadata = fetched(archive, path, lambda: visit_metadata(url))[1]
    return (f"{file.name:<36} {size / 1e6:>6.2f} {disk:>7.3f} {stream:>8.3f} {requests:>8} {data / 1e6:>10.2f} "
            f"{100 * data / size:>9.1f} {probe / 1e3:>8.1f} {metadata / 1e6:>11.2f}")  # fmt: skip


def main() -> None:
    files = [Path(p) for p in sys.argv[1:]] or sorted((ROOT / "tests/data").glob("golden_*.nwb"))
    table = StimulusTable.from_tsv(ROOT / "config/stimulus_codes.tsv")
    print(f"{'file':<36} {'MB':>6} {'disk s':>7} {'stream s':>8} {'requests':>8} {'fetched MB':>10} "
          f"{'% of file':>9} {'probe KB':>8} {'metadata MB':>11}")  # fmt: skip
    with FakeDandiArchive() as archive:
        for i, file in enumerate(files):
            print(measure(archive, file, f"sub-{i}/sub-{i}_ses-{i}_icephys.nwb", table))


if __name__ == "__main__":
    main()
