"""IPFX 2.1.2 on the real recordings cut by benchmarks/real_recordings.py; runs in the IPFX venv (never imports
patchseq_ml).

Usage: .venv-ipfx/bin/python benchmarks/ipfx_real_reference.py --out OUT.json [--traces DATA_ROOT]
       [--golden tests/data/real_ipfx_golden.json] NWB [NWB ...]
(NWB files named <recording>_<native|50k>.nwb, as benchmarks/real_recordings.py writes them; ``--golden`` also
writes the compact golden data of the tests: per cell and rate, per sweep stim_amp and threshold/peak indices, and
the cell features; no timings.)

Reading: IPFX's own NWB reader (``create_ephys_data_set(...)._data.get_sweep_data``: float32 data times
``float(conversion)``, then x 1e12 / x 1e3, in float32 as numpy 2 keeps it), so IPFX sees the stimulus exactly as it
reads any MIES file. The cut files hold no test pulse, so the sweeps are built as ``ipfx.sweep.Sweep`` objects from
these arrays (t = index / rate; epochs: the whole cut sweep, no test pulse), not through the data set's
test-pulse/experiment epochs.
Stimulus interval: ``stim_features.get_stim_characteristics(i, t, test_pulse=False)`` on every sweep, the last sweep
with a stimulus defining start and duration, as ``script_utils.validate_sweeps`` does (``test_pulse=False``: the
cut sweeps have none; with its default True it would skip the main step itself). validate_sweeps' other filters
(0.2 s of recording after the step; a sweep without stimulus) are NOT applied: every long square goes into the
SweepSet, 0 pA steps included, as the study passes its long squares to LongSquareAnalysis.
Analysis, as the study runs it: ``data_set_features.extractors_for_sweeps(sweep_set, start, end,
filter_frequency=F, **detection_parameters(LONG_SQUARE))`` (dv_cutoff 20 mV/ms, thresh_frac 0.05, min_peak -30 mV;
script_utils.preprocess_long_square_sweeps would pass min_peak -25) and ``LongSquareAnalysis(spx, sptx,
subthresh_min_amp=-100.)``. A cell without hyperpolarising steps in (-100, 0) pA (demo_2 in the pre-step frame)
makes IPFX raise; it is then rerun with ``require_subthreshold=False`` and that is recorded.
Filter: IPFX's 10 kHz Bessel is applied where IPFX accepts it (cutoff < Nyquist: the 50 kHz copies); at 20 kHz
``calculate_dvdt`` raises for 10 kHz (cutoff = Nyquist), so the native files run with ``filter_frequency=None``
(IPFX's own choice where it cannot filter: its CHIRP detection parameters and its variable-dt path); the choice is
recorded per file (``filter_khz``).
Per sweep: stim_amp (pA), spike count, threshold/peak/fast-trough sample indices (into the written sweep), peak times
(s) and the seconds of SpikeFeatureExtractor.process + SpikeTrainFeatureExtractor.process of that sweep.
``--traces DATA_ROOT`` also runs SpikeFeatureExtractor on IPFX's two test traces (pair: defaults; var_dt:
filter=None, which is what IPFX does anyway with a variable dt).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np

warnings.simplefilter("ignore")
logging.disable(logging.WARNING)

import ipfx.data_set_features as dsf  # noqa: E402
import ipfx.json_utilities as ju  # noqa: E402
import ipfx.stim_features as stf  # noqa: E402
from ipfx.dataset.create import create_ephys_data_set  # noqa: E402
from ipfx.error import FeatureError  # noqa: E402
from ipfx.feature_extractor import SpikeFeatureExtractor  # noqa: E402
from ipfx.stimulus import StimulusOntology  # noqa: E402
from ipfx.stimulus_protocol_analysis import LongSquareAnalysis  # noqa: E402
from ipfx.sweep import Sweep, SweepSet  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ipfx_reference import TIMES, _num, run_cells, versions  # noqa: E402 - importing it times IPFX's two extractors' process
from real_recordings import read_test_trace  # noqa: E402 - numpy only, no patchseq_ml

FILTER_KHZ = 10.0
SUBTHRESH_MIN_AMP = -100.0


def filter_for(rate_hz: float) -> float | None:
    """10 kHz where IPFX's calculate_dvdt accepts it (cutoff < Nyquist), else None (unfiltered)."""
    return FILTER_KHZ if FILTER_KHZ * 1e3 < rate_hz / 2.0 else None


