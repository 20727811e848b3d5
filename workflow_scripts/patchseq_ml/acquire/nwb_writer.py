"""Write current-clamp recordings in the Allen/MIES NWB 2 layout with h5py.

Layout (as in Allen's MIES files, see ``../shared/docs/data.md``): one file per cell,
``/acquisition/data_NNNNN_AD0`` (CurrentClampSeries, response in mV with ``conversion`` 1e-3),
``/stimulus/presentation/data_NNNNN_DA0`` (CurrentClampStimulusSeries, pA with ``conversion`` 1e-12), each with the
``sweep_number`` and ``stimulus_description`` attributes, ``starting_time`` with its ``rate`` attribute, and
``/general/intracellular_ephys/sweep_table`` (written with h5py because pynwb >= 3 refuses to write a SweepTable).
The NWB schema that pynwb ships is cached under ``/specifications`` so that pynwb (and IPFX) can open the files.
"""

from __future__ import annotations

import functools
import io
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np

STR = h5py.string_dtype()
SESSION_START = "2020-01-31T23:54:45.504+00:00"


@dataclass
class SweepRecord:
    """One recorded sweep: response (mV) and stimulus (pA) sampled at ``rate_hz``."""

    sweep_number: int
    stimulus_code: str  # e.g. "X4PS_SupraThresh" (the "_DA_0" suffix is added on writing)
    response_mv: np.ndarray
    stimulus_pa: np.ndarray
    rate_hz: float


@functools.cache
def _templates() -> h5py.File:
    """An in-memory HDF5 file holding the NWB core/hdmf-common specifications as pynwb writes them (kept open)."""
    from pynwb import NWBHDF5IO, NWBFile

    buffer = io.BytesIO()
    nwbfile = NWBFile("spec template", "template", datetime(2020, 1, 1, tzinfo=UTC))
    with h5py.File(buffer, "w") as h5, NWBHDF5IO(file=h5, mode="w") as nwb_io:
        nwb_io.write(nwbfile)
    return h5py.File.in_memory(buffer.getvalue())


def _typed(obj: h5py.HLObject, neurodata_type: str, namespace: str = "core") -> None:
    obj.attrs["namespace"] = namespace
    obj.attrs["neurodata_type"] = neurodata_type


def _scalar_str(group: h5py.Group, name: str, value: str) -> None:
    group.create_dataset(name, data=np.array([value], dtype=object), dtype=STR)


def _write_series(
    group: h5py.Group, name: str, sweep: SweepRecord, is_stimulus: bool, template: h5py.File
) -> h5py.Group:
    """One series: a copy of the template's series group for this rate (the metadata shared by every sweep), then
    what is the sweep's own: its attributes and data."""
    group.copy(template["DA0" if is_stimulus else "AD0"], name)
    series = group[name]
    series.attrs["comments"] = f"simulated by patchseq_ml; stimulus {sweep.stimulus_code}"
    series.attrs["stimulus_description"] = f"{sweep.stimulus_code}_DA_0"
    series.attrs["sweep_number"] = np.uint32(sweep.sweep_number)
    values = sweep.stimulus_pa if is_stimulus else sweep.response_mv
    data = series.create_dataset(
        "data", data=np.asarray(values, dtype=np.float32), compression="gzip", compression_opts=1, shuffle=True
    )
    data.attrs["conversion"] = np.float32(1e-12 if is_stimulus else 1e-3)
    data.attrs["resolution"] = np.float32(np.nan)
    data.attrs["unit"] = "A" if is_stimulus else "V"
    return series


@functools.cache
def _series_template(rate_hz: float) -> h5py.File:
    """An in-memory HDF5 file holding the metadata of a response (``AD0``) and a stimulus (``DA0``) series at
    ``rate_hz``: copying it (one HDF5 call) is several times cheaper than making its datasets and attributes one by
    one. Kept open for the process."""
    h5 = h5py.File.in_memory()
    for name, is_stimulus in (("AD0", False), ("DA0", True)):
        series = h5.create_group(name)
        _typed(series, "CurrentClampStimulusSeries" if is_stimulus else "CurrentClampSeries")
        series.attrs["description"] = "PLACEHOLDER"
        start = series.create_dataset("starting_time", data=np.array([0.0]))
        start.attrs["rate"] = np.float32(rate_hz)
        start.attrs["unit"] = "Seconds"
        series.create_dataset("gain", data=np.array([20.0 if is_stimulus else 0.0005], dtype=np.float32))
        if not is_stimulus:
            for name_ in ("bias_current", "bridge_balance", "capacitance_compensation"):
                series.create_dataset(name_, data=np.array([0.0], dtype=np.float32))
        series["electrode"] = h5py.SoftLink("/general/intracellular_ephys/electrode_0")
    return h5


