"""Real whole-cell recordings of ``../shared/data/real/`` as cells in the reader's MIES NWB layout (tests, benchmarks).

Importable from both venvs' scripts and the tests; reading the ABF files needs ``pyabf`` (a test/benchmark-only
dependency, pinned in requirements.txt), writing the NWB files needs ``patchseq_ml`` (main venv). The IPFX venv only
uses ``read_test_trace`` and the constants. The ABF files are never copied into the project: cut copies are written
where the caller says (a pytest tmp folder, ``results/benchmarks/ipfx_real/``).

How a recording becomes a cell (``cut_recording``):

- **Main step.** The command waveform (``sweepC``, pA) of every sweep is split at the union of all sweeps' change
  points; the main step is the first segment whose level differs between sweeps (171116sh_0018 and the other dual-step
  files repeat the variable step after a fixed -100/-50 pA step: the first, preceded by rest, is used;
  18711001/18713001: the variable step after the fixed -100 pA pre-step). The segment before it is the holding level: 0
  pA, except demo_2 (-20 pA pre-step, constant over sweeps).
- **Window.** ``[onset - PRE_S, offset + POST_S]``, clipped to the recording, never into another command epoch: it
  starts at least ``SETTLE_S`` after the previous command change (so a pre-step's onset transient is never in the
  window) and ends before the next change. 171116sh_0018, 2019_07_24_0055_fsi, 17o05028_ic_steps: the step starts 0.147
  s into the sweep, so the window starts at the sweep start (0.147 s before onset: onset after the reader's
  ``test_pulse_end_s`` 0.1 s, and a full 0.1 s baseline of rest before it). 18711001/18713001: 0.25 s before onset (0.25
  s after the pre-step's end), but only 0.177 s after offset (the sweep ends at 1.5 s).
- **Pre-step (demo_2).** Its -20 pA pre-step (0.278-0.578 s) runs straight into the main step, and the cell needs about
  0.1 s to settle under it (Vm -88 mV 30 ms in, -101.6 mV at 0.1 s, flat after). The window starts ``SETTLE_S`` = 0.1 s
  into the pre-step (0.2 s before onset: 0.1 s for the reader's test-pulse convention, then a 0.1 s settled baseline)
  and the stimulus is written relative to the pre-step level, as a holding (bias) current is in Allen files: written
  amplitude = command - (-20 pA), so 0..140 pA for the commanded -20..120 pA, and the first sweep (command -20 pA
  throughout) is a 0 pA step. The baseline is then the cell under -20 pA, about -102 mV (outside the default QC range
  [-100, -45] mV: our QC rejects these sweeps, IPFX has no such check). After the main step the command returns to 0 pA,
  not to the pre-step level (+20 pA in the pre-step frame): there, and only there, the written stimulus is NOT the
  command. It is written at the holding level (0), and the window ends ``MIN_POST_S`` = 0.11 s after offset (the
  reader's ``min_post_stimulus_s`` 0.1 s + 10 ms), so that both tools see one step followed by recording; neither tool's
  features use that voltage (spikes are searched within the step, IPFX's interval ends at offset). The voltage is always
  the recording, and both tools read the same arrays.
- **Stimulus.** As commanded (minus the holding level; demo_2 after offset excepted, see above), in pA, written as
  float32 with ``conversion`` 1e-12 (float32: 9.99999996e-13), as MIES writes it; our reader therefore reads -100 pA as
  -99.9999996 pA (the float artefact of issue 15).
- **Rates.** ``rate="native"`` (20 kHz for all six) or an integer rate such as 50000: voltage linearly interpolated
  (``np.interp``) at ``k / rate`` from the window start, for every such time up to the last native sample; the command
  re-drawn exactly at the new rate by zero-order hold (each new sample takes the command of the last native sample at or
  before it, integer arithmetic), so the step starts at the first new sample at or after the native onset time.
- **Layout.** ``write_mies_nwb`` with the long-square code ``STIMULUS_CODE`` (config/stimulus_codes.tsv: long_square;
  IPFX's ontology: "Long Square"); sweep numbers are the ABF sweep indices.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
REAL = SHARED_DATA / "real"
STIMULUS_CODE = "X4PS_SupraThresh"
PRE_S = 0.25  # baseline kept before onset where the recording allows
POST_S = 0.25  # recording kept after offset where the recording allows
MIN_POST_S = 0.11  # after offset where the stimulus there is rewritten (demo_2): min_post_stimulus_s 0.1 s + 10 ms,
# so that the 50 kHz copy (which ends at the last native sample) still has >= 0.1 s
SETTLE_S = 0.1  # a window starts at least this long after the previous command change
RATE_50K = 50000


@dataclass(frozen=True)
class Recording:
    """One ABF file of ``../shared/data/real``; the protocol fields are PROVENANCE.md's (used by the tests)."""

    name: str
    path: str  # relative to ../shared/data
    hard: bool
    notes: str
    onset_s: float  # main step onset and offset in the ABF sweep (s)
    offset_s: float
    amplitudes_pa: tuple[float, ...]  # commanded main-step amplitude per sweep
    holding_pa: float = 0.0  # command level right before the main step (the pre-step for demo_2)
    baseline_range_mv: tuple[float, float] | None = None  # QC baseline range for this cell, where not the default


