"""Per-sweep quality control: find the stimulus epoch and reject unusable sweeps with a reason.

A rejected sweep costs that sweep only. Reasons (stable strings, counted in the failures table):
``sweep_all_nan``, ``sweep_truncated``, ``sweep_baseline_out_of_range``, ``sweep_no_stimulus_epoch``,
``sweep_voltage_clamp``, ``sweep_variable_sampling`` (no fixed sampling rate: uneven timestamps).

Amplitudes are rounded to ``amplitude_resolution_pa``: a stimulus stored as float32 with the float32 conversion
1e-12 (MIES) scales -100 pA to -99.9999996 pA, which would pass a strict ``-100 < I`` test that IPFX's reading does
not pass. A long square without any current (a 0 pA step) takes the epoch of the cell's other long squares at its
sampling rate (its protocol epoch), as IPFX analyses every long square over one common window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..acquire.nwb_reader import Sweep


@dataclass
class StimulusEpoch:
    """Sample indices [onset, offset) of the stimulus and its amplitude (pA; the peak for ramps)."""

    onset: int
    offset: int
    amplitude_pa: float


@dataclass
class SweepQC:
    """Outcome of QC for one sweep; ``reason`` is None when the sweep passed."""

    reason: str | None
    epoch: StimulusEpoch | None
    baseline_mv: float = np.nan

    @property
    def passed(self) -> bool:
        return self.reason is None


def find_stimulus_epoch(
    stimulus_pa: np.ndarray, rate_hz: float, ignore_before_s: float, resolution_pa: float
) -> StimulusEpoch | None:
    """The stimulus from its first to its last non-zero sample after ``ignore_before_s`` (skips the test pulse);
    the amplitude (median of the epoch, the extreme for a ramp) rounded to ``resolution_pa``."""
    start = int(ignore_before_s * rate_hz)
    active = np.abs(stimulus_pa[start:]) > 1e-3  # NaN compares False: not a stimulus
    first = int(np.argmax(active)) if active.size else 0
    if not active.size or not active[first]:
        return None
    onset, offset = start + first, start + active.size - int(np.argmax(active[::-1]))
    window = stimulus_pa[onset:offset]
    is_ramp = window.size > 10 and abs(window[-1] - window[0]) > 0.5 * np.abs(window).max()
    amplitude = float(window[np.argmax(np.abs(window))]) if is_ramp else float(np.median(window))
    return StimulusEpoch(onset, offset, round_to(amplitude, resolution_pa))


def round_to(value: float, resolution: float) -> float:
    """``value`` on the grid of ``resolution`` (free of the float noise of the multiplication itself)."""
    return float(round(round(value / resolution) * resolution, 12))


def protocol_epochs(sweeps: list[Sweep], qc: dict) -> dict[float, StimulusEpoch]:
    """Per sampling rate, the most common (onset, offset) of the current-clamp long squares that have a stimulus
    (amplitude 0): the epoch a 0 pA long square of the same cell is analysed over."""
    found: dict[float, list[tuple[int, int]]] = {}
    for sweep in sweeps:
        if sweep.stimulus_type == "long_square" and sweep.clamp_mode == "current_clamp" and sweep.rate_hz > 0:
            epoch = find_stimulus_epoch(sweep.stimulus_pa, sweep.rate_hz, qc["test_pulse_end_s"], 1.0)
            if epoch is not None:
                found.setdefault(sweep.rate_hz, []).append((epoch.onset, epoch.offset))
    out = {}
    for rate, pairs in found.items():
        values, counts = np.unique(np.array(pairs), axis=0, return_counts=True)
        onset, offset = values[int(np.argmax(counts))]
        out[rate] = StimulusEpoch(int(onset), int(offset), 0.0)
    return out


def _zero_step_epoch(sweep: Sweep, qc: dict, protocol: dict[float, StimulusEpoch] | None) -> StimulusEpoch | None:
    """The protocol epoch for a long square whose stimulus is zero throughout (not NaN), else None."""
    if protocol is None or sweep.stimulus_type != "long_square" or sweep.rate_hz not in protocol:
        return None
    stimulus = sweep.stimulus_pa[int(qc["test_pulse_end_s"] * sweep.rate_hz) :]
    epoch = protocol[sweep.rate_hz]
    quiet = np.isfinite(stimulus).all() and not (np.abs(stimulus) > 1e-3).any()
    return epoch if quiet and epoch.offset <= sweep.stimulus_pa.size else None


def check_sweep(sweep: Sweep, qc: dict, protocol: dict[float, StimulusEpoch] | None = None) -> SweepQC:
    """QC of one sweep against the thresholds in ``qc`` (the ``features.qc`` section of the config).

    Keys: ``test_pulse_end_s`` (s), ``baseline_window_s`` (s), ``baseline_range_mv`` ([min, max] mV),
    ``min_post_stimulus_s`` (s of recording needed after a step ends; ramps may end with the recording),
    ``amplitude_resolution_pa`` (pA). ``protocol``: the cell's `protocol_epochs`, for 0 pA long squares.
    """
    if sweep.clamp_mode != "current_clamp":
        return SweepQC("sweep_voltage_clamp", None)
    if not sweep.rate_hz > 0:
        return SweepQC("sweep_variable_sampling", None)
    v = sweep.response_mv
    if v.size == 0:
        return SweepQC("sweep_all_nan", None)
    if np.isfinite(v[-1]):
        recorded = v.size
    else:
        finite = np.flatnonzero(np.isfinite(v))
        if finite.size == 0:
            return SweepQC("sweep_all_nan", None)
        recorded = int(finite[-1]) + 1  # trailing NaNs mean the acquisition stopped early
    resolution = qc["amplitude_resolution_pa"]
    epoch = find_stimulus_epoch(sweep.stimulus_pa[:recorded], sweep.rate_hz, qc["test_pulse_end_s"], resolution)
    if epoch is None:
        epoch = _zero_step_epoch(sweep, qc, protocol)
    if epoch is None:
        return SweepQC("sweep_no_stimulus_epoch", None)
    if np.isnan(v[: epoch.offset]).any():
        return SweepQC("sweep_truncated", epoch)
    post = (recorded - epoch.offset) / sweep.rate_hz  # 0 when the step is still on at the last sample
    cut_short = post < qc["min_post_stimulus_s"] or recorded < sweep.stimulus_pa.size
    if cut_short and sweep.stimulus_type != "ramp":  # Allen ramps end with the recording, by design
        return SweepQC("sweep_truncated", epoch)
    n_base = int(qc["baseline_window_s"] * sweep.rate_hz)
    baseline = float(np.mean(v[max(epoch.onset - n_base, 0) : epoch.onset]))
    low, high = qc["baseline_range_mv"]
    if not low <= baseline <= high:
        return SweepQC("sweep_baseline_out_of_range", epoch, baseline)
    return SweepQC(None, epoch, baseline)
