"""The Allen-style current-clamp protocol the simulated cells are recorded with.

Times in s, currents in pA. Every sweep starts with the MIES test pulse; long squares are 1 s steps (hyperpolarising
steps at fixed amplitudes, depolarising steps on a grid around the cell's rheobase), short squares are 3 ms pulses
around the cell's short-square threshold, and the ramp rises linearly until the cell has fired a few spikes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SweepPlan:
    """One planned sweep of a cell: its Allen stimulus code, type and amplitude (pA; slope in pA/s for ramps)."""

    code: str
    stimulus_type: str
    amplitude_pa: float


def n_samples(seconds: float, rate_hz: float) -> int:
    return int(round(seconds * rate_hz))


def offset_trace(protocol: dict, sweep_s: float) -> np.ndarray:
    """The part of the stimulus shared by every sweep: the test pulse (pA), shape (samples,)."""
    rate = protocol["sampling_rate_hz"]
    trace = np.zeros(n_samples(sweep_s, rate))
    tp = protocol["test_pulse"]
    start = n_samples(tp["start_s"], rate)
    trace[start : start + n_samples(tp["duration_s"], rate)] = tp["amplitude_pa"]
    return trace


def shape_trace(protocol: dict, stimulus_type: str) -> np.ndarray:
    """Unit-amplitude stimulus shape of a stimulus type, shape (samples,): a box, a pulse or a ramp (per pA/s)."""
    rate = protocol["sampling_rate_hz"]
    spec = protocol[stimulus_type]
    sweep_s = spec["sweep_s"] if stimulus_type != "ramp" else spec["onset_s"] + spec["max_s"]
    trace = np.zeros(n_samples(sweep_s, rate))
    onset = n_samples(spec["onset_s"], rate)
    if stimulus_type == "long_square":
        trace[onset : onset + n_samples(spec["duration_s"], rate)] = 1.0
    elif stimulus_type == "short_square":
        trace[onset : onset + n_samples(spec["duration_ms"] / 1000.0, rate)] = 1.0
    elif stimulus_type == "ramp":
        trace[onset:] = np.arange(trace.size - onset) / rate  # seconds since onset; times the slope in pA/s
    else:
        raise ValueError(f"no simulated stimulus shape for {stimulus_type!r}")
    return trace


def plan_sweeps(protocol: dict, rheobase_pa: float, short_threshold_pa: float) -> list[SweepPlan]:
    """The sweeps of one cell in acquisition order, given its estimated long- and short-square thresholds (pA)."""
    ls = protocol["long_square"]
    step = float(ls["step_pa"])
    plans = [SweepPlan("X1PS_SubThresh", "long_square", float(a)) for a in ls["hyperpolarising_pa"]]
    for factor in protocol["short_square"]["threshold_factors"]:
        plans.append(SweepPlan("X6SP_Rheo", "short_square", float(np.ceil(short_threshold_pa * factor / step) * step)))
    plans.append(SweepPlan("X7Ramp", "ramp", float(protocol["ramp"]["slope_pa_per_s"])))
    base = np.round(rheobase_pa / step) * step
    for offset in ls["depolarising_offsets_pa"]:
        amplitude = float(base + offset)
        if amplitude > 0:
            code = "X3LP_Rheo" if offset <= 0 else "X4PS_SupraThresh"
            plans.append(SweepPlan(code, "long_square", amplitude))
    return plans