def features_config(name: str, features: dict) -> dict:
    """The ``features`` config section to extract recording ``name`` with: the default, except a QC baseline range of
    its own where the recording needs one (demo_2: held at -101..-106 mV by its -20 pA pre-step, below the default
    floor of -100 mV; IPFX has no such check)."""
    spec = RECORDINGS[name]
    if spec.baseline_range_mv is None:
        return features
    return {**features, "qc": {**features["qc"], "baseline_range_mv": list(spec.baseline_range_mv)}}


def _amps(first: float, last: float, step: float) -> tuple[float, ...]:
    return tuple(float(a) for a in np.arange(first, last + step / 2, step))


RECORDINGS: dict[str, Recording] = {
    r.name: r
    for r in (
        Recording(
            "171116sh_0018",
            "real/pyABF__171116sh_0018.abf",
            False,
            "20 kHz; main step 0.147-0.647 s, -100..+300 pA by 25 (then a fixed -100 pA step and the variable step "
            "again, not used); rest about -62 mV, sag at -100 pA",
            0.14685,
            0.64685,
            _amps(-100, 300, 25),
        ),
        Recording(
            "18711001",
            "real/pyABF__18711001.abf",
            False,
            "20 kHz; fixed -100 pA pre-step 0.023-0.323 s (outside the window), main step 0.823-1.323 s, "
            "0..290 pA by 10",
            0.8234,
            1.3234,
            _amps(0, 290, 10),
        ),
        Recording(
            "18713001",
            "real/pyABF__18713001.abf",
            False,
            "as 18711001, another cell; broad and notched APs late in strong steps",
            0.8234,
            1.3234,
            _amps(0, 290, 10),
        ),
        Recording(
            "demo_2",
            "real/pyAPisolation__demo_2.abf",
            False,
            "20 kHz; -20 pA pre-step 0.278-0.578 s straight into the main step 0.578-1.278 s (-20..120 pA by 10), "
            "written relative to the pre-step (0..140 pA; 0 after offset, window ends 0.11 s after it); ~1 GOhm, slow "
            "broad spikes, baseline ~-102 mV",
            0.5781,
            1.2781,
            _amps(-20, 120, 10),
            holding_pa=-20.0,
            baseline_range_mv=(-110.0, -45.0),
        ),
        Recording(
            "2019_07_24_0055_fsi",
            "real/pyABF__2019_07_24_0055_fsi.abf",
            True,
            "fast-spiking; layout of 171116sh_0018; unstable baseline (-45 to -64 mV), fires at 0 pA",
            0.14685,
            0.64685,
            _amps(-100, 300, 25),
        ),
        Recording(
            "17o05028_ic_steps",
            "real/pyABF__17o05028_ic_steps.abf",
            True,
            "layout of 171116sh_0018 (fixed step -50 pA); -50..100 pA by 10; depolarised, spontaneously firing",
            0.14685,
            0.64685,
            _amps(-50, 100, 10),
        ),
    )
}
CLEAN = tuple(name for name, r in RECORDINGS.items() if not r.hard)
TEST_TRACES = {"pair": "real/spike_test_pair.txt.zip", "var_dt": "real/spike_test_var_dt.txt.zip"}


@dataclass
class CutSweep:
    """One sweep cut to its main step: the arrays written, and where the window lies in the ABF sweep."""

    sweep_number: int
    rate_hz: float
    response_mv: np.ndarray
    stimulus_pa: np.ndarray  # relative to the holding level
    window: tuple[int, int]  # [start, stop) native samples of the ABF sweep
    onset: int  # native samples into the window
    offset: int
    amplitude_pa: float  # written amplitude (command - holding)


@dataclass
class CutRecording:
    name: str
    rate_hz: float
    holding_pa: float
    rewritten_after_offset: bool  # stimulus written at the holding level after offset, not as commanded
    sweeps: list[CutSweep] = field(default_factory=list)


def _segments(commands: list[np.ndarray]) -> np.ndarray:
    """Boundaries (sample indices, 0 and n included) of the constant command epochs over all sweeps."""
    n = commands[0].size
    changes = set()
    for c in commands:
        changes.update((np.flatnonzero(np.diff(c) != 0) + 1).tolist())
    return np.array(sorted({0, n} | changes))


