"""Benchmark: CPU time of the embedded simulated dataset (rule simulate_batch) per species, and where it goes.

Usage: .venv/bin/python benchmarks/simulation_speed.py [--cells 100] [--species mouse human] [--batch-size N]
Simulates one batch of ``--cells`` cells per species with config/config.yaml's `simulation` section (batch size =
cells unless given) into a temporary folder, exactly as the rule does, and prints per species: cells, CPU s,
s/cell, s/100 cells, and the CPU s spent finding thresholds, integrating the sweeps, writing the NWB files (the
first species also pays for importing pynwb there), and on the rest (recording noise, stimuli, defects).
CPU time (time.process_time) is measured, not wall time, so that other work on the machine changes little. One
batch has fixed costs (imports, the longest ramp), so small --cells overstate the per-cell cost of a full batch.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow_scripts"))

import yaml  # noqa: E402

from patchseq_ml.acquire import simulated_dataset, simulator  # noqa: E402


def _timed(module, name: str, totals: dict, label: str) -> None:
    """Replace ``module.name`` by a wrapper adding its CPU time to ``totals[label]``, unless it is called from
    within another timed function (the threshold search integrates too)."""
    function = getattr(module, name)

    def wrapper(*args, **kwargs):
        if totals["busy"]:
            return function(*args, **kwargs)
        totals["busy"], start = True, time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            totals[label] += time.process_time() - start
            totals["busy"] = False

    setattr(module, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=100)
    parser.add_argument("--species", nargs="+", default=["mouse", "human"])
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    phenotypes = yaml.safe_load((ROOT / config["simulation"]["phenotypes"]).read_text())
    settings = dict(config["simulation"], batch_size=args.batch_size or args.cells)
    totals = {"thresholds": 0.0, "integration": 0.0, "writing": 0.0, "busy": False}
    _timed(simulator, "find_thresholds", totals, "thresholds")
    _timed(simulator, "integrate", totals, "integration")  # all sweeps of the batch in one call
    _timed(simulated_dataset, "write_mies_nwb", totals, "writing")
    header = f"{'species':<8} {'cells':>5} {'CPU s':>7} {'s/cell':>7} {'s/100 cells':>11}"
    print(f"{header} {'thresholds':>10} {'integration':>11} {'writing':>8} {'other':>6}")
    for species in args.species:
        totals.update(thresholds=0.0, integration=0.0, writing=0.0)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.process_time()
            batch_cells = min(args.cells, settings["batch_size"])
            simulated_dataset.simulate_batch(species, "000", args.cells, settings, phenotypes, Path(tmp))
            cpu = time.process_time() - start
        other = cpu - totals["thresholds"] - totals["integration"] - totals["writing"]
        print(
            f"{species:<8} {batch_cells:>5} {cpu:>7.1f} {cpu / batch_cells:>7.3f} {100 * cpu / batch_cells:>11.1f} "
            f"{totals['thresholds']:>10.1f} {totals['integration']:>11.1f} {totals['writing']:>8.1f} {other:>6.1f}"
        )


if __name__ == "__main__":
    main()
