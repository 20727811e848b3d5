"""Real recordings of ../shared/data/real (skipped where absent): the converter (benchmarks/real_recordings.py) and
golden tests of our extraction against IPFX 2.1.2 (tests/data/real_ipfx_golden.json, see
tests/data/README_real_ipfx_golden.md), to the acceptance criteria of issue 15.

Golden criteria per clean recording and rate (native 20 kHz and 50 kHz), counted as ``make ipfx-check`` counts
(benchmarks/ipfx_real_fidelity.compare_cell): at least one sweep passes our QC; spike count equal to IPFX's in
>= 99 % of QC-passed sweeps, no sweep off by more than one spike; threshold and peak sample indices equal for >= 99 %
of matched spikes. Features (default settings): rheobase equal (abs 1e-3 pA: IPFX reads float32 amplitudes,
29.999998 pA for 30 pA); resting Vm equal (abs 0.01 mV: IPFX averages float32 traces); sag and the Vm it is
taken at equal (abs 1e-3 and 0.01 mV; from a 0 pA or depolarising step where a cell has no hyperpolarising one, as
IPFX), f-I slope equal (rel 1e-4); input resistance and tau within 2 % wherever IPFX has them.
demo_2 runs with a QC baseline range of -110..-45 mV (its pre-step holds it at -101..-106 mV; the only setting that
differs from the default, ``real_recordings.features_config``).
"""

import json
import sys

import numpy as np
import pytest
from conftest import ROOT, shared_file

sys.path.insert(0, str(ROOT / "benchmarks"))
import ipfx_real_fidelity as fidelity  # noqa: E402
import real_recordings as rr  # noqa: E402

from patchseq_ml.acquire.nwb_reader import read_sweeps  # noqa: E402

pytestmark = pytest.mark.real_data
GOLDEN = json.loads((ROOT / "tests/data/real_ipfx_golden.json").read_text())
RATES = ("native", rr.RATE_50K)


def _recording(name: str) -> rr.Recording:
    pytest.importorskip("pyabf")
    spec = rr.RECORDINGS[name]
    shared_file(spec.path)
    return spec


