"""IPFX 2.1.2 reference features for Allen/MIES-layout NWB files; runs in the IPFX venv (never imports patchseq_ml).

Usage: .venv-ipfx/bin/python benchmarks/ipfx_reference.py --out OUT.json [--config config/config.yaml] NWB [NWB ...]

Reading: ``ipfx.dataset.create.create_ephys_data_set`` (HBGNWBData: sweep_table, stimulus_description with its
``_DA_0`` stripped, data * conversion -> pA / mV). IPFX's default stimulus ontology already names our codes
(X1PS_SubThresh, X3LP_Rheo, X4PS_SupraThresh: "Long Square"; X6SP_Rheo: "Short Square"; X7Ramp: "Ramp");
``OUR_CODES`` adds any of them a future ontology might lack. Analysis follows ``ipfx.bin.run_feature_vector_extraction``
with IPFX defaults: ``script_utils.preprocess_{long_square,short_square,ramp}_sweeps`` (LongSquareAnalysis etc. with
SpikeFeatureExtractor / SpikeTrainFeatureExtractor), then the 12 Gouwens et al. 2019 feature-vector families with
the IPFX functions and, by default, the pipeline's settings (``IPFX_SETTINGS``: step targets -90..-10 pA within 5 pA,
subthresh_norm target -101 pA, rheobase + 0..100 pA, psth 50 ms / other bins 20 ms, 3 ms AP window at 50 kHz).
``--config`` takes targets, bins and windows from the project's ``features.families`` instead (same algorithms), so
vector lengths match ours. ``inst_freq_norm`` (inst_freq / each sweep's maximum) is ours, not an IPFX function.
Per-sweep time (s) = SpikeFeatureExtractor.process + SpikeTrainFeatureExtractor.process of that sweep; per-cell time
(s) covers reading, all three analyses and the vectors; ``peak_rss_mb`` is the process's ru_maxrss so far (MB).
A cell IPFX fails on is recorded with its error; the run never stops for one.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import resource
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

warnings.simplefilter("ignore")  # hdmf cached-namespace and pandas warnings would flood the log
logging.disable(logging.WARNING)

import ipfx  # noqa: E402
import ipfx.feature_vectors as fv  # noqa: E402
import ipfx.json_utilities as ju  # noqa: E402
import ipfx.script_utils as su  # noqa: E402
from ipfx.dataset.create import create_ephys_data_set  # noqa: E402
from ipfx.feature_extractor import SpikeFeatureExtractor, SpikeTrainFeatureExtractor  # noqa: E402
from ipfx.stimulus import StimulusOntology  # noqa: E402

OUR_CODES = {
    "X1PS_SubThresh": "Long Square",
    "X3LP_Rheo": "Long Square",
    "X4PS_SupraThresh": "Long Square",
    "X6SP_Rheo": "Short Square",
    "X7Ramp": "Ramp",
}
IPFX_SETTINGS = {  # ipfx.bin.run_feature_vector_extraction
    "step_targets_pa": [-90, -70, -50, -30, -10],
    "step_tolerance_pa": 5.0,
    "subthresh_norm_target_pa": -101.0,
    "extend_s": 0.2,
    "subthresh_bin_s": 0.01,
    "supra_targets_pa": [0, 20, 40, 60, 80, 100],  # rheobase + these, shift 10 pA
    "psth_bin_ms": 50,
    "bin_ms": 20,
    "ap_window_s": 0.003,
    "ap_rate_hz": 50000,
}
SPIKE_KEYS = ["upstroke_downstroke_ratio", "peak_v", "fast_trough_v", "threshold_v", "width"]
TIMES: dict[str, list[float]] = {"spx": [], "sptx": []}


def _timed(kind: str, method: Callable) -> Callable:
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        out = method(self, *args, **kwargs)
        TIMES[kind].append(time.perf_counter() - start)
        return out

    return wrapper


SpikeFeatureExtractor.process = _timed("spx", SpikeFeatureExtractor.process)
SpikeTrainFeatureExtractor.process = _timed("sptx", SpikeTrainFeatureExtractor.process)


def ontology() -> StimulusOntology:
    """IPFX's default ontology plus ``OUR_CODES`` entries for codes it does not know."""
    tags = ju.read(StimulusOntology.DEFAULT_STIMULUS_ONTOLOGY_FILE)
    known = {code for entry in tags for tag in entry if tag[0] == "code" for code in tag[1:]}
    tags += [[["code", code], ["name", name]] for code, name in OUR_CODES.items() if code not in known]
    return StimulusOntology(tags)


