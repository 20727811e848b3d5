"""Input resistance, tau and sag from the sweep sets IPFX uses, on RC responses with known resistance and tau."""

import numpy as np
import pytest
from conftest import SWEEP_QC

from patchseq_ml.acquire.nwb_reader import Sweep
from patchseq_ml.ephys.cell_features import subthreshold_features
from patchseq_ml.ephys.sweep_features import sweep_features
from patchseq_ml.ephys.sweep_qc import check_sweep

RATE = 50000.0
QC = SWEEP_QC
SPIKES = dict(
    filter_khz=10,
    dv_cutoff_mv_per_ms=20,
    thresh_frac=0.05,
    min_height_mv=2,
    min_peak_mv=-30,
    short_square_window_ms=20,
    short_square_thresh_frac=0.1,
)
CONFIG = {"subthreshold_range_pa": [-100, 0], "sag_target_mv": -100}


def _rc_step(amplitude_pa, r_mohm, tau_ms, rest_mv=-70.0, number=0):
    """A passive RC response to a 1 s step from 0.5 s (V = rest + R I (1 - exp(-t / tau)))."""
    n = int(2.0 * RATE)
    t = np.arange(n) / RATE
    on, off = int(0.5 * RATE), int(1.5 * RATE)
    stim = np.zeros(n)
    stim[on:off] = amplitude_pa
    v = np.full(n, rest_mv)
    rise = 1 - np.exp(-(t[on:off] - t[on]) * 1000.0 / tau_ms)
    v[on:off] += r_mohm * amplitude_pa / 1000.0 * rise
    v[off:] += r_mohm * amplitude_pa / 1000.0 * rise[-1] * np.exp(-(t[off:] - t[off]) * 1000.0 / tau_ms)
    v += 0.01 * np.random.default_rng(number).standard_normal(n)
    sweep = Sweep(number, "X1PS_SubThresh", "long_square", RATE, v, stim, "current_clamp")
    return sweep_features(sweep, check_sweep(sweep, QC), SPIKES)


def test_input_resistance_and_tau_use_the_open_interval_minus100_to_0():
    """Steps at -110 and -100 pA (a different resistance: they must be left out), -90/-50/-10 pA (200 MOhm)."""
    steps = [_rc_step(a, 120.0, 30.0, number=k) for k, a in enumerate([-110.0, -100.0])]
    steps += [_rc_step(a, 200.0, 20.0, number=k + 2) for k, a in enumerate([-90.0, -50.0, -10.0])]
    out = subthreshold_features(steps, CONFIG)
    assert out["input_resistance_mohm"] == pytest.approx(200.0, rel=0.005)
    assert out["tau_ms"] == pytest.approx(20.0, rel=0.01)
    assert out["sag_amplitude_pa"] == -90.0  # sag: the spike-free step whose minimum is nearest -100 mV (-88 mV)


def test_a_single_step_is_fitted_through_the_baseline():
    out = subthreshold_features([_rc_step(-50.0, 300.0, 15.0)], CONFIG)
    assert out["input_resistance_mohm"] == pytest.approx(300.0, rel=0.005)


def test_no_step_inside_the_interval_gives_nan_not_a_guess():
    out = subthreshold_features([_rc_step(-100.0, 200.0, 20.0), _rc_step(-150.0, 200.0, 20.0)], CONFIG)
    assert np.isnan(out["input_resistance_mohm"]) and np.isnan(out["tau_ms"])
    assert out["sag_amplitude_pa"] == -150.0
