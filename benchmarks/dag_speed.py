"""Benchmark: how long Snakemake takes to build the DAG (`snakemake -n`), at the default and full presets and for
an archive run over a synthetic cached asset listing of the archives' size; and, given finished run folders, the
no-op dry run of each (everything up to date: what every `snakemake` invocation pays before it starts a job).

Usage: .venv/bin/python benchmarks/dag_speed.py [--repeats 3] [--noop DIR[:preset] ...]
Prints a table: case, planned jobs, median / min wall seconds of `snakemake -n --quiet rules`. Planning runs in an
empty scratch folder (every job planned). `--noop results_dir:preset` times the dry run in a finished run folder
(e.g. `--noop .:default` after `make run`).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow_scripts"))

from patchseq_ml.acquire.dandi_assets import AssetRow, write_listing  # noqa: E402

ARCHIVE_CELLS = {"mouse": 4400, "human": 1000}  # about what DANDI 000020 and 000636 hold


def synthetic_listing(folder: Path) -> None:
    """Cached listings of ARCHIVE_CELLS assets per species in the archive's layout (ids and digests made up)."""
    for s, (species, n) in enumerate(ARCHIVE_CELLS.items()):
        rows = []
        for i in range(n):
            subject, session = 600000 + 10000 * s + i, 900000000 + 10000000 * s + i
            path = f"sub-{subject}/sub-{subject}_ses-{session}_icephys.nwb"
            rows.append(AssetRow(path, 10_000_000, f"{i:064x}", f"{s}-{i:08d}"))
        write_listing(rows, folder / f"{species}_assets.tsv")


def dry_run(workdir: Path, config: list[str]) -> tuple[float, int, str]:
    """Wall seconds and planned job count of one `snakemake -n --quiet rules` in ``workdir`` (``config``: overlay
    files, then key=value settings)."""
    files = [str(ROOT / "config/config.yaml"), *(c for c in config if c.endswith(".yaml"))]
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "-n"]
    settings = [c for c in config if "=" in c]
    command += ["--quiet", "rules", "--configfile", *files] + (["--config", *settings] if settings else [])
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"snakemake -n failed in {workdir}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    total = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("total")]
    nothing = "Nothing to be done" in done.stdout + done.stderr
    return wall, 0 if nothing else int(total[0]), done.stdout


def cases(scratch: Path, noop: list[str]) -> list[tuple[str, Path, list[str]]]:
    listing = scratch / "listing"
    synthetic_listing(listing)
    overlay = scratch / "archive.yaml"  # config/real.yaml with the synthetic listing
    overlay.write_text(f"dandi:\n  listing_dir: {listing}\n")
    archive = [str(ROOT / "config/real.yaml"), str(overlay)]
    out = [
        ("plan, default preset (300 cells)", scratch / "default", ["preset=default"]),
        ("plan, full preset (4,200 cells)", scratch / "full", ["preset=full"]),
        (f"plan, archive listing ({sum(ARCHIVE_CELLS.values()):,} assets)", scratch / "archive", archive),
    ]
    for spec in noop:
        folder, _, preset = spec.partition(":")
        preset = preset or "default"
        out.append((f"no-op, {folder} ({preset})", Path(folder).resolve(), [f"preset={preset}"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--noop", nargs="*", default=[], help="finished run folders, as DIR or DIR:preset")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for name, workdir, config in cases(Path(tmp), args.noop):
            workdir.mkdir(exist_ok=True)
            runs = [dry_run(workdir, config) for _ in range(args.repeats)]
            walls = [wall for wall, _, _ in runs]
            rows.append((name, runs[0][1], statistics.median(walls), min(walls)))
    print("| case | planned jobs | median s | min s |\n|---|---|---|---|")
    for name, jobs, median, low in rows:
        print(f"| {name} | {jobs} | {median:.1f} | {low:.1f} |")


if __name__ == "__main__":
    main()
