"""The simulator's files keep the HDF5 structure of the real Allen/MIES files (the fixture from ipfx's tests)."""

import h5py
import numpy as np
from conftest import shared_file

from patchseq_ml.acquire.nwb_writer import SweepRecord, write_mies_nwb

SERIES_ATTRS = {"neurodata_type", "namespace", "sweep_number", "stimulus_description", "description", "comments"}


def _structure(h5: h5py.File, series: str) -> dict:
    group = h5[series]
    return {
        "attrs": set(group.attrs) & SERIES_ATTRS,
        "datasets": {"data", "starting_time", "gain"} & set(group),
        "data_attrs": set(group["data"].attrs) & {"conversion", "resolution", "unit"},
        "starting_time_attrs": set(group["starting_time"].attrs),
        "dtype": group["data"].dtype,
        "sweep_number_dtype": np.asarray(group.attrs["sweep_number"]).dtype,
    }


def test_simulated_sweep_layout_matches_the_real_mies_file(tmp_path):
    real_path = shared_file("nwb/valid_v2_MIES-NWBv2-0655f7e4.nwb")
    sim_path = tmp_path / "sim.nwb"
    n = 1000
    write_mies_nwb(sim_path, "x", [SweepRecord(0, "X1PS_SubThresh", np.zeros(n), np.zeros(n), 50000.0)], "1")
    with h5py.File(real_path, "r") as real, h5py.File(sim_path, "r") as sim:
        for series in ("acquisition/data_00000_AD0", "stimulus/presentation/data_00000_DA0"):
            assert _structure(sim, series) == _structure(real, series), series
        for group in ("acquisition", "stimulus/presentation", "general/intracellular_ephys", "general/devices"):
            assert group in sim
        table = "general/intracellular_ephys/sweep_table"
        assert set(sim[table]) == set(real[table]) == {"id", "series", "series_index", "sweep_number"}
        assert dict(sim[table].attrs)["neurodata_type"] == dict(real[table].attrs)["neurodata_type"]
        assert sim[f"{table}/sweep_number"].dtype == real[f"{table}/sweep_number"].dtype
        assert sim.attrs["nwb_version"].startswith("2.") and real.attrs["nwb_version"].startswith("NWB-2.")
        assert {"specifications", "identifier", "session_start_time"} <= set(sim) & set(real)
