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


def _from_slopes(pieces, v0=-65.0, lead_ms=100.0, tail_ms=100.0, noise_mv=0.05, seed=1):
    """A trace built from (duration ms, dV/dt mV/ms) pieces after ``lead_ms`` of flat baseline, plus ``tail_ms``
    flat; returns (v, index where the pieces start)."""
    dt_ms = 1000.0 / RATE
    slopes = [np.zeros(int(lead_ms / dt_ms))]
    slopes += [np.full(int(round(ms / dt_ms)), slope) for ms, slope in pieces]
    slopes.append(np.zeros(int(tail_ms / dt_ms)))
    dvdt = np.concatenate(slopes)
    v = v0 + np.concatenate([[0.0], np.cumsum(dvdt[:-1]) * dt_ms])
    return v + np.random.default_rng(seed).normal(0, noise_mv, v.size), int(lead_ms / dt_ms)


def test_a_shoulder_on_the_rise_is_one_spike():
    """dV/dt falls below the cutoff but never below zero between two upstrokes: one action potential."""
    pieces = [(2.0, 2.0), (0.4, 80.0), (0.4, 8.0), (0.3, 100.0), (1.5, -40.0), (10.0, -0.6)]
    v, start = _from_slopes(pieces)
    assert v[start + int(2.8 * RATE / 1000)] > -30  # the shoulder's top clears min_peak: a naive detector counts 2
    spikes = detect_spikes(v, RATE, 0, v.size, PARAMS)
    assert spikes.count == 1
    assert spikes.peak_v[0] == pytest.approx(v.max())
    assert abs(spikes.threshold_index[0] - (start + int(2.0 * RATE / 1000))) < 0.3 * RATE / 1000


def test_a_slow_depolarisation_with_a_late_peak_is_not_a_spike():
    """One fast jump, then a slow 30 ms rise to -11 mV: the peak lies > 5 ms after the threshold and no peak
    within 5 ms of it exists, so IPFX drops the pair."""
    v, _ = _from_slopes([(0.3, 60.0), (30.0, 1.2), (30.0, -1.2)])
    assert v.max() > -30
    assert detect_spikes(v, RATE, 0, v.size, PARAMS).count == 0


def test_a_late_higher_plateau_moves_the_peak_back_to_the_spike():
    """A spike to ~+20 mV, then a slow climb to a higher plateau 30 ms later: the peak is re-anchored to the spike
    (found again within 10 ms of the threshold)."""
    pieces = [(2.0, 2.0), (0.8, 100.0), (1.5, -40.0), (30.0, 2.1), (20.0, -3.0)]
    v, start = _from_slopes(pieces)
    spike_peak = start + int(2.8 * RATE / 1000)
    assert v.argmax() > spike_peak + int(20 * RATE / 1000)  # the global maximum is the late plateau
    spikes = detect_spikes(v, RATE, 0, v.size, PARAMS)
    assert spikes.count == 1
    assert abs(spikes.peak_index[0] - spike_peak) <= 2


def test_a_threshold_too_far_from_its_peak_is_searched_again_near_the_peak():
    """The re-anchoring rule itself: a threshold 8 ms before its peak moves to the first sample at or below the
    target found going back from the upstroke, within the 5 ms before the peak."""
    from patchseq_ml.ephys.spikes import _reanchor

    t = np.arange(2000) / RATE
    dvdt = np.zeros(2000)
    dvdt[1000:1040] = 3.0  # below the target (5 % of the 200 mV/ms upstroke): the new threshold is its last sample
    dvdt[1040:1060] = 200.0
    v = np.cumsum(dvdt) / (RATE / 1000)
    thr, peaks, ups = np.array([600]), np.array([1060]), np.array([1050])
    new_thr, new_peaks, _ = _reanchor(v, t, dvdt, thr, peaks, ups, 0.05)
    assert new_thr.tolist() == [1039] and new_peaks.tolist() == [1060]


def test_a_filter_at_or_above_nyquist_is_refused():
    from patchseq_ml.ephys.spikes import FilterError, dvdt_mv_per_ms, filter_applicable

    t = np.arange(1000) / 20000.0
    assert not filter_applicable(20000.0, 10) and filter_applicable(50000.0, 10)
    with pytest.raises(FilterError, match="above 20 kHz"):
        dvdt_mv_per_ms(np.zeros(1000), t, 10)
    assert dvdt_mv_per_ms(np.arange(1000.0), t, None) == pytest.approx(np.full(999, 20.0))


def test_variable_sampling_uses_the_time_base():
    """The same spike sampled unevenly (every other sample dropped in the first half) is found at the same time."""
    v = _ap_train([0.3, 0.7], noise_mv=0.0)
    t = np.arange(v.size) / RATE
    keep = np.ones(v.size, dtype=bool)
    keep[1 : v.size // 2 : 2] = False
    params = dict(PARAMS, filter_khz=None)
    spikes = detect_spikes(v[keep], np.nan, 0, int(keep.sum()), params, t_s=t[keep])
    assert spikes.count == 2
    np.testing.assert_allclose(t[keep][spikes.peak_index], [0.3, 0.7], atol=1e-4)
