"""Our extraction against IPFX 2.1.2 on the same NWB files: fidelity and speed tables (runs in the main venv).

Usage: .venv/bin/python benchmarks/ipfx_fidelity.py --ipfx OUT.json [--config config/config.yaml] [--json PATH]
OUT.json comes from benchmarks/ipfx_reference.py (IPFX venv). Spike counts are compared on sweeps both analysed
(ours: QC-passed); relative difference = |ours - IPFX| / |IPFX| (%). Per-sweep time (s) wraps our ``sweep_features``
(spike detection + sweep features, as IPFX's two extractors' ``process``); per-cell time (s) wraps ``extract_cell``
(reading included, as on the IPFX side); peak RSS is ru_maxrss (MB) of each process.
"""

from __future__ import annotations

import argparse
import json
import resource
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

SCALARS = {  # our feature name -> (IPFX record name, label)
    "rheobase_pa": ("rheobase_pa", "rheobase (pA)"),
    "input_resistance_mohm": ("input_resistance_mohm", "input resistance (MOhm)"),
    "sag": ("sag", "sag (fraction)"),
    "tau_ms": ("tau_ms", "tau (ms)"),
    "rheo_width_ms": ("rheo_width_ms", "rheobase AP width (ms)"),
    "rheo_threshold_v": ("rheo_threshold_v", "rheobase AP threshold (mV)"),
    "rheo_peak_v": ("rheo_peak_v", "rheobase AP peak (mV)"),
}
FAMILIES = (
    "first_ap_v", "first_ap_dv", "isi_shape", "inst_freq", "psth", "spiking_threshold_v", "spiking_peak_v",
    "spiking_width", "spiking_fast_trough_v", "spiking_upstroke_downstroke_ratio", "step_subthresh", "subthresh_norm",
)  # fmt: skip
SPEED_ROWS = [("ours", "ours"), ("ipfx", "IPFX 2.1.2"), ("speedup", "speed-up (IPFX / ours)")]
SWEEP_SECONDS: list[float] = []


def _timed(fn: Callable) -> Callable:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        SWEEP_SECONDS.append(time.perf_counter() - start)
        return out

    return wrapper


def run_ours(cells: list[dict], config: dict) -> tuple[list[dict], float]:
    """``extract_cell`` on each IPFX-analysed file: result dict, cell seconds, sweep seconds; and peak RSS (MB)."""
    table = StimulusTable.from_tsv(ROOT / config["stimulus_codes"])
    if hasattr(cf, "sweep_features"):
        cf.sweep_features = _timed(cf.sweep_features)
    out = []
    for cell in cells:
        SWEEP_SECONDS.clear()
        start = time.perf_counter()
        result = cf.extract_cell(cell["path"], cell["cell_id"], table, config)
        seconds = time.perf_counter() - start
        families = getattr(result, "families", None)
        out.append({"result": result, "seconds": seconds, "sweep_seconds": list(SWEEP_SECONDS), "families": families})
    return out, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def spike_agreement(ipfx_cells: list[dict], ours: list[dict]) -> dict[str, dict]:
    """Per stimulus type: sweeps compared, % with equal spike count, median |peak-time difference| (ms)."""
    rows: dict[str, dict] = {}
    for ref, mine in zip(ipfx_cells, ours):
        by_number = {s["sweep_number"]: s for s in mine["result"].sweeps}
        for number, sweep in ref.get("sweeps", {}).items():
            own = by_number.get(int(number))
            row = rows.setdefault(sweep["stimulus_type"], {"n": 0, "equal": 0, "dt_ms": [], "rejected": 0})
            if own is None or own.get("qc") != "passed":
                row["rejected"] += 1
                continue
            row["n"] += 1
            if len(own["spike_times_s"]) == sweep["n_spikes"]:
                row["equal"] += 1
                row["dt_ms"] += [1000 * abs(a - b) for a, b in zip(own["spike_times_s"], sweep["peak_t_s"])]
    total = {k: sum(r[k] for r in rows.values()) for k in ("n", "equal", "rejected")}
    total["dt_ms"] = [d for r in rows.values() for d in r["dt_ms"]]
    rows["all"] = total
    return {
        k: {"n": r["n"], "rejected": r["rejected"], "pct_equal": 100 * r["equal"] / r["n"] if r["n"] else None}
        | {"dt_ms": _median(r["dt_ms"])}
        for k, r in rows.items()
    }


