import numpy as np

from patchseq_ml.acquire.nwb_reader import Sweep
from patchseq_ml.ephys.sweep_qc import check_sweep, find_stimulus_epoch

RATE = 50000.0
QC = dict(test_pulse_end_s=0.1, baseline_window_s=0.1, baseline_range_mv=[-100, -45], min_post_stimulus_s=0.1)


def _sweep(kind="long_square", amplitude=-50.0, seconds=2.0, baseline=-70.0):
    n = int(seconds * RATE)
    stim = np.zeros(n)
    stim[int(0.01 * RATE) : int(0.02 * RATE)] = -50  # test pulse
    stim[int(0.5 * RATE) : int(1.5 * RATE)] = amplitude
    v = np.full(n, baseline) + 0.1 * np.random.default_rng(0).standard_normal(n)
    return Sweep(3, "X1PS_SubThresh", kind, RATE, v, stim, "current_clamp")


def test_epoch_skips_the_test_pulse():
    epoch = find_stimulus_epoch(_sweep().stimulus_pa, RATE, 0.1)
    assert (epoch.onset, epoch.offset, epoch.amplitude_pa) == (25000, 75000, -50.0)


def test_clean_sweep_passes_with_its_baseline():
    qc = check_sweep(_sweep(), QC)
    assert qc.passed and abs(qc.baseline_mv + 70) < 0.1


def test_each_defect_gets_its_reason():
    nan = _sweep()
    nan.response_mv[:] = np.nan
    assert check_sweep(nan, QC).reason == "sweep_all_nan"
    cut = _sweep()
    cut.response_mv, cut.stimulus_pa = cut.response_mv[: int(1.0 * RATE)], cut.stimulus_pa[: int(1.0 * RATE)]
    assert check_sweep(cut, QC).reason == "sweep_truncated"
    trailing_nan = _sweep()
    trailing_nan.response_mv[int(1.2 * RATE) :] = np.nan
    assert check_sweep(trailing_nan, QC).reason == "sweep_truncated"
    assert check_sweep(_sweep(baseline=-30.0), QC).reason == "sweep_baseline_out_of_range"
    assert check_sweep(_sweep(amplitude=0.0), QC).reason == "sweep_no_stimulus_epoch"
    vc = _sweep()
    vc.clamp_mode = "voltage_clamp"
    assert check_sweep(vc, QC).reason == "sweep_voltage_clamp"


def test_a_ramp_may_end_with_the_recording():
    ramp = _sweep(kind="ramp")
    n = ramp.stimulus_pa.size
    ramp.stimulus_pa[int(0.5 * RATE) :] = np.arange(n - int(0.5 * RATE)) / RATE * 100.0
    assert check_sweep(ramp, QC).passed