def cut_recording(name: str, data_root: Path = SHARED_DATA) -> CutRecording:
    """Read one recording with pyabf and cut each sweep to its main step (native rate); see the module docstring."""
    import pyabf

    spec = RECORDINGS[name]
    abf = pyabf.ABF(str(data_root / spec.path))
    rate = float(abf.dataRate)
    voltages, commands = [], []
    for number in range(abf.sweepCount):
        abf.setSweep(number, channel=0)
        voltages.append(np.array(abf.sweepY, dtype=np.float64))
        commands.append(np.array(abf.sweepC, dtype=np.float64))
    bounds = _segments(commands)
    levels = np.array([[c[a] for a in bounds[:-1]] for c in commands])  # sweeps x segments
    variable = np.flatnonzero(np.ptp(levels, axis=0) > 0)
    if variable.size == 0:
        raise ValueError(f"{name}: no command epoch varies between sweeps")
    main = int(variable[0])
    onset, offset = int(bounds[main]), int(bounds[main + 1])
    holding = float(levels[0, main - 1]) if main > 0 else 0.0
    if main > 0 and np.ptp(levels[:, main - 1]) > 0:
        raise ValueError(f"{name}: the epoch before the main step varies between sweeps")
    if main == 0:
        raise ValueError(f"{name}: the main step starts with the sweep (no baseline)")
    previous = int(bounds[main - 1])  # start of the epoch before onset (rest or the pre-step)
    earliest = previous + int(round(SETTLE_S * rate)) if previous > 0 or holding != 0.0 else 0
    following = int(bounds[main + 2]) if main + 2 < bounds.size else offset  # end of the epoch after offset
    after = float(levels[0, main + 1]) if main + 1 < levels.shape[1] else holding
    released = after != holding  # demo_2: the command returns to 0 pA, not to the pre-step level
    start = max(onset - int(round(PRE_S * rate)), earliest)
    stop = min(offset + int(round((MIN_POST_S if released else POST_S) * rate)), following)
    out = CutRecording(name, rate, holding, released)
    for number, (v, c) in enumerate(zip(voltages, commands)):
        stimulus = c[start:stop] - holding
        if released:  # written at the holding level after offset (see the module docstring)
            stimulus[offset - start :] = 0.0
        amp = float(c[onset] - holding)
        out.sweeps.append(
            CutSweep(number, rate, v[start:stop], stimulus, (start, stop), onset - start, offset - start, amp)
        )
    return out


def resample(sweep: CutSweep, rate_hz: int) -> CutSweep:
    """``sweep`` at ``rate_hz``: voltage linearly interpolated, command re-drawn by zero-order hold (exact step)."""
    native = int(round(sweep.rate_hz))
    n_native = sweep.response_mv.size
    n = (n_native - 1) * rate_hz // native + 1  # every new sample time up to the last native sample
    k = np.arange(n, dtype=np.int64)
    v = np.interp(k / rate_hz, np.arange(n_native) / native, sweep.response_mv)
    held = (k * native) // rate_hz  # last native sample at or before k / rate_hz (exact integers)
    stimulus = sweep.stimulus_pa[held]
    onset = -(-sweep.onset * rate_hz // native)  # first new sample at or after the native onset time
    offset = -(-sweep.offset * rate_hz // native)
    return CutSweep(
        sweep.sweep_number, float(rate_hz), v, stimulus, sweep.window, int(onset), int(offset), sweep.amplitude_pa
    )


def cut_at(name: str, rate: str | int = "native", data_root: Path = SHARED_DATA) -> CutRecording:
    """``cut_recording`` at the native rate or resampled to ``rate`` (Hz)."""
    cut = cut_recording(name, data_root)
    if rate == "native" or int(rate) == int(cut.rate_hz):
        return cut
    return CutRecording(
        name, float(rate), cut.holding_pa, cut.rewritten_after_offset, [resample(s, int(rate)) for s in cut.sweeps]
    )


def rate_label(rate: str | int) -> str:
    return "native" if rate == "native" else f"{int(rate) // 1000}k"


def write_cell(name: str, out_dir: Path, rate: str | int = "native", data_root: Path = SHARED_DATA) -> Path:
    """Write recording ``name`` cut to its main steps as ``out_dir/<name>_<native|50k>.nwb`` (MIES layout); the path."""
    from patchseq_ml.acquire.nwb_writer import SweepRecord, write_mies_nwb

    cut = cut_at(name, rate, data_root)
    records = [SweepRecord(s.sweep_number, STIMULUS_CODE, s.response_mv, s.stimulus_pa, s.rate_hz) for s in cut.sweeps]
    path = Path(out_dir) / f"{name}_{rate_label(rate)}.nwb"
    write_mies_nwb(path, f"{name}_{rate_label(rate)}", records, subject_id=name)
    return path


def read_test_trace(which: str, data_root: Path = SHARED_DATA) -> tuple[np.ndarray, np.ndarray]:
    """IPFX's spike test trace ``which`` ('pair' or 'var_dt'): (t in s, v in mV), read as IPFX's tests read it."""
    path = data_root / TEST_TRACES[which]
    with zipfile.ZipFile(path) as archive:
        data = np.genfromtxt(io.BytesIO(archive.read(path.name.removesuffix(".zip"))))
    return data[:, 0], data[:, 1]


def main() -> None:
    """``python benchmarks/real_recordings.py OUT_DIR``: every recording at the native rate and 50 kHz; prints paths."""
    import argparse
    import sys

    sys.path.insert(0, str(ROOT / "workflow_scripts"))
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--data-root", type=Path, default=SHARED_DATA)
    args = parser.parse_args()
    for name in RECORDINGS:
        for rate in ("native", RATE_50K):
            print(write_cell(name, args.out_dir, rate, args.data_root))


if __name__ == "__main__":
    main()
