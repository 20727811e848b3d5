"""Action-potential detection and per-spike features, as IPFX 2.1 defines them (``ipfx.spike_detector``).

The steps, in IPFX's order (indices are samples; dV/dt[k] is the slope between samples k and k + 1, in mV/ms):

1. dV/dt of the 4-pole Bessel low-passed trace (``filter_khz``, zero-phase; unfiltered when ``filter_khz`` is
   None/0 or the sampling is not uniform). Voltages (threshold, peak, trough) are read from the raw trace.
2. Candidates: the last sample before each upward crossing of ``dv_cutoff_mv_per_ms`` in [start, end); a candidate
   is kept only if dV/dt went below zero since the previous candidate (a notch on the rise is no new spike).
3. Peaks: the maximum of V from each candidate to the next (the last one: to ``end``). A candidate whose dV/dt never
   falls below zero between its peak and the next candidate is merged with it (one broad or notched AP). Then the
   peak must reach ``min_peak_mv`` and rise ``min_height_mv`` above the candidate.
4. Thresholds: back from each upstroke (max dV/dt between candidate and peak) to the first sample at or below
   ``thresh_frac`` x the mean upstroke of the window's spikes (no further back than the previous upstroke).
5. Checks: a threshold at or before the previous peak + 1 sample merges the two spikes; a threshold more than
   ``MAX_THRESHOLD_TO_PEAK_S`` (5 ms) before its peak is re-anchored (threshold searched again within the 5 ms
   before the peak; else the peak searched again within 10 ms after the threshold; else the spike is dropped).
   The last spike is clipped when V never returns to its threshold + 1 mV before ``end``.
6. Per spike: upstroke (max dV/dt threshold -> peak), trough (min V to the next threshold), downstroke (min dV/dt
   peak -> trough), fast trough (from the steepest fall of dV/dt before the next threshold, the first sample where
   dV/dt recovers to 1 % of it; none: clipped), width at half the peak-to-fast-trough height (half of
   threshold-to-peak when that level lies below threshold), crossings searched back and forth from the peak.

Where this differs from IPFX: widths use crossings interpolated between samples (``width_crossings:
interpolated``; IPFX's whole-sample crossings with ``sample``), so they do not depend on the sampling rate;
samples with a repeated timestamp are dropped before detection (IPFX drops their dV/dt, which shifts its indices the
same way).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .filters import lowpass

TROUGH_TERM_FRAC = 0.01  # the fast trough ends the spike where dV/dt recovers to 1 % of the downstroke
MAX_THRESHOLD_TO_PEAK_S = 0.005  # IPFX max_interval: a longer threshold-to-peak interval is re-anchored
CLIP_TOLERANCE_MV = 1.0  # the last spike is clipped unless V returns to within this of its threshold
PAD_S = 0.02  # trace filtered this far beyond the window (the filter's edge effects decay within ~0.5 ms)


class FilterError(ValueError):
    """The dV/dt filter cannot be applied at a sweep's sampling rate (cutoff at or above the Nyquist frequency)."""


@dataclass
class Spikes:
    """Spikes of one window, all arrays of shape (spikes,). Indices are samples into the sweep; V in mV,
    dV/dt in mV/ms, widths in ms. ``fast_trough_index`` is -1 (and its voltage, width, downstroke NaN) for a
    clipped spike."""

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


def filter_applicable(rate_hz: float, filter_khz: float | None) -> bool:
    """Whether a ``filter_khz`` low-pass can be applied at ``rate_hz`` (cutoff strictly below Nyquist)."""
    return bool(filter_khz) and filter_khz * 1000.0 < rate_hz / 2.0