def _config(name: str, feature_config: dict) -> dict:
    return rr.features_config(name, feature_config)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Cut cells written once per module: (name, rate) -> NWB path."""
    out = tmp_path_factory.mktemp("real_nwb")
    cache: dict = {}

    def get(name: str, rate) -> object:
        _recording(name)
        if (name, rate) not in cache:
            cache[name, rate] = rr.write_cell(name, out, rate)
        return cache[name, rate]

    return get


# ---------------------------------------------------------------- converter


@pytest.mark.parametrize("name", list(rr.RECORDINGS))
def test_cut_window_lies_inside_the_recording_around_the_main_step(name, config):
    spec = _recording(name)
    qc = config["features"]["qc"]
    cut = rr.cut_recording(name)
    assert cut.holding_pa == spec.holding_pa
    assert [s.amplitude_pa for s in cut.sweeps] == [a - spec.holding_pa for a in spec.amplitudes_pa]
    for s in cut.sweeps:
        start, stop = s.window
        assert 0 <= start < stop and s.response_mv.size == stop - start
        rate = s.rate_hz
        assert (start + s.onset) / rate == pytest.approx(spec.onset_s, abs=0.5 / rate)
        assert (start + s.offset) / rate == pytest.approx(spec.offset_s, abs=0.5 / rate)
        pre, post = s.onset / rate, (s.response_mv.size - s.offset) / rate
        assert pre > qc["test_pulse_end_s"] and pre >= qc["baseline_window_s"]  # epoch searched after 0.1 s
        assert post >= qc["min_post_stimulus_s"]
        step = s.stimulus_pa[s.onset : s.offset]
        assert np.all(step == s.amplitude_pa)
        assert not np.any(s.stimulus_pa[: s.onset]) and not np.any(s.stimulus_pa[s.offset :])


def test_demo_2_window_starts_inside_the_settled_pre_step():
    spec = _recording("demo_2")
    cut = rr.cut_recording("demo_2")
    assert cut.rewritten_after_offset and spec.holding_pa == -20.0
    pre_step_onset_s = 0.278
    for s in cut.sweeps:
        start_s = s.window[0] / s.rate_hz
        assert start_s >= pre_step_onset_s + rr.SETTLE_S - 1e-3
        baseline = s.response_mv[: s.onset]
        assert abs(baseline[: baseline.size // 2].mean() - baseline[baseline.size // 2 :].mean()) < 2.0  # settled


@pytest.mark.parametrize("name", rr.CLEAN)
def test_50k_copy_interpolates_v_and_redraws_the_step_exactly(name):
    _recording(name)
    native, fast = rr.cut_at(name, "native").sweeps, rr.cut_at(name, rr.RATE_50K).sweeps
    for a, b in zip(native, fast):
        assert b.rate_hz == rr.RATE_50K
        common = b.response_mv[::5]  # 50 kHz samples at native sample times (every 2nd at 20 kHz)
        np.testing.assert_allclose(common, a.response_mv[::2][: common.size], rtol=1e-12, atol=1e-9)
        assert b.onset / rr.RATE_50K == pytest.approx(a.onset / a.rate_hz, abs=1 / rr.RATE_50K)
        assert np.all(b.stimulus_pa[b.onset : b.offset] == a.amplitude_pa)
        assert not np.any(b.stimulus_pa[: b.onset]) and not np.any(b.stimulus_pa[b.offset :])


@pytest.mark.parametrize("rate", RATES, ids=rr.rate_label)
@pytest.mark.parametrize("name", list(rr.RECORDINGS))
def test_reader_reads_the_written_cell(name, rate, written, stimulus_table):
    """Long squares at the written rate; amplitudes as written up to the float32 artefact (-100 pA reads as
    -99.9999996 pA: float32 data times the float32 conversion 9.99999996e-13)."""
    path = written(name, rate)
    sweeps = read_sweeps(path, stimulus_table)
    cut = rr.cut_at(name, rate)
    assert [s.sweep_number for s in sweeps] == [s.sweep_number for s in cut.sweeps]
    for read, want in zip(sweeps, cut.sweeps):
        assert read.stimulus_type == "long_square" and read.rate_hz == want.rate_hz
        np.testing.assert_allclose(read.response_mv, want.response_mv, rtol=1e-6, atol=1e-4)  # float32 storage
        amp = float(np.median(read.stimulus_pa[want.onset : want.offset]))
        assert amp == pytest.approx(want.amplitude_pa, abs=1e-5)


# ---------------------------------------------------------------- golden: ours against IPFX


@pytest.mark.parametrize("rate", RATES, ids=rr.rate_label)
@pytest.mark.parametrize("name", rr.CLEAN)
def test_spikes_match_ipfx(name, rate, written, stimulus_table, feature_config):
    ref = GOLDEN["cells"][name][rr.rate_label(rate)]
    result, captured, _ = fidelity.run_ours(written(name, rate), name, _config(name, feature_config), stimulus_table)
    got = fidelity.compare_cell(ref, result, captured, ref["rate_hz"])
    summary = {k: got[k] for k in ("sweeps", "rejected", "count_equal_pct", "max_count_diff", "matched")}
    assert got["sweeps"] > 0, f"no QC-passed sweep to compare: {summary}"
    assert got["count_equal_pct"] >= 99.0, summary
    assert got["max_count_diff"] <= 1, summary
    assert got["threshold_equal_pct"] is not None and got["threshold_equal_pct"] >= 99.0, got["threshold_equal_pct"]
    assert got["peak_equal_pct"] >= 99.0, got["peak_equal_pct"]


@pytest.mark.parametrize("rate", RATES, ids=rr.rate_label)
@pytest.mark.parametrize("name", rr.CLEAN)
def test_cell_features_match_ipfx(name, rate, written, stimulus_table, feature_config):
    ref = GOLDEN["cells"][name][rr.rate_label(rate)]
    result, _, _ = fidelity.run_ours(written(name, rate), name, _config(name, feature_config), stimulus_table)
    assert result.status == "ok", [f.reason for f in result.failures if f.level == "cell"]
    ours, want = result.features, ref["features"]
    assert ours["rheobase_pa"] == pytest.approx(want["rheobase_pa"], abs=1e-3)
    assert ours["vrest_mv"] == pytest.approx(want["vrest_mv"], abs=0.01)
    assert ours["sag"] == pytest.approx(want["sag"], abs=1e-3)
    assert ours["vm_for_sag_mv"] == pytest.approx(want["vm_for_sag_mv"], abs=0.01)
    assert ours["fi_slope_hz_per_pa"] == pytest.approx(want["fi_fit_slope_hz_per_pa"], rel=1e-4)
    for key in ("input_resistance_mohm", "tau_ms"):
        if want[key] is not None:
            assert ours[key] == pytest.approx(want[key], rel=0.02), key
        else:
            assert not np.isfinite(ours[key]), key  # IPFX has none: no hyperpolarising step in (-100, 0) pA


def test_golden_data_is_what_provenance_says():
    """The stored IPFX values on the test traces match PROVENANCE.md; every clean cell has both rates."""
    traces = GOLDEN["test_traces"]
    assert traces["pair"]["threshold_index"] == [725, 3382] and traces["pair"]["peak_index"] == [812, 3478]
    assert traces["pair"]["width_ms"] == pytest.approx([0.545, 0.585], abs=1e-9)
    assert traces["var_dt"]["threshold_index"] == [73, 183, 314, 463, 616, 770]
    assert GOLDEN["ipfx_version"] == "2.1.2"
    for name in rr.RECORDINGS:
        assert set(GOLDEN["cells"][name]) == {"native", "50k"}
        assert GOLDEN["cells"][name]["native"]["filter_khz"] is None  # 10 kHz >= Nyquist at 20 kHz
        assert GOLDEN["cells"][name]["50k"]["filter_khz"] == 10.0
