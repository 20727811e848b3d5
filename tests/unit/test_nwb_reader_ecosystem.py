"""NWB files that the ecosystem writes, read by `nwb_reader` (issue 17): pynwb's own icephys API, and the real ABF
recordings of ../shared/data/real converted by neuroconv (benchmarks/neuroconv_convert.py in .venv-neuroconv).

(a) pynwb: current-clamp steps with and without ``sweep_number`` / ``stimulus_description``, a voltage-clamp row, a
row without a stimulus, series stored with timestamps, rows grouped in simultaneous and sequential recordings, and
one continuous series cut into rows (neuroconv's current layout). Numbers, rates, units, names and types (through a
user's stimulus map) are checked against what was written.

(b) neuroconv (skipped where .venv-neuroconv or ../shared/data/real is absent; ``make neuroconv-env``): every ABF
file converted with both ABF interfaces (``AxonIntracellularInterface`` in its converter, and the legacy
``AbfInterface``), read, classified by a stimulus map of the files' Clampex protocol names and extracted with
``extract_cell``. Every sweep is classified, and every long square is analysed or rejected with a reason. Each
sweep's QC outcome, amplitude and spike times equal those of the same whole sweep read with pyabf (the reader adds
nothing and loses nothing). For the clean recordings (171116sh_0018, 18711001, 18713001), whose steps follow a
pre-step or precede a repeated step, the main step is the one benchmarks/real_recordings.py cuts: the spike count
of every analysed sweep equals IPFX's on that cut (tests/data/real_ipfx_golden.json) and the rheobase is the
golden one (50, 70, 80 pA).
"""

import copy
import functools
import json
import subprocess
import sys
from datetime import UTC, datetime

import h5py
import numpy as np
import pytest
from conftest import ROOT, SHARED_DATA

sys.path.insert(0, str(ROOT / "benchmarks"))
import real_recordings as rr  # noqa: E402

from patchseq_ml.acquire.nwb_reader import NWBReadError, Sweep, read_sweeps  # noqa: E402
from patchseq_ml.acquire.stimulus_table import StimulusTable  # noqa: E402
from patchseq_ml.ephys.cell_features import extract_cell  # noqa: E402
from patchseq_ml.ephys.sweep_features import sweep_features  # noqa: E402
from patchseq_ml.ephys.sweep_qc import check_sweep, protocol_epochs  # noqa: E402

RATE = 50000.0
R_MOHM, TAU_S, REST_MV = 200.0, 0.02, -70.0
USER_MAP = (
    "# a lab's own protocol names (regular expressions on the start of the name)\n"
    "pattern\tstimulus_type\tnote\n"
    "IV_steps|LongPulse\tlong_square\tcurrent steps\n"
    "ShortPulse\tshort_square\t3 ms pulses\n"
    "seal_test\ttest\tvoltage-clamp seal test\n"
    "0113 steps dual|0112 steps dual|0113 AP gain|FICurve_|IC1$\tlong_square\tClampex protocols of shared/data/real\n"
)


@pytest.fixture(scope="module")
def user_table(tmp_path_factory) -> StimulusTable:
    path = tmp_path_factory.mktemp("map") / "my_protocols.tsv"
    path.write_text(USER_MAP)
    return StimulusTable.from_tsv(ROOT / "config/stimulus_codes.tsv", extra=path)


# ---------------------------------------------------------------- (a) pynwb's own icephys API


def _step(amplitude_pa: float, seconds: float = 1.6, onset_s: float = 0.3, width_s: float = 1.0, rate: float = RATE):
    """(stimulus in A, response in V) of a passive cell (R_MOHM, TAU_S) to one step."""
    t = np.arange(int(seconds * rate)) / rate
    on = (t >= onset_s) & (t < onset_s + width_s)
    stimulus = np.where(on, amplitude_pa, 0.0)
    charge = np.where(on, 1 - np.exp(-(t - onset_s) / TAU_S), 0.0)
    after = t >= onset_s + width_s
    charge[after] = (1 - np.exp(-width_s / TAU_S)) * np.exp(-(t[after] - onset_s - width_s) / TAU_S)
    response_mv = REST_MV + R_MOHM * amplitude_pa * 1e-3 * charge
    return stimulus * 1e-12, response_mv * 1e-3


def _new_file():
    from pynwb import NWBFile

    nwb = NWBFile("pynwb icephys tables", "ecosystem", datetime(2024, 1, 1, tzinfo=UTC))
    device = nwb.create_device("amplifier")
    electrode = nwb.create_icephys_electrode(name="e0", description="patch electrode", device=device)
    return nwb, electrode


