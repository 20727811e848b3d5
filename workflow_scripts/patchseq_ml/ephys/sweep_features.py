"""Features of one QC-passed sweep: spike train, first action potential and subthreshold response.

Units: times in ms (latency, ISI), rates in Hz, voltages in mV, dV/dt in mV/ms, currents in pA.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..acquire.nwb_reader import Sweep
from .filters import fit_exponential, lowpass
from .spikes import Spikes, detect_spikes
from .sweep_qc import SweepQC

STEADY_STATE_WINDOW_S = 0.1
TAU_MIN_MS, TAU_MAX_MS = 0.5, 500.0  # fit bounds of the membrane time constant


@dataclass
class SweepFeatures:
    """What the cell-level features need from one sweep."""

    sweep_number: int
    stimulus_type: str
    amplitude_pa: float
    spikes: Spikes
    values: dict[str, float] = field(default_factory=dict)
    spike_times_s: list[float] = field(default_factory=list)  # peak times from the start of the sweep
    window_s: tuple[float, float] = (np.nan, np.nan)  # [start, end) searched for spikes, s from sweep start


def adaptation_index(isi_ms: np.ndarray) -> float:
    """Mean normalised difference of consecutive ISIs, (isi[k+1] - isi[k]) / (isi[k+1] + isi[k]) (ipfx 'adapt')."""
    if isi_ms.size < 2:
        return np.nan
    return float(np.mean(np.diff(isi_ms) / (isi_ms[1:] + isi_ms[:-1])))


def sweep_features(sweep: Sweep, qc: SweepQC, spike_params: dict) -> SweepFeatures:
    """Spike-train, first-AP and subthreshold features of a QC-passed sweep."""
    epoch = qc.epoch
    rate = sweep.rate_hz
    v = sweep.response_mv
    # a 3 ms pulse's spike starts after the pulse: short squares are searched for a while after their offset
    extra = spike_params["short_square_window_ms"] if sweep.stimulus_type == "short_square" else 0.0
    end = min(epoch.offset + int(extra * rate / 1000.0), v.size)
    spikes = detect_spikes(v, rate, epoch.onset, end, spike_params)
    duration_s = (epoch.offset - epoch.onset) / rate
    values: dict[str, float] = {
        "baseline_v": qc.baseline_mv,
        "n_spikes": float(spikes.count),
        "rate_hz": spikes.count / duration_s if duration_s > 0 else np.nan,
    }
    if spikes.count:
        thr_times_ms = (spikes.threshold_index - epoch.onset) * 1000.0 / rate
        isi = np.diff(thr_times_ms)
        values.update(
            latency_ms=float(thr_times_ms[0]),
            isi_mean_ms=float(isi.mean()) if isi.size else np.nan,
            isi_cv=float(isi.std() / isi.mean()) if isi.size > 1 else np.nan,
            adaptation=adaptation_index(isi),
            threshold_v=float(spikes.threshold_v[0]),
            peak_v=float(spikes.peak_v[0]),
            fast_trough_v=float(spikes.fast_trough_v[0]),
            width_ms=float(spikes.width_ms[0]),
            upstroke=float(spikes.upstroke[0]),
            downstroke=float(spikes.downstroke[0]),
            upstroke_downstroke_ratio=float(spikes.upstroke[0] / abs(spikes.downstroke[0])),
            threshold_current_pa=float(sweep.stimulus_pa[spikes.threshold_index[0]]),
        )
    elif sweep.stimulus_type == "long_square":
        values.update(_subthreshold(v, rate, qc))
    times = (spikes.peak_index / rate).tolist()
    window = (epoch.onset / rate, end / rate)
    return SweepFeatures(sweep.sweep_number, sweep.stimulus_type, epoch.amplitude_pa, spikes, values, times, window)


def _subthreshold(v_mv: np.ndarray, rate: float, qc: SweepQC) -> dict[str, float]:
    """Deflections (mV), sag (fraction) and membrane time constant (ms) of a step without spikes."""
    epoch = qc.epoch
    base = qc.baseline_mv
    window = lowpass(v_mv[epoch.onset : epoch.offset], rate, 1.0)  # 1 kHz: subthreshold shape only
    n_ss = int(STEADY_STATE_WINDOW_S * rate)
    steady = float(np.mean(window[-n_ss:]))
    hyper = epoch.amplitude_pa < 0
    peak_i = int(np.argmin(window) if hyper else np.argmax(window))
    peak = float(window[peak_i])
    sag = (peak - steady) / (peak - base) if hyper and peak != base else np.nan
    return {
        "steady_state_v": steady,
        "deflection_ss_mv": steady - base,
        "deflection_peak_mv": peak - base,
        "sag": float(sag),
        "tau_ms": _membrane_tau(window, peak_i, base, rate) if hyper else np.nan,
    }


def _membrane_tau(window: np.ndarray, peak_i: int, base: float, rate: float) -> float:
    """Time constant (ms) of y0 + A exp(-t / tau) fitted from where the response first reaches 10 % of the peak
    deflection to the peak deflection (the ipfx ``time_constant`` window), on the 1 kHz-filtered step response."""
    step = max(int(rate // 10000), 1)  # the filtered trace is decimated to 10 kHz for the fit
    first = np.flatnonzero(window[: peak_i + 1] <= base + 0.1 * (window[peak_i] - base))
    if first.size == 0:
        return np.nan
    seg = window[first[0] : peak_i + 1 : step]
    if seg.size < 8:
        return np.nan
    t = np.arange(seg.size) * step * 1000.0 / rate
    _, _, tau = fit_exponential(t, seg, (TAU_MIN_MS, TAU_MAX_MS))
    return tau