def _num(x: Any) -> float | None:
    """JSON-safe float (NaN, inf and missing -> None)."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _analyse(kind: str, fn: Callable, data_set: Any, numbers: Any, sweeps_out: dict) -> tuple:
    """Run one IPFX preprocess_* function; record spike count, peak times (s) and time (s) per analysed sweep."""
    for log in TIMES.values():
        log.clear()
    out = fn(data_set, numbers)
    sweep_set, features = out[0], out[1]
    for k, sweep in enumerate(sweep_set.sweeps):
        spikes = features["spikes_set"][k]
        seconds = TIMES["spx"][k] + (TIMES["sptx"][k] if k < len(TIMES["sptx"]) else 0.0)
        peaks = spikes["peak_t"].tolist() if len(spikes) else []
        sweeps_out[str(int(sweep.sweep_number))] = {
            "stimulus_type": kind,
            "n_spikes": len(spikes),
            "peak_t_s": [float(t) for t in peaks],
            "seconds": seconds,
        }
    return out


def project_settings(path: Path) -> dict:
    """``IPFX_SETTINGS`` with targets, bins and windows from the project's ``features.families`` (YAML)."""
    fam = yaml.safe_load(path.read_text())["features"]["families"]
    return IPFX_SETTINGS | {
        "step_targets_pa": fam["step_subthresh_targets_pa"],
        "subthresh_norm_target_pa": fam["subthresh_norm_target_pa"],
        "extend_s": fam["subthresh_extend_s"],
        "subthresh_bin_s": fam["subthresh_bin_ms"] / 1000.0,
        "supra_targets_pa": fam["spiking_offsets_pa"],
        "psth_bin_ms": fam["spike_bin_ms"],
        "bin_ms": fam["spike_bin_ms"],
        "ap_window_s": fam["first_ap_window_ms"] / 1000.0,
        "ap_rate_hz": fam["target_rate_hz"],
    }


def _families(lsq: tuple, ssq: tuple | None, ramp: tuple | None, cfg: dict) -> tuple[dict, dict]:
    """The 12 feature-vector families (lists) and the error of each family that failed."""
    sweeps, feats, _, start, end = lsq
    sub = {"extend_duration": cfg["extend_s"], "subsample_interval": cfg["subthresh_bin_s"]}
    step = {"target_amps": cfg["step_targets_pa"], "amp_tolerance": cfg["step_tolerance_pa"]} | sub
    out: dict[str, list[float] | None] = {}
    errors: dict[str, str] = {}

    def run(name: str, fn: Callable[[], Any]) -> None:
        try:
            out[name] = [float(x) for x in np.asarray(fn(), dtype=float)]
        except Exception as error:  # noqa: BLE001 - one family's failure must not cost the others
            out[name], errors[name] = None, f"{type(error).__name__}: {error}"

    hyper, deflect = fv.identify_subthreshold_hyperpol_with_amplitudes(feats, sweeps)
    run("step_subthresh", lambda: fv.step_subthreshold(hyper, start=start, end=end, **step))
    run("subthresh_norm", lambda: fv.subthresh_norm(hyper, deflect, start, end, cfg["subthresh_norm_target_pa"], **sub))

    def isi() -> np.ndarray:
        sweep, info = fv.identify_sweep_for_isi_shape(sweeps, feats, end - start)
        return fv.isi_shape(sweep, info, end)

    run("isi_shape", isi)
    first_ap: dict[str, list[np.ndarray]] = {"v": [], "dv": []}

    def ap_vectors(pairs: list[tuple[Any, Any]], skip_clipped: bool) -> None:
        sweep_list, info_list = [p[0] for p in pairs], [p[1] for p in pairs]
        v, dv = fv.first_ap_vectors(sweep_list, info_list, cfg["ap_rate_hz"], cfg["ap_window_s"], skip_clipped)
        first_ap["v"].append(v)
        first_ap["dv"].append(dv)

    if ssq is not None:
        ap_vectors([(ssq[0].sweeps[i], ssq[1]["spikes_set"][i]) for i in ssq[1]["common_amp_sweeps"].index], True)
    rheo = feats["rheobase_sweep"].name
    ap_vectors([(sweeps.sweeps[rheo], feats["spikes_set"][rheo])], False)
    if ramp is not None:
        ap_vectors([(ramp[0].sweeps[i], ramp[1]["spikes_set"][i]) for i in ramp[1]["spiking_sweeps"].index], True)
    run("first_ap_v", lambda: np.hstack(first_ap["v"]))
    run("first_ap_dv", lambda: np.hstack(first_ap["dv"]))
    supra = fv.identify_suprathreshold_spike_info(feats, np.asarray(cfg["supra_targets_pa"]), shift=10)
    run("psth", lambda: fv.psth_vector(supra, start, end, cfg["psth_bin_ms"]))
    run("inst_freq", lambda: fv.inst_freq_vector(supra, start, end, cfg["bin_ms"]))
    if out["inst_freq"] is not None:
        per_sweep = np.reshape(out["inst_freq"], (len(cfg["supra_targets_pa"]), -1))
        top = per_sweep.max(axis=1, keepdims=True)
        run("inst_freq_norm", lambda: np.divide(per_sweep, top, out=np.zeros_like(per_sweep), where=top > 0).ravel())
    for key in SPIKE_KEYS:
        run(f"spiking_{key}", lambda key=key: fv.spike_feature_vector(key, supra, start, end, cfg["bin_ms"]))
    return out, errors


