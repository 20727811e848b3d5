"""Feature-vector families: golden vectors, lengths, masks with reasons, sampling-rate independence, building blocks."""

import json

import numpy as np
import pytest
from conftest import ROOT

from patchseq_ml.acquire.nwb_reader import read_sweeps
from patchseq_ml.acquire.nwb_writer import SweepRecord, write_mies_nwb
from patchseq_ml.ephys.cell_features import extract_cell
from patchseq_ml.ephys.collect import family_arrays
from patchseq_ml.ephys.families import (
    _binned,
    _combine,
    _inst_freq_points,
    _isi_shape,
    block_means,
    family_names,
    family_widths,
    resample,
)

DATA = ROOT / "tests/data"
GOLDEN = json.loads((DATA / "golden_features.json").read_text())


def test_widths_follow_the_study_protocol(feature_config):
    widths = family_widths(feature_config["families"])
    assert list(widths) == family_names(feature_config["families"]) and len(widths) == 12
    assert widths["first_ap_v"] == 450 and widths["first_ap_dv"] == 447  # 3 sources x 3 ms at 50 kHz
    assert widths["inst_freq"] == widths["psth"] == widths["spiking_width"] == 150  # 3 sweeps x 50 bins of 20 ms
    assert widths["step_subthresh"] == 3 * 140 and widths["subthresh_norm"] == 140  # 1.4 s in 10 ms bins
    norm = dict(feature_config["families"], rate_family="inst_freq_norm")
    assert "inst_freq_norm" in family_names(norm) and "inst_freq" not in family_names(norm)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_families_match_golden(name, stimulus_table, feature_config):
    result = extract_cell(DATA / f"{name}.nwb", name, stimulus_table, feature_config).to_dict()
    want = GOLDEN[name]["families"]
    assert set(result["families"]) == set(want)
    widths = family_widths(feature_config["families"])
    for family, vector in want.items():
        got = result["families"][family]
        if vector is None:
            assert got is None, family
            continue
        assert len(got) == widths[family], family
        np.testing.assert_allclose(got, vector, rtol=1e-6, atol=1e-4, err_msg=family)


def test_pvalb_golden_cell_has_every_family_and_sst_has_reasons(stimulus_table, feature_config):
    pvalb = extract_cell(DATA / "golden_pvalb.nwb", "p", stimulus_table, feature_config)
    assert all(v is not None for v in pvalb.families.values())
    assert not [f for f in pvalb.failures if f.level == "vector"]
    sst = extract_cell(DATA / "golden_sst.nwb", "s", stimulus_table, feature_config)
    missing = {f.item: f.reason for f in sst.failures if f.level == "vector"}
    assert missing == {n: r for n, r in missing.items() if sst.families[n] is None}  # a reason for every mask
    assert set(missing) == {n for n, v in sst.families.items() if v is None}
    # this golden cell has no spiking step at rheobase + 40 or + 80 pA (its protocol stops at + 80 of the estimate)
    assert all(r == "fewer_than_2_spiking_sweeps_at_rheobase_offsets" for r in missing.values())


def test_a_missing_stimulus_type_masks_only_the_ap_families(tmp_path, stimulus_table, feature_config):
    sweeps = [s for s in read_sweeps(DATA / "golden_pvalb.nwb", stimulus_table) if s.stimulus_type != "ramp"]
    records = [SweepRecord(s.sweep_number, s.stimulus_code, s.response_mv, s.stimulus_pa, s.rate_hz) for s in sweeps]
    write_mies_nwb(tmp_path / "no_ramp.nwb", "no_ramp", records, "1")
    result = extract_cell(tmp_path / "no_ramp.nwb", "no_ramp", stimulus_table, feature_config)
    masked = {n for n, v in result.families.items() if v is None}
    assert masked == {"first_ap_v", "first_ap_dv"}
    reasons = {f.item: f.reason for f in result.failures if f.level == "vector"}
    assert reasons == {"first_ap_v": "no_spiking_ramp_sweep", "first_ap_dv": "no_spiking_ramp_sweep"}


def test_200_khz_copy_of_a_cell_gives_the_same_vectors(tmp_path, stimulus_table, feature_config):
    """The golden cell brought to 200 kHz (interpolated, as a 4x faster digitiser would see the same membrane)
    must give family vectors of the same lengths, r >= 0.99 each (within 5 % where a vector is flat)."""
    sweeps = read_sweeps(DATA / "golden_pvalb.nwb", stimulus_table)
    records = []
    for s in sweeps:
        t_in = np.arange(s.response_mv.size) / s.rate_hz
        t_out = np.arange(s.response_mv.size * 4) / (4 * s.rate_hz)
        v, i = (np.interp(t_out, t_in, x).astype(np.float32) for x in (s.response_mv, s.stimulus_pa))
        records.append(SweepRecord(s.sweep_number, s.stimulus_code, v, i, 4 * s.rate_hz))
    write_mies_nwb(tmp_path / "fast.nwb", "fast", records, "1")
    slow = extract_cell(DATA / "golden_pvalb.nwb", "slow", stimulus_table, feature_config).families
    fast = extract_cell(tmp_path / "fast.nwb", "fast", stimulus_table, feature_config).families
    assert set(slow) == set(fast)
    for name, a in slow.items():
        b = fast[name]
        assert a is not None and b is not None and len(a) == len(b), name
        level = np.abs(a).mean() + 1e-9
        if np.ptp(a) > 0.05 * level:
            assert np.corrcoef(a, b)[0, 1] >= 0.99, name
        else:  # flat within 5 % (a fast-spiking cell's per-spike features): r would only measure sampling jitter
            assert np.abs(a - b).max() <= 0.05 * level, name