def read_sweep_set(path: Path) -> SweepSet:
    """All sweeps of a cut file through IPFX's NWB reader, as Sweep objects over the whole written arrays."""
    data_set = create_ephys_data_set(
        str(path), ontology=StimulusOntology(ju.read(StimulusOntology.DEFAULT_STIMULUS_ONTOLOGY_FILE))
    )
    numbers = sorted(int(n) for n in data_set.sweep_table["sweep_number"])
    sweeps = []
    for number in numbers:
        data = data_set._data.get_sweep_data(number)
        v, i, rate = data["response"], data["stimulus"], float(data["sampling_rate"])
        t = np.arange(v.size) / rate
        whole = (0, v.size - 1)  # no test pulse; the recording, stimulus and experiment span the whole cut sweep
        epochs = {"test": None, "sweep": whole, "recording": whole, "experiment": whole, "stim": whole}
        sweep = Sweep(t, v, i, "CurrentClamp", rate, sweep_number=number, epochs=epochs)
        sweeps.append(sweep)
    return SweepSet(sweeps)


def stimulus_interval(sweep_set: SweepSet) -> tuple[float, float]:
    """(start, end) s as script_utils.validate_sweeps finds them (last sweep with a stimulus), test_pulse=False."""
    start = duration = None
    for sweep in sweep_set.sweeps:
        s, d, _, _, _ = stf.get_stim_characteristics(sweep.i, sweep.t, test_pulse=False)
        if s is not None:
            start, duration = s, d
    if start is None:
        raise FeatureError("no sweep with a stimulus")
    return start, start + duration


def _spike_indices(spikes: Any, key: str) -> list[int | None]:
    """Sample indices of one spike feature (None where IPFX has NaN: a clipped spike's fast trough)."""
    if not len(spikes) or key not in spikes:
        return []
    return [int(x) if np.isfinite(x) else None for x in spikes[key].values]


def reference_cell(path: Path) -> dict:
    record: dict[str, Any] = {"path": str(path), "cell_id": path.stem, "error": None, "notes": [], "sweeps": {}}
    t0 = time.perf_counter()
    try:
        sweep_set = read_sweep_set(path)
        rate = float(sweep_set.sweeps[0].sampling_rate)
        start, end = stimulus_interval(sweep_set)
        filt = filter_for(rate)
        record.update(rate_hz=rate, filter_khz=filt, stim_start_s=start, stim_end_s=end)
        if filt is None:
            record["notes"].append(f"{FILTER_KHZ:g} kHz filter >= Nyquist at {rate / 1e3:g} kHz: filter_frequency=None")
        params = dsf.detection_parameters(dsf.StimulusType.LONG_SQUARE)
        record["detection"] = {"dv_cutoff": 20.0, "thresh_frac": 0.05, "min_peak": -30.0} | params
        for log in TIMES.values():
            log.clear()
        features, require_sub = None, True
        for require_sub in (True, False):
            spx, sptx = dsf.extractors_for_sweeps(sweep_set, start=start, end=end, filter_frequency=filt, **params)
            analysis = LongSquareAnalysis(
                spx, sptx, subthresh_min_amp=SUBTHRESH_MIN_AMP, require_subthreshold=require_sub
            )
            try:
                features = analysis.analyze(sweep_set)
                break
            except FeatureError as error:
                if not require_sub or "subthreshold" not in str(error):
                    raise
                record["notes"].append(f"require_subthreshold=False after: {error}")
                for log in TIMES.values():
                    log.clear()
        record["require_subthreshold"] = require_sub
        table = features["sweeps"]
        for k, sweep in enumerate(sweep_set.sweeps):
            spikes = features["spikes_set"][k]
            record["sweeps"][str(sweep.sweep_number)] = {
                "stim_amp": _num(table["stim_amp"].iloc[k]),
                "n_spikes": len(spikes),
                "threshold_index": _spike_indices(spikes, "threshold_index"),
                "peak_index": _spike_indices(spikes, "peak_index"),
                "fast_trough_index": _spike_indices(spikes, "fast_trough_index"),
                "peak_t_s": [float(x) for x in spikes["peak_t"].values] if len(spikes) else [],
                "seconds": TIMES["spx"][k] + TIMES["sptx"][k],
            }
        record["features"] = cell_features(features)
    except Exception as error:  # noqa: BLE001 - a failing cell is recorded, never fatal
        record["error"] = f"{type(error).__name__}: {error}"
        record["traceback"] = traceback.format_exc(limit=3)
    record["cell_seconds"] = time.perf_counter() - t0
    return record


