"""Simulate a batch of Patch-seq cells and write them as Allen-layout NWB files plus labels and true spike times.

A cell is drawn from its subclass phenotype (``phenotypes.py``), its long- and short-square thresholds are found by
noise-free bisection, its sweeps are planned on the Allen protocol (``protocol.py``) and integrated together with
every other lane of the batch (``neuron_model.py``). Recording defects are then injected at configured rates, the
way they occur in real archives, and written down in the truth record so that QC can be tested against them.

What real cells show is produced by the model's physiology, not pasted in: slow inactivation of Na and Kd channels
(broader, smaller APs late in strong steps, and depolarisation block), a Ca-like inward current (a slow foot of the
rise and the plateau of block), a per-cell slow high-resistance modifier
(``phenotypes.py``) and, as a recording condition, a leaky seal that wanders (`leaky_seal`: a depolarised,
drifting baseline). A recording condition is integrated with the cell (the true spikes include its effect) and kept
in the truth record under ``recording_conditions``; unlike a defect, QC is not expected to reject the cell for it.

True spikes (the ground truth of spike detection) are IPFX's spike definition applied to the noise-free membrane
potential at the simulation step (``neuron_model.true_spike_peaks``; times are peak times): a notched or broad AP
whose dV/dt dips but stays positive is one spike; the damped oscillations that lead into depolarisation block are
spikes only while they still rise at >= 20 mV/ms and peak above -30 mV; a slow depolarisation is none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .neuron_model import CellParameters, resting_potential, simulate
from .nwb_writer import SweepRecord
from .protocol import SweepPlan, n_samples, offset_trace, plan_sweeps, shape_trace

DEFECTS = ("truncated_sweep", "nan_sweep", "bad_baseline", "missing_family", "no_long_square", "unlabeled")
RECORDING_CONDITIONS = ("unstable_baseline",)
RECORDING_NOISE_MV = 0.2


@dataclass
class SimulatedCell:
    """One simulated cell: its sweeps, true spike times per sweep number (s from sweep start) and defects."""

    subclass: str
    sweeps: list[SweepRecord]
    true_spikes_s: dict[int, list[float]]
    defects: dict[str, str] = field(default_factory=dict)  # defect -> what it hit (e.g. a sweep number)
    modifiers: list[str] = field(default_factory=list)  # phenotype modifiers of the cell (phenotypes.yaml)
    conditions: dict[str, str] = field(default_factory=dict)  # recording condition -> its setting


def leaky_seal(params: CellParameters, cells: np.ndarray, target_mv: np.ndarray, drift: float) -> None:
    """Give ``cells`` a leaky seal (reversal 0 mV) whose mean conductance brings their noise-free resting potential to
    ``target_mv`` (secant steps on the resting potential), wandering with log-SD ``drift`` (in place)."""
    sub = params.take(cells)
    v0 = resting_potential(sub)
    g, v = np.full(cells.size, 0.5), None
    for _ in range(4):
        sub.g_seal_ns = g
        v = resting_potential(sub)
        conductance = g * (0.0 - v) / np.maximum(v - v0, 1e-3)  # the cell's own conductance around rest
        g = np.maximum(conductance * (target_mv - v0) / (0.0 - target_mv), 1e-3)
    params.g_seal_ns[cells] = g
    params.seal_drift[cells] = drift


def find_thresholds(
    params: CellParameters, protocol: dict, stimulus_type: str, high_pa: float, iterations: int = 8
) -> np.ndarray:
    """Smallest amplitude (pA) that evokes a spike, per lane, by noise-free bisection on a coarse time step."""
    quiet = params.take(np.arange(params.c_pf.size))
    quiet.noise_pa = np.zeros_like(quiet.noise_pa)
    rate = 10000.0  # a 0.1 ms step is enough to tell spike from no spike
    spec = protocol[stimulus_type]
    window = (spec["onset_s"] - 0.05, spec["onset_s"] + (0.4 if stimulus_type == "long_square" else 0.03))
    shape = shape_trace(dict(protocol, sampling_rate_hz=rate), stimulus_type)
    shape = shape[n_samples(window[0], rate) : n_samples(window[1], rate)]
    low, high = np.zeros(quiet.c_pf.size), np.full(quiet.c_pf.size, high_pa)
    rng = np.random.default_rng(0)
    for _ in range(iterations):
        mid = (low + high) / 2
        _, spikes = simulate(shape, mid, np.zeros_like(shape), quiet, 1000.0 / rate, rng)
        fired = np.array([s.size > 0 for s in spikes])
        high = np.where(fired, mid, high)
        low = np.where(fired, low, mid)
    return high


def _run_lanes(
    protocol: dict,
    stimulus_type: str,
    lanes: list[tuple[int, int, SweepPlan]],
    params: CellParameters,
    rng: np.random.Generator,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Integrate every lane of one stimulus type; returns (response mV, stimulus pA, spike times s) per lane."""
    rate = float(protocol["sampling_rate_hz"])
    shape = shape_trace(protocol, stimulus_type)
    offset = offset_trace(protocol, shape.size / rate)
    amplitude = np.array([plan.amplitude_pa for _, _, plan in lanes])
    lane_params = params.take(np.array([cell for cell, _, _ in lanes]))
    ramp = protocol["ramp"]
    stop = dict(stop_after_spikes=ramp["stop_after_spikes"], stop_margin_ms=1000 * ramp["tail_s"])
    v, spikes = simulate(
        shape, amplitude, offset, lane_params, 1000.0 / rate, rng, **(stop if stimulus_type == "ramp" else {})
    )
    results = []
    for j in range(len(lanes)):
        length = v.shape[0]
        if stimulus_type == "ramp" and spikes[j].size >= ramp["stop_after_spikes"]:
            length = min(length, int((spikes[j][ramp["stop_after_spikes"] - 1] / 1000 + ramp["tail_s"]) * rate))
        response = v[:length, j] + rng.normal(0.0, RECORDING_NOISE_MV, length).astype(np.float32)
        stimulus = (amplitude[j] * shape[:length] + offset[:length]).astype(np.float32)
        results.append((response, stimulus, spikes[j][spikes[j] < length * 1000 / rate] / 1000.0))
    return results


