"""Golden test: extraction on two committed simulated cells must reproduce the saved features.

Regenerate with tests/data/make_golden_cells.py only when a change of definition is intended.
"""

import json

import numpy as np
import pytest
from conftest import ROOT

from patchseq_ml.ephys.cell_features import extract_cell

DATA = ROOT / "tests/data"
GOLDEN = json.loads((DATA / "golden_features.json").read_text())


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_features_match_golden(name, stimulus_table, feature_config):
    result = extract_cell(DATA / f"{name}.nwb", name, stimulus_table, feature_config)
    assert result.status == "ok"
    got, want = result.to_dict()["features"], GOLDEN[name]["features"]
    assert set(got) == set(want)
    for key, value in want.items():
        if value is None:
            assert got[key] is None, key
        else:
            assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_detected_spikes_match_true_spikes(name, stimulus_table, feature_config):
    from patchseq_ml.ephys.spike_validation import validate

    result = extract_cell(DATA / f"{name}.nwb", name, stimulus_table, feature_config).to_dict()
    truth = {name: {"spike_times_s": GOLDEN[name]["true_spike_times_s"]}}
    row = validate([result], truth).set_index("stimulus_type").loc["all"]
    assert row["true_spikes"] > 50
    assert row["precision"] >= 0.99 and row["recall"] >= 0.99


def test_golden_cells_have_their_phenotypes():
    pvalb, sst = GOLDEN["golden_pvalb"]["features"], GOLDEN["golden_sst"]["features"]
    assert pvalb["rheo_width_ms"] < 0.45 < sst["rheo_width_ms"]  # fast-spiking: narrow APs
    assert pvalb["rheobase_pa"] > sst["rheobase_pa"]
    assert sst["sag"] > pvalb["sag"]
    for features in (pvalb, sst):
        assert 30 < features["input_resistance_mohm"] < 600
        assert 2 < features["tau_ms"] < 60
        assert -80 < features["vrest_mv"] < -55
        assert np.isfinite(features["ss_threshold_v"]) and np.isfinite(features["ramp_threshold_v"])


def test_unreadable_file_becomes_a_cell_failure(tmp_path, stimulus_table, feature_config):
    bad = tmp_path / "broken.nwb"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n broken")
    result = extract_cell(bad, "broken", stimulus_table, feature_config)
    assert result.status == "failed"
    assert result.failures[0].level == "cell" and result.failures[0].reason.startswith("unreadable_file: ")
