import numpy as np

from patchseq_ml.acquire.nwb_reader import Sweep
from patchseq_ml.ephys.sweep_qc import check_sweep, find_stimulus_epoch, protocol_epochs

RATE = 50000.0
QC = dict(
    test_pulse_end_s=0.1,
    baseline_window_s=0.1,
    baseline_range_mv=[-100, -45],
    min_post_stimulus_s=0.1,
    amplitude_resolution_pa=0.01,
)


def _sweep(kind="long_square", amplitude=-50.0, seconds=2.0, baseline=-70.0):
    n = int(seconds * RATE)
    stim = np.zeros(n)
    stim[int(0.01 * RATE) : int(0.02 * RATE)] = -50  # test pulse
    stim[int(0.5 * RATE) : int(1.5 * RATE)] = amplitude
    v = np.full(n, baseline) + 0.1 * np.random.default_rng(0).standard_normal(n)
    return Sweep(3, "X1PS_SubThresh", kind, RATE, v, stim, "current_clamp")


def test_epoch_skips_the_test_pulse():
    epoch = find_stimulus_epoch(_sweep().stimulus_pa, RATE, 0.1, 0.01)
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


def test_float32_stimulus_amplitudes_are_read_as_the_protocol_set_them():
    """MIES stores pA as float32 with the float32 conversion 1e-12: -100 pA scales to -99.9999996 pA."""
    stored = float(np.float32(-100.0)) * float(np.float32(1e-12)) * 1e12  # float64, as the reader scales
    assert stored != -100.0 and -100 < stored  # the artefact that let a -100 pA step into (-100, 0)
    sweep = _sweep(amplitude=stored)
    assert check_sweep(sweep, QC).epoch.amplitude_pa == -100.0
    assert check_sweep(_sweep(amplitude=-37.5), QC).epoch.amplitude_pa == -37.5


def test_a_zero_pa_long_square_keeps_its_protocol_epoch():
    cell = [_sweep(amplitude=-30.0), _sweep(amplitude=50.0), _sweep(amplitude=0.0)]
    protocol = protocol_epochs(cell, QC)
    qc = check_sweep(cell[2], QC, protocol)
    assert qc.passed and (qc.epoch.onset, qc.epoch.offset, qc.epoch.amplitude_pa) == (25000, 75000, 0.0)
    assert check_sweep(cell[2], QC).reason == "sweep_no_stimulus_epoch"  # no other long square to borrow from
    other_rate = _sweep(amplitude=0.0)
    other_rate.rate_hz = 2 * RATE
    assert check_sweep(other_rate, QC, protocol).reason == "sweep_no_stimulus_epoch"
    nan_stimulus = _sweep(amplitude=0.0)
    nan_stimulus.stimulus_pa[:] = np.nan
    assert check_sweep(nan_stimulus, QC, protocol).reason == "sweep_no_stimulus_epoch"


def test_a_sweep_without_a_fixed_rate_is_rejected_with_its_reason():
    sweep = _sweep()
    sweep.rate_hz = np.nan
    assert check_sweep(sweep, QC).reason == "sweep_variable_sampling"
