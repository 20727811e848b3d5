"""Shared fixtures: repository paths, the real-data folder (tests using it skip where it is absent), the config."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
# features.qc of the unit tests on constructed sweeps (the defaults of config/config.yaml, written out)
SWEEP_QC = dict(
    test_pulse_end_s=0.1,
    baseline_window_s=0.1,
    baseline_range_mv=[-100, -45],
    min_post_stimulus_s=0.1,
    amplitude_resolution_pa=0.01,
)


def shared_file(relative: str) -> Path:
    """A file of ../shared/data, or skip the test when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


@pytest.fixture(scope="session")
def config() -> dict:
    return yaml.safe_load((ROOT / "config/config.yaml").read_text())


@pytest.fixture
def feature_config(config) -> dict:
    return copy.deepcopy(config["features"])


@pytest.fixture(scope="session")
def stimulus_table():
    from patchseq_ml.acquire.stimulus_table import StimulusTable

    return StimulusTable.from_tsv(ROOT / "config/stimulus_codes.tsv")


@pytest.fixture(scope="session")
def archive_cohort(tmp_path_factory):
    """Simulated cells under the archive's asset names with real-style label tables (tests/archive_cohort.py),
    made once per session (about 1-4 minutes: the human files are simulated at 200 kHz)."""
    from archive_cohort import simulate

    return simulate(tmp_path_factory.mktemp("archive_cohort"))


def pytest_collection_modifyitems(config, items) -> None:
    """SLURM tests run last: once they stop their throw-away cluster, SLURM's client tools stay installed with no
    controller to answer, and the SLURM executor plugin then waits 10 s for `scontrol show config` at every
    `snakemake` start (its help text asks for MinJobAge), which would slow every later workflow test."""
    items.sort(key=lambda item: item.get_closest_marker("slurm") is not None)  # stable: the rest keep their order
