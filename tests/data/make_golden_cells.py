"""Regenerate the golden fixtures: two simulated cells (Pvalb, Sst) as small NWB files and their features.

Run from the repository root: ``.venv/bin/python tests/data/make_golden_cells.py`` (``--features-only``: keep the NWB
files and their true spikes, recompute features and families). Only rerun when extraction changes on purpose; the
golden test then shows exactly which features moved.
"""

import json
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow_scripts"))

from patchseq_ml.acquire.nwb_writer import write_mies_nwb  # noqa: E402
from patchseq_ml.acquire.phenotypes import draw_cohort  # noqa: E402
from patchseq_ml.acquire.simulator import simulate_cells  # noqa: E402
from patchseq_ml.acquire.stimulus_table import StimulusTable  # noqa: E402
from patchseq_ml.ephys.cell_features import extract_cell  # noqa: E402

HERE = Path(__file__).parent
KEEP_AMPLITUDES = {-110.0, -70.0, -30.0}  # hyperpolarising steps kept, plus every depolarising step up to +80 pA


def main() -> None:
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    if "--features-only" in sys.argv:
        golden = json.loads((HERE / "golden_features.json").read_text())
        record(golden, config, StimulusTable.from_tsv(ROOT / "config/stimulus_codes.tsv"))
        return
    phenotypes = yaml.safe_load((ROOT / "config/phenotypes.yaml").read_text())
    protocol = dict(config["simulation"]["protocol"])
    protocol["long_square"] = dict(protocol["long_square"], depolarising_offsets_pa=[-20, 0, 20, 40, 80])
    rng = np.random.default_rng(7)
    cohort = draw_cohort(rng, phenotypes, "mouse", 40)
    chosen = np.array([int(np.flatnonzero(cohort.subclass == s)[0]) for s in ("Pvalb", "Sst")])
    cells = simulate_cells(cohort.subclass[chosen], cohort.params.take(chosen), protocol, rng)
    table = StimulusTable.from_tsv(ROOT / "config/stimulus_codes.tsv")
    golden = {}
    for cell in cells:
        sweeps = [s for s in cell.sweeps if s.stimulus_code != "X1PS_SubThresh" or _amplitude(s) in KEEP_AMPLITUDES]
        name = f"golden_{cell.subclass.lower()}"
        write_mies_nwb(HERE / f"{name}.nwb", name, sweeps, "1")
        golden[name] = {"subclass": cell.subclass,
                        "true_spike_times_s": {str(k): v for k, v in cell.true_spikes_s.items()}}  # fmt: skip
    record(golden, config, table)


def record(golden: dict, config: dict, table: StimulusTable) -> None:
    """Features and families of each golden NWB file into golden_features.json."""
    for name, entry in golden.items():
        result = extract_cell(HERE / f"{name}.nwb", name, table, config["features"]).to_dict()
        entry.update(features=result["features"], families=result["families"])
    (HERE / "golden_features.json").write_text(json.dumps(golden, indent=1, sort_keys=True))


def _amplitude(sweep) -> float:
    return float(np.round(np.median(sweep.stimulus_pa[int(0.6 * sweep.rate_hz) : int(1.4 * sweep.rate_hz)])))


if __name__ == "__main__":
    main()
