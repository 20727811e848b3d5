"""From one NWB file to one cell's features, with every lost sweep or stimulus family recorded with its reason.

A failing sweep costs that sweep, a missing family costs that family's features; the cell itself is dropped only
when a required stimulus type (default: long square) has no usable sweep, or the file cannot be read.
Feature units: mV, ms, pA, Hz, MOhm, mV/ms; ``sag`` is a fraction; ``fi_slope_hz_per_pa`` Hz/pA.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..acquire.nwb_reader import NWBReadError, read_sweeps
from ..acquire.stimulus_table import STIMULUS_TYPES, StimulusTable
from .families import cell_families
from .spikes import filter_applicable
from .sweep_features import SweepFeatures, sweep_features
from .sweep_qc import check_sweep, protocol_epochs
from .time_constant import cell_tau_ms

ANALYSED_TYPES = ("long_square", "short_square", "ramp")
AP_KEYS = ("threshold_v", "peak_v", "fast_trough_v", "width_ms", "upstroke", "downstroke", "upstroke_downstroke_ratio")
TRAIN_KEYS = ("rate_hz", "latency_ms", "isi_mean_ms", "isi_cv", "adaptation")


@dataclass
class Failure:
    """A lost cell, stimulus family, sweep or feature-vector family: ``level`` is 'cell', 'family', 'sweep' or
    'vector'; 'note' records a deviation that costs nothing (e.g. dV/dt left unfiltered at a low sampling rate)."""

    level: str
    item: str
    reason: str


@dataclass
class CellResult:
    """Everything extraction learns about one cell (serialised as the per-cell JSON)."""

    cell_id: str
    status: str  # "ok" or "failed"
    features: dict[str, float] = field(default_factory=dict)
    sweep_counts: dict[str, int] = field(default_factory=dict)  # matched sweeps per stimulus type
    usable_counts: dict[str, int] = field(default_factory=dict)  # QC-passed sweeps per analysed type
    failures: list[Failure] = field(default_factory=list)
    sweeps: list[dict] = field(default_factory=list)  # per sweep: number, type, code, amplitude, qc, spike times
    families: dict[str, np.ndarray | None] = field(default_factory=dict)  # feature-vector families (families.py)
    family_notes: dict[str, str] = field(default_factory=dict)  # families partly filled from neighbouring sweeps

    def to_dict(self) -> dict:
        families, self.families = self.families, {}
        out = asdict(self)
        self.families = families
        out["features"] = {k: (None if not np.isfinite(v) else float(v)) for k, v in self.features.items()}
        out["families"] = {k: (None if v is None else np.round(v, 5).tolist()) for k, v in families.items()}
        return out


def extract_cell(path: str | Path, cell_id: str, table: StimulusTable, config: dict) -> CellResult:
    """Read, QC and featurise one cell. Never raises for bad data: problems become ``Failure`` records."""
    result = CellResult(cell_id=cell_id, status="ok")
    try:
        sweeps = read_sweeps(path, table)
    except NWBReadError as error:
        result.status = "failed"
        result.failures.append(Failure("cell", "file", f"unreadable_file: {error}"))
        return result
    result.sweep_counts = {kind: 0 for kind in STIMULUS_TYPES}
    by_type: dict[str, list[SweepFeatures]] = {kind: [] for kind in ANALYSED_TYPES}
    protocol = protocol_epochs(sweeps, config["qc"])
    unfiltered: set[float] = set()
    for sweep in sweeps:
        result.sweep_counts[sweep.stimulus_type] += 1
        record = {
            "sweep_number": sweep.sweep_number,
            "stimulus_type": sweep.stimulus_type,
            "stimulus_code": sweep.stimulus_code,
            "qc": None,
            "amplitude_pa": None,
            "spike_times_s": [],
        }
        result.sweeps.append(record)
        if sweep.stimulus_type not in ANALYSED_TYPES:
            continue
        qc = check_sweep(sweep, config["qc"], protocol)
        record["qc"] = qc.reason or "passed"
        if qc.note:  # e.g. the main step of a sweep with several current epochs was analysed
            record["qc_note"] = qc.note
            result.failures.append(Failure("note", str(sweep.sweep_number), qc.note.split(":")[0]))
        if not qc.passed:
            result.failures.append(Failure("sweep", str(sweep.sweep_number), qc.reason))
            continue
        if not filter_applicable(sweep.rate_hz, config["spikes"]["filter_khz"]):
            unfiltered.add(sweep.rate_hz)
        features = sweep_features(sweep, qc, config["spikes"])
        record["amplitude_pa"] = features.amplitude_pa
        record["spike_times_s"] = features.spike_times_s
        record["spike_window_s"] = list(features.window_s)
        by_type[sweep.stimulus_type].append(features)
    result.usable_counts = {kind: len(by_type[kind]) for kind in ANALYSED_TYPES}
    cutoff = config["spikes"]["filter_khz"]
    for rate in sorted(unfiltered):  # the dV/dt filter could not be applied: said once per cell and rate
        note = f"dvdt_unfiltered_cutoff_above_nyquist: {cutoff:g} kHz >= {rate / 2000:g} kHz"
        result.failures.append(Failure("note", f"{rate / 1000:g} kHz", note))
    for kind in ANALYSED_TYPES:
        if not by_type[kind]:
            matched = result.sweep_counts[kind] > 0
            reason = f"no_usable_{kind}_sweeps" if matched else f"no_{kind}_sweeps"
            level = "cell" if kind in config["required_stimulus_types"] else "family"
            result.failures.append(Failure(level, kind, reason))
            if level == "cell":
                result.status = "failed"
    if result.status == "ok":
        result.features = cell_features(by_type, config, result.failures)
        families = cell_families(by_type, config["families"])
        result.families, result.family_notes = families.vectors, families.notes
        result.failures += [Failure("vector", name, reason) for name, reason in families.reasons.items()]
    return result


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else np.nan


def _prefixed(prefix: str, values: dict[str, float], keys: tuple[str, ...]) -> dict[str, float]:
    return {f"{prefix}_{k}": float(values.get(k, np.nan)) for k in keys}


def cell_features(by_type: dict[str, list[SweepFeatures]], config: dict, failures: list[Failure]) -> dict:
    """Cell-level features from the QC-passed sweeps of each stimulus type."""
    out: dict[str, float] = {}
    long = sorted(by_type["long_square"], key=lambda s: s.amplitude_pa)
    out["vrest_mv"] = _nanmean([s.values["baseline_v"] for s in long])
    out.update(subthreshold_features(long, config))
    spiking = [s for s in long if s.amplitude_pa > 0 and s.spikes.count > 0]
    out.update(_rheobase_features(long, spiking, config, failures))
    out.update(_first_ap_family("short_square", "ss", by_type["short_square"], failures))
    out.update(_first_ap_family("ramp", "ramp", by_type["ramp"], failures))
    return out


def subthreshold_features(long: list[SweepFeatures], config: dict) -> dict[str, float]:
    """Input resistance (MOhm), tau (ms) and sag as IPFX's LongSquareAnalysis computes them.

    Input resistance and tau use the steps without spikes with ``low < I < high`` (``subthreshold_range_pa``, both
    bounds exclusive; IPFX: -100 < I < 0): the slope of the raw minimum voltage against the current, through
    (0 pA, baseline) when only one step qualifies. Sag comes from the spike-free step (any amplitude) whose peak
    deflection (raw minimum of a negative step, raw maximum otherwise: IPFX's ``peak_deflect``) lies closest to
    ``sag_target_mv``; ``vm_for_sag_mv`` is that deflection.
    """
    out: dict[str, float] = {}
    low, high = config["subthreshold_range_pa"]
    quiet = [s for s in long if s.spikes.count == 0 and "min_v_mv" in s.values]
    steps = [s for s in quiet if low < s.amplitude_pa < high]
    amps = [s.amplitude_pa for s in steps]
    v_min = [s.values["min_v_mv"] for s in steps]
    if len(steps) == 1:
        amps, v_min = amps + [0.0], v_min + [steps[0].values["baseline_v"]]
    out["input_resistance_mohm"] = float(np.polyfit(amps, v_min, 1)[0] * 1000.0) if steps else np.nan  # mV/pA = GOhm
    out["tau_ms"] = cell_tau_ms(steps)
    sag_sweep = min(quiet, key=lambda s: abs(s.values["deflect_v_mv"] - config["sag_target_mv"]), default=None)
    out["sag"] = sag_sweep.values["sag"] if sag_sweep else np.nan
    out["sag_amplitude_pa"] = sag_sweep.amplitude_pa if sag_sweep else np.nan
    out["vm_for_sag_mv"] = sag_sweep.values["deflect_v_mv"] if sag_sweep else np.nan
    return out


def _rheobase_features(long: list[SweepFeatures], spiking: list[SweepFeatures], config: dict, failures) -> dict:
    out: dict[str, float] = {}
    if not spiking:
        failures.append(Failure("family", "long_square_spiking", "no_spiking_long_square_sweep"))
        out["rheobase_pa"] = out["fi_slope_hz_per_pa"] = out["max_rate_hz"] = np.nan
        out.update(_prefixed("rheo", {}, AP_KEYS + ("latency_ms",)))
        for offset in config["rheobase_offsets_pa"]:
            out.update(_prefixed(f"rheo_plus{offset}", {}, TRAIN_KEYS))
        return out
    rheo = spiking[0]
    out["rheobase_pa"] = rheo.amplitude_pa
    fired = [s for s in long if s.spikes.count > 0]  # the f-I fit takes every spiking step (IPFX fit_fi_slope)
    if len(fired) >= 2:
        amps = np.array([s.amplitude_pa for s in fired])
        rates = np.array([s.values["rate_hz"] for s in fired])
        out["fi_slope_hz_per_pa"] = float(np.polyfit(amps, rates, 1)[0])
    else:
        out["fi_slope_hz_per_pa"] = np.nan
    out["max_rate_hz"] = float(max(s.values["rate_hz"] for s in long))
    out.update(_prefixed("rheo", rheo.values, AP_KEYS + ("latency_ms",)))
    tolerance = config["amplitude_tolerance_pa"]
    for offset in config["rheobase_offsets_pa"]:
        target = rheo.amplitude_pa + offset
        near = [s for s in long if abs(s.amplitude_pa - target) <= tolerance]
        best = min(near, key=lambda s: abs(s.amplitude_pa - target)).values if near else {}
        if not near:
            failures.append(Failure("family", f"long_square_rheo_plus{offset}", f"no_sweep_near_rheobase_plus{offset}"))
        out.update(_prefixed(f"rheo_plus{offset}", best, TRAIN_KEYS))
    return out


def _first_ap_family(kind: str, prefix: str, sweeps: list[SweepFeatures], failures: list[Failure]) -> dict:
    """First AP of the lowest-amplitude spiking sweep of a family (short square: its amplitude is the threshold)."""
    spiking = sorted((s for s in sweeps if s.spikes.count > 0), key=lambda s: s.amplitude_pa)
    if sweeps and not spiking:
        failures.append(Failure("family", kind, f"no_spiking_{kind}_sweep"))
    values = spiking[0].values if spiking else {}
    out = _prefixed(prefix, values, AP_KEYS)
    out[f"{prefix}_threshold_current_pa"] = (
        (spiking[0].amplitude_pa if kind == "short_square" else values.get("threshold_current_pa", np.nan))
        if spiking
        else np.nan
    )
    return out