def dvdt_mv_per_ms(v_mv: np.ndarray, t_s: np.ndarray, filter_khz: float | None) -> np.ndarray:
    """dV/dt (mV/ms) between consecutive samples, of the low-passed trace when ``filter_khz`` is set.

    Raises `FilterError` when the cutoff is not below the Nyquist frequency of a uniformly sampled trace."""
    dt = np.diff(t_s)
    uniform = dt.size > 0 and np.allclose(dt, dt[0])
    if filter_khz and uniform:
        rate = 1.0 / dt[0]
        if not filter_applicable(rate, filter_khz):
            raise FilterError(f"a {filter_khz:g} kHz filter needs a sampling rate above {2 * filter_khz:g} kHz")
        v_mv = lowpass(v_mv, rate, filter_khz)
    return np.diff(v_mv) / (dt * 1000.0)


def detect_spikes(
    v_mv: np.ndarray, rate_hz: float, start: int, end: int, params: dict, t_s: np.ndarray | None = None
) -> Spikes:
    """Spikes with threshold candidates in samples [start, end) of ``v_mv``; peaks and troughs end at ``end``.

    ``params``: ``filter_khz`` (None: unfiltered), ``dv_cutoff_mv_per_ms``, ``thresh_frac``, ``min_height_mv``,
    ``min_peak_mv``, optional ``width_crossings`` (interpolated | sample). ``t_s``: the sample times (s) of a
    sweep without a fixed rate (then ``rate_hz`` is ignored and the whole trace is analysed; duplicate timestamps
    must have been removed, see `unique_times`).
    """
    n = v_mv.size
    end = min(end, n - 1)
    if end - start < 3 or not np.nanmax(v_mv[start:end]) >= params["min_peak_mv"]:
        return _no_spikes()  # no sample reaches the minimum peak: nothing to detect
    if t_s is None:
        pad = int(PAD_S * rate_hz)
        lo, hi = max(start - pad, 0), min(end + pad, n)
        t = np.arange(lo, hi) / rate_hz
    else:
        lo, hi, t = 0, n, np.asarray(t_s, dtype=float)
    v = np.asarray(v_mv[lo:hi], dtype=float)
    dvdt = dvdt_mv_per_ms(v, t, params["filter_khz"])
    found = _find(v, t, dvdt, start - lo, end - lo, params)
    if found is None:
        return _no_spikes()
    return _features(v, t, dvdt, *found, end - lo, params, offset=lo)


