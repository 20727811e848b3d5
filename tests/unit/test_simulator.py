"""The simulator's building blocks: class proportions, defect assignment, protocol and a short integration."""

import numpy as np
import pytest
import yaml
from conftest import ROOT

from patchseq_ml.acquire.neuron_model import simulate
from patchseq_ml.acquire.phenotypes import draw_cohort, draw_subclasses
from patchseq_ml.acquire.protocol import plan_sweeps
from patchseq_ml.acquire.simulated_dataset import assign_defects

PHENOTYPES = yaml.safe_load((ROOT / "config/phenotypes.yaml").read_text())


def test_class_counts_follow_the_fractions_exactly():
    labels = draw_subclasses(
        np.random.default_rng(0), {"Sst": 0.45, "Pvalb": 0.2, "Vip": 0.19, "Lamp5": 0.11, "Sncg": 0.05}, 200
    )
    values, counts = np.unique(labels, return_counts=True)
    assert dict(zip(values, counts)) == {"Sst": 90, "Pvalb": 40, "Vip": 38, "Lamp5": 22, "Sncg": 10}
    assert set(draw_subclasses(np.random.default_rng(0), {"A": 0.98, "B": 0.02}, 10)) == {"A", "B"}


def test_every_defect_with_a_rate_reaches_at_least_one_cell():
    rates = {"truncated_sweep": 0.03, "nan_sweep": 0.0, "unlabeled": 0.5}
    assigned = assign_defects(np.random.default_rng(1), 10, rates)
    flat = [d for cell in assigned for d in cell]
    assert flat.count("truncated_sweep") == 1 and flat.count("unlabeled") == 5 and "nan_sweep" not in flat


def test_species_shift_makes_human_cells_larger_and_leakier():
    rng = np.random.default_rng(0)
    mouse = draw_cohort(rng, PHENOTYPES, "mouse", 400).params
    human = draw_cohort(rng, PHENOTYPES, "human", 400).params
    assert np.median(human.c_pf) > 1.4 * np.median(mouse.c_pf)
    assert np.median(human.g_h_ns) > np.median(mouse.g_h_ns)


def test_protocol_plans_rheobase_grid_and_every_family(config):
    plans = plan_sweeps(config["simulation"]["protocol"], rheobase_pa=123.0, short_threshold_pa=400.0)
    kinds = [p.stimulus_type for p in plans]
    assert kinds.count("short_square") == 3 and kinds.count("ramp") == 1
    depolarising = [p.amplitude_pa for p in plans if p.stimulus_type == "long_square" and p.amplitude_pa > 0]
    assert 120.0 in depolarising and 200.0 in depolarising and 280.0 in depolarising


@pytest.mark.parametrize("subclass,width_range", [("Pvalb", (0.15, 0.45)), ("Sst", (0.4, 1.2))])
def test_model_spikes_have_the_subclass_width(subclass, width_range):
    cohort = draw_cohort(np.random.default_rng(3), PHENOTYPES, "mouse", 60)
    index = np.array([int(np.flatnonzero(cohort.subclass == subclass)[0])])
    params = cohort.params.take(index)
    dt = 0.02
    shape = np.zeros(int(300 / dt))
    shape[int(50 / dt) :] = 1.0
    v, spikes = simulate(shape, np.array([600.0]), np.zeros_like(shape), params, dt, np.random.default_rng(0))
    assert spikes[0].size >= 3
    k = int(spikes[0][1] / dt)
    seg = v[k - 50 : k + 150, 0].astype(float)
    half = (seg.max() + seg[np.argmax(seg) :].min()) / 2
    width_ms = (seg > half).sum() * dt
    assert width_range[0] < width_ms < width_range[1]
