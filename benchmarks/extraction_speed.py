"""Benchmark: feature extraction time per sweep and per cell, and peak memory, on NWB files.

Usage: .venv/bin/python benchmarks/extraction_speed.py [NWB ...]   (default: the golden test cells)
Prints one row per file: sweeps, read s, QC+features s, ms per sweep, peak Python memory (MB).
"""

import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow_scripts"))

import yaml  # noqa: E402

from patchseq_ml.acquire.nwb_reader import read_sweeps  # noqa: E402
from patchseq_ml.acquire.stimulus_table import StimulusTable  # noqa: E402
from patchseq_ml.ephys.cell_features import extract_cell  # noqa: E402


def main() -> None:
    files = [Path(p) for p in sys.argv[1:]] or sorted((ROOT / "tests/data").glob("golden_*.nwb"))
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())["features"]
    table = StimulusTable.from_tsv(ROOT / "config/stimulus_codes.tsv")
    print(f"{'file':<28} {'sweeps':>6} {'read s':>7} {'total s':>8} {'ms/sweep':>9} {'peak MB':>8}")
    for path in files:
        start = time.perf_counter()
        n = len(read_sweeps(path, table))
        read = time.perf_counter() - start
        tracemalloc.start()
        start = time.perf_counter()
        extract_cell(path, path.stem, table, config)
        total = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        print(f"{path.name:<28} {n:>6} {read:>7.3f} {total:>8.3f} {1000 * total / n:>9.1f} {peak:>8.1f}")


if __name__ == "__main__":
    main()