def _write(nwb, path) -> None:
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def _cc_row(nwb, electrode, name, amplitude_pa, *, sweep_number=None, description=None, timestamps=None, **step):
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries

    stimulus, response = _step(amplitude_pa, **step)
    rate = step.get("rate", RATE)
    extra = {} if sweep_number is None else {"sweep_number": np.uint32(sweep_number)}
    if description is not None:
        extra["stimulus_description"] = description
    timing = {"rate": rate} if timestamps is None else {"timestamps": timestamps}
    return nwb.add_intracellular_recording(
        electrode=electrode,
        stimulus=CurrentClampStimulusSeries(
            name=f"{name}_stimulus", data=stimulus, electrode=electrode, gain=1.0, **timing, **extra
        ),
        response=CurrentClampSeries(name=name, data=response, electrode=electrode, gain=1.0, **timing, **extra),
    )


def test_series_with_sweep_numbers_and_descriptions_keep_them(tmp_path, user_table):
    nwb, electrode = _new_file()
    rows = [
        _cc_row(nwb, electrode, f"resp{n}", amp, sweep_number=n, description=code)
        for n, amp, code in [(12, -30.0, "LongPulse_DA_0"), (10, 50.0, "LongPulse_DA_0"), (11, 400.0, "ShortPulse")]
    ]
    nwb.add_icephys_simultaneous_recording(recordings=rows)
    _write(nwb, tmp_path / "numbered.nwb")
    sweeps = read_sweeps(tmp_path / "numbered.nwb", user_table)
    assert [s.sweep_number for s in sweeps] == [10, 11, 12]  # the attribute, sorted; not the row order
    assert [s.stimulus_code for s in sweeps] == ["LongPulse", "ShortPulse", "LongPulse"]
    assert [s.stimulus_type for s in sweeps] == ["long_square", "short_square", "long_square"]
    assert [np.max(np.abs(s.stimulus_pa)) for s in sweeps] == pytest.approx([50.0, 400.0, 30.0])


def _mixed_file(path) -> None:
    """Sweeps without sweep_number or stimulus_description (named by their sequential recording), one with a
    description, a voltage-clamp seal test, a response without stimulus, timestamps even and uneven."""
    from pynwb.icephys import IZeroClampSeries, VoltageClampSeries, VoltageClampStimulusSeries

    nwb, electrode = _new_file()
    iv = [_cc_row(nwb, electrode, f"iv{i}", amp) for i, amp in enumerate([-70.0, -30.0, 0.0, 60.0])]
    described = _cc_row(nwb, electrode, "described", 20.0, sweep_number=7, description="ShortPulse_DA_0")
    even = 12.3 + np.arange(int(1.6 * 25000)) / 25000.0  # float timestamps far from 0: a rate of exactly 25 kHz
    timed = _cc_row(nwb, electrode, "timed", -50.0, rate=25000.0, timestamps=even)
    uneven = even.copy()
    uneven[1000:] += 1e-5
    jittered = _cc_row(nwb, electrode, "jittered", -50.0, rate=25000.0, timestamps=uneven)
    unnamed = _cc_row(nwb, electrode, "unnamed_series", 10.0)
    vc_kwargs = dict(electrode=electrode, gain=1.0, rate=RATE)
    seal = nwb.add_intracellular_recording(
        electrode=electrode,
        stimulus=VoltageClampStimulusSeries(
            name="seal_cmd", data=np.r_[np.zeros(500), np.full(500, 0.01)], **vc_kwargs
        ),
        response=VoltageClampSeries(name="seal", data=np.r_[np.zeros(500), np.full(500, 2e-10)], **vc_kwargs),
    )
    no_stimulus = nwb.add_intracellular_recording(
        electrode=electrode, response=IZeroClampSeries(name="rest", data=np.full(1000, -0.07), **vc_kwargs)
    )
    simultaneous = {
        row: nwb.add_icephys_simultaneous_recording(recordings=[row])
        for row in [*iv, described, timed, jittered, unnamed, seal, no_stimulus]
    }
    nwb.add_icephys_sequential_recording(
        simultaneous_recordings=[simultaneous[r] for r in [*iv, described, timed, jittered]], stimulus_type="IV_steps"
    )
    nwb.add_icephys_sequential_recording(simultaneous_recordings=[simultaneous[seal]], stimulus_type="seal_test")
    nwb.add_icephys_sequential_recording(simultaneous_recordings=[simultaneous[no_stimulus]], stimulus_type="N/A")
    # `unnamed` is in no sequential recording: it is named by its series
    _write(nwb, path)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    path = tmp_path_factory.mktemp("pynwb") / "mixed.nwb"
    _mixed_file(path)
    return path


