"""Simulate a batch of Patch-seq cells and write them as Allen-layout NWB files plus labels and true spike times.

A cell is drawn from its subclass phenotype (``phenotypes.py``), its long- and short-square thresholds are found by
noise-free bisection, its sweeps are planned on the Allen protocol (``protocol.py``) and integrated together with
every other sweep of the batch (``integrator.py``, the model in ``neuron_model.py``); a ramp ends ``tail_s`` after
the cell's ``stop_after_spikes``-th upward crossing of -10 mV. Recording defects are then injected at configured
rates, the way they occur in real archives, and written down in the truth record so that QC can be tested against
them.

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

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .integrator import Kinetics, integrate, standard_normal
from .neuron_model import CellParameters, resting_potential
from .nwb_writer import SweepRecord
from .protocol import n_samples, offset_trace, plan_sweeps, shape_trace

DEFECTS = ("truncated_sweep", "nan_sweep", "bad_baseline", "missing_family", "no_long_square", "unlabeled")
RECORDING_CONDITIONS = ("unstable_baseline",)
RECORDING_NOISE_MV = 0.2
STIMULUS_TYPES = ("long_square", "short_square", "ramp")


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
    params: CellParameters, protocol: dict, high_pa: dict[str, float], iterations: int = 8
) -> dict[str, np.ndarray]:
    """Smallest amplitude (pA) that evokes a spike, per cell and stimulus type (``high_pa``: type -> upper bound),
    by noise-free bisection on a coarse time step (a seal at its mean conductance), every type in one integration."""
    quiet = params.take(np.arange(params.c_pf.size))
    quiet.noise_pa = np.zeros_like(quiet.noise_pa)
    quiet.seal_drift = np.zeros_like(quiet.seal_drift)
    rate = 10000.0  # a 0.1 ms step is enough to tell spike from no spike
    kinetics = Kinetics(quiet, 1000.0 / rate)
    shapes = []
    for stimulus_type in high_pa:
        onset = protocol[stimulus_type]["onset_s"]
        window = (onset - 0.05, onset + (0.4 if stimulus_type == "long_square" else 0.03))
        shape = shape_trace(dict(protocol, sampling_rate_hz=rate), stimulus_type)
        shapes.append(shape[n_samples(window[0], rate) : n_samples(window[1], rate)])
    n_cells = quiet.c_pf.size
    cell, kind = np.tile(np.arange(n_cells), len(shapes)), np.repeat(np.arange(len(shapes)), n_cells)
    low, high = np.zeros(cell.size), np.repeat(np.array(list(high_pa.values()), dtype=float), n_cells)
    rng = np.random.default_rng(0)  # draws nothing: no noise, no drift
    for _ in range(iterations):
        mid = (low + high) / 2
        traces = integrate(kinetics, cell, shapes, kind, mid, np.zeros(0), rng)
        fired = np.array([t.spikes_ms.size > 0 for t in traces])
        high = np.where(fired, mid, high)
        low = np.where(fired, low, mid)
    return {stimulus_type: high[kind == k] for k, stimulus_type in enumerate(high_pa)}


def simulate_cells(
    subclass: np.ndarray, params: CellParameters, protocol: dict, rng: np.random.Generator
) -> list[SimulatedCell]:
    """Simulate every cell of a batch (before defects): all sweeps of all cells in one integration."""
    return list(iter_simulated_cells(subclass, params, protocol, rng))


def iter_simulated_cells(
    subclass: np.ndarray, params: CellParameters, protocol: dict, rng: np.random.Generator
) -> Iterator[SimulatedCell]:
    """`simulate_cells`, one cell at a time: a cell's stimuli and recording noise are made when it is taken, so that
    a caller that writes each cell and lets it go reuses their memory (a batch's stimuli are ~0.7 GB)."""
    thresholds = find_thresholds(params, protocol, {"long_square": 2000.0, "short_square": 8000.0})
    plans = [
        plan_sweeps(protocol, thresholds["long_square"][i], thresholds["short_square"][i]) for i in range(subclass.size)
    ]
    lanes = [
        (i, k, plan)
        for stimulus_type in STIMULUS_TYPES
        for i, cell_plans in enumerate(plans)
        for k, plan in enumerate(cell_plans)
        if plan.stimulus_type == stimulus_type
    ]
    rate = float(protocol["sampling_rate_hz"])
    shapes = [shape_trace(protocol, stimulus_type) for stimulus_type in STIMULUS_TYPES]
    shared = offset_trace(protocol, max(s.size for s in shapes) / rate)
    kind = np.array([STIMULUS_TYPES.index(plan.stimulus_type) for _, _, plan in lanes])
    ramp = protocol["ramp"]
    traces = integrate(
        Kinetics(params, 1000.0 / rate),
        np.array([i for i, _, _ in lanes]),
        shapes,
        kind,
        np.array([plan.amplitude_pa for _, _, plan in lanes]),
        shared,
        rng,
        stops=kind == STIMULUS_TYPES.index("ramp"),
        stop_after_crossings=int(ramp["stop_after_spikes"]),
        stop_margin_ms=1000.0 * ramp["tail_s"],
    )
    by_cell: list[list[int]] = [[] for _ in range(subclass.size)]
    for j, (i, _, _) in enumerate(lanes):
        by_cell[i].append(j)
    noise = np.empty(max(t.v_mv.size for t in traces), dtype=np.float32)
    for i, cell_lanes in enumerate(by_cell):
        cell = SimulatedCell(str(subclass[i]), [], {})
        for j in sorted(cell_lanes, key=lambda j: lanes[j][1]):
            _, k, plan = lanes[j]
            response = traces[j].v_mv  # its lane's own row: the recording noise is added in place
            n = response.size
            standard_normal(rng, noise[:n])
            noise[:n] *= np.float32(RECORDING_NOISE_MV)
            response += noise[:n]
            stimulus = (plan.amplitude_pa * shapes[kind[j]][:n] + shared[:n]).astype(np.float32)
            cell.sweeps.append(SweepRecord(k, plan.code, response, stimulus, rate))
            cell.true_spikes_s[k] = (traces[j].spikes_ms / 1000.0).tolist()
            traces[j] = None  # the caller owns the response now
        yield cell


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