def test_resample_block_means_and_interpolation():
    x = np.arange(16, dtype=float)
    np.testing.assert_allclose(resample(x, 200000, 50000, 4), [1.5, 5.5, 9.5, 13.5])  # 4 samples per output
    np.testing.assert_allclose(resample(x, 50000, 50000, 3), [0, 1, 2])
    np.testing.assert_allclose(resample(x, 75000, 50000, 3), [0, 1.5, 3])  # non-integer ratio: interpolation
    np.testing.assert_allclose(block_means(np.arange(10.0), 3), [1, 4, 7])  # the remainder is dropped


def test_instantaneous_rate_of_a_regular_train():
    spikes = np.arange(0.1, 1.0, 0.1)  # 10 Hz from 100 ms: latency 100 ms
    times, rates = _inst_freq_points(spikes, 0.0, 1.0)
    assert times[0] == 0.0 and times[-1] == 1.0
    np.testing.assert_allclose(rates, 10.0)
    edges = np.linspace(0.0, 1.0, 51)
    np.testing.assert_allclose(_binned(times, rates, edges), 10.0)  # empty bins interpolated from neighbours
    assert _binned(spikes, np.ones(9), edges, "sum").sum() == 9
    np.testing.assert_allclose(_inst_freq_points(np.array([]), 0.0, 1.0)[1], 0.0)


def test_missing_target_sweep_is_the_mean_of_its_neighbours():
    a, c = np.zeros(3), np.full(3, 2.0)
    np.testing.assert_allclose(_combine([a, None, c]), [0, 0, 0, 1, 1, 1, 2, 2, 2])
    np.testing.assert_allclose(_combine([None, a, c])[:3], 0.0)


def test_family_arrays_pad_mask_and_refuse_wrong_lengths():
    names, widths = ["a", "b"], {"a": 3, "b": 1}
    records = [
        {"cell_id": "x", "families": {"a": [1, 2, 3], "b": None}},
        {"cell_id": "y", "families": {}},  # a failed cell: nothing present
    ]
    arrays = family_arrays(records, names, widths)
    assert arrays["values"].shape == (2, 2, 3) and arrays["values"].dtype == np.float32
    np.testing.assert_array_equal(arrays["mask"], [[True, False], [False, False]])
    np.testing.assert_array_equal(arrays["values"][0, 0], [1, 2, 3])
    with pytest.raises(ValueError, match="x: family a has 2 values, config expects 3"):
        family_arrays([{"cell_id": "x", "families": {"a": [1, 2]}}], names, widths)


def test_an_isi_without_fast_trough_is_left_out_of_the_isi_shape():
    """A spike whose V never turned down before the next one (fast trough index -1) starts no ISI trajectory; before
    the fix its ISI was the empty slice v[-1:b] and the whole family NaN (a simulated cell of the default preset)."""
    from types import SimpleNamespace

    v = np.zeros(1000)
    v[200:400], v[600:800] = np.linspace(-60, -40, 200), np.linspace(-50, -40, 200)
    spikes = SimpleNamespace(
        count=3,
        fast_trough_index=np.array([200, -1, 900]),
        threshold_index=np.array([100, 400, 800]),
        threshold_v=np.array([-40.0, -40.0, -40.0]),
    )
    sweep = SimpleNamespace(amplitude_pa=50.0, spikes=spikes, sweep=SimpleNamespace(response_mv=v))
    shape = _isi_shape([sweep], {"isi_points": 100, "isi_min_spikes": 3})
    assert np.isfinite(shape).all()
    np.testing.assert_allclose(shape, block_means(v[200:400] + 40.0, 100))  # the first ISI alone


def test_a_non_finite_vector_is_masked_with_its_reason(monkeypatch, stimulus_table, feature_config):
    from patchseq_ml.ephys import families

    monkeypatch.setattr(families, "_isi_shape", lambda long, config: np.full(config["isi_points"], np.nan))
    result = extract_cell(DATA / "golden_pvalb.nwb", "p", stimulus_table, feature_config)
    assert result.families["isi_shape"] is None and result.families["first_ap_v"] is not None
    assert [(f.item, f.reason) for f in result.failures if f.level == "vector"] == [("isi_shape", "non_finite_values")]