def _write_sweep_table(icephys: h5py.Group, series_refs: list[tuple[int, h5py.Group]]) -> None:
    table = icephys.create_group("sweep_table")
    _typed(table, "SweepTable")
    table.attrs["colnames"] = np.array(["series", "sweep_number"], dtype=object)
    table.attrs["description"] = "A sweep table groups different PatchClampSeries together."
    ids = table.create_dataset("id", data=np.arange(len(series_refs), dtype=np.int32))
    _typed(ids, "ElementIdentifiers", "hdmf-common")
    refs = table.create_dataset("series", data=[g.ref for _, g in series_refs], dtype=h5py.ref_dtype)
    _typed(refs, "VectorData", "hdmf-common")
    refs.attrs["description"] = "The PatchClampSeries with the sweep number in that row."
    index = table.create_dataset("series_index", data=np.arange(1, len(series_refs) + 1, dtype=np.int32))
    _typed(index, "VectorIndex", "hdmf-common")
    index.attrs["target"] = refs.ref
    numbers = table.create_dataset("sweep_number", data=np.array([n for n, _ in series_refs], dtype=np.uint32))
    _typed(numbers, "VectorData", "hdmf-common")
    numbers.attrs["description"] = "Sweep number of the PatchClampSeries in that row."


def write_mies_nwb(path: Path, identifier: str, sweeps: list[SweepRecord], subject_id: str) -> None:
    """Write one cell's sweeps to ``path`` atomically (a temporary file in the same folder, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(suffix=".nwb.tmp", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp_name, "w") as h5:
            _write_file(h5, identifier, sweeps, subject_id)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)  # mkstemp creates 0600 files
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _write_file(h5: h5py.File, identifier: str, sweeps: list[SweepRecord], subject_id: str) -> None:
    _templates().copy("specifications", h5)
    h5.attrs[".specloc"] = h5["specifications"].ref
    _typed(h5, "NWBFile")
    h5.attrs["nwb_version"] = "2.2.0"
    _scalar_str(h5, "identifier", identifier)
    _scalar_str(h5, "session_description", "PLACEHOLDER")
    _scalar_str(h5, "session_start_time", SESSION_START)
    _scalar_str(h5, "timestamps_reference_time", SESSION_START)
    h5.create_dataset("file_create_date", data=np.array([SESSION_START], dtype=object), dtype=STR)
    for group in ("acquisition", "analysis", "processing", "stimulus/presentation", "stimulus/templates"):
        h5.require_group(group)
    general = h5.create_group("general")
    device = general.create_group("devices/device_ITC18USB_Dev_0")
    _typed(device, "Device")
    device.attrs["description"] = "simulated amplifier (patchseq_ml)"
    subject = general.create_group("subject")
    _typed(subject, "Subject")
    _scalar_str(subject, "subject_id", subject_id)
    icephys = general.create_group("intracellular_ephys")
    electrode = icephys.create_group("electrode_0")
    _typed(electrode, "IntracellularElectrode")
    _scalar_str(electrode, "description", "Headstage 0")
    electrode["device"] = h5py.SoftLink("/general/devices/device_ITC18USB_Dev_0")
    _scalar_str(icephys, "filtering", "PLACEHOLDER")
    series_refs: list[tuple[int, h5py.Group]] = []
    acquisition, presentation = h5["acquisition"], h5["stimulus/presentation"]
    for sweep in sweeps:
        template = _series_template(float(sweep.rate_hz))
        name = f"data_{sweep.sweep_number:05d}"
        response = _write_series(acquisition, f"{name}_AD0", sweep, False, template)
        stimulus = _write_series(presentation, f"{name}_DA0", sweep, True, template)
        series_refs += [(sweep.sweep_number, response), (sweep.sweep_number, stimulus)]
    _write_sweep_table(icephys, series_refs)
