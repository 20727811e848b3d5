"""Read current-clamp sweeps from NWB 2 files: Allen/MIES (sweep_table), pynwb's icephys tables, neuroconv's ABF output.

This is the single boundary between file formats and the rest of the library: everything downstream sees
``Sweep`` objects with the response in mV and the stimulus in pA. A file is a local path or an http(s) URL, which
is streamed (remfile + h5py: HTTP range requests of >= 100 KiB, growing while reads are sequential; nothing is
written to disk). Read errors are one line naming the file or URL.

Layouts, tried in this order:

1. **MIES / Allen** (``general/intracellular_ephys/sweep_table``): the table's ``sweep_number`` is the sweep number;
   all series of one number form the sweep.
2. **pynwb icephys tables** (``general/intracellular_ephys/intracellular_recordings``, an
   ``IntracellularRecordingsTable``, optionally grouped into ``SimultaneousRecordingsTable`` /
   ``SequentialRecordingsTable``), as written by ``NWBFile.add_intracellular_recording`` and by neuroconv. A row
   addresses its response and stimulus as ``(idx_start, count, series)``: a whole series (one series per sweep:
   pynwb's own API, neuroconv's ``AbfInterface``) or a range of one continuous series (neuroconv's
   ``AxonIntracellularInterface``); ``idx_start = -1`` means the row has no such series (pynwb then points the
   reference at the other one). Rules:

   - **Sweep number**: the series' ``sweep_number`` attribute (response, else stimulus) when every row has one and
     no response series is shared by two rows; rows with equal numbers are one sweep (several channels, as in
     MIES). Otherwise (any row without the attribute, or one continuous series cut into rows) the row's position
     in the table, 0-based, for every row of the file: never a mix of both, so numbers cannot collide.
   - **Stimulus name** (the code classified by the stimulus table), the first that is stated: the series'
     ``stimulus_description`` (response, else stimulus); the row's own ``stimulus_type`` column (neuroconv writes
     the Clampex protocol name there); the ``stimulus_type`` of the sequential recording that holds the row
     (through its simultaneous recording); the response series' name. Placeholders (``""``, ``N/A``,
     ``not described``, pynwb's and neuroconv's defaults) count as not stated.
3. **Series with a ``sweep_number`` attribute** in ``acquisition`` / ``stimulus/presentation`` (older NWB 2
   conversions): grouped by that number.

Values are ``data * conversion + offset`` in the series' unit, scaled to mV (volts) or pA (amperes). A series stored
with ``timestamps`` gives its rate when the sweep's samples are evenly spaced (a rate within 1 ppm of an integer
is that integer), else a NaN rate and ``Sweep.timestamps_s`` (QC rejects it: ``sweep_variable_sampling``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class _Part:
    """One series of a sweep: its HDF5 path and the range [start, start + count) of its samples (count None: all)."""

    path: str
    start: int = 0
    count: int | None = None


@dataclass
class _SweepParts:
    """The series of one sweep, and the name its stimulus falls back to when no series states one."""

    responses: list[_Part] = field(default_factory=list)
    stimuli: list[_Part] = field(default_factory=list)
    fallback_name: str = ""


_PLACEHOLDERS = {"", "n/a", "na", "none", "not described", "no description"}


def _stated(value: str) -> str:
    """``value`` stripped, or '' when it is a placeholder (pynwb's 'N/A', neuroconv's 'not described')."""
    value = value.strip()
    return "" if value.lower() in _PLACEHOLDERS else value


def _by_location(h5: h5py.File, paths: list[str]) -> _SweepParts:
    """Series sorted into responses (``/acquisition``) and stimuli (``/stimulus``) by where they are stored."""
    parts = _SweepParts()
    for path in paths:
        if path.startswith("/acquisition/"):
            parts.responses.append(_Part(path))
        elif path.startswith("/stimulus/"):
            parts.stimuli.append(_Part(path))
    return parts


def _series_by_sweep_table(h5: h5py.File) -> dict[int, _SweepParts]:
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
    return {number: _by_location(h5, paths) for number, paths in groups.items()}


def _row_part(h5: h5py.File, entry: object) -> _Part | None:
    """The (idx_start, count, series) entry of an icephys table row; None where the row has no such series."""
    start, count, ref = entry[0], entry[1], entry[2]
    if int(start) < 0 or not ref:
        return None
    return _Part(h5[ref].name, int(start), int(count) if int(count) >= 0 else None)


def _region_rows(table: h5py.Group, column: str) -> list[list[int]]:
    """Per row of ``table``: the target rows its ragged DynamicTableRegion ``column`` lists."""
    if column not in table or f"{column}_index" not in table:
        return []
    values, ends = table[column][()], table[f"{column}_index"][()]
    starts = np.concatenate([[0], ends[:-1]]).astype(int)
    return [[int(v) for v in values[a:b]] for a, b in zip(starts, ends.astype(int))]


def _text_column(table: h5py.Group, column: str, n_rows: int) -> list[str]:
    """A plain (not ragged) text column of ``table`` as one string per row; '' where absent."""
    if column not in table or f"{column}_index" in table or table[column].shape != (n_rows,):
        return [""] * n_rows
    return [_text(value) for value in table[column][()]]


def _sequential_stimulus_types(icephys: h5py.Group, n_rows: int) -> list[str]:
    """Per intracellular-recordings row: the ``stimulus_type`` of the sequential recording holding it ('' if none)."""
    if "simultaneous_recordings" not in icephys or "sequential_recordings" not in icephys:
        return [""] * n_rows
    simultaneous = _region_rows(icephys["simultaneous_recordings"], "recordings")
    sequential = icephys["sequential_recordings"]
    kinds = _text_column(sequential, "stimulus_type", sequential["id"].shape[0])
    out = [""] * n_rows
    for seq_row, sim_rows in enumerate(_region_rows(sequential, "simultaneous_recordings")):
        for sim_row in sim_rows:
            for row in simultaneous[sim_row] if sim_row < len(simultaneous) else []:
                if 0 <= row < n_rows and not out[row]:
                    out[row] = kinds[seq_row]
    return out


def _sweep_number_attribute(h5: h5py.File, parts: list[_Part]) -> int | None:
    for part in parts:
        if "sweep_number" in h5[part.path].attrs:
            return int(np.asarray(h5[part.path].attrs["sweep_number"]).flat[0])
    return None


def _series_by_icephys_tables(h5: h5py.File) -> dict[int, _SweepParts]:
    """Sweeps of the icephys tables, numbered and named by the rules of the module docstring."""
    icephys = h5["general/intracellular_ephys"]
    recordings = icephys["intracellular_recordings"]
    n_rows = recordings["id"].shape[0]
    responses = recordings["responses/response"][()] if "responses/response" in recordings else [None] * n_rows
    stimuli = recordings["stimuli/stimulus"][()] if "stimuli/stimulus" in recordings else [None] * n_rows
    row_kinds = _text_column(recordings, "stimulus_type", n_rows)
    sequential_kinds = _sequential_stimulus_types(icephys, n_rows)
    rows = []
    for row in range(n_rows):
        response = _row_part(h5, responses[row]) if responses[row] is not None else None
        stimulus = _row_part(h5, stimuli[row]) if stimuli[row] is not None else None
        parts = _SweepParts([response] if response else [], [stimulus] if stimulus else [])
        named = parts.responses or parts.stimuli
        series_name = h5[named[0].path].name.rsplit("/", 1)[-1] if named else ""
        parts.fallback_name = _stated(row_kinds[row]) or _stated(sequential_kinds[row]) or series_name
        rows.append(parts)
    numbers = [_sweep_number_attribute(h5, parts.responses + parts.stimuli) for parts in rows]
    response_paths = [parts.responses[0].path for parts in rows if parts.responses]
    by_attribute = all(n is not None for n in numbers) and len(set(response_paths)) == len(response_paths)
    groups: dict[int, _SweepParts] = {}
    for row, parts in enumerate(rows):
        number = numbers[row] if by_attribute else row
        group = groups.setdefault(number, _SweepParts(fallback_name=parts.fallback_name))
        group.responses += parts.responses
        group.stimuli += parts.stimuli
    return groups


def _series_by_attribute(h5: h5py.File) -> dict[int, _SweepParts]:
    groups: dict[int, list[str]] = {}
    for parent in ("acquisition", "stimulus/presentation"):
        for obj in h5.get(parent, {}).values():
            if isinstance(obj, h5py.Group) and "sweep_number" in obj.attrs and "data" in obj:
                groups.setdefault(int(obj.attrs["sweep_number"]), []).append(obj.name)
    return {number: _by_location(h5, paths) for number, paths in groups.items()}


def _exact_rate(rate: float) -> float:
    """A rate within 1 ppm of an integer number of Hz is that integer (timestamps carry float noise)."""
    nearest = round(rate)
    return float(nearest) if nearest > 0 and abs(rate - nearest) <= 1e-6 * nearest else float(rate)


def _scaled(series: h5py.Group, part: _Part) -> tuple[np.ndarray, float, np.ndarray | None]:
    """Values in mV (volts series) or pA (ampere series), the sampling rate in Hz, and the sample times (s) of a
    series stored with ``timestamps`` at uneven intervals (its rate is then NaN; evenly spaced timestamps give
    their rate); samples [start, start + count) of ``part``."""
    stop = None if part.count is None else part.start + part.count
    data = series["data"]
    conversion = float(data.attrs.get("conversion", 1.0))
    offset = float(data.attrs.get("offset", 0.0))
    unit = _unit(series)
    to_lab_units = 1e3 if unit in _VOLTS else 1e12 if unit in _AMPS else 1.0
    values = (data[part.start : stop].astype(np.float64) * conversion + offset) * to_lab_units
    if "starting_time" in series:
        return values, float(series["starting_time"].attrs["rate"]), None
    if "timestamps" in series:
        times = np.asarray(series["timestamps"][part.start : stop], dtype=np.float64)
        steps = np.diff(times)
        if steps.size and steps[0] > 0 and np.allclose(steps, steps[0], rtol=1e-6, atol=0.0):
            return values, _exact_rate((times.size - 1) / (times[-1] - times[0])), None
        return values, np.nan, times
    return values, np.nan, None


def _unit(series: h5py.Group) -> str:
    return _text(series["data"].attrs.get("unit", "")).lower()


def read_sweeps(source: str | Path, table: StimulusTable) -> list[Sweep]:
    """All sweeps of one NWB 2 file (local path or http(s) URL, see `open_nwb`), sorted by sweep number.

    Raises ``NWBReadError`` (one line, naming the file) for missing, non-HDF5, NWB 1 or sweep-less files, or files
    whose icephys tables or series cannot be read, and ``NWBSourceError`` when a streamed file cannot be fetched.
    Sweeps whose response series is missing are skipped here; QC decides about the rest.
    """
    try:
        with open_nwb(source) as h5:  # a network failure surfaces here as NWBSourceError, never caught below
            if "general/intracellular_ephys/sweep_table" in h5:
                groups = _series_by_sweep_table(h5)
            elif "general/intracellular_ephys/intracellular_recordings" in h5:
                groups = _series_by_icephys_tables(h5)
            else:
                groups = _series_by_attribute(h5)
            sweeps = [s for n, parts in sorted(groups.items()) if (s := _build_sweep(h5, n, parts, table))]
    except NWBReadError:
        raise
    except (KeyError, ValueError, TypeError, IndexError) as error:  # malformed tables or series
        raise NWBReadError(f"{source}: unreadable intracellular data ({_one_line(error)})") from None
    if not sweeps:
        raise NWBReadError(f"{source}: no intracellular sweeps found")
    return sweeps


def _description(series: h5py.Group) -> str:
    description = _text(series.attrs.get("stimulus_description", ""))
    if "stimulus_description" in series and not description:
        description = _text(series["stimulus_description"][()])
    return _stated(description)


def _build_sweep(h5: h5py.File, number: int, parts: _SweepParts, table: StimulusTable) -> Sweep | None:
    if not parts.responses:
        return None
    responses = [(h5[p.path], p) for p in parts.responses]
    kinds = [_text(g.attrs.get("neurodata_type", "")) for g, _ in responses]
    if any(k in _CURRENT_CLAMP for k in kinds):
        clamp = "current_clamp"
        # prefer the channel recorded in volts (a file may also carry a current monitor channel)
        candidates = [r for r, k in zip(responses, kinds) if k in _CURRENT_CLAMP]
        response, response_part = next((r for r in candidates if _unit(r[0]) in _VOLTS), candidates[0])
    else:
        clamp = "voltage_clamp" if any(k in _VOLTAGE_CLAMP for k in kinds) else "unknown"
        response, response_part = responses[0]
    response_values, rate, times = _scaled(response, response_part)
    stimuli = [(h5[p.path], p) for p in parts.stimuli]
    if stimuli:
        stimulus, stimulus_part = next((s for s in stimuli if _unit(s[0]) in _AMPS), stimuli[0])
        stimulus_values = _scaled(stimulus, stimulus_part)[0]
    else:
        stimulus_values = np.full(response_values.shape, np.nan)
    description = _description(response) or next((d for s, _ in stimuli if (d := _description(s))), "")
    code = strip_code(description or parts.fallback_name)
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
