"""Example traces for the report: per species and subclass, one cell's rheobase sweep and deepest hyperpolarising
step, low-pass filtered and decimated to 10 kHz (time in s, V in mV, I in pA)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..acquire.nwb_reader import read_sweeps
from ..acquire.stimulus_table import StimulusTable
from ..ephys.spikes import lowpass
from ..ephys.sweep_qc import check_sweep

TRACE_RATE_HZ = 10000.0


def pick_example_cells(features: pd.DataFrame) -> dict[str, str]:
    """subclass -> cell id: the first labelled, successfully extracted cell with a rheobase."""
    ok = features[(features["status"] == "ok") & (features["exclusion"].fillna("") == "")]
    ok = ok[ok["rheobase_pa"].notna()]
    return {str(s): str(group["cell_id"].iloc[0]) for s, group in ok.groupby("subclass", sort=True)}


def example_traces(nwb_path: str, rheobase_pa: float, table: StimulusTable, qc: dict) -> dict[str, np.ndarray]:
    """Arrays ``rheo_t/rheo_v/rheo_i`` and ``hyper_t/hyper_v/hyper_i`` for one cell."""
    out: dict[str, np.ndarray] = {}
    long = [s for s in read_sweeps(nwb_path, table) if s.stimulus_type == "long_square"]
    checked = [(s, q) for s in long if (q := check_sweep(s, qc)).passed]
    rheo = [s for s, q in checked if abs(q.epoch.amplitude_pa - rheobase_pa) < 1e-6]
    hyper = sorted((q.epoch.amplitude_pa, i) for i, (s, q) in enumerate(checked) if q.epoch.amplitude_pa < 0)
    chosen = {"rheo": rheo[0] if rheo else None, "hyper": checked[hyper[0][1]][0] if hyper else None}
    for key, sweep in chosen.items():
        if sweep is None:
            continue
        step = max(int(sweep.rate_hz // TRACE_RATE_HZ), 1)
        out[f"{key}_v"] = lowpass(sweep.response_mv, sweep.rate_hz, 4.0)[::step].astype(np.float32)
        out[f"{key}_i"] = sweep.stimulus_pa[::step].astype(np.float32)
        out[f"{key}_t"] = (np.arange(out[f"{key}_v"].size) * step / sweep.rate_hz).astype(np.float32)
    return out
