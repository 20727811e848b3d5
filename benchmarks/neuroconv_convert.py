"""Convert Axon ABF recordings to NWB with neuroconv (runs in ``.venv-neuroconv``; ``make neuroconv-env``).

``.venv-neuroconv/bin/python benchmarks/neuroconv_convert.py OUT_DIR [ABF ...] [--interface axon|abf]`` writes
``OUT_DIR/<abf stem>.nwb`` for each ABF file (default: every ``../shared/data/real/*.abf``, see
``../shared/data/PROVENANCE.md``; never copied into the project) and prints the written paths, one per line.

This is how a user's own ABF recordings become NWB files the workflow reads (``patchseq_ml.acquire.nwb_reader``),
and what ``tests/unit/test_nwb_reader_ecosystem.py`` runs. Two of neuroconv's ABF interfaces, both in the pinned
0.10.2 (requirements-neuroconv.txt):

- ``axon`` (default): ``AxonIntracellularInterface`` inside ``AxonIntracellularConverter``, the current one. The
  clamp mode is stated (``current_clamp``), the response is the first recorded channel (``IN0`` in these files) and
  the stimulus is the first DAC command (``Cmd 0``) rebuilt from the ABF 2 protocol. It writes ONE continuous
  ``CurrentClampSeries`` (and its ``CurrentClampStimulusSeries``) with ``timestamps`` (sweeps are separated by
  gaps), one ``IntracellularRecordingsTable`` row per sweep addressing the sweep as ``(idx_start, count)`` of
  those series, a ``stimulus_type`` column with the Clampex protocol name, and the simultaneous/sequential tables.
- ``abf``: the legacy ``AbfInterface`` (deprecated, removed in neuroconv 0.12.0): one series pair per sweep
  (``current_clamp-response-01-ch-0``, ``stimulus-01-ch-0``) with ``starting_time`` and ``rate``, one row per
  sweep, one simultaneous recording per sweep and one sequential recording per file. It needs the clamp mode in
  ``icephys_metadata`` (``recording_sessions[].icephys_experiment_type``; without it the conversion fails); the
  sequential recording's ``stimulus_type`` is set to the protocol name (neuroconv's default is "not described").

Neither interface writes ``sweep_number`` or a ``stimulus_description`` (pynwb's placeholder "N/A"): the reader
numbers such sweeps by their row in the intracellular-recordings table and names them by the protocol. Metadata
neuroconv requires (``session_start_time``, from the ABF header) is filled by neuroconv; this script adds a
``session_description``, a stable ``identifier`` (the ABF file stem) and the time zone of the start time, which the
ABF header does not hold (``--timezone``, default UTC; pynwb would otherwise assume this machine's zone).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path, PureWindowsPath

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"
INTERFACES = ("axon", "abf")


def protocol_name(axon_info: dict) -> str:
    """The Clampex protocol's file stem, as neuroconv's AxonIntracellularInterface reads it ('' if none)."""
    path = axon_info.get("sProtocolPath") or b""
    path = path.decode(errors="replace") if hasattr(path, "decode") else str(path)
    return PureWindowsPath(path).stem


def _describe(metadata: dict, abf: Path, interface: str, timezone: str) -> dict:
    from datetime import datetime
    from importlib.metadata import version
    from zoneinfo import ZoneInfo

    metadata["NWBFile"]["session_description"] = (
        f"{abf.name} converted by neuroconv {version('neuroconv')} ({interface} interface)"
    )
    metadata["NWBFile"]["identifier"] = abf.stem
    start = metadata["NWBFile"]["session_start_time"]
    start = datetime.fromisoformat(start) if isinstance(start, str) else start
    if start.tzinfo is None:  # the ABF header holds the local time of the rig, without its zone
        metadata["NWBFile"]["session_start_time"] = start.replace(tzinfo=ZoneInfo(timezone))
    return metadata


def convert_axon(abf: Path, out: Path, timezone: str = "UTC") -> None:
    """``AxonIntracellularInterface`` (current clamp, first channel, first command) in its converter."""
    from neuroconv.converters import AxonIntracellularConverter
    from neuroconv.datainterfaces import AxonIntracellularInterface

    channel = AxonIntracellularInterface.get_channel_names(abf)[0]
    commands = AxonIntracellularInterface.get_command_names(abf)
    interface = AxonIntracellularInterface(
        file_path=abf,
        response_channel_name=channel,
        mode="current_clamp",
        stimulus_command=commands[0] if commands else None,
    )
    converter = AxonIntracellularConverter(data_interfaces=[interface])
    metadata = _describe(converter.get_metadata(), abf, "axon", timezone)
    converter.run_conversion(nwbfile_path=out, metadata=metadata, overwrite=True)


def convert_abf(abf: Path, out: Path, timezone: str = "UTC") -> None:
    """The legacy ``AbfInterface``, with the clamp mode and protocol name its metadata needs."""
    from neo.io import AxonIO
    from neuroconv.datainterfaces import AbfInterface

    protocol = protocol_name(AxonIO(filename=str(abf))._axon_info) or "not described"
    session = {"abf_file_name": abf.name, "icephys_experiment_type": "current_clamp", "stimulus_type": protocol}
    interface = AbfInterface(file_paths=[abf], icephys_metadata={"recording_sessions": [session]})
    metadata = _describe(interface.get_metadata(), abf, "abf", timezone)
    interface.run_conversion(nwbfile_path=out, metadata=metadata, overwrite=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("abf", type=Path, nargs="*", help="ABF files (default: ../shared/data/real/*.abf)")
    parser.add_argument("--interface", choices=INTERFACES, default="axon")
    parser.add_argument(
        "--timezone", default="UTC", help="time zone of the rig's clock (the ABF start time has none); default UTC"
    )
    args = parser.parse_args()
    files = args.abf or sorted(REAL.glob("*.abf"))
    if not files:
        parser.error(f"no ABF files given and none in {REAL}")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    convert = convert_axon if args.interface == "axon" else convert_abf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # AbfInterface's deprecation; positional-argument notices
        for abf in files:
            out = args.out_dir / f"{abf.stem}.nwb"
            convert(abf, out, args.timezone)
            print(out)


if __name__ == "__main__":
    main()
