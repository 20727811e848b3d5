"""Per-sweep quality control: find the stimulus epoch and reject unusable sweeps with a reason.

A rejected sweep costs that sweep only. Reasons (stable strings, counted in the failures table):
``sweep_all_nan``, ``sweep_truncated``, ``sweep_baseline_out_of_range``, ``sweep_no_stimulus_epoch``,
``sweep_voltage_clamp``, ``sweep_variable_sampling`` (no fixed sampling rate: uneven timestamps),
``sweep_not_a_single_step`` (a long square whose current is not one square step from rest, see below).

Amplitudes are rounded to ``amplitude_resolution_pa``: a stimulus stored as float32 with the float32 conversion
1e-12 (MIES) scales -100 pA to -99.9999996 pA, which would pass a strict ``-100 < I`` test that IPFX's reading does
not pass. A long square without any current (a 0 pA step) takes the epoch of the cell's other long squares at its
sampling rate (its protocol epoch), as IPFX analyses every long square over one common window.

Long squares that are not a single step. Features of a long square assume one constant current step from rest:
the baseline before onset is the cell at rest and the amplitude is the step's. A long square's stimulus is split
into epochs: constant runs of current at least ``EDGE_S`` (1 ms) long, levels compared at
``amplitude_resolution_pa``; shorter runs are a step's edges (an interpolated or filtered command), and a test pulse
ending before ``test_pulse_end_s`` is ignored. One epoch starting after ``test_pulse_end_s``, with no other current
than its edges: the step, as always (unchanged). Otherwise (a pre-step, a step repeated later in the sweep, a
two-level step, an arbitrary waveform, a step already on at ``test_pulse_end_s``) the **main step** is the longest
epoch that stands alone: it starts after ``test_pulse_end_s``, and no current flows (edges aside) for
``baseline_window_s`` before it nor for ``min_post_stimulus_s`` after it (ties within 1 % of its length: the
earliest). That step is analysed and the sweep carries a note
(``SweepQC.note``: ``main_step_of_<n>_epochs: <onset>-<offset> s``). Where no epoch stands alone (a pre-step running
straight into the step, a two-level step, a waveform) the sweep is rejected with ``sweep_not_a_single_step``:
its baseline is not rest or its amplitude is not one number, and no choice of a step would make its features
right. Ramps and short squares keep the first-to-last non-zero span (`find_stimulus_epoch`).
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
    note: str | None = None  # a deviation that costs nothing, e.g. the main step of a multi-epoch long square

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


@dataclass
class StepSearch:
    """A long square's step (`long_square_epoch`): its epoch, or the reason it has none usable; a note when the
    main step of several epochs was taken. ``epoch`` and ``reason`` are both None for a stimulus without current."""

    epoch: StimulusEpoch | None
    reason: str | None = None
    note: str | None = None


EDGE_S = 1e-3  # constant runs shorter than this are the edges of a step (interpolated or filtered), not epochs


def _constant_runs(stimulus_pa: np.ndarray, resolution_pa: float) -> list[tuple[int, int]]:
    """[onset, offset) of every constant run of non-zero current (levels compared on the grid of ``resolution_pa``;
    NaN counts as no current, as in `find_stimulus_epoch`)."""
    active = np.abs(stimulus_pa) > 1e-3
    key = np.where(active, np.rint(np.where(active, stimulus_pa, 0.0) / resolution_pa), np.inf)
    bounds = np.concatenate([[0], np.flatnonzero(key[1:] != key[:-1]) + 1, [key.size]])
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if active[a]]


def long_square_epoch(stimulus_pa: np.ndarray, rate_hz: float, qc: dict) -> StepSearch:
    """The step of a long square (rules in the module docstring): a single step as `find_stimulus_epoch` finds it,
    the main step of several epochs with a note, or ``sweep_not_a_single_step``."""
    resolution = qc["amplitude_resolution_pa"]
    start = int(qc["test_pulse_end_s"] * rate_hz)
    active = np.abs(stimulus_pa) > 1e-3
    if not active[start:].any():
        return StepSearch(None)
    n_edge = max(int(round(EDGE_S * rate_hz)), 2)
    runs = _constant_runs(stimulus_pa, resolution)
    epochs = [(a, b) for a, b in runs if b - a >= n_edge and b > start]  # a test pulse ends before start
    near = np.zeros(active.size, dtype=bool)
    for a, b in epochs:
        near[max(a - n_edge, 0) : b + n_edge] = True
    stray = bool((active & ~near)[start:].any())  # current that is neither an epoch nor one's edge
    if len(epochs) == 1 and epochs[0][0] >= start and not stray:
        return StepSearch(find_stimulus_epoch(stimulus_pa, rate_hz, qc["test_pulse_end_s"], resolution))
    n_before = max(int(round(qc["baseline_window_s"] * rate_hz)), n_edge + 1)
    n_after = max(int(round(qc["min_post_stimulus_s"] * rate_hz)), n_edge + 1)
    alone = [
        (a, b)
        for a, b in epochs
        if a >= max(start, n_before)
        and not active[a - n_before : a - n_edge].any()
        and not active[b + n_edge : b + n_after].any()
    ]
    if not alone:
        return StepSearch(None, "sweep_not_a_single_step")
    longest = max(b - a for a, b in alone)
    onset, offset = next((a, b) for a, b in alone if b - a >= 0.99 * longest)
    amplitude = round_to(float(np.median(stimulus_pa[onset:offset])), resolution)
    note = f"main_step_of_{len(epochs)}_epochs: {onset / rate_hz:.4g}-{offset / rate_hz:.4g} s"
    return StepSearch(StimulusEpoch(onset, offset, amplitude), note=note)


def protocol_epochs(sweeps: list[Sweep], qc: dict) -> dict[float, StimulusEpoch]:
    """Per sampling rate, the most common (onset, offset) of the current-clamp long squares that have a stimulus
    (amplitude 0): the epoch a 0 pA long square of the same cell is analysed over."""
    found: dict[float, list[tuple[int, int]]] = {}
    for sweep in sweeps:
        if sweep.stimulus_type == "long_square" and sweep.clamp_mode == "current_clamp" and sweep.rate_hz > 0:
            epoch = long_square_epoch(sweep.stimulus_pa, sweep.rate_hz, qc).epoch
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
    Long squares: `long_square_epoch` (``sweep_not_a_single_step``, or the main step with ``note`` set).
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
    note = None
    if sweep.stimulus_type == "long_square":
        step = long_square_epoch(sweep.stimulus_pa[:recorded], sweep.rate_hz, qc)
        if step.reason is not None:
            return SweepQC(step.reason, None)
        epoch, note = step.epoch, step.note
    else:
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
        return SweepQC("sweep_baseline_out_of_range", epoch, baseline, note)
    return SweepQC(None, epoch, baseline, note)