def cell_features(features: dict) -> dict:
    out = {
        "vrest_mv": _num(features.get("v_baseline")),
        "rheobase_pa": _num(features.get("rheobase_i")),
        "input_resistance_mohm": _num(features.get("input_resistance")),
        "tau_ms": _num(features.get("tau", np.nan) * 1000.0),
        "sag": _num(features.get("sag")),
        "vm_for_sag_mv": _num(features.get("vm_for_sag")),
        "fi_fit_slope_hz_per_pa": _num(features.get("fi_fit_slope")),
    }
    rheo = features.get("rheobase_sweep")
    spikes = features["spikes_set"][rheo.name] if rheo is not None else []
    first = spikes.iloc[0] if len(spikes) else {}
    for key in ("threshold_v", "peak_v", "fast_trough_v", "upstroke_downstroke_ratio"):
        out[f"rheo_{key}"] = _num(first.get(key)) if len(spikes) else None
    out["rheo_width_ms"] = _num(first.get("width") * 1000.0) if len(spikes) else None
    return out


def test_traces(data_root: Path) -> dict:
    """IPFX's SpikeFeatureExtractor on spike_test_pair (defaults) and spike_test_var_dt (filter=None)."""
    out = {}
    for which, kwargs in (("pair", {}), ("var_dt", {"filter": None})):
        t, v = read_test_trace(which, data_root)
        spikes = SpikeFeatureExtractor(**kwargs).process(t, v, None)
        out[which] = {
            "extractor_kwargs": kwargs,
            "threshold_index": _spike_indices(spikes, "threshold_index"),
            "peak_index": _spike_indices(spikes, "peak_index"),
            "fast_trough_index": _spike_indices(spikes, "fast_trough_index"),
            "threshold_v": [float(x) for x in spikes["threshold_v"]],
            "peak_v": [float(x) for x in spikes["peak_v"]],
            "fast_trough_v": [float(x) for x in spikes["fast_trough_v"]],
            "width_ms": [float(x) * 1000.0 for x in spikes["width"]],
        }
    return out


def golden(out: dict) -> dict:
    """The compact golden data (tests/data/real_ipfx_golden.json) from a reference run."""
    cells: dict[str, dict] = {}
    for rec in out["cells"]:
        if rec["error"]:
            raise SystemExit(f"{rec['cell_id']}: IPFX failed ({rec['error']}); no golden data written")
        name, rate = rec["cell_id"].rsplit("_", 1)
        cells.setdefault(name, {})[rate] = {
            "rate_hz": rec["rate_hz"],
            "filter_khz": rec["filter_khz"],
            "stim_start_s": round(rec["stim_start_s"], 6),
            "stim_end_s": round(rec["stim_end_s"], 6),
            "require_subthreshold": rec["require_subthreshold"],
            "notes": rec["notes"],
            "features": rec["features"],
            "sweeps": {
                n: {k: s[k] for k in ("stim_amp", "threshold_index", "peak_index")} for n, s in rec["sweeps"].items()
            },
        }
    keys = ("ipfx_version", "numpy_version", "python", "subthresh_min_amp", "test_traces")
    return {k: out[k] for k in keys if k in out} | {"cells": cells}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--traces", type=Path, help="../shared/data: also run IPFX's two spike test traces")
    parser.add_argument("--golden", type=Path, help="also write the compact golden data here")
    parser.add_argument("nwb", nargs="*", type=Path)
    args = parser.parse_args()
    cells = run_cells(args.nwb, reference_cell)
    out = versions() | {
        "subthresh_min_amp": SUBTHRESH_MIN_AMP,
        "cells": cells,
    }
    if args.traces:
        out["test_traces"] = test_traces(args.traces)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    if args.golden:
        args.golden.write_text(json.dumps(golden(out), separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