def unique_times(t_s: np.ndarray, v_mv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop samples whose timestamp repeats the previous one (IPFX drops their zero-interval dV/dt)."""
    keep = np.concatenate([[True], np.abs(np.diff(t_s)) > np.finfo(float).eps])
    return t_s[keep], v_mv[keep]


def _find(
    v: np.ndarray, t: np.ndarray, dvdt: np.ndarray, start: int, end: int, params: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(threshold, peak, upstroke, clipped) index arrays after IPFX's candidate filtering; None without spikes."""
    above = dvdt[start:end] >= params["dv_cutoff_mv_per_ms"]
    cand = np.flatnonzero(~above[:-1] & above[1:]) + start
    if cand.size > 1:  # a new candidate only once dV/dt has gone below zero since the previous one
        negative = np.concatenate([[0], np.cumsum(dvdt < 0)])  # negative[k] = negative slopes in dvdt[:k]
        dropped = negative[cand[1:]] - negative[cand[:-1]] > 0
        cand = cand[np.concatenate([[True], dropped])]
    if cand.size == 0:
        return None
    peaks = np.array([a + int(np.argmax(v[a:b])) for a, b in zip(cand, np.append(cand[1:], end))])
    # merge a spike into the next when dV/dt never goes below zero between its peak and the next candidate
    negative = np.concatenate([[0], np.cumsum(dvdt < 0)])
    falls = negative[cand[1:]] - negative[np.minimum(peaks[:-1], cand[1:])] > 0
    peaks = peaks[np.append(falls, True)]
    cand = cand[np.concatenate([[True], falls])]
    keep = (v[peaks] >= params["min_peak_mv"]) & (v[peaks] - v[cand] >= params["min_height_mv"])
    cand, peaks = cand[keep], peaks[keep]
    if cand.size == 0:
        return None
    ups = np.array([a + int(np.argmax(dvdt[a:b])) if b > a else a for a, b in zip(cand, peaks)])
    target = params["thresh_frac"] * float(np.mean(dvdt[ups]))
    thr = np.array([_back_to(dvdt, u, p, target) for u, p in zip(ups, np.concatenate([[0], ups[:-1]]))])
    overlap = np.flatnonzero(thr[1:] <= peaks[:-1] + 1)  # a threshold inside the previous spike: one spike
    if overlap.size:
        thr, peaks, ups = np.delete(thr, overlap + 1), np.delete(peaks, overlap), np.delete(ups, overlap)
    thr, peaks, ups = _reanchor(v, t, dvdt, thr, peaks, ups, params["thresh_frac"])
    if thr.size == 0:
        return None
    clipped = np.zeros(thr.size, dtype=bool)
    clipped[-1] = not np.any(v[peaks[-1] : end + 1] <= v[thr[-1]] + CLIP_TOLERANCE_MV)
    return thr, peaks, ups, clipped


def _back_to(dvdt: np.ndarray, upstroke: int, stop: int, target: float) -> int:
    """The first sample back from ``upstroke`` (down to, not including, ``stop``) whose dV/dt is at or below
    ``target``; ``stop`` when there is none."""
    below = np.flatnonzero(dvdt[upstroke:stop:-1] <= target) if upstroke > stop else np.zeros(0, dtype=int)
    return upstroke - int(below[0]) if below.size else stop


def _time_index(t: np.ndarray, time_s: float) -> int:
    """The sample nearest ``time_s`` (the earlier one on a tie, as IPFX's find_time_index), within the trace."""
    i = int(np.clip(np.searchsorted(t, time_s), 1, t.size - 1))
    return i - 1 if abs(t[i - 1] - time_s) <= abs(t[i] - time_s) else i


def _reanchor(
    v: np.ndarray, t: np.ndarray, dvdt: np.ndarray, thr: np.ndarray, peaks: np.ndarray, ups: np.ndarray, frac: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Threshold-peak pairs more than 5 ms apart: threshold searched again in the 5 ms before the peak, else the
    peak in the 10 ms after the threshold (kept if within 5 ms and before the next spike), else the pair dropped."""
    long = np.flatnonzero(t[peaks] - t[thr] >= MAX_THRESHOLD_TO_PEAK_S)
    if long.size == 0:
        return thr, peaks, ups
    thr, peaks = thr.copy(), peaks.copy()
    target = frac * float(np.mean(dvdt[ups]))
    drop = []
    for i in long:
        stop = _time_index(t, t[peaks[i]] - MAX_THRESHOLD_TO_PEAK_S)
        below = np.flatnonzero(dvdt[ups[i] : stop : -1] <= target) if ups[i] > stop else np.zeros(0, dtype=int)
        if below.size:
            thr[i] = ups[i] - int(below[0])
            continue
        until = _time_index(t, t[thr[i]] + 2 * MAX_THRESHOLD_TO_PEAK_S)
        new_peak = thr[i] + int(np.argmax(v[thr[i] : until])) if until > thr[i] else thr[i]
        last = i == thr.size - 1
        if t[new_peak] - t[thr[i]] < MAX_THRESHOLD_TO_PEAK_S and (last or t[new_peak] < t[thr[i + 1]]):
            peaks[i] = new_peak
        else:
            drop.append(i)
    return np.delete(thr, drop), np.delete(peaks, drop), np.delete(ups, drop)


def _features(
    v: np.ndarray,
    t: np.ndarray,
    dvdt: np.ndarray,
    thr: np.ndarray,
    peaks: np.ndarray,
    _ups: np.ndarray,
    clipped: np.ndarray,
    end: int,
    params: dict,
    offset: int,
) -> Spikes:
    """Per-spike features of detected (threshold, peak) pairs; indices returned relative to the sweep."""
    ups = np.array([a + int(np.argmax(dvdt[a:b])) if b > a else a for a, b in zip(thr, peaks)])
    nxt = np.append(thr[1:], end)
    troughs = [p + int(np.argmin(v[p:b])) if b > p else p for p, b in zip(peaks, nxt)]
    target = params["thresh_frac"] * float(np.mean(dvdt[ups]))
    n = thr.size
    fast = np.full(n, -1, dtype=np.int64)
    width, down = np.full(n, np.nan), np.full(n, np.nan)
    valid = np.flatnonzero(~clipped)
    valid_next = np.append(thr[valid][1:], end)
    for i, stop in zip(valid, valid_next):
        if troughs[i] > peaks[i]:
            down[i] = dvdt[peaks[i] + int(np.argmin(dvdt[peaks[i] : troughs[i]]))]
        steepest = peaks[i] + int(np.argmin(dvdt[peaks[i] : stop])) if stop > peaks[i] else peaks[i]
        ended = np.flatnonzero(dvdt[steepest:stop] >= TROUGH_TERM_FRAC * dvdt[steepest])
        if ended.size:
            fast[i] = steepest + int(ended[0])
            width[i] = _width(v, t, thr[i], peaks[i], fast[i], params.get("width_crossings", "interpolated"))
    has_fast = fast >= 0
    fast_v = np.where(has_fast, v[np.where(has_fast, fast, 0)], np.nan)
    positions = [_threshold_position(dvdt, k, target) for k in thr]
    return Spikes(
        thr + offset,
        peaks + offset,
        np.where(has_fast, fast + offset, -1),
        v[thr],
        v[peaks],
        fast_v,
        width,
        dvdt[ups],
        down,
        np.asarray(positions) + offset,
    )


def _threshold_position(dvdt: np.ndarray, k: int, target: float) -> float:
    """Fractional sample where dV/dt crosses ``target`` after sample ``k`` (dV/dt[k] sits half-way between
    samples k and k + 1)."""
    step = dvdt[k + 1] - dvdt[k] if k + 1 < dvdt.size else 0.0
    frac = float(np.clip((target - dvdt[k]) / step, 0.0, 1.0)) if step > 0 else 0.0
    return k + 0.5 + frac


def _no_spikes() -> Spikes:
    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    return Spikes(empty_i, empty_i, empty_i, *(empty_f for _ in range(7)))


def _width(v: np.ndarray, t: np.ndarray, thr: int, peak: int, trough: int, crossings: str) -> float:
    """Full width (ms) at half of the peak-to-fast-trough height (half of threshold-to-peak when that level lies
    below threshold): crossings searched back from the peak to the threshold and on from the peak to the trough
    (neither end included); ``interpolated`` places them between samples, ``sample`` takes IPFX's samples."""
    level = (v[peak] + v[trough]) / 2.0
    if level < v[thr]:
        level = (v[peak] + v[thr]) / 2.0
    back = np.flatnonzero(v[peak:thr:-1] <= level)
    ahead = np.flatnonzero(v[peak:trough] <= level)
    if back.size == 0 or ahead.size == 0:
        return np.nan
    i_up, i_down = peak - int(back[0]), peak + int(ahead[0])
    if crossings == "sample":
        return float(t[i_down] - t[i_up]) * 1000.0
    t_up = _crossing(t, v, level, i_up, i_up + 1)
    t_down = _crossing(t, v, level, i_down - 1, i_down)
    return float(t_down - t_up) * 1000.0


def _crossing(t: np.ndarray, v: np.ndarray, level: float, i0: int, i1: int) -> float:
    """Time (s) where V crosses ``level`` between samples i0 and i1 (linear interpolation)."""
    v0, v1 = v[i0], v[i1]
    return float(t[i0] + (level - v0) / (v1 - v0) * (t[i1] - t[i0])) if v1 != v0 else float(t[i0])
