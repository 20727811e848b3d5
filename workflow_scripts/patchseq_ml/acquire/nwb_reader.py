"""Read current-clamp sweeps from Allen-layout NWB 2 files (MIES sweep_table or the newer icephys tables).

This is the single boundary between file formats and the rest of the library: everything downstream sees
``Sweep`` objects with the response in mV and the stimulus in pA. A file is a local path or an http(s) URL, which
is streamed (remfile + h5py: HTTP range requests of >= 100 KiB, growing while reads are sequential; nothing is
written to disk). Read errors are one line naming the file or URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import h5py
import numpy as np

from .stimulus_table import StimulusTable, strip_code

_VOLTS = {"v", "volt", "volts"}
_AMPS = {"a", "amp", "amps", "ampere", "amperes"}
_CURRENT_CLAMP = {"CurrentClampSeries", "IZeroClampSeries"}
_VOLTAGE_CLAMP = {"VoltageClampSeries"}
URL_SCHEMES = ("http://", "https://")
HTTP_TIMEOUT_S = 30.0  # for the request that resolves a streamed URL's redirect


class NWBReadError(ValueError):
    """A file that cannot be read as an NWB 2 intracellular recording; the message names the file."""


class NWBSourceError(RuntimeError):
    """A streamed file that could not be fetched (unreachable, HTTP error, connection lost); the one-line message
    names the URL. Not an `NWBReadError`: a network failure fails the job instead of marking the cell unreadable."""


@dataclass
class Sweep:
    """One sweep sampled at ``rate_hz`` (Hz).

    Current clamp: response in mV, stimulus in pA. Voltage clamp: response in pA, stimulus in mV.
    """

    sweep_number: int
    stimulus_code: str
    stimulus_type: str
    rate_hz: float
    response_mv: np.ndarray
    stimulus_pa: np.ndarray
    clamp_mode: str  # "current_clamp" or "voltage_clamp"
    timestamps_s: np.ndarray | None = None  # sample times (s) of a series without a fixed rate (rate_hz is NaN)

    @property
    def duration_s(self) -> float:
        return self.response_mv.size / self.rate_hz


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return _text(value.flat[0]) if value.size else ""
    return str(value)


def nwb_version(h5: h5py.File) -> str:
    """The file's NWB version string ('' when absent)."""
    if "nwb_version" in h5.attrs:
        return _text(h5.attrs["nwb_version"])
    if "nwb_version" in h5:
        return _text(h5["nwb_version"][()])
    return ""


def is_url(source: str | Path) -> bool:
    """Whether ``source`` is an http(s) URL (streamed) rather than a local path."""
    return isinstance(source, str) and source.startswith(URL_SCHEMES)


@contextmanager
def open_nwb(source: str | Path) -> Iterator[h5py.File]:
    """An NWB 2 file opened read-only: a local path, or an http(s) URL streamed with remfile; version checked.

    Raises `NWBReadError` for missing, non-HDF5 or non-NWB-2 files and `NWBSourceError` for network failures
    (also those raised while the caller reads from the open file).
    """
    if is_url(source):
        with _streamed(source) as h5:
            _check_version(source, h5)
            yield h5
        return
    path = Path(source)
    with _open(path) as h5:
        _check_version(path, h5)
        yield h5


def _open(path: Path) -> h5py.File:
    if not path.exists():
        raise NWBReadError(f"{path}: file does not exist")
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise NWBReadError(f"{path}: not an NWB file (cannot be opened as HDF5: {error})") from None


class _RemoteReader:
    """The file object h5py reads a streamed file through (read/seek/tell of ``remfile.File``); it keeps the error
    of a failed read, which h5py passes on unlabelled."""

    def __init__(self, remote: object) -> None:
        self._remote, self.error = remote, None

    def read(self, size: int) -> bytes:
        try:
            return self._remote.read(size)
        except Exception as error:
            self.error = error
            raise

    def seek(self, offset: int, whence: int = 0) -> int:
        self._remote.seek(offset, whence)
        return self.tell()

    def tell(self) -> int:
        return self._remote.tell()


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _raise_if_network(url: str, reader: _RemoteReader) -> None:
    """Raise `NWBSourceError` when a read of ``url`` failed (the error h5py passed on came from the network)."""
    if reader.error is not None:
        raise NWBSourceError(f"{url}: streaming failed ({_one_line(reader.error)})") from None