def test_sweeps_without_numbers_are_numbered_by_row_and_named_by_their_sequence(mixed, user_table):
    sweeps = read_sweeps(mixed, user_table)
    assert [s.sweep_number for s in sweeps] == list(range(10))  # one row lacks sweep_number: rows for all
    by_number = {s.sweep_number: s for s in sweeps}
    codes = [by_number[n].stimulus_code for n in range(10)]
    assert codes == ["IV_steps"] * 4 + ["ShortPulse", "IV_steps", "IV_steps", "unnamed_series", "seal_test", "rest"]
    kinds = [by_number[n].stimulus_type for n in range(10)]
    assert kinds == ["long_square"] * 4 + ["short_square", "long_square", "long_square", "unknown", "test", "unknown"]
    assert StimulusTable.from_tsv(ROOT / "config/stimulus_codes.tsv").classify("IV_steps") == "unknown"


def test_rates_units_and_clamp_modes_are_read_as_written(mixed, user_table):
    sweeps = {s.sweep_number: s for s in read_sweeps(mixed, user_table)}
    for n, amplitude in enumerate([-70.0, -30.0, 0.0, 60.0]):
        sweep = sweeps[n]
        assert sweep.clamp_mode == "current_clamp" and sweep.rate_hz == RATE and sweep.timestamps_s is None
        assert sweep.response_mv[0] == pytest.approx(REST_MV)  # mV, from volts
        assert sweep.stimulus_pa[int(0.5 * RATE)] == pytest.approx(amplitude)  # pA, from amperes
    assert sweeps[5].rate_hz == 25000.0 and sweeps[5].timestamps_s is None  # even timestamps: the exact rate
    assert np.isnan(sweeps[6].rate_hz) and sweeps[6].timestamps_s[0] == pytest.approx(12.3)
    seal = sweeps[8]
    assert seal.clamp_mode == "voltage_clamp"
    assert (seal.response_mv.max(), seal.stimulus_pa.max()) == pytest.approx((200.0, 10.0))  # pA and mV
    rest = sweeps[9]
    assert rest.clamp_mode == "current_clamp" and np.isnan(rest.stimulus_pa).all()


def test_a_pynwb_cell_is_extracted_with_the_user_map(mixed, user_table, feature_config):
    result = extract_cell(mixed, "pynwb_cell", user_table, feature_config)
    assert result.status == "ok"
    qc = {r["sweep_number"]: r["qc"] for r in result.sweeps}
    assert [qc[n] for n in range(5)] == ["passed"] * 5
    assert qc[6] == "sweep_variable_sampling" and qc[8] is None and qc[9] is None  # test/unknown: not analysed
    assert result.sweep_counts["long_square"] == 6 and result.sweep_counts["unknown"] == 2
    assert result.features["input_resistance_mohm"] == pytest.approx(R_MOHM, rel=1e-3)  # -70 and -30 pA, mV/pA
    assert result.features["vrest_mv"] == pytest.approx(REST_MV, abs=1e-6)


def test_rows_of_one_continuous_series_are_separate_sweeps(tmp_path, user_table):
    """neuroconv's AxonIntracellularInterface layout: one series with timestamps (gaps between sweeps), one row per
    sweep as (idx_start, count); a sweep_number on the shared series does not merge its rows."""
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries

    nwb, electrode = _new_file()
    rate, amplitudes = 20000.0, [-30.0, 40.0, 90.0]
    pieces = [_step(a, seconds=1.5, rate=rate, onset_s=0.2, width_s=0.5) for a in amplitudes]
    n = pieces[0][0].size
    times = np.concatenate([5.0 * k + np.arange(n) / rate for k in range(len(amplitudes))])
    common = dict(electrode=electrode, gain=1.0, timestamps=times, sweep_number=np.uint32(3))
    stimulus = CurrentClampStimulusSeries(name="stim", data=np.concatenate([p[0] for p in pieces]), **common)
    response = CurrentClampSeries(name="resp", data=np.concatenate([p[1] for p in pieces]), **common)
    for k in range(len(amplitudes)):
        ranges = dict(response_start_index=k * n, response_index_count=n)
        nwb.add_intracellular_recording(
            electrode=electrode,
            response=response,
            stimulus=stimulus,
            stimulus_start_index=k * n,
            stimulus_index_count=n,
            **ranges,
        )
    _write(nwb, tmp_path / "continuous.nwb")
    sweeps = read_sweeps(tmp_path / "continuous.nwb", user_table)
    assert [s.sweep_number for s in sweeps] == [0, 1, 2]
    assert all(s.rate_hz == rate and s.response_mv.size == n and s.stimulus_code == "resp" for s in sweeps)
    assert [s.stimulus_pa[int(0.4 * rate)] for s in sweeps] == pytest.approx(amplitudes)