def scalar_agreement(ipfx_cells: list[dict], ours: list[dict]) -> dict[str, dict]:
    """Per feature: n cells with both values finite, medians, median relative (%) and absolute difference."""
    out = {}
    for name, (ref_name, label) in SCALARS.items():
        pairs = [
            (mine["result"].features.get(name, np.nan), ref.get("features", {}).get(ref_name))
            for ref, mine in zip(ipfx_cells, ours)
        ]
        pairs = [(float(a), float(b)) for a, b in pairs if b is not None and np.isfinite(a)]
        rel = [100 * abs(a - b) / abs(b) for a, b in pairs if b != 0]
        out[name] = {
            "label": label,
            "n": len(pairs),
            "ours_median": _median([a for a, _ in pairs]),
            "ipfx_median": _median([b for _, b in pairs]),
            "median_rel_diff_pct": _median(rel),
            "median_abs_diff": _median([abs(a - b) for a, b in pairs]),
        }
    return out


def family_agreement(ipfx: dict, ours: list[dict]) -> dict[str, dict] | None:
    """Per family: cells compared (equal length), length mismatches, median per-cell Pearson r, pooled r (all cells'
    vectors concatenated: defined even where a cell's vector is nearly flat), max |difference| (our units: IPFX
    ``spiking_width`` s -> ms, ``first_ap_dv`` mV per sample -> mV/ms)."""
    present = [mine["families"] for mine in ours if mine["families"]]
    if not present:
        return None
    scale = {"spiking_width": 1000.0, "first_ap_dv": ipfx.get("settings", {}).get("ap_rate_hz", 50000) / 1000.0}
    ipfx_cells, out = ipfx["cells"], {}
    for name in present[0] if present else FAMILIES:
        rs, diffs, mismatched, pooled = [], [], 0, []
        for ref, mine in zip(ipfx_cells, ours):
            a, b = (mine["families"] or {}).get(name), (ref.get("families") or {}).get(name)
            if a is None or b is None:
                continue
            if len(a) != len(b):
                mismatched += 1
                continue
            x, y = np.asarray(a, float), np.asarray(b, float) * scale.get(name, 1.0)
            diffs.append(float(np.nanmax(np.abs(x - y))))
            pooled.append((x, y))
            if np.std(x) > 0 and np.std(y) > 0:
                rs.append(float(np.corrcoef(x, y)[0, 1]))
        out[name] = {
            "n": len(diffs),
            "length_mismatch": mismatched,
            "median_r": _median(rs),
            "pooled_r": _pooled_r(pooled),
            "max_abs_diff": max(diffs, default=float("nan")),
        }
    return out


