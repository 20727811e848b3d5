"""Spike detection on synthetic traces with known spikes, and the golden simulated cells."""

import numpy as np
import pytest

from patchseq_ml.ephys.spikes import detect_spikes

RATE = 50000.0


def _ap_train(times_s, width_ms=0.5, n=int(RATE), noise_mv=0.3, seed=0):
    """-65 mV baseline with action potentials: a fast rise to +30 mV and a slower decay to -55 mV."""
    t = np.arange(n) / RATE
    v = np.full(n, -65.0)
    for t0 in times_s:
        dt = np.clip((t - t0) * 1000.0, -50, 1000)  # ms
        rise = np.where((dt > -0.5) & (dt <= 0), 95 * (1 + dt / 0.5) ** 3, 0)
        fall = np.where(dt > 0, 95 * np.exp(-dt / (width_ms / 1.4)) - 12 * (1 - np.exp(-dt / 0.6)) * np.exp(-dt / 8), 0)
        v = v + rise + fall
    return v + np.random.default_rng(seed).normal(0, noise_mv, n)


PARAMS = dict(filter_khz=10, dv_cutoff_mv_per_ms=20, thresh_frac=0.05, min_height_mv=2, min_peak_mv=-30)


@pytest.mark.parametrize("noise", [0.0, 0.3, 0.6])
def test_detects_every_spike_once_despite_noise(noise):
    times = [0.11, 0.2, 0.25, 0.4, 0.41, 0.7]
    spikes = detect_spikes(_ap_train(times, noise_mv=noise), RATE, 0, int(RATE), PARAMS)
    assert spikes.count == len(times)
    np.testing.assert_allclose(spikes.peak_index / RATE, times, atol=2e-4)


def test_without_filtering_noise_would_double_count():
    """Why the filter is there: an unfiltered dV/dt crosses 20 mV/ms on 0.6 mV noise."""
    v = _ap_train([], noise_mv=3.0)
    dvdt = np.diff(v) * RATE / 1000
    assert (dvdt > 20).sum() > 0
    assert detect_spikes(v, RATE, 0, v.size, PARAMS).count == 0


def test_spike_shape_features_are_physiological():
    spikes = detect_spikes(_ap_train([0.3], width_ms=0.5, noise_mv=0.1), RATE, 0, int(RATE), PARAMS)
    assert spikes.count == 1
    assert 25 < spikes.peak_v[0] < 32
    assert -65 < spikes.threshold_v[0] < -40
    assert 0.2 < spikes.width_ms[0] < 1.2
    assert spikes.upstroke[0] > 100 and spikes.downstroke[0] < -20


def test_window_limits_detection():
    v = _ap_train([0.1, 0.5, 0.9])
    spikes = detect_spikes(v, RATE, int(0.3 * RATE), int(0.7 * RATE), PARAMS)
    assert spikes.count == 1