@contextmanager
def _streamed(url: str) -> Iterator[h5py.File]:
    """``url`` opened with h5py over remfile; every network failure becomes `NWBSourceError`."""
    import remfile  # imported here: only streaming needs it

    target = _redirect_target(url)
    try:
        reader = _RemoteReader(remfile.File(target))
    except Exception as error:  # remfile's length probe: an HTTP status, or a connection error after its retries
        raise NWBSourceError(f"{url}: cannot be streamed ({_one_line(error)})") from None
    try:
        h5 = h5py.File(reader, "r")
    except Exception as error:
        _raise_if_network(url, reader)
        if isinstance(error, OSError):
            raise NWBReadError(f"{url}: not an NWB file (cannot be opened as HDF5: {_one_line(error)})") from None
        raise
    try:
        with h5:
            yield h5
    except Exception:
        _raise_if_network(url, reader)
        raise


def _redirect_target(url: str, timeout_s: float = HTTP_TIMEOUT_S) -> str:
    """Where ``url`` redirects to (one HEAD request, not followed further; the archive's download URL points at its
    blob store), so that each range request goes straight to the bytes; ``url`` itself when it does not redirect."""
    import requests

    try:
        response = requests.head(url, allow_redirects=False, timeout=timeout_s)
    except requests.RequestException as error:
        raise NWBSourceError(f"{url}: unreachable ({_one_line(error)})") from None
    if response.is_redirect:
        return urljoin(url, response.headers["Location"])
    if response.status_code >= 400:
        raise NWBSourceError(f"{url}: HTTP {response.status_code} {response.reason}")
    return url


def _check_version(path: str | Path, h5: h5py.File) -> None:
    version = nwb_version(h5)
    if not version:
        raise NWBReadError(f"{path}: not an NWB file (no nwb_version attribute)")
    major = version.removeprefix("NWB-").lstrip("v").split(".")[0]
    if major != "2":
        raise NWBReadError(f"{path}: NWB version {version} is not supported (only NWB 2.x; convert NWB 1 files first)")


def _series_by_sweep_table(h5: h5py.File) -> dict[int, list[str]]:
    table = h5["general/intracellular_ephys/sweep_table"]
    refs = table["series"][()]
    index = table["series_index"][()]
    numbers = table["sweep_number"][()]
    groups: dict[int, list[str]] = {}
    start = 0
    for row, stop in enumerate(index):
        for ref in refs[start:stop]:
            groups.setdefault(int(numbers[row]), []).append(h5[ref].name)
        start = stop
    return groups


def _series_by_icephys_tables(h5: h5py.File) -> dict[int, list[str]]:
    recordings = h5["general/intracellular_ephys/intracellular_recordings"]
    groups: dict[int, list[str]] = {}
    for row_id in range(recordings["id"].shape[0]):
        names = []
        for column in ("responses/response", "stimuli/stimulus"):
            if column in recordings:
                entry = recordings[column][row_id]
                ref = entry[2] if isinstance(entry, (tuple, np.void)) else entry["timeseries"]
                if ref:
                    names.append(h5[ref].name)
        number = int(h5[names[0]].attrs.get("sweep_number", row_id)) if names else row_id
        groups.setdefault(number, []).extend(names)
    return groups


def _series_by_attribute(h5: h5py.File) -> dict[int, list[str]]:
    groups: dict[int, list[str]] = {}
    for parent in ("acquisition", "stimulus/presentation"):
        for obj in h5.get(parent, {}).values():
            if isinstance(obj, h5py.Group) and "sweep_number" in obj.attrs and "data" in obj:
                groups.setdefault(int(obj.attrs["sweep_number"]), []).append(obj.name)
    return groups