def _pooled_r(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    if not pairs:
        return float("nan")
    x, y = (np.concatenate(v) for v in zip(*pairs))
    ok = np.isfinite(x) & np.isfinite(y)
    return float(np.corrcoef(x[ok], y[ok])[0, 1]) if ok.sum() > 1 and np.std(x[ok]) > 0 else float("nan")


def speed(ipfx: dict, ours: list[dict], our_rss: float) -> dict[str, dict]:
    """Median per-sweep time (ms), mean per-cell time (s) and peak RSS (MB), ours and IPFX."""
    ref_cells = [c for c in ipfx["cells"] if not c["error"]]
    ref_sweeps = [s["seconds"] for c in ref_cells for s in c["sweeps"].values()]
    own_sweeps = [t for mine in ours for t in mine["sweep_seconds"]]
    rows = {
        "ours": {"sweep_ms": 1000 * _median(own_sweeps), "cell_s": _mean([m["seconds"] for m in ours])},
        "ipfx": {"sweep_ms": 1000 * _median(ref_sweeps), "cell_s": _mean([c["cell_seconds"] for c in ref_cells])},
    }
    rows["ours"]["rss_mb"], rows["ipfx"]["rss_mb"] = our_rss, ipfx["peak_rss_mb"]
    rows["speedup"] = {k: rows["ipfx"][k] / rows["ours"][k] for k in ("sweep_ms", "cell_s", "rss_mb")}
    rows["n"] = {"cells": len(ours), "ipfx_failed": len(ipfx["cells"]) - len(ref_cells), "sweeps": len(ref_sweeps)}
    return rows


def _clean(x: Any) -> Any:
    """NaN/inf -> None, recursively (strict JSON)."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def _f(x: Any, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{digits}g}"


def _table(header: list[str], rows: list[list[Any]]) -> None:
    print("\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(c if isinstance(c, str) else _f(c) for c in row) + " |")


def print_tables(report: dict) -> None:
    """The fidelity and speed tables as markdown."""
    print("\n### Fidelity (sweeps and cells both analysed)")
    spikes = [[k, str(r["n"]), str(r["rejected"]), r["pct_equal"], r["dt_ms"]] for k, r in report["spikes"].items()]
    _table(["stimulus", "sweeps", "our QC rejected", "equal spike count (%)", "median abs dt peak (ms)"], spikes)
    keys = ["ours_median", "ipfx_median", "median_rel_diff_pct", "median_abs_diff"]
    scalars = [[r["label"], str(r["n"])] + [r[k] for k in keys] for r in report["scalars"].values()]
    _table(["feature", "n cells", "median ours", "median IPFX", "median rel. diff (%)", "median abs diff"], scalars)
    if report["families"] is None:
        print("\nfamilies: not available (CellResult has no .families)")
    else:
        families = [
            [name, str(r["n"]), str(r["length_mismatch"]), r["median_r"], r["pooled_r"], r["max_abs_diff"]]
            for name, r in report["families"].items()
        ]
        header = ["family", "n cells", "length mismatch", "median Pearson r", "pooled r", "max abs diff"]
        _table(header, families)
    s = report["speed"]
    n = s["n"]
    print(f"\n### Speed ({n['cells']} cells, {n['sweeps']} IPFX sweeps; IPFX failed on {n['ipfx_failed']} cells)")
    rows = [[label] + [s[key][k] for k in ("sweep_ms", "cell_s", "rss_mb")] for key, label in SPEED_ROWS]
    _table(["", "per sweep (ms, median)", "per cell (s, mean)", "peak RSS (MB)"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ipfx", required=True, type=Path, help="JSON from benchmarks/ipfx_reference.py")
    parser.add_argument("--config", default=ROOT / "config/config.yaml", type=Path)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    ipfx = json.loads(args.ipfx.read_text())
    config = yaml.safe_load(args.config.read_text())["features"]
    ours, rss = run_ours(ipfx["cells"], config)
    report = {
        "ipfx_version": ipfx["ipfx_version"],
        "ipfx_errors": {c["cell_id"]: c["error"] for c in ipfx["cells"] if c["error"]},
        "spikes": spike_agreement(ipfx["cells"], ours),
        "scalars": scalar_agreement(ipfx["cells"], ours),
        "families": family_agreement(ipfx, ours),
        "speed": speed(ipfx, ours, rss),
    }
    if config["families"]["first_ap_alignment"] != "sample":  # ours as configured, then IPFX's own alignment
        sample = dict(config, families=dict(config["families"], first_ap_alignment="sample"))
        report["families_sample_alignment"] = family_agreement(ipfx, run_ours(ipfx["cells"], sample)[0])
    print_tables(report)
    if "families_sample_alignment" in report:
        print("\nfirst-AP families with first_ap_alignment=sample (IPFX's; the default interpolates, see README):")
        rows = [
            [name, str(r["n"]), r["median_r"], r["pooled_r"], r["max_abs_diff"]]
            for name, r in report["families_sample_alignment"].items()
            if name.startswith("first_ap")
        ]
        _table(["family", "n cells", "median Pearson r", "pooled r", "max abs diff"], rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(_clean(report), indent=1))


if __name__ == "__main__":
    main()