def test_a_malformed_icephys_table_is_one_line_naming_the_file(mixed, tmp_path, user_table):
    broken = tmp_path / "broken.nwb"
    broken.write_bytes(mixed.read_bytes())
    with h5py.File(broken, "r+") as h5:
        del h5["general/intracellular_ephys/intracellular_recordings/id"]
    with pytest.raises(NWBReadError) as error:
        read_sweeps(broken, user_table)
    assert "\n" not in str(error.value) and str(error.value).startswith(f"{broken}: unreadable intracellular data")


# ---------------------------------------------------------------- (b) the real ABF recordings through neuroconv

NEUROCONV_PYTHON = ROOT / ".venv-neuroconv/bin/python"
CLEAN = ("171116sh_0018", "18711001", "18713001")
INTERFACES = ("axon", "abf")


def _abf(name: str):
    return SHARED_DATA / rr.RECORDINGS[name].path


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """interface -> {recording name: NWB path}, converted once per module by benchmarks/neuroconv_convert.py."""
    if not NEUROCONV_PYTHON.exists():
        pytest.skip(f"no neuroconv venv ({NEUROCONV_PYTHON.parent.parent.name}): run `make neuroconv-env`")
    missing = [str(_abf(name)) for name in rr.RECORDINGS if not _abf(name).exists()]
    if missing:
        pytest.skip(f"real data not available: {missing[0]}")
    out = {}
    for interface in INTERFACES:
        folder = tmp_path_factory.mktemp(f"neuroconv_{interface}")
        command = [str(NEUROCONV_PYTHON), str(ROOT / "benchmarks/neuroconv_convert.py"), str(folder)]
        command += [str(_abf(name)) for name in rr.RECORDINGS] + ["--interface", interface]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        out[interface] = {name: folder / f"{_abf(name).stem}.nwb" for name in rr.RECORDINGS}
    return out


@functools.cache
def _pyabf_sweeps(name: str, table: StimulusTable) -> list[Sweep]:
    """The whole ABF sweeps as pyabf reads them (first channel, mV; command, pA), as the reader would give them."""
    pyabf = pytest.importorskip("pyabf")
    abf = pyabf.ABF(str(_abf(name)))
    sweeps = []
    for number in range(abf.sweepCount):
        abf.setSweep(number, channel=0)
        v, c = np.array(abf.sweepY, dtype=np.float64), np.array(abf.sweepC, dtype=np.float64)
        kind = table.classify(abf.protocol)
        sweeps.append(Sweep(number, abf.protocol, kind, float(abf.dataRate), v, c, "current_clamp"))
    return sweeps


def _expected(name: str, table: StimulusTable, features: dict) -> dict[int, dict]:
    """Per sweep: QC outcome, amplitude and spike times of our extraction on the pyabf sweeps (as extract_cell)."""
    sweeps = copy.deepcopy(_pyabf_sweeps(name, table))
    protocol = protocol_epochs(sweeps, features["qc"])
    out = {}
    for sweep in sweeps:
        qc = check_sweep(sweep, features["qc"], protocol)
        row = {"qc": qc.reason or "passed", "amplitude_pa": None, "spike_times_s": [], "onset_s": None}
        if qc.passed:
            found = sweep_features(sweep, qc, features["spikes"])
            row.update(amplitude_pa=found.amplitude_pa, spike_times_s=found.spike_times_s)
            row["onset_s"] = qc.epoch.onset / sweep.rate_hz
        out[sweep.sweep_number] = row
    return out


