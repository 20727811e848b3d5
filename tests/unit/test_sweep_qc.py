import numpy as np
from conftest import SWEEP_QC

from patchseq_ml.acquire.nwb_reader import Sweep
from patchseq_ml.ephys.sweep_qc import check_sweep, find_stimulus_epoch, long_square_epoch, protocol_epochs

RATE = 50000.0
QC = SWEEP_QC


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


# ------------------------------------------------ long squares that are not a single step


def _epochs(sweep, *epochs):
    """``sweep`` with its step replaced by ``epochs``: (start_s, stop_s, pA) each, on a zero background."""
    sweep.stimulus_pa[int(0.1 * RATE) :] = 0.0
    for start, stop, amplitude in epochs:
        sweep.stimulus_pa[int(start * RATE) : int(stop * RATE)] = amplitude
    return sweep


def test_a_clean_step_passes_unchanged_without_a_note():
    sweep = _sweep(amplitude=80.0)
    qc = check_sweep(sweep, QC)
    assert qc.passed and qc.note is None
    assert qc.epoch == find_stimulus_epoch(sweep.stimulus_pa, RATE, 0.1, 0.01)
    assert long_square_epoch(sweep.stimulus_pa, RATE, QC).epoch == qc.epoch


def test_a_pre_step_running_into_the_step_is_not_a_single_step():
    """demo_2's layout: -20 pA straight into the step; the baseline before onset is the cell under -20 pA."""
    sweep = _epochs(_sweep(), (0.3, 0.5, -20.0), (0.5, 1.5, 60.0))
    assert check_sweep(sweep, QC).reason == "sweep_not_a_single_step"


def test_a_two_level_step_is_not_a_single_step():
    sweep = _epochs(_sweep(), (0.5, 1.0, 30.0), (1.0, 1.5, 90.0))
    assert check_sweep(sweep, QC).reason == "sweep_not_a_single_step"


def test_an_arbitrary_waveform_classified_as_long_square_is_not_a_single_step():
    sweep = _sweep()
    t = np.arange(sweep.stimulus_pa.size) / RATE
    sweep.stimulus_pa[:] = np.where((t > 0.5) & (t < 1.5), 50.0 * np.sin(2 * np.pi * 5 * t), 0.0)
    assert check_sweep(sweep, QC).reason == "sweep_not_a_single_step"
    ramp = _sweep(kind="ramp")  # the same waveform as a ramp keeps its first-to-last span
    ramp.stimulus_pa[:] = sweep.stimulus_pa
    assert check_sweep(ramp, QC).epoch == find_stimulus_epoch(ramp.stimulus_pa, RATE, 0.1, 0.01)


def test_a_separate_pre_step_leaves_the_main_step_with_a_note():
    """18711001's layout: a -100 pA pre-step (on before test_pulse_end_s), rest, then the step."""
    sweep = _epochs(_sweep(seconds=1.6), (0.02, 0.3, -100.0), (0.8, 1.3, 150.0))
    qc = check_sweep(sweep, QC)
    assert qc.passed
    assert (qc.epoch.onset, qc.epoch.offset, qc.epoch.amplitude_pa) == (40000, 65000, 150.0)
    assert qc.note == "main_step_of_2_epochs: 0.8-1.3 s"
    zero_step = _epochs(_sweep(seconds=1.6), (0.02, 0.3, -100.0))  # its 0 pA sweep: only the pre-step is left
    assert check_sweep(zero_step, QC).reason == "sweep_not_a_single_step"


def test_a_step_repeated_later_keeps_the_first_one_that_stands_alone():
    """171116sh_0018's layout: step, rest, a fixed -100 pA step straight into the step again."""
    sweep = _epochs(_sweep(seconds=2.6), (0.2, 0.7, 100.0), (1.2, 1.7, -100.0), (1.7, 2.2, 100.0))
    qc = check_sweep(sweep, QC)
    assert qc.passed and (qc.epoch.onset, qc.epoch.offset, qc.epoch.amplitude_pa) == (10000, 35000, 100.0)
    assert qc.note == "main_step_of_3_epochs: 0.2-0.7 s"
    protocol = protocol_epochs([sweep], QC)  # the protocol epoch of a 0 pA sweep is the main step
    assert (protocol[RATE].onset, protocol[RATE].offset) == (10000, 35000)


def test_the_longest_standing_step_is_the_main_one():
    sweep = _epochs(_sweep(seconds=2.6), (0.2, 0.4, -10.0), (0.8, 1.8, 70.0))
    qc = check_sweep(sweep, QC)
    assert qc.passed and qc.epoch.amplitude_pa == 70.0 and qc.note == "main_step_of_2_epochs: 0.8-1.8 s"


def test_short_squares_keep_their_first_to_last_span():
    sweep = _epochs(_sweep(kind="short_square"), (0.5, 0.503, 400.0), (1.0, 1.003, 400.0))
    qc = check_sweep(sweep, QC)
    assert qc.reason is None and qc.note is None
    assert qc.epoch == find_stimulus_epoch(sweep.stimulus_pa, RATE, 0.1, 0.01) and qc.epoch.onset == 25000
    assert qc.epoch.offset == int(1.003 * RATE)  # the first pulse's onset to the second's offset, as before


def test_a_step_with_interpolated_edges_is_one_step():
    """A command resampled by interpolation (or filtered) ramps over a few samples: edges, not epochs."""
    sweep = _sweep(amplitude=80.0)
    for edge in (int(0.5 * RATE), int(1.5 * RATE)):
        before, after = sweep.stimulus_pa[edge - 1], sweep.stimulus_pa[edge]
        sweep.stimulus_pa[edge - 1 : edge + 2] = before + (after - before) * np.array([0.25, 0.5, 0.75])
    qc = check_sweep(sweep, QC)
    assert qc.passed and qc.note is None and qc.epoch == find_stimulus_epoch(sweep.stimulus_pa, RATE, 0.1, 0.01)
    pre_step = _epochs(_sweep(seconds=1.6), (0.02, 0.3, -100.0), (0.8, 1.3, 150.0))
    pre_step.stimulus_pa[int(0.8 * RATE) - 2 : int(0.8 * RATE)] = [50.0, 100.0]
    qc = check_sweep(pre_step, QC)
    assert qc.passed and (qc.epoch.onset, qc.epoch.amplitude_pa) == (40000, 150.0) and qc.note is not None
