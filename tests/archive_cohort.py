"""A small cohort of simulated cells as the real archives hold them, for the end-to-end tests of the archive and
local-sheet paths: NWB files under the DANDI asset names ``sub-*/sub-*_ses-*_icephys.nwb`` (mouse at 50 kHz, human
at 200 kHz as MIES writes them), and label tables in the real tables' columns with real label strings: unlabelled
cells (no row, and a row with an empty label), a label outside the classes, and the human table's exact duplicate
row. Simulated with the workflow's own library (the simulate rules run the same function), once per test session.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import yaml
from conftest import ROOT

SIZES = {"mouse": 40, "human": 30}  # the tiny preset: the smallest cohort with every class in every split
RATES_HZ = {"mouse": 50_000, "human": 200_000}
# real label strings: Allen mouse t-types (20200711 release) and Lee, Dalley et al. 2023 revised subclasses
MOUSE_TTYPES = {
    "Lamp5": "Lamp5 Lsp1",
    "Pvalb": "Pvalb Reln Itm2a",
    "Sncg": "Sncg Vip Itih5",
    "Sst": "Sst Calb2 Pdlim5",
    "Vip": "Vip Ptprt Pkp2",
}
OUTSIDE = {"mouse": "Serpinf1 Aqp5 Vip", "human": None}  # a real t-type outside the class map (mouse)
LABEL_COLUMN = {"mouse": "T-type Label", "human": "Revised_subclass_label"}
ID_COLUMN = {"mouse": "ephys_session_id", "human": "nwb_id"}


@dataclass
class Cohort:
    """Per species: the folder of NWB files (archive layout), the label table (CSV) and what the tests expect."""

    folder: dict[str, Path]
    labels: dict[str, Path]
    files: dict[str, list[str]]  # asset paths, sorted
    truth: dict[str, dict[str, str]]  # ses- id -> simulated subclass
    unlabelled: dict[str, set[str]]  # ses- ids without a usable label (no row, empty label, outside the classes)
    outside: dict[str, set[str]]  # ses- ids whose label is outside the classes


def simulate(folder: Path) -> Cohort:
    """Simulate the cohort into ``folder`` (``<folder>/<species>/sub-*/...`` and ``<folder>/<species>_labels.csv``)."""
    from patchseq_ml.acquire.simulated_dataset import simulate_batch

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    phenotypes = yaml.safe_load((ROOT / "config/phenotypes.yaml").read_text())
    cohort = Cohort({}, {}, {}, {}, {}, {})
    for species, n in SIZES.items():
        settings = copy.deepcopy(config["simulation"])
        settings["batch_size"] = n
        settings["protocol"]["sampling_rate_hz"] = RATES_HZ[species]
        out = folder / species
        rows, truth = simulate_batch(species, "000", n, settings, phenotypes, out)
        cohort.folder[species] = out
        cohort.files[species] = sorted(p.relative_to(out).as_posix() for p in out.glob("sub-*/*_icephys.nwb"))
        cohort.truth[species] = {cell: record["subclass"] for cell, record in truth.items()}
        table = pd.DataFrame(rows)
        labelled = set(table[ID_COLUMN[species]].astype(str))
        unlabelled = set(truth) - labelled  # the simulator's unlabelled cells: no row at all
        if species == "mouse":
            table["T-type Label"] = [MOUSE_TTYPES[label.split()[0]] for label in table["T-type Label"]]
        # one cell whose label is empty (a row without a label), one outside the classes (mouse: a real t-type)
        empty = table.index[-1]
        table.loc[empty, LABEL_COLUMN[species]] = None
        unlabelled.add(str(table.loc[empty, ID_COLUMN[species]]))
        outside = set()
        if OUTSIDE[species]:
            row = table.index[-2]
            table.loc[row, LABEL_COLUMN[species]] = OUTSIDE[species]
            outside.add(str(table.loc[row, ID_COLUMN[species]]))
        if species == "human":  # the real human table holds one exact duplicate row (specimen 819133824)
            table = pd.concat([table, table.iloc[[0]]], ignore_index=True)
        cohort.unlabelled[species] = unlabelled | outside
        cohort.outside[species] = outside
        cohort.labels[species] = folder / f"{species}_labels.csv"
        table.to_csv(cohort.labels[species], index=False)
        assert len(cohort.files[species]) == n
    (folder / "cohort.json").write_text(json.dumps(asdict(cohort), default=_plain, indent=1))
    return cohort


def _plain(value):
    return sorted(value) if isinstance(value, set) else str(value)


def load(folder: Path) -> Cohort:
    """The cohort `simulate` wrote into ``folder`` (to look at a finished test run again)."""
    data = json.loads((folder / "cohort.json").read_text())
    paths = {k: {s: Path(v) for s, v in data[k].items()} for k in ("folder", "labels")}
    sets = {k: {s: set(v) for s, v in data[k].items()} for k in ("unlabelled", "outside")}
    return Cohort(**paths, files=data["files"], truth=data["truth"], **sets)


def overlay(path: Path, settings: dict) -> Path:
    """The tiny test overlay with one split seed (the fewest jobs that still run every stage), plus ``settings``,
    written to ``path`` (read after config/config.yaml)."""
    config = yaml.safe_load((ROOT / "tests/integration/config_tiny.yaml").read_text())
    config["splits"]["seeds"] = [0]
    config.update(settings)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