@pytest.mark.real_data
@pytest.mark.parametrize("interface", INTERFACES)
@pytest.mark.parametrize("name", list(rr.RECORDINGS))
def test_converted_recording_is_read_as_pyabf_reads_it(name, interface, converted, user_table, feature_config):
    features = rr.features_config(name, feature_config)
    path = converted[interface][name]
    sweeps = read_sweeps(path, user_table)
    expected = _expected(name, user_table, features)
    assert [s.sweep_number for s in sweeps] == sorted(expected)  # rows in ABF order, numbered from 0
    assert all(s.stimulus_type == "long_square" for s in sweeps)  # every sweep classified by the protocol map
    assert all(s.rate_hz == 20000.0 and s.clamp_mode == "current_clamp" for s in sweeps)
    pyabf_sweeps = {s.sweep_number: s for s in _pyabf_sweeps(name, user_table)}
    for sweep in sweeps:
        np.testing.assert_allclose(sweep.response_mv, pyabf_sweeps[sweep.sweep_number].response_mv, atol=1e-9)
        np.testing.assert_allclose(sweep.stimulus_pa, pyabf_sweeps[sweep.sweep_number].stimulus_pa, atol=1e-9)

    result = extract_cell(path, name, user_table, features)
    assert not [f for f in result.failures if f.item == "file"]  # the file was read
    assert len(result.sweeps) == len(expected)
    for record in result.sweeps:
        want = expected[record["sweep_number"]]
        assert record["qc"] is not None  # analysed or rejected with a reason, never skipped
        assert (record["qc"], record["amplitude_pa"]) == (want["qc"], want["amplitude_pa"]), record["sweep_number"]
        np.testing.assert_allclose(record["spike_times_s"], want["spike_times_s"], atol=0.5 / 20000.0)


GOLDEN = json.loads((ROOT / "tests/data/real_ipfx_golden.json").read_text())
RHEOBASE_PA = {"171116sh_0018": 50.0, "18711001": 70.0, "18713001": 80.0}  # PROVENANCE.md: first spikes


@pytest.mark.real_data
@pytest.mark.parametrize("name", CLEAN)
def test_clean_recordings_are_analysed_at_their_main_step(name, converted, user_table, feature_config):
    """The main step found in the whole sweep is the step real_recordings.py cuts, and the spikes on it are IPFX's."""
    spec = rr.RECORDINGS[name]
    result = extract_cell(converted["axon"][name], name, user_table, rr.features_config(name, feature_config))
    assert result.status == "ok"
    golden = GOLDEN["cells"][name]["native"]["sweeps"]
    analysed = [r for r in result.sweeps if r["qc"] == "passed"]
    at_main = [r for r in analysed if r["spike_window_s"][0] == pytest.approx(spec.onset_s, abs=1e-3)]
    steps = {n: a for n, a in enumerate(spec.amplitudes_pa)}
    # every non-zero main step is analysed there, with its commanded amplitude; except 171116sh_0018's first sweep,
    # whose fixed -100 pA step and repeated -100 pA step run together into one 1 s step from rest, longer than the
    # 0.5 s main step: that one is analysed (same amplitude)
    longer = {0} if name == "171116sh_0018" else set()
    assert {r["sweep_number"] for r in at_main} == {n for n, a in steps.items() if a != 0.0} - longer
    for record in (r for r in analysed if r["sweep_number"] in longer):
        assert record["spike_window_s"][0] == pytest.approx(1.1468, abs=1e-3) and record["amplitude_pa"] == -100.0
    assert all(r["amplitude_pa"] == steps[r["sweep_number"]] for r in at_main)
    counts = [
        (r["sweep_number"], len(r["spike_times_s"]), len(golden[str(r["sweep_number"])]["peak_index"])) for r in at_main
    ]
    assert all(ours == ipfx for _, ours, ipfx in counts), counts
    assert sum(c[1] for c in counts) > 20
    # the 0 pA sweep: 171116sh_0018's keeps only its fixed -100 pA step (one step from rest, analysed as such);
    # 18711001/18713001's keeps only the pre-step, on before test_pulse_end_s: not a single step
    zero = next(n for n, a in steps.items() if a == 0.0)
    record = next(r for r in result.sweeps if r["sweep_number"] == zero)
    if name == "171116sh_0018":
        assert record["qc"] == "passed" and record["amplitude_pa"] == -100.0 and not record["spike_times_s"]
    else:
        assert record["qc"] == "sweep_not_a_single_step"
    assert (
        result.features["rheobase_pa"]
        == RHEOBASE_PA[name]
        == GOLDEN["cells"][name]["native"]["features"]["rheobase_pa"]
    )


@pytest.mark.real_data
def test_a_pre_step_running_into_the_step_is_rejected_not_misread(converted, user_table, feature_config):
    """demo_2: -20 pA straight into the step; only sweeps whose current is one step from rest are analysed."""
    result = extract_cell(
        converted["axon"]["demo_2"], "demo_2", user_table, rr.features_config("demo_2", feature_config)
    )
    qc = {r["sweep_number"]: (r["qc"], r["amplitude_pa"]) for r in result.sweeps}
    assert qc[0] == ("passed", -20.0)  # -20 pA throughout pre-step and step: one 1 s step
    assert qc[2] == ("passed", -20.0)  # 0 pA step: the pre-step alone
    assert all(qc[n] == ("sweep_not_a_single_step", None) for n in qc if n not in (0, 2))
