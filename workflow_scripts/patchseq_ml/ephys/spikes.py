"""Action-potential detection and per-spike features, following the IPFX definitions.

Detection: 4-pole Bessel low-pass (default 10 kHz, zero-phase) of V for dV/dt only (voltage values such as
threshold, peak and trough are read from the unfiltered trace), then dV/dt (mV/ms) crossing a cutoff
(default 20 mV/ms); a candidate is kept when its peak is > ``min_peak_mv`` and > ``min_height_mv`` above threshold.
Threshold is refined backwards to the first sample where dV/dt is at or below ``thresh_frac`` (5 %) of the mean
maximum upstroke of the window's spikes; the fast trough is where dV/dt recovers after the downstroke (ipfx).
Width is the full width at half the peak-to-trough height (falling back to half of threshold-to-peak when that level
lies below threshold), as ipfx ``spike_features.find_widths``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .filters import lowpass

TROUGH_TERM_FRAC = 0.01  # the fast trough ends the spike where dV/dt recovers to 1 % of the downstroke


@dataclass
class Spikes:
    """Spikes of one window, all arrays of shape (spikes,). Indices are samples into the sweep; V in mV,
    dV/dt in mV/ms, widths in ms."""

    threshold_index: np.ndarray
    peak_index: np.ndarray
    fast_trough_index: np.ndarray
    threshold_v: np.ndarray
    peak_v: np.ndarray
    fast_trough_v: np.ndarray
    width_ms: np.ndarray
    upstroke: np.ndarray
    downstroke: np.ndarray
    threshold_position: np.ndarray  # fractional sample where dV/dt crosses the threshold target (rate-independent)

    @property
    def count(self) -> int:
        return int(self.peak_index.size)


def _crossing_time(x: np.ndarray, level: float, i0: int, i1: int) -> float:
    """Fractional index where x crosses ``level`` between samples i0 and i1 (linear interpolation)."""
    x0, x1 = x[i0], x[i1]
    return i0 + (level - x0) / (x1 - x0) if x1 != x0 else float(i0)


def detect_spikes(v_mv: np.ndarray, rate_hz: float, start: int, end: int, params: dict) -> Spikes:
    """Detect spikes whose threshold lies in samples [start, end) of ``v_mv``.

    ``params``: ``filter_khz``, ``dv_cutoff_mv_per_ms``, ``thresh_frac``, ``min_height_mv``, ``min_peak_mv``.
    """
    pad = int(0.005 * rate_hz)
    lo, hi = max(start - pad, 0), min(end + 4 * pad, v_mv.size)
    v = np.asarray(v_mv[lo:hi], dtype=float)  # voltages are read from the raw trace, as ipfx does
    if v.size < 3 or not np.nanmax(v[start - lo : end - lo]) >= params["min_peak_mv"]:
        return _no_spikes()  # no sample reaches the minimum peak: nothing to filter
    dvdt = np.diff(lowpass(v, rate_hz, params["filter_khz"])) * (rate_hz / 1000.0)  # dV/dt from the filtered one
    above = dvdt >= params["dv_cutoff_mv_per_ms"]
    ups = np.flatnonzero(above[1:] & ~above[:-1]) + 1
    ups = ups[(ups >= start - lo) & (ups < end - lo)]
    keep = []
    bounds = np.append(ups, v.size - 1)
    for k, up in enumerate(ups):
        nxt = bounds[k + 1]
        if nxt - up < 2:
            continue
        peak = up + int(np.argmax(v[up:nxt]))
        keep.append((up, peak, nxt, up + int(np.argmax(dvdt[up:peak])) if peak > up else up))
    # threshold target: a fraction of the mean upstroke of the sweep's spikes (ipfx refine_threshold_indexes)
    real = [dvdt[c[3]] for c in keep if v[c[1]] >= params["min_peak_mv"]]
    floor = params["thresh_frac"] * float(np.mean(real)) if real else np.inf
    stop = min(end - lo, v.size - 1)
    thr_idx, peak_idx, trough_idx, thr_v, peak_v, trough_v, widths, upstrokes, downstrokes = ([] for _ in range(9))
    positions: list[float] = []
    for k, (_, peak, nxt, max_up) in enumerate(keep):
        thr = max_up
        previous_peak = keep[k - 1][1] if k else 0
        while thr > previous_peak and dvdt[thr] > floor:  # back to the first sample at or below the target
            thr -= 1
        if v[peak] < params["min_peak_mv"] or v[peak] - v[thr] < params["min_height_mv"]:
            continue
        down, trough = _fast_trough(dvdt, peak, nxt if k + 1 < len(keep) else max(stop, peak + 2))
        thr_idx.append(thr + lo)
        step = dvdt[thr + 1] - dvdt[thr] if thr + 1 < dvdt.size else 0.0
        frac = float(np.clip((floor - dvdt[thr]) / step, 0.0, 1.0)) if step > 0 else 0.0
        positions.append(thr + lo + 0.5 + frac)  # dV/dt[i] sits half-way between samples i and i + 1
        peak_idx.append(peak + lo)
        trough_idx.append(trough + lo if trough is not None else -1)
        thr_v.append(v[thr])
        peak_v.append(v[peak])
        trough_v.append(v[trough] if trough is not None else np.nan)
        upstrokes.append(dvdt[max_up])
        downstrokes.append(dvdt[down] if down is not None else np.nan)
        widths.append(_width(v, thr, peak, trough) * 1000.0 / rate_hz if trough is not None else np.nan)
    as_int = lambda x: np.asarray(x, dtype=np.int64)  # noqa: E731
    return Spikes(
        as_int(thr_idx),
        as_int(peak_idx),
        as_int(trough_idx),
        np.asarray(thr_v),
        np.asarray(peak_v),
        np.asarray(trough_v),
        np.asarray(widths),
        np.asarray(upstrokes),
        np.asarray(downstrokes),
        np.asarray(positions),
    )


def _no_spikes() -> Spikes:
    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    return Spikes(empty_i, empty_i, empty_i, *(empty_f for _ in range(7)))


def _fast_trough(dvdt: np.ndarray, peak: int, stop: int) -> tuple[int | None, int | None]:
    """(downstroke, fast trough) sample indices after a peak: the steepest fall of dV/dt before ``stop``, then the first
    sample where dV/dt is back above ``TROUGH_TERM_FRAC`` of it, the end of the spike (ipfx analyze_trough_details).
    (None, None) when the spike does not end before ``stop`` (clipped)."""
    if stop - peak < 2:
        return None, None
    down = peak + int(np.argmin(dvdt[peak:stop]))
    ended = np.flatnonzero(dvdt[down:stop] >= TROUGH_TERM_FRAC * dvdt[down])
    return (down, down + int(ended[0])) if ended.size else (down, None)


def _width(v: np.ndarray, thr: int, peak: int, trough: int) -> float:
    """Full width (samples) at half of the peak-to-trough height (threshold-to-peak when that level is below
    threshold)."""
    level = (v[peak] + v[trough]) / 2.0
    if level < v[thr]:
        level = (v[peak] + v[thr]) / 2.0
    rise = np.flatnonzero(v[thr : peak + 1] >= level)
    fall_end = max(trough, peak + 1)
    fall = np.flatnonzero(v[peak : fall_end + 1] <= level)
    if rise.size == 0 or fall.size == 0:
        return np.nan
    i_up = thr + int(rise[0])
    i_down = peak + int(fall[0])
    t_up = _crossing_time(v, level, i_up - 1, i_up) if i_up > 0 else float(i_up)
    t_down = _crossing_time(v, level, i_down - 1, i_down)
    return t_down - t_up
