"""Membrane time constant of a cell, as IPFX's long-square analysis defines it (``subthresh_features.time_constant``).

Per eligible step (spike-free, in the cell's subthreshold range; chosen by ``cell_features.subthreshold_features``):
the response's raw minimum is capped at the median minimum time over those steps; if the deflection from the 100 ms
baseline is at least ``MIN_SNR`` times that baseline's SD, ``y0 + A exp(-t / tau)`` is fitted (least squares) to the
raw samples from the first one at or beyond ``FRACTION`` of the deflection up to (not including) the capped minimum;
a fit with an RMS error above ``MAX_RMSE_MV`` is dropped. The cell's tau is the mean over steps (ms).
"""

from __future__ import annotations

import numpy as np

from .filters import fit_exponential
from .sweep_features import SweepFeatures

FRACTION = 0.1
MIN_SNR = 20.0
MAX_RMSE_MV = 1.0
BASELINE_S = 0.1
MIN_FIT_SAMPLES = 8
TAU_BOUNDS_MS = (0.1, 1000.0)


def cell_tau_ms(steps: list[SweepFeatures]) -> float:
    """Mean membrane time constant (ms) over ``steps``; NaN when none gives a fit."""
    if not steps:
        return np.nan
    cap_s = float(np.median([(s.values["min_index"] - s.epoch_onset) / s.sweep.rate_hz for s in steps]))
    taus = [_step_tau(s, cap_s) for s in steps]
    taus = [t for t in taus if np.isfinite(t)]
    return float(np.mean(taus)) if taus else np.nan


def _step_tau(s: SweepFeatures, cap_s: float) -> float:
    v, onset, rate = s.sweep.response_mv, s.epoch_onset, s.sweep.rate_hz
    peak = min(int(s.values["min_index"]), onset + int(round(cap_s * rate)))
    baseline = v[onset - int(round(BASELINE_S * rate)) : onset]
    base, noise = float(np.mean(baseline)), float(np.std(baseline))
    deflection = float(v[peak]) - base
    if noise > 0 and abs(deflection) / noise < MIN_SNR:
        return np.nan
    reached = np.flatnonzero(v[onset:] <= base + FRACTION * deflection)
    if reached.size == 0:
        return np.nan
    start = onset + int(reached[0])
    if peak - start < MIN_FIT_SAMPLES:
        return np.nan
    y = v[start:peak].astype(float)
    t = np.arange(y.size) * 1000.0 / rate
    y0, amp, tau = fit_exponential(t, y, TAU_BOUNDS_MS)
    rmse = float(np.sqrt(np.mean((y0 + amp * np.exp(-t / tau) - y) ** 2)))
    return tau if rmse <= MAX_RMSE_MV else np.nan
