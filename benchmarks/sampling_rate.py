"""Benchmark: the same simulated cells recorded at 50 and 200 kHz must give the same feature-vector families.

Usage: .venv/bin/python benchmarks/sampling_rate.py [--cells 2] [--noise]
Each cell (one per subclass, in order Pvalb, Sst, Vip, Lamp5) is simulated twice with the same parameters and noise
seed (noise off unless --noise: OU noise drawn at a different step is a different realisation), on a reduced
protocol (4 hyperpolarising steps, rheobase +0/+40/+80 pA, one short square, a 400 pA/s ramp) to keep the 200 kHz
simulation at ~1 min per cell. Prints per family: median per-cell r, r pooled over cells, max |difference|.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow_scripts"))

from patchseq_ml.acquire.nwb_writer import write_mies_nwb  # noqa: E402
from patchseq_ml.acquire.phenotypes import draw_cohort  # noqa: E402
from patchseq_ml.acquire.simulator import simulate_cells  # noqa: E402
from patchseq_ml.acquire.stimulus_table import StimulusTable  # noqa: E402
from patchseq_ml.ephys.cell_features import extract_cell  # noqa: E402

SUBCLASSES = ("Pvalb", "Sst", "Vip", "Lamp5")


def families_at(rate: float, index: int, cohort, config: dict, noise: bool, folder: Path) -> dict:
    protocol = dict(config["simulation"]["protocol"], sampling_rate_hz=rate)
    protocol["long_square"] = dict(
        protocol["long_square"], hyperpolarising_pa=[-110, -90, -50, -30], depolarising_offsets_pa=[0, 40, 80, 120]
    )
    protocol["short_square"] = dict(protocol["short_square"], threshold_factors=[1.1])
    protocol["ramp"] = dict(protocol["ramp"], slope_pa_per_s=400)
    params = cohort.params.take([index])
    if not noise:
        params.noise_pa[:] = 0.0
    cell = simulate_cells(cohort.subclass[[index]], params, protocol, np.random.default_rng(11))[0]
    path = folder / f"cell{index}_{int(rate)}.nwb"
    write_mies_nwb(path, path.stem, cell.sweeps, "1")
    table = StimulusTable.from_tsv(ROOT / "config/stimulus_codes.tsv")
    return extract_cell(path, path.stem, table, config["features"]).families


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=2)
    parser.add_argument("--noise", action="store_true")
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    phenotypes = yaml.safe_load((ROOT / "config/phenotypes.yaml").read_text())
    cohort = draw_cohort(np.random.default_rng(7), phenotypes, "mouse", 60)
    pairs: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for subclass in SUBCLASSES[: args.cells]:
            index = int(np.flatnonzero(cohort.subclass == subclass)[0])
            start = time.perf_counter()
            slow, fast = (families_at(rate, index, cohort, config, args.noise, Path(tmp)) for rate in (5e4, 2e5))
            print(f"{subclass}: simulated and extracted at 50 and 200 kHz in {time.perf_counter() - start:.0f} s")
            for name, a in slow.items():
                if a is not None and fast[name] is not None:
                    pairs.setdefault(name, []).append((a, fast[name]))
    print("\n| family | cells | median r | pooled r | max abs diff |\n|---|---|---|---|---|")
    for name, cells in pairs.items():
        rs = [np.corrcoef(a, b)[0, 1] for a, b in cells if np.std(a) > 0 and np.std(b) > 0]
        x, y = (np.concatenate(v) for v in zip(*cells))
        diff = max(float(np.abs(a - b).max()) for a, b in cells)
        print(f"| {name} | {len(cells)} | {np.median(rs):.4f} | {np.corrcoef(x, y)[0, 1]:.4f} | {diff:.3g} |")


if __name__ == "__main__":
    main()
