"""Spike detection against the simulator's true spike times: precision and recall per stimulus type.

Only QC-passed sweeps count, and only true spikes inside the window that detection searched. A detected spike
matches a true one when their times differ by less than ``tolerance_s`` (both are peak times; the simulator's truth
is the noise-free peak, the detected one the peak of the recorded trace).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def match_counts(true_s: np.ndarray, detected_s: np.ndarray, tolerance_s: float) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives), matching each true spike to at most one detection."""
    used = np.zeros(detected_s.size, dtype=bool)
    tp = 0
    for t in np.sort(true_s):
        gaps = np.abs(detected_s - t)
        gaps[used] = np.inf
        if gaps.size and gaps.min() < tolerance_s:
            used[int(np.argmin(gaps))] = True
            tp += 1
    return tp, int(detected_s.size - tp), int(true_s.size - tp)


def validate(records: list[dict], truth: dict, tolerance_s: float = 1e-3) -> pd.DataFrame:
    """One row per stimulus type plus 'all': sweeps, true spikes, tp, fp, fn, precision, recall."""
    totals: dict[str, np.ndarray] = {}
    for record in records:
        true_cell = truth.get(record["cell_id"], {}).get("spike_times_s", {})
        for sweep in record["sweeps"]:
            if sweep["qc"] != "passed":
                continue
            start, end = sweep["spike_window_s"]
            true_s = np.array([t for t in true_cell.get(str(sweep["sweep_number"]), []) if start <= t < end])
            counts = np.array([1, true_s.size, *match_counts(true_s, np.array(sweep["spike_times_s"]), tolerance_s)])
            for key in (sweep["stimulus_type"], "all"):
                totals[key] = totals.get(key, 0) + counts
    rows = []
    for kind, (sweeps, n_true, tp, fp, fn) in totals.items():
        rows.append(
            {
                "stimulus_type": kind,
                "sweeps": sweeps,
                "true_spikes": n_true,
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "precision": tp / (tp + fp) if tp + fp else np.nan,
                "recall": tp / (tp + fn) if tp + fn else np.nan,
            }
        )
    return pd.DataFrame(rows)
