"""Our extraction against IPFX 2.1.2 on the cut real recordings: agreement and speed per cell and rate (main venv).

Usage: .venv/bin/python benchmarks/ipfx_real_fidelity.py --ipfx REF.json [--config config/config.yaml] [--json PATH]
REF.json comes from benchmarks/ipfx_real_reference.py (IPFX venv) on files written by benchmarks/real_recordings.py;
``--golden tests/data/real_ipfx_golden.json`` compares with the stored golden values instead (no timing on the IPFX
side then). The golden tests (tests/unit/test_real_recordings.py) use ``compare_cell`` from here, so the table and
the tests count the same way:

- sweeps compared: IPFX's sweeps whose sweep our QC passed (our QC-rejected sweeps are counted apart, with reasons);
- spike-count agreement: % of compared sweeps with equal counts; max |count difference| over them;
- matched spikes: each IPFX spike paired with our spike of nearest peak index within ``MATCH_MS`` (one to one, in
  order); threshold/peak index agreement: % of matched pairs with equal sample indices; unmatched spikes counted;
- features: relative difference (ours - IPFX) / |IPFX| (%) of every cell feature both have; ``n/a`` where one side
  has none (e.g. input resistance and tau without a hyperpolarising step in (-100, 0) pA);
- speed: median per-sweep time of our ``sweep_features`` (spike detection + sweep features; same sweeps, same run)
  against IPFX's SpikeFeatureExtractor.process + SpikeTrainFeatureExtractor.process, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow_scripts"))

from patchseq_ml.acquire.stimulus_table import StimulusTable  # noqa: E402
from patchseq_ml.ephys import cell_features as cf  # noqa: E402

MATCH_MS = 2.0
FEATURES = {  # our feature -> IPFX reference / golden feature
    "vrest_mv": "vrest_mv",
    "rheobase_pa": "rheobase_pa",
    "input_resistance_mohm": "input_resistance_mohm",
    "tau_ms": "tau_ms",
    "sag": "sag",
    "vm_for_sag_mv": "vm_for_sag_mv",
    "fi_slope_hz_per_pa": "fi_fit_slope_hz_per_pa",
    "rheo_threshold_v": "rheo_threshold_v",
    "rheo_peak_v": "rheo_peak_v",
    "rheo_fast_trough_v": "rheo_fast_trough_v",
    "rheo_width_ms": "rheo_width_ms",
    "rheo_upstroke_downstroke_ratio": "rheo_upstroke_downstroke_ratio",
}
CAPTURED: dict[int, dict] = {}  # sweep number -> our spike indices and time of the last extract_cell run


def _capturing(fn: Callable) -> Callable:
    def wrapper(sweep: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        out = fn(sweep, *args, **kwargs)
        seconds = time.perf_counter() - start
        spikes = out.spikes
        CAPTURED[int(sweep.sweep_number)] = {
            "threshold_index": [int(i) for i in spikes.threshold_index],
            "peak_index": [int(i) for i in spikes.peak_index],
            "seconds": seconds,
        }
        return out

    wrapper.__wrapped__ = fn
    return wrapper


def run_ours(path: str | Path, cell_id: str, config: dict, table: StimulusTable) -> tuple[Any, dict[int, dict], float]:
    """``extract_cell`` on one file: (CellResult, per-sweep spike indices and seconds, cell seconds)."""
    original = getattr(cf, "sweep_features", None)
    if original is not None and not hasattr(original, "__wrapped__"):
        cf.sweep_features = _capturing(original)
    CAPTURED.clear()
    start = time.perf_counter()
    try:
        result = cf.extract_cell(path, cell_id, table, config)
    finally:
        if original is not None:
            cf.sweep_features = original
    seconds = time.perf_counter() - start
    captured = dict(CAPTURED)
    for record in result.sweeps:  # fallback where sweep_features could not be wrapped: peaks from the peak times
        number = record["sweep_number"]
        if record.get("qc") == "passed" and number not in captured:
            rate = _rate(path)
            peaks = [int(round(t * rate)) for t in record["spike_times_s"]]
            captured[number] = {"threshold_index": None, "peak_index": peaks, "seconds": np.nan}
    return result, captured, seconds


def _rate(path: str | Path) -> float:
    import h5py

    with h5py.File(path, "r") as h5:
        series = next(iter(h5["acquisition"].values()))
        return float(series["starting_time"].attrs["rate"])


def match_spikes(ref_peaks: list[int], our_peaks: list[int], max_gap: int) -> list[tuple[int, int]]:
    """(IPFX spike, our spike) index pairs: nearest peak within ``max_gap`` samples, one to one, in order."""
    pairs, j = [], 0
    for i, peak in enumerate(ref_peaks):
        while j < len(our_peaks) and our_peaks[j] < peak - max_gap:
            j += 1
        best = None
        for k in range(j, len(our_peaks)):
            if our_peaks[k] > peak + max_gap:
                break
            if best is None or abs(our_peaks[k] - peak) < abs(our_peaks[best] - peak):
                best = k
        if best is not None:
            pairs.append((i, best))
            j = best + 1
    return pairs


def compare_cell(ref: dict, result: Any, captured: dict[int, dict], rate_hz: float) -> dict:
    """Agreement of one cell/rate: ``ref`` is an IPFX cell record (reference JSON or golden JSON entry)."""
    ours = {r["sweep_number"]: r for r in result.sweeps}
    rows, rejected = [], {}
    max_gap = int(round(MATCH_MS * rate_hz / 1000.0))
    for number, sweep in sorted(ref["sweeps"].items(), key=lambda kv: int(kv[0])):
        own = ours.get(int(number))
        if own is None or own.get("qc") != "passed" or int(number) not in captured:
            reason = "missing" if own is None else str(own.get("qc"))
            rejected[reason] = rejected.get(reason, 0) + 1
            continue
        mine = captured[int(number)]
        pairs = match_spikes(sweep["peak_index"], mine["peak_index"], max_gap)
        thr_equal = None
        if mine["threshold_index"] is not None:
            thr_equal = sum(sweep["threshold_index"][i] == mine["threshold_index"][k] for i, k in pairs)
        rows.append(
            {
                "sweep": int(number),
                "ipfx_n": len(sweep["peak_index"]),
                "our_n": len(mine["peak_index"]),
                "matched": len(pairs),
                "peak_equal": sum(sweep["peak_index"][i] == mine["peak_index"][k] for i, k in pairs),
                "threshold_equal": thr_equal,
            }
        )
    matched = sum(r["matched"] for r in rows)
    thr = [r["threshold_equal"] for r in rows]
    out = {
        "sweeps": len(rows),
        "rejected": rejected,
        "count_equal_pct": 100.0 * sum(r["ipfx_n"] == r["our_n"] for r in rows) / len(rows) if rows else None,
        "max_count_diff": max((abs(r["ipfx_n"] - r["our_n"]) for r in rows), default=None),
        "ipfx_spikes": sum(r["ipfx_n"] for r in rows),
        "our_spikes": sum(r["our_n"] for r in rows),
        "matched": matched,
        "peak_equal_pct": 100.0 * sum(r["peak_equal"] for r in rows) / matched if matched else None,
        "threshold_equal_pct": (100.0 * sum(thr) / matched if matched and None not in thr else None),
        "per_sweep": rows,
        "features": {},
    }
    for ours_name, ref_name in FEATURES.items():
        a = result.features.get(ours_name, np.nan)
        b = ref.get("features", {}).get(ref_name)
        a = float(a) if a is not None else np.nan
        rel = 100.0 * (a - b) / abs(b) if b not in (None, 0) and np.isfinite(a) else None
        out["features"][ours_name] = {"ours": a if np.isfinite(a) else None, "ipfx": b, "rel_diff_pct": rel}
    return out


def _f(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _table(header: list[str], rows: list[list[Any]]) -> None:
    print("\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(_f(c) for c in row) + " |")


def print_tables(report: dict) -> None:
    cells = report["cells"]
    print(f"\n### Real recordings: ours vs IPFX {report['ipfx_version']} (sweeps our QC passed)")
    header = ["cell", "rate", "hard", "IPFX filter (kHz)", "sweeps", "QC-rejected", "count equal (%)",
              "max abs count diff", "spikes IPFX/ours", "matched", "threshold idx equal (%)",
              "peak idx equal (%)"]  # fmt: skip
    rows = []
    for c in cells:
        a = c["agreement"]
        rej = ", ".join(f"{k} {v}" for k, v in a["rejected"].items()) or "0"
        rows.append([c["cell"], c["rate"], "yes" if c["hard"] else "no", c["filter_khz"], a["sweeps"], rej,
                     a["count_equal_pct"], a["max_count_diff"], f"{a['ipfx_spikes']}/{a['our_spikes']}",
                     a["matched"], a["threshold_equal_pct"], a["peak_equal_pct"]])  # fmt: skip
    _table(header, rows)
    print("\nFeatures: relative difference (ours - IPFX) / |IPFX| (%)")
    _table(["cell", "rate"] + list(FEATURES), [
        [c["cell"], c["rate"]] + [c["agreement"]["features"][k]["rel_diff_pct"] for k in FEATURES] for c in cells
    ])  # fmt: skip
    if any(c.get("ipfx_sweep_ms") is not None for c in cells):
        print("\nPer-sweep time (ms, median over the cell's compared sweeps; same sweeps, same run)")
        _table(["cell", "rate", "ours", "IPFX", "speed ratio (IPFX / ours)"], [
            [c["cell"], c["rate"], c["our_sweep_ms"], c["ipfx_sweep_ms"],
             c["ipfx_sweep_ms"] / c["our_sweep_ms"] if c["ipfx_sweep_ms"] and c["our_sweep_ms"] else None]
            for c in cells
        ])  # fmt: skip
        ours = [t for c in cells for t in c["our_sweep_s"]]
        ipfx = [t for c in cells for t in c["ipfx_sweep_s"]]
        if ours and ipfx:
            o, i = 1000 * float(np.median(ours)), 1000 * float(np.median(ipfx))
            print(f"\nall cells: median per sweep ours {o:.3g} ms, IPFX {i:.3g} ms, ratio {i / o:.3g}x")


def _cells_from(ref: dict, golden: bool) -> list[tuple[str, str, dict, str | None]]:
    """(cell, rate label, IPFX record, NWB path or None) from a reference JSON or the golden JSON."""
    if golden:
        return [(cell, rate, rec, None) for cell, rates in ref["cells"].items() for rate, rec in rates.items()]
    out = []
    for rec in ref["cells"]:
        cell, rate = rec["cell_id"].rsplit("_", 1)
        out.append((cell, rate, rec, rec["path"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ipfx", type=Path, help="JSON from benchmarks/ipfx_real_reference.py")
    source.add_argument("--golden", type=Path, help="tests/data/real_ipfx_golden.json (cells written afresh)")
    parser.add_argument("--config", default=ROOT / "config/config.yaml", type=Path)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--work", type=Path, default=ROOT / "results/benchmarks/ipfx_real", help="cut NWB files")
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())["features"]
    table = StimulusTable.from_tsv(ROOT / config["stimulus_codes"])
    ref = json.loads((args.ipfx or args.golden).read_text())
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import real_recordings as rr

    report = {"ipfx_version": ref["ipfx_version"], "cells": []}
    for cell, rate, rec, path in _cells_from(ref, golden=args.golden is not None):
        if rec.get("error"):
            print(f"{cell} {rate}: IPFX failed ({rec['error']}), not compared", file=sys.stderr)
            continue
        if path is None:
            path = rr.write_cell(cell, args.work, "native" if rate == "native" else int(rate.rstrip("k")) * 1000)
        result, captured, _ = run_ours(path, f"{cell}_{rate}", rr.features_config(cell, config), table)
        agreement = compare_cell(rec, result, captured, rec["rate_hz"])
        compared = [r["sweep"] for r in agreement["per_sweep"]]
        ours_s = [captured[n]["seconds"] for n in compared]
        ipfx_s = [rec["sweeps"][str(n)]["seconds"] for n in compared if "seconds" in rec["sweeps"][str(n)]]
        report["cells"].append(
            {
                "cell": cell,
                "rate": rate,
                "hard": rr.RECORDINGS[cell].hard,
                "filter_khz": rec.get("filter_khz"),
                "status": result.status,
                "agreement": agreement,
                "our_sweep_s": ours_s,
                "ipfx_sweep_s": ipfx_s,
                "our_sweep_ms": 1000 * float(np.median(ours_s)) if ours_s else None,
                "ipfx_sweep_ms": 1000 * float(np.median(ipfx_s)) if ipfx_s else None,
            }
        )
    print_tables(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
