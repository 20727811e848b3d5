"""The reader on real fixture files (skipped where ../shared/data is absent) and on files written here."""

from datetime import UTC, datetime

import h5py
import numpy as np
import pytest
from conftest import shared_file

from patchseq_ml.acquire.nwb_reader import NWBReadError, read_sweeps
from patchseq_ml.acquire.nwb_writer import SweepRecord, write_mies_nwb


def _sweep(number: int, code: str = "X4PS_SupraThresh", rate: float = 50000.0) -> SweepRecord:
    n = int(rate * 0.2)
    stimulus = np.zeros(n, dtype=np.float32)
    stimulus[n // 4 : 3 * n // 4] = 50.0 * (number + 1)
    response = (-70.0 + np.linspace(0, 1, n)).astype(np.float32)
    return SweepRecord(number, code, response, stimulus, rate)


def test_round_trip_of_a_mies_layout_file(tmp_path, stimulus_table):
    path = tmp_path / "sub-1_ses-2_icephys.nwb"
    write_mies_nwb(path, "cell", [_sweep(0), _sweep(1, "X7Ramp"), _sweep(2, "X6SP_Rheo", 200000.0)], "1")
    sweeps = read_sweeps(path, stimulus_table)
    assert [s.sweep_number for s in sweeps] == [0, 1, 2]
    assert [s.stimulus_type for s in sweeps] == ["long_square", "ramp", "short_square"]
    assert sweeps[2].rate_hz == 200000.0
    np.testing.assert_allclose(sweeps[0].stimulus_pa.max(), 50.0, rtol=1e-6)
    np.testing.assert_allclose(sweeps[1].response_mv[0], -70.0, rtol=1e-6)
    assert all(s.clamp_mode == "current_clamp" for s in sweeps)


def test_simulated_file_opens_in_pynwb(tmp_path):
    from pynwb import NWBHDF5IO

    path = tmp_path / "cell.nwb"
    write_mies_nwb(path, "cell", [_sweep(0), _sweep(1)], "1")
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        series = nwb.acquisition["data_00001_AD0"]
        assert series.sweep_number == 1
        assert series.stimulus_description == "X4PS_SupraThresh_DA_0"
        assert len(nwb.sweep_table) == 4


def test_newer_icephys_tables_are_read(tmp_path, stimulus_table):
    """A file without a sweep table, written by pynwb with intracellular_recordings (NWB >= 2.4 layout)."""
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries

    nwb = NWBFile("test", "icephys-tables", datetime(2024, 1, 1, tzinfo=UTC))
    device = nwb.create_device("amp")
    electrode = nwb.create_icephys_electrode(name="e0", description="", device=device)
    for number, amplitude in enumerate([-30.0, 60.0]):
        stim = np.zeros(5000)
        stim[1000:4000] = amplitude * 1e-12
        kwargs = dict(rate=50000.0, electrode=electrode, sweep_number=number, stimulus_description="X4PS_SupraThresh")
        nwb.add_intracellular_recording(
            electrode=electrode,
            stimulus=CurrentClampStimulusSeries(name=f"stim{number}", data=stim, gain=1.0, **kwargs),
            response=CurrentClampSeries(name=f"resp{number}", data=np.full(5000, -0.07), gain=1.0, **kwargs),
        )
    path = tmp_path / "tables.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    sweeps = read_sweeps(path, stimulus_table)
    assert [s.sweep_number for s in sweeps] == [0, 1]
    np.testing.assert_allclose([s.stimulus_pa.max() for s in sweeps], [0.0, 60.0], atol=1e-9)
    np.testing.assert_allclose(sweeps[0].response_mv, -70.0)


def test_real_mies_fixture_is_read_as_voltage_clamp(stimulus_table):
    sweeps = read_sweeps(shared_file("nwb/valid_v2_MIES-NWBv2-0655f7e4.nwb"), stimulus_table)
    assert len(sweeps) == 1
    sweep = sweeps[0]
    assert (sweep.sweep_number, sweep.stimulus_code, sweep.rate_hz) == (0, "StimulusSetA", 200000.0)
    assert sweep.clamp_mode == "voltage_clamp"
    assert sweep.response_mv.size == 188001
    assert np.abs(sweep.stimulus_pa).max() < 100  # command in mV, not in V or pA


def test_real_abf_conversion_ramp_is_current_clamp(stimulus_table):
    sweeps = read_sweeps(shared_file("nwb/2018_03_20_0005.nwb"), stimulus_table)
    assert len(sweeps) == 1
    sweep = sweeps[0]
    assert sweep.clamp_mode == "current_clamp" and sweep.rate_hz == 50000.0
    assert sweep.stimulus_type == "ramp"
    assert -90 < np.median(sweep.response_mv) < -40  # mV
    assert 100 < np.nanmax(sweep.stimulus_pa) < 1000  # pA


def test_nwb1_file_is_refused_with_one_line(stimulus_table):
    path = shared_file("nwb/Sst-IRES-CreAi14-395722.01.01.01.nwb")
    with pytest.raises(NWBReadError) as error:
        read_sweeps(path, stimulus_table)
    message = str(error.value)
    assert "\n" not in message and str(path) in message and "NWB-1.0.5" in message


def test_non_nwb_files_are_refused(tmp_path, stimulus_table):
    text = tmp_path / "notes.nwb"
    text.write_text("not hdf5")
    with pytest.raises(NWBReadError, match=r"notes\.nwb: not an NWB file"):
        read_sweeps(text, stimulus_table)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as h5:
        h5["x"] = 1
    with pytest.raises(NWBReadError, match="no nwb_version"):
        read_sweeps(plain, stimulus_table)
    with pytest.raises(NWBReadError, match="does not exist"):
        read_sweeps(tmp_path / "missing.nwb", stimulus_table)


def _with_timestamps(path, times: np.ndarray) -> None:
    """Replace the response's starting_time by ``timestamps`` (as a TimeSeries stored without a fixed rate)."""
    with h5py.File(path, "r+") as h5:
        series = h5["acquisition/data_00000_AD0"]
        del series["starting_time"]
        series.create_dataset("timestamps", data=times)


@pytest.mark.parametrize("uneven", [False, True])
def test_timestamps_give_the_rate_or_the_time_base(tmp_path, stimulus_table, uneven):
    path = tmp_path / "cell.nwb"
    write_mies_nwb(path, "cell", [_sweep(0)], "1")
    n = int(50000.0 * 0.2)
    times = np.arange(n) / 20000.0
    if uneven:
        times[n // 2 :] += 0.5 / 20000.0
    _with_timestamps(path, times)
    (sweep,) = read_sweeps(path, stimulus_table)
    if uneven:
        assert np.isnan(sweep.rate_hz) and np.array_equal(sweep.timestamps_s, times)
    else:
        assert sweep.rate_hz == pytest.approx(20000.0) and sweep.timestamps_s is None