def simulate_cells(
    subclass: np.ndarray, params: CellParameters, protocol: dict, rng: np.random.Generator
) -> list[SimulatedCell]:
    """Simulate every cell of a batch (before defects)."""
    rheobase = find_thresholds(params, protocol, "long_square", high_pa=2000.0)
    short_threshold = find_thresholds(params, protocol, "short_square", high_pa=8000.0)
    plans = [plan_sweeps(protocol, rheobase[i], short_threshold[i]) for i in range(subclass.size)]
    cells = [SimulatedCell(str(subclass[i]), [], {}) for i in range(subclass.size)]
    rate = float(protocol["sampling_rate_hz"])
    for stimulus_type in ("long_square", "short_square", "ramp"):
        lanes = [(i, k, p) for i, cell_plans in enumerate(plans) for k, p in enumerate(cell_plans)]
        lanes = [lane for lane in lanes if lane[2].stimulus_type == stimulus_type]
        for (i, k, plan), (response, stimulus, spikes) in zip(
            lanes, _run_lanes(protocol, stimulus_type, lanes, params, rng)
        ):
            cells[i].sweeps.append(SweepRecord(k, plan.code, response, stimulus, rate))
            cells[i].true_spikes_s[k] = spikes.tolist()
    for cell in cells:
        cell.sweeps.sort(key=lambda s: s.sweep_number)
    return cells


def inject_defects(cell: SimulatedCell, defects: set[str], rng: np.random.Generator) -> None:
    """Apply the given defects to a cell; record in ``cell.defects`` what each one hit."""
    long_idx = [i for i, s in enumerate(cell.sweeps) if s.stimulus_code in ("X3LP_Rheo", "X4PS_SupraThresh")]
    hyper_idx = [i for i, s in enumerate(cell.sweeps) if s.stimulus_code == "X1PS_SubThresh"]
    picks = rng.permutation(long_idx).tolist() if long_idx else []
    if "truncated_sweep" in defects and picks:
        sweep = cell.sweeps[picks.pop()]
        cut = int(sweep.response_mv.size * rng.uniform(0.3, 0.6))  # stops inside the 1 s step
        sweep.response_mv, sweep.stimulus_pa = sweep.response_mv[:cut], sweep.stimulus_pa[:cut]
        cell.defects["truncated_sweep"] = str(sweep.sweep_number)
    if "nan_sweep" in defects and picks:
        sweep = cell.sweeps[picks.pop()]
        sweep.response_mv = np.full_like(sweep.response_mv, np.nan)
        cell.defects["nan_sweep"] = str(sweep.sweep_number)
    if "bad_baseline" in defects and hyper_idx:
        sweep = cell.sweeps[int(rng.choice(hyper_idx))]
        sweep.response_mv = sweep.response_mv + np.float32(45.0)  # e.g. a lost seal or a wrong bridge balance
        cell.defects["bad_baseline"] = str(sweep.sweep_number)
    if "missing_family" in defects:
        family = str(rng.choice(["short_square", "ramp"]))
        code = {"short_square": "X6SP_Rheo", "ramp": "X7Ramp"}[family]
        cell.sweeps = [s for s in cell.sweeps if s.stimulus_code != code]
        cell.defects["missing_family"] = family
    if "no_long_square" in defects:
        long_codes = ("X1PS_SubThresh", "X3LP_Rheo", "X4PS_SupraThresh")
        cell.sweeps = [s for s in cell.sweeps if s.stimulus_code not in long_codes]
        cell.defects["no_long_square"] = "long_square"
    if "unlabeled" in defects:
        cell.defects["unlabeled"] = "label"
    kept = {s.sweep_number for s in cell.sweeps}
    cell.true_spikes_s = {k: v for k, v in cell.true_spikes_s.items() if k in kept}
