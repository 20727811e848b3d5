"""The 12 electrophysiology "feature vector" families of Gouwens et al. (2019, 2020) per cell, from raw sweeps.

Definitions follow IPFX ``feature_vectors`` (formulas, not code); where we differ it is on purpose:

- ``first_ap_v`` (mV) / ``first_ap_dv`` (mV/ms; IPFX: mV per output sample): the first AP from its threshold over
  ``first_ap_window_ms`` at ``target_rate_hz``, averaged over the lowest-amplitude spiking short squares, the
  rheobase long square and the spiking ramps, concatenated [short square | long square | ramp]. Any rate is brought
  to the target rate (block means for integer ratios, linear interpolation otherwise), so 50 and 200 kHz files give
  the same length. IPFX writes zeros for a missing source; here the family is masked with its reason.
- ``isi_shape`` (mV from threshold): mean ISI trajectory, fast trough to next threshold, in ``isi_points`` block
  means, from the lowest-amplitude long square with >= ``isi_min_spikes`` spikes (else the one with most spikes).
- ``inst_freq`` (Hz; ``inst_freq_norm``: / the sweep's maximum), ``psth`` (Hz) and ``spiking_<feature>`` on the
  long squares at rheobase + ``spiking_offsets_pa``, ``spike_bin_ms`` bins over the step; empty bins interpolated
  from their neighbours; a missing target sweep is the mean of its neighbours (IPFX), >= 2 target sweeps needed.
- ``step_subthresh`` (mV) and ``subthresh_norm`` (fraction of the peak deflection): hyperpolarising steps, from
  ``subthresh_extend_s`` before onset to as long after offset, in ``subthresh_bin_ms`` means; a missing target is
  scaled from its neighbouring amplitudes as IPFX does; ``subthresh_norm`` uses the sweep nearest its target,
  within ``amplitude_tolerance_pa`` (IPFX: nearest at any distance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .sweep_features import SweepFeatures

FAMILY_NAMES = (
    "first_ap_v",
    "first_ap_dv",
    "isi_shape",
    "inst_freq",
    "psth",
    "spiking_threshold_v",
    "spiking_peak_v",
    "spiking_width",
    "spiking_fast_trough_v",
    "spiking_upstroke_downstroke_ratio",
    "step_subthresh",
    "subthresh_norm",
)
SPIKE_FEATURES = {  # family -> Spikes attribute
    "spiking_threshold_v": "threshold_v",
    "spiking_peak_v": "peak_v",
    "spiking_width": "width_ms",
    "spiking_fast_trough_v": "fast_trough_v",
}
AP_SOURCES = ("short_square", "long_square", "ramp")


@dataclass
class Families:
    """A cell's family vectors (None where missing) and why each missing one is missing; ``notes`` record
    sweeps filled from neighbours."""

    vectors: dict[str, np.ndarray | None]
    reasons: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def family_names(config: dict) -> list[str]:
    """The 12 families in order; the rate family is ``inst_freq`` or ``inst_freq_norm`` (config ``rate_family``)."""
    return [config["rate_family"] if n == "inst_freq" else n for n in FAMILY_NAMES]


def family_widths(config: dict) -> dict[str, int]:
    """Vector length of each family for a given config (independent of the recording's sampling rate)."""
    ap = int(round(config["first_ap_window_ms"] * config["target_rate_hz"] / 1000.0))
    n_supra = len(config["spiking_offsets_pa"])
    bins = int(round(config["step_duration_s"] * 1000.0 / config["spike_bin_ms"]))
    span_ms = (config["step_duration_s"] + 2 * config["subthresh_extend_s"]) * 1000.0
    sub = int(round(span_ms / config["subthresh_bin_ms"]))
    widths = {"first_ap_v": 3 * ap, "first_ap_dv": 3 * (ap - 1), "isi_shape": config["isi_points"]}
    widths.update({n: n_supra * bins for n in FAMILY_NAMES[3:10]})
    widths.update(step_subthresh=len(config["step_subthresh_targets_pa"]) * sub, subthresh_norm=sub)
    return {config["rate_family"] if n == "inst_freq" else n: widths[n] for n in FAMILY_NAMES}


def resample(x: np.ndarray, rate_hz: float, target_hz: float, n_out: int) -> np.ndarray:
    """``n_out`` samples of ``x`` (sampled at ``rate_hz``) at ``target_hz``: block means when the ratio is an integer,
    linear interpolation otherwise."""
    ratio = rate_hz / target_hz
    if abs(ratio - round(ratio)) < 1e-9 and round(ratio) >= 1:
        k = int(round(ratio))
        return x[: n_out * k].reshape(n_out, k).mean(axis=1)
    t_out = np.arange(n_out) * rate_hz / target_hz
    return np.interp(t_out, np.arange(x.size), x)


def block_means(x: np.ndarray, n_bins: int) -> np.ndarray:
    """``n_bins`` means of equal blocks of ``x`` (the remainder at the end is dropped, as IPFX does)."""
    width = x.size // n_bins
    return x[: width * n_bins].reshape(n_bins, width).mean(axis=1)


def _first_ap(sweeps: list[SweepFeatures], config: dict) -> np.ndarray:
    """Mean first-AP waveform (mV) of the given spiking sweeps at the target rate. ``first_ap_alignment``:
    ``interpolated`` starts at the threshold crossing's fractional sample and reads the trace by linear interpolation
    (independent of the recording rate); ``sample`` starts at the threshold sample and takes block means (IPFX)."""
    target = config["target_rate_hz"]
    n_out = int(round(config["first_ap_window_ms"] * target / 1000.0))
    waves = []
    for s in sweeps:
        rate, v = s.sweep.rate_hz, s.sweep.response_mv
        if config["first_ap_alignment"] == "sample":
            start = int(s.spikes.threshold_index[0])
            n_in = int(np.ceil(n_out * rate / target)) + 1
            waves.append(resample(v[start : start + n_in].astype(float), rate, target, n_out))
        else:
            position = float(s.spikes.threshold_position[0])
            at = position + np.arange(n_out) * rate / target
            lo = int(position)
            waves.append(np.interp(at - lo, np.arange(int(at[-1]) + 2 - lo), v[lo : int(at[-1]) + 2].astype(float)))
    return np.mean(waves, axis=0)


def _ap_sources(by_type: dict[str, list[SweepFeatures]], rheo: SweepFeatures | None) -> dict[str, list]:
    ss = [s for s in by_type["short_square"] if s.spikes.count]
    low = min((s.amplitude_pa for s in ss), default=None)
    return {
        "short_square": [s for s in ss if s.amplitude_pa == low],
        "long_square": [rheo] if rheo is not None else [],
        "ramp": [s for s in by_type["ramp"] if s.spikes.count],
    }


def _binned(times_s: np.ndarray, values: np.ndarray, edges: np.ndarray, statistic: str = "mean") -> np.ndarray:
    """Per-bin sum or mean of ``values`` at ``times_s`` (last edge inclusive); empty bins interpolated from their
    neighbours (all zeros when no value falls in any bin)."""
    n = edges.size - 1
    idx = np.clip(np.searchsorted(edges, times_s, side="right") - 1, 0, n - 1)
    inside = (times_s >= edges[0]) & (times_s <= edges[-1])
    sums = np.bincount(idx[inside], weights=values[inside], minlength=n)
    if statistic == "sum":
        return sums
    counts = np.bincount(idx[inside], minlength=n)
    out = np.full(n, np.nan)
    out[counts > 0] = sums[counts > 0] / counts[counts > 0]
    if not (counts > 0).any():
        return np.zeros(n)
    x = np.arange(n)
    out[counts == 0] = np.interp(x[counts == 0], x[counts > 0], out[counts > 0])
    return out


def _inst_freq_points(thr_s: np.ndarray, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Instantaneous rate (Hz) at the step start, at each spike (mean of the ISIs on either side) and at the step
    end; the first interval is the latency, the last the longer of the last ISI and the time left (IPFX)."""
    if thr_s.size == 0:
        return np.array([start, end]), np.zeros(2)
    isis = np.concatenate([[thr_s[0] - start], np.diff(thr_s)])
    isis = np.append(isis, max(isis[-1], end - thr_s[-1]))
    inv = np.concatenate([[isis[0]], (isis[:-1] + isis[1:]) / 2.0, [isis[-1]]])
    return np.concatenate([[start], thr_s, [end]]), 1.0 / inv


def _supra_vector(name: str, s: SweepFeatures, config: dict) -> np.ndarray:
    """One target sweep's part of a spike-train family (times relative to the step onset, s)."""
    rate = s.sweep.rate_hz
    onset = s.epoch_onset / rate
    duration = config["step_duration_s"]
    n_bins = int(round(duration * 1000.0 / config["spike_bin_ms"]))
    edges = np.linspace(0.0, duration, n_bins + 1)
    thr_s = s.spikes.threshold_index / rate - onset
    in_step = (thr_s >= 0) & (thr_s <= duration)
    if name == "psth":
        return _binned(thr_s[in_step], np.ones(int(in_step.sum())), edges, "sum") / (edges[1] - edges[0])
    if name in ("inst_freq", "inst_freq_norm"):
        times, rates = _inst_freq_points(thr_s[in_step], 0.0, duration)
        out = _binned(times, rates, edges)
        return out / out.max() if name == "inst_freq_norm" and out.max() > 0 else out
    if name == "spiking_upstroke_downstroke_ratio":
        values = s.spikes.upstroke / np.abs(s.spikes.downstroke)
    else:
        values = getattr(s.spikes, SPIKE_FEATURES[name])
    ok = in_step & np.isfinite(values)
    return _binned(thr_s[ok], values[ok], edges)


def _combine(parts: list[np.ndarray | None]) -> np.ndarray:
    """Concatenate target-sweep parts; a missing part is the mean of its nearest present neighbours (IPFX)."""
    present = [i for i, p in enumerate(parts) if p is not None]
    filled = []
    for i, p in enumerate(parts):
        if p is None:
            lower = [j for j in present if j < i]
            upper = [j for j in present if j > i]
            near = ([parts[lower[-1]]] if lower else []) + ([parts[upper[0]]] if upper else [])
            p = np.mean(near, axis=0)
        filled.append(p)
    return np.concatenate(filled)


def _subthreshold_trace(s: SweepFeatures, config: dict) -> np.ndarray:
    """Bin means (mV) of a step response from ``subthresh_extend_s`` before onset to as long after the step."""
    rate = s.sweep.rate_hz
    extend = config["subthresh_extend_s"]
    n_bins = int(round((config["step_duration_s"] + 2 * extend) * 1000.0 / config["subthresh_bin_ms"]))
    start = s.epoch_onset - int(round(extend * rate))
    stop = start + int(round((config["step_duration_s"] + 2 * extend) * rate))
    return block_means(s.sweep.response_mv[max(start, 0) : stop].astype(float), n_bins)


def _step_subthresh(hyper: dict[float, SweepFeatures], config: dict) -> tuple[np.ndarray, list[float]]:
    """Concatenated subthreshold responses at the target amplitudes; a target without a sweep within tolerance is
    the neighbouring responses' mean, rescaled about the baseline by amplitude ratio (IPFX). Returns the vector
    and the targets that were filled."""
    traces = {amp: _subthreshold_trace(s, config) for amp, s in hyper.items()}
    amps = np.array(sorted(traces))
    n_ext = int(round(config["subthresh_extend_s"] * 1000.0 / config["subthresh_bin_ms"]))
    parts, filled = [], []
    for target in config["step_subthresh_targets_pa"]:
        diffs = np.abs(amps - target)
        if diffs.min() <= config["amplitude_tolerance_pa"]:
            parts.append(traces[amps[int(np.argmin(diffs))]])
            continue
        filled.append(float(target))
        lower, upper = amps[amps < target], amps[amps > target]
        near = ([lower.max()] if lower.size else []) + ([upper.min()] if upper.size else [])
        avg = np.mean([traces[a] for a in near], axis=0)
        base = avg[:n_ext].mean()
        scale = target / np.mean(near)
        end = -n_ext if len(near) == 2 else avg.size
        avg[n_ext:end] = (avg[n_ext:end] - base) * scale + base
        parts.append(avg)
    return np.concatenate(parts), filled


def _subthresh_norm(hyper: dict[float, SweepFeatures], config: dict) -> np.ndarray | None:
    """Response nearest the target amplitude, as (V - baseline) / (baseline - minimum V during the step)."""
    amps = np.array(sorted(hyper))
    diffs = np.abs(amps - config["subthresh_norm_target_pa"])
    if diffs.min() > config["amplitude_tolerance_pa"]:
        return None
    s = hyper[float(amps[int(np.argmin(diffs))])]
    trace = _subthreshold_trace(s, config)
    base = s.values["baseline_v"]
    delta = base - (base + s.values["deflection_peak_mv"])
    return (trace - base) / delta if delta > 0 else None


def _isi_shape(long: list[SweepFeatures], config: dict) -> np.ndarray | None:
    """Mean threshold-aligned ISI trajectory (mV), ``isi_points`` block means per ISI; an ISI whose first spike has
    no fast trough (index -1: V never turned down before the next spike, e.g. on the way into depolarisation
    block) has no trajectory start and is left out."""
    supra = [s for s in long if s.amplitude_pa > 0 and s.spikes.count > 1]
    if not supra:
        return None
    enough = [s for s in supra if s.spikes.count >= config["isi_min_spikes"]]
    chosen = min(enough, key=lambda s: s.amplitude_pa) if enough else max(supra, key=lambda s: s.spikes.count)
    sp, v, n = chosen.spikes, chosen.sweep.response_mv, config["isi_points"]
    isis = [
        block_means(v[int(a) : int(b)].astype(float) - thr, n)
        for a, b, thr in zip(sp.fast_trough_index[:-1], sp.threshold_index[1:], sp.threshold_v[:-1])
        if a >= 0 and int(b) - int(a) >= n
    ]
    return np.mean(isis, axis=0) if isis else None


def cell_families(by_type: dict[str, list[SweepFeatures]], config: dict) -> Families:
    """All families of one cell from its QC-passed sweeps (each ``SweepFeatures`` carrying its ``sweep``); a vector
    with a non-finite value is masked with the reason ``non_finite_values`` (a NaN would poison every model that
    reads the family: it is a bug to fix, recorded where the report counts it, never fed to training)."""
    out = _families(by_type, config)
    for name, vector in out.vectors.items():
        if vector is not None and not np.isfinite(vector).all():
            out.vectors[name], out.reasons[name] = None, "non_finite_values"
    return out


def _families(by_type: dict[str, list[SweepFeatures]], config: dict) -> Families:
    long = sorted(by_type["long_square"], key=lambda s: s.amplitude_pa)
    spiking = [s for s in long if s.amplitude_pa > 0 and s.spikes.count > 0]
    rheo = spiking[0] if spiking else None
    out = Families({n: None for n in family_names(config)})
    sources = _ap_sources(by_type, rheo)
    missing = [k for k in AP_SOURCES if not sources[k]]
    if missing:
        out.reasons["first_ap_v"] = out.reasons["first_ap_dv"] = "no_spiking_" + "_or_".join(missing) + "_sweep"
    else:
        waves = [_first_ap(sources[k], config) for k in AP_SOURCES]
        dt_ms = 1000.0 / config["target_rate_hz"]
        out.vectors["first_ap_v"] = np.concatenate(waves)
        out.vectors["first_ap_dv"] = np.concatenate([np.diff(w) / dt_ms for w in waves])
    out.vectors["isi_shape"] = _isi_shape(long, config)
    if out.vectors["isi_shape"] is None:
        out.reasons["isi_shape"] = "no_long_square_with_2_spikes"
    _supra_families(out, long, rheo, config)
    hyper = {s.amplitude_pa: s for s in long if s.amplitude_pa < 0 and s.spikes.count == 0}
    if not hyper:
        for name in ("step_subthresh", "subthresh_norm"):
            out.reasons[name] = "no_hyperpolarising_long_square"
        return out
    out.vectors["step_subthresh"], filled = _step_subthresh(hyper, config)
    if filled:
        out.notes["step_subthresh"] = "scaled_from_neighbours_pa=" + ",".join(f"{a:g}" for a in filled)
    out.vectors["subthresh_norm"] = _subthresh_norm(hyper, config)
    if out.vectors["subthresh_norm"] is None:
        out.reasons["subthresh_norm"] = f"no_sweep_near_{config['subthresh_norm_target_pa']:g}_pa"
    return out


def _supra_families(out: Families, long: list[SweepFeatures], rheo: SweepFeatures | None, config: dict) -> None:
    names = [n for n in family_names(config)[3:10]]
    if rheo is None:
        out.reasons.update({n: "no_spiking_long_square" for n in names})
        return
    targets = []
    tolerance = config["amplitude_tolerance_pa"]
    for offset in config["spiking_offsets_pa"]:
        near = [s for s in long if s.spikes.count > 0 and abs(s.amplitude_pa - rheo.amplitude_pa - offset) <= tolerance]
        targets.append(min(near, key=lambda s: abs(s.amplitude_pa - rheo.amplitude_pa - offset)) if near else None)
    found = [t for t in targets if t is not None]
    if len(found) < 2:
        out.reasons.update({n: "fewer_than_2_spiking_sweeps_at_rheobase_offsets" for n in names})
        return
    lost = [f"{o:g}" for o, t in zip(config["spiking_offsets_pa"], targets) if t is None]
    for name in names:
        out.vectors[name] = _combine([None if t is None else _supra_vector(name, t, config) for t in targets])
        if lost:
            out.notes[name] = "neighbour_mean_for_rheobase_plus_pa=" + ",".join(lost)
