"""Membrane time constant of a cell, as IPFX's long-square analysis defines it.

Per hyperpolarising step without spikes (amplitude strictly between ``low_pa`` and 0): the response's raw minimum
is capped at the median minimum time over those steps; if the deflection is at least ``MIN_SNR`` times the SD of
the 100 ms baseline, ``y0 + A exp(-t / tau)`` is fitted to the raw trace from where it first reaches ``FRACTION`` of
that deflection to the capped minimum; a fit with an RMS error above ``MAX_RMSE_MV`` is dropped. The cell's tau
is the mean over steps (ms). The fit runs on ~10 kHz block means of the trace (tau >= 0.5 ms).
"""

from __future__ import annotations

import numpy as np

from .filters import fit_exponential
from .sweep_features import SweepFeatures

FRACTION = 0.1
MIN_SNR = 20.0
MAX_RMSE_MV = 1.0
BASELINE_S = 0.1
FIT_RATE_HZ = 10000.0
TAU_BOUNDS_MS = (0.5, 500.0)


def _window(s: SweepFeatures) -> tuple[np.ndarray, int, int, float]:
    """(trace mV, onset, offset, rate Hz) of a step."""
    rate = s.sweep.rate_hz
    return s.sweep.response_mv, s.epoch_onset, int(round(s.window_s[1] * rate)), rate


def cell_tau_ms(long_squares: list[SweepFeatures], low_pa: float) -> float:
    """Mean membrane time constant (ms) over the eligible steps; NaN when none gives a fit."""
    steps = [s for s in long_squares if low_pa < s.amplitude_pa < 0 and s.spikes.count == 0]
    if not steps:
        return np.nan
    minima = []
    for s in steps:
        v, onset, offset, rate = _window(s)
        minima.append((onset + int(np.argmin(v[onset:offset])), (int(np.argmin(v[onset:offset]))) / rate))
    cap_s = float(np.median([m[1] for m in minima]))
    taus = [_step_tau(s, peak, cap_s) for s, (peak, _) in zip(steps, minima)]
    taus = [t for t in taus if np.isfinite(t)]
    return float(np.mean(taus)) if taus else np.nan


def _step_tau(s: SweepFeatures, peak: int, cap_s: float) -> float:
    v, onset, _, rate = _window(s)
    peak = min(peak, onset + int(cap_s * rate))
    n_base = int(BASELINE_S * rate)
    baseline = v[onset - n_base : onset]
    base, noise = float(np.mean(baseline)), float(np.std(baseline))
    deflection = float(v[peak]) - base
    if noise > 0 and abs(deflection) / noise < MIN_SNR:
        return np.nan
    reached = np.flatnonzero(v[onset:peak] <= base + FRACTION * deflection)
    if reached.size == 0:
        return np.nan
    start = onset + int(reached[0])
    step = max(int(rate // FIT_RATE_HZ), 1)
    n = (peak - start) // step
    if n < 8:
        return np.nan
    y = v[start : start + n * step].astype(float).reshape(n, step).mean(axis=1)
    t = np.arange(n) * step * 1000.0 / rate
    y0, amp, tau = fit_exponential(t, y, TAU_BOUNDS_MS)
    rmse = float(np.sqrt(np.mean((y0 + amp * np.exp(-t / tau) - y) ** 2)))
    return tau if rmse <= MAX_RMSE_MV else np.nan