def _scaled(series: h5py.Group) -> tuple[np.ndarray, float, np.ndarray | None]:
    """Values in mV (volts series) or pA (ampere series), the sampling rate in Hz, and the sample times (s) of a
    series stored with ``timestamps`` at uneven intervals (its rate is then NaN; evenly spaced timestamps give
    their rate)."""
    data = series["data"]
    conversion = float(data.attrs.get("conversion", 1.0))
    unit = _unit(series)
    to_lab_units = 1e3 if unit in _VOLTS else 1e12 if unit in _AMPS else 1.0
    values = data[()].astype(np.float64) * (conversion * to_lab_units)
    if "starting_time" in series:
        return values, float(series["starting_time"].attrs["rate"]), None
    if "timestamps" in series:
        times = np.asarray(series["timestamps"][()], dtype=np.float64)
        steps = np.diff(times)
        if steps.size and steps[0] > 0 and np.allclose(steps, steps[0], rtol=1e-6, atol=0.0):
            return values, float(1.0 / steps[0]), None
        return values, np.nan, times
    return values, np.nan, None


def _unit(series: h5py.Group) -> str:
    return _text(series["data"].attrs.get("unit", "")).lower()


def read_sweeps(source: str | Path, table: StimulusTable) -> list[Sweep]:
    """All sweeps of one NWB 2 file (local path or http(s) URL, see `open_nwb`), sorted by sweep number.

    Raises ``NWBReadError`` (one line, naming the file) for missing, non-HDF5, NWB 1 or sweep-less files, and
    ``NWBSourceError`` when a streamed file cannot be fetched.
    Sweeps whose response or stimulus series is missing are skipped here; QC decides about the rest.
    """
    with open_nwb(source) as h5:
        if "general/intracellular_ephys/sweep_table" in h5:
            groups = _series_by_sweep_table(h5)
        elif "general/intracellular_ephys/intracellular_recordings" in h5:
            groups = _series_by_icephys_tables(h5)
        else:
            groups = _series_by_attribute(h5)
        sweeps = [s for n, names in sorted(groups.items()) if (s := _build_sweep(h5, n, names, table))]
    if not sweeps:
        raise NWBReadError(f"{source}: no intracellular sweeps found")
    return sweeps


def _build_sweep(h5: h5py.File, number: int, names: list[str], table: StimulusTable) -> Sweep | None:
    responses = [h5[n] for n in names if n.startswith("/acquisition/")]
    stimuli = [h5[n] for n in names if n.startswith("/stimulus/")]
    if not responses:
        return None
    kinds = [_text(g.attrs.get("neurodata_type", "")) for g in responses]
    if any(k in _CURRENT_CLAMP for k in kinds):
        clamp = "current_clamp"
        # prefer the channel recorded in volts (a file may also carry a current monitor channel)
        candidates = [g for g, k in zip(responses, kinds) if k in _CURRENT_CLAMP]
        response = next((g for g in candidates if _unit(g) in _VOLTS), candidates[0])
    else:
        clamp = "voltage_clamp" if any(k in _VOLTAGE_CLAMP for k in kinds) else "unknown"
        response = responses[0]
    response_values, rate, times = _scaled(response)
    if stimuli:
        stimulus = next((g for g in stimuli if _unit(g) in _AMPS), stimuli[0])
        stimulus_values = _scaled(stimulus)[0]
    else:
        stimulus_values = np.full(response_values.shape, np.nan)
    description = _text(response.attrs.get("stimulus_description", ""))
    if "stimulus_description" in response and not description:
        description = _text(response["stimulus_description"][()])
    code = strip_code(description)
    return Sweep(
        sweep_number=number,
        stimulus_code=code,
        stimulus_type=table.classify(code),
        rate_hz=rate,
        response_mv=response_values,
        stimulus_pa=stimulus_values,
        clamp_mode=clamp,
        timestamps_s=times,
    )
