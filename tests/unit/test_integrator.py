"""The batch integrator (acquire/integrator.py): lanes are independent of the batch they share (finished lanes
leave it, noise paths agree), ramps stop after their spikes, the tables hold the model's rates, the Box-Muller
noise is standard normal, and a batch's files are byte-identical for the same seed."""

import filecmp

import numpy as np
import pytest
import yaml
from conftest import ROOT

from patchseq_ml.acquire import integrator
from patchseq_ml.acquire.integrator import Kinetics, integrate, standard_normal
from patchseq_ml.acquire.neuron_model import GRID, SPIKE_LEVEL_MV, _gate_rates
from patchseq_ml.acquire.phenotypes import draw_cohort
from patchseq_ml.acquire.simulated_dataset import simulate_batch

PHENOTYPES = yaml.safe_load((ROOT / "config/phenotypes.yaml").read_text())
DT = 0.02


def _cells(n: int, noise: bool = True, seed: int = 2):
    params = draw_cohort(np.random.default_rng(seed), PHENOTYPES, "mouse", n).params
    if not noise:
        params.noise_pa[:] = 0.0
    return params


def _step(steps: int, onset: int) -> np.ndarray:
    shape = np.zeros(steps)
    shape[onset:] = 1.0
    return shape


def test_a_lane_is_the_same_alone_and_in_a_batch_whose_lanes_end_earlier():
    """Noise-free: lanes of other cells and shapes, some ending (leaving the arrays) before it, change nothing."""
    kinetics = Kinetics(_cells(3, noise=False), DT)
    long, short = _step(6000, 1000), _step(1500, 500)
    alone = integrate(kinetics, np.array([1]), [long], np.array([0]), np.array([300.0]), np.zeros(0), None)[0]
    batch = integrate(
        kinetics,
        np.array([0, 1, 2, 2]),
        [short, long],
        np.array([0, 1, 0, 1]),
        np.array([500.0, 300.0, 200.0, -100.0]),
        np.zeros(0),
        np.random.default_rng(0),
    )
    assert alone.spikes_ms.size > 3
    assert np.array_equal(batch[1].v_mv, alone.v_mv) and np.array_equal(batch[1].spikes_ms, alone.spikes_ms)
    assert [t.v_mv.size for t in batch] == [1500, 6000, 1500, 6000]


def test_noise_filtered_per_chunk_equals_noise_added_per_step(monkeypatch):
    """Few lanes take the chunk's noise current at once (scipy's lfilter), many step by step: the same numbers."""
    kinetics = Kinetics(_cells(4), DT)
    runs = []
    for lanes in (0, 10**6):
        monkeypatch.setattr(integrator, "FILTER_LANES", lanes)
        traces = integrate(
            kinetics, np.arange(8) % 4, [_step(2500, 300)], np.zeros(8, int), np.linspace(0, 400, 8), np.zeros(0),
            np.random.default_rng(5),
        )  # fmt: skip
        runs.append(np.stack([t.v_mv for t in traces]))
    assert np.array_equal(runs[0], runs[1]) and np.ptp(runs[0][0]) > 1.0  # noisy, and identical


def test_a_stopping_lane_ends_its_margin_after_its_nth_crossing():
    kinetics = Kinetics(_cells(2, noise=False), DT)
    shape = np.zeros(40000)
    shape[500:] = np.arange(shape.size - 500) * DT / 1000  # a ramp: seconds since onset (protocol.shape_trace)
    ramp, step = integrate(
        kinetics, np.array([0, 0]), [shape, shape], np.array([0, 1]), np.array([600.0, 600.0]), np.zeros(0),
        None, stops=np.array([True, False]), stop_after_crossings=3, stop_margin_ms=20.0,
    )  # fmt: skip
    v = step.v_mv  # the same lane, run to the end
    crossings = np.flatnonzero((v[1:] > SPIKE_LEVEL_MV) & (v[:-1] <= SPIKE_LEVEL_MV)) + 1
    assert crossings.size > 3 and ramp.v_mv.size == crossings[2] + 1 + int(20.0 / DT)
    assert np.array_equal(ramp.v_mv, v[: ramp.v_mv.size])
    assert ramp.spikes_ms.size >= 3 and (ramp.spikes_ms < ramp.v_mv.size * DT).all()


def test_tables_hold_the_exponential_euler_step_of_the_rate_functions():
    params = _cells(2)
    kinetics = Kinetics(params, DT)
    for v in (-90.0, -61.3, -40.0, 12.5):
        k = int(round((v - GRID[0]) / (GRID[1] - GRID[0])))
        for cell in range(2):
            entry = kinetics.table[cell * GRID.size + k]
            vt_on_grid = np.round(params.v_t_mv[cell], 2)  # the tables shift the Na/K rates by VT on the grid
            am, bm = _gate_rates(np.array([GRID[k] + params.v_t_mv[cell] - vt_on_grid]), params.take([cell]))[:2]
            decay_m = np.exp(-params.phi[cell] * DT * (am + bm))[0]
            assert entry[0] == pytest.approx(decay_m, rel=1e-5)  # entry: decays of m h n p, increments of qabsrmhnp
            assert entry[9] == pytest.approx(am[0] / (am[0] + bm[0]) * (1 - decay_m), rel=1e-4, abs=1e-9)


def test_box_muller_noise_is_standard_normal():
    rng = np.random.default_rng(0)
    x = standard_normal(rng, np.empty((999, 1001), dtype=np.float32)).ravel()
    assert abs(x.mean()) < 0.005 and x.var() == pytest.approx(1.0, abs=0.005)
    assert abs(np.mean(x**3)) < 0.01 and np.mean(x**4) == pytest.approx(3.0, abs=0.03)  # skew 0, kurtosis 3
    assert np.mean(np.abs(x) > 1.96) == pytest.approx(0.05, abs=0.002) and np.abs(x).max() < 5.8
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 0.005
    assert standard_normal(rng, np.empty(1, dtype=np.float32)).shape == (1,)  # odd sizes
    with pytest.raises(ValueError):
        standard_normal(rng, np.empty((4, 4), dtype=np.float32)[:, :2])


def test_the_same_seed_writes_byte_identical_files(config, tmp_path):
    settings = dict(config["simulation"], batch_size=2, seed=5)
    runs = []
    for run in ("a", "b"):
        labels, truth = simulate_batch("human", "000", 2, settings, PHENOTYPES, tmp_path / run)
        runs.append((labels, truth))
    assert runs[0] == runs[1]
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.nwb"))
    assert len(files) == 2
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", [str(f) for f in files], shallow=False)
    assert not mismatch and not errors