def reference_cell(path: Path, onto: StimulusOntology, cfg: dict) -> dict:
    """IPFX features, vectors, per-sweep spike counts and timings of one NWB file."""
    record: dict[str, Any] = {"path": str(path), "cell_id": path.stem, "error": None, "sweeps": {}, "errors": {}}
    start = time.perf_counter()
    try:
        data_set = create_ephys_data_set(str(path), ontology=onto)
        names = {"long_square": onto.long_square_names, "short_square": onto.short_square_names}
        names["ramp"] = onto.ramp_names
        numbers = {kind: su.categorize_iclamp_sweeps(data_set, n) for kind, n in names.items()}
        lsq = _analyse(
            "long_square", su.preprocess_long_square_sweeps, data_set, numbers["long_square"], record["sweeps"]
        )
        optional = {}
        for kind, fn in [("short_square", su.preprocess_short_square_sweeps), ("ramp", su.preprocess_ramp_sweeps)]:
            try:
                optional[kind] = _analyse(kind, fn, data_set, numbers[kind], record["sweeps"])
            except Exception as error:  # noqa: BLE001
                optional[kind] = None
                record["errors"][kind] = f"{type(error).__name__}: {error}"
        feats = lsq[1]
        first = feats["spikes_set"][feats["rheobase_sweep"].name].iloc[0]
        record["features"] = {
            "vrest_mv": _num(feats["v_baseline"]),
            "rheobase_pa": _num(feats["rheobase_i"]),
            "input_resistance_mohm": _num(feats.get("input_resistance")),
            "sag": _num(feats.get("sag")),
            "tau_ms": _num(feats.get("tau", np.nan) * 1000.0),
            "rheo_width_ms": _num(first["width"] * 1000.0),
            "rheo_threshold_v": _num(first["threshold_v"]),
            "rheo_peak_v": _num(first["peak_v"]),
            "rheo_fast_trough_v": _num(first["fast_trough_v"]),
            "rheo_upstroke_downstroke_ratio": _num(first["upstroke_downstroke_ratio"]),
        }
        record["families"], family_errors = _families(lsq, optional["short_square"], optional["ramp"], cfg)
        record["errors"].update(family_errors)
    except Exception as error:  # noqa: BLE001 - a failing cell is recorded, never fatal
        record["error"] = f"{type(error).__name__}: {error}"
        record["traceback"] = traceback.format_exc(limit=3)
    record["cell_seconds"] = time.perf_counter() - start
    record["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return record


def run_cells(paths: list[Path], reference: Callable[[Path], dict]) -> list[dict]:
    """``reference(path)`` for each file, with one progress line per cell on stderr."""
    cells = []
    for path in paths:
        cells.append(reference(path))
        status = cells[-1]["error"] or "ok"
        print(f"ipfx {path.name}: {status} ({cells[-1]['cell_seconds']:.2f} s)", file=sys.stderr)
    return cells


def versions() -> dict[str, str]:
    """IPFX, numpy and Python versions of this run."""
    return {"ipfx_version": ipfx.__version__, "numpy_version": np.__version__, "python": sys.version.split()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="JSON written here")
    parser.add_argument("--config", type=Path, help="take family targets and bins from this project config")
    parser.add_argument("nwb", nargs="+", type=Path)
    args = parser.parse_args()
    onto = ontology()
    cfg = project_settings(args.config) if args.config else IPFX_SETTINGS
    cells = run_cells(args.nwb, lambda path: reference_cell(path, onto, cfg))
    out = versions() | {
        "settings": cfg,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "cells": cells,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
