"""Per-sweep quality control: find the stimulus epoch and reject unusable sweeps with a reason.

A rejected sweep costs that sweep only. Reasons (stable strings, counted in the failures table):
``sweep_all_nan``, ``sweep_truncated``, ``sweep_baseline_out_of_range``, ``sweep_no_stimulus_epoch``,
``sweep_voltage_clamp``.
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


def find_stimulus_epoch(stimulus_pa: np.ndarray, rate_hz: float, ignore_before_s: float) -> StimulusEpoch | None:
    """The stimulus from its first to its last non-zero sample after ``ignore_before_s`` (skips the test pulse)."""
    start = int(ignore_before_s * rate_hz)
    active = np.abs(stimulus_pa[start:]) > 1e-3  # NaN compares False: not a stimulus
    first = int(np.argmax(active))
    if not active[first]:
        return None
    onset, offset = start + first, start + active.size - int(np.argmax(active[::-1]))
    window = stimulus_pa[onset:offset]
    is_ramp = window.size > 10 and abs(window[-1] - window[0]) > 0.5 * np.abs(window).max()
    amplitude = float(window[np.argmax(np.abs(window))]) if is_ramp else float(np.median(window))
    return StimulusEpoch(onset, offset, amplitude)


def check_sweep(sweep: Sweep, qc: dict) -> SweepQC:
    """QC of one sweep against the thresholds in ``qc`` (the ``features.qc`` section of the config).

    Keys: ``test_pulse_end_s`` (s), ``baseline_window_s`` (s), ``baseline_range_mv`` ([min, max] mV),
    ``min_post_stimulus_s`` (s of recording needed after a step ends; ramps may end with the recording).
    """
    if sweep.clamp_mode != "current_clamp":
        return SweepQC("sweep_voltage_clamp", None)
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
    epoch = find_stimulus_epoch(sweep.stimulus_pa[:recorded], sweep.rate_hz, qc["test_pulse_end_s"])
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
