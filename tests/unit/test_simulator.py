"""The simulator's building blocks: class proportions, defect assignment, protocol, a short integration, the truth
rule and what real cells show (AP broadening and depolarisation block in strong steps, slow high-resistance cells,
a leaky seal)."""

import numpy as np
import pytest
import yaml
from conftest import ROOT

from patchseq_ml.acquire.integrator import simulate
from patchseq_ml.acquire.neuron_model import CellParameters, resting_potential, true_spike_peaks
from patchseq_ml.acquire.phenotypes import draw_cohort, draw_subclasses
from patchseq_ml.acquire.protocol import plan_sweeps
from patchseq_ml.acquire.simulated_dataset import assign_defects
from patchseq_ml.acquire.simulator import leaky_seal

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
    plain = [i for i in np.flatnonzero(cohort.subclass == subclass) if not cohort.modifiers[i]]
    index = np.array([int(plain[0])])  # a cell without a phenotype modifier
    params = cohort.params.take(index)
    dt = 0.02
    shape = np.zeros(int(300 / dt))
    shape[int(50 / dt) :] = 1.0
    v, spikes = simulate(shape, np.array([600.0]), np.zeros_like(shape), params, dt, np.random.default_rng(0))
    assert spikes[0].size >= 3
    k = int(spikes[0][1] / dt)  # the second spike's peak
    seg = v[k - 50 : k + 100, 0].astype(float)
    half = (seg.max() + seg[np.argmax(seg) :].min()) / 2
    width_ms = (seg > half).sum() * dt
    assert width_range[0] < width_ms < width_range[1]


# --- what real cells show: slow inactivation (broadening, block), slow high-resistance cells, a leaky seal ---


def _cell(subclass: str, lanes: int = 1, **overrides) -> CellParameters:
    """The central parameters of a subclass (no per-cell spread), repeated over ``lanes``."""
    row = dict(PHENOTYPES["classes"][subclass], **overrides)
    c = row["c_pf"]
    one = {
        "c_pf": c,
        "g_leak_ns": 1000.0 / row["r_in_mohm"],
        "e_leak_mv": row["e_leak_mv"],
        "g_na_ns": row["g_na_per_pf"] * c,
        "g_kd_ns": row["g_kd_per_pf"] * c,
        "g_m_ns": row["g_m_per_pf"] * c,
        "tau_m_slow_ms": row["tau_m_slow_ms"],
        "g_h_ns": row["g_h_ns"],
        "g_d_ns": row["g_d_per_pf"] * c,
        "tau_d_inact_ms": row["tau_d_inact_ms"],
        "v_t_mv": row["v_t_mv"],
        "phi": row["phi"],
        "noise_pa": row["noise_pa"],
        "na_slow_frac": row["na_slow_frac"],
        "kd_slow_frac": row["kd_slow_frac"],
        "tau_slow_ms": row["tau_slow_ms"],
        "g_ca_ns": row["g_ca_per_pf"] * c,
        "g_seal_ns": row.get("g_seal_ns", 0.0),
        "seal_drift": row.get("seal_drift", 0.0),
    }
    return CellParameters(**{k: np.full(lanes, float(v)) for k, v in one.items()})


def _step(params: CellParameters, amplitude_pa, dt=0.02, onset_ms=100.0, step_ms=1000.0, total_ms=1200.0, seed=0):
    shape = np.zeros(int(total_ms / dt))
    shape[int(onset_ms / dt) : int((onset_ms + step_ms) / dt)] = 1.0
    amplitude = np.broadcast_to(np.asarray(amplitude_pa, dtype=float), params.c_pf.shape)
    return simulate(shape, amplitude, np.zeros_like(shape), params, dt, np.random.default_rng(seed))


def _half_width_ms(v: np.ndarray, peak: int, dt: float) -> float:
    """Full width at half height between the spike's peak and the preceding 3 ms minimum."""
    seg = v[peak - int(3 / dt) : peak + int(3 / dt)].astype(float)
    k = int(3 / dt)
    half = (seg[k] + seg[:k].min()) / 2
    left = k - int(np.flatnonzero(seg[k::-1] < half)[0])
    right = k + int(np.flatnonzero(seg[k:] < half)[0])
    return (right - left) * dt


def test_true_spikes_follow_ipfx_on_constructed_traces():
    """One notched AP (dV/dt dips but stays positive) is one spike; a dip below zero and a new fast rise is a
    second spike; an oscillation peaking below -30 mV and a slow depolarisation peaking 8 ms later are none."""
    dt = 0.02
    t = np.arange(0, 60, dt)

    def ramp(t0, t1, v0, v1):
        return np.interp(t, [t0, t1], [v0, v1], left=0.0, right=0.0) * ((t >= t0) & (t <= t1))

    base = np.full(t.size, -60.0)
    notched = base + np.interp(t, [5, 5.4, 5.6, 6.0, 6.6, 8.0], [0, 40, 42, 100, 0, 0], left=0, right=0)
    double = base + np.interp(t, [5, 5.4, 5.6, 6.0, 6.6, 8.0], [0, 40, 38, 100, 0, 0], left=0, right=0)
    small = base + np.interp(t, [5, 5.5, 6.5], [0, 25, 0], left=0, right=0)  # peaks at -35 mV, 50 mV/ms
    slow = base + np.interp(t, [5, 5.2, 13.2, 14], [0, 5, 70, 0], left=0, right=0)  # 20+ mV/ms only at first
    v = np.stack([notched, double, small, slow], axis=1).astype(np.float32)
    peaks = true_spike_peaks(v, dt)
    assert [p.size for p in peaks] == [1, 2, 0, 0]
    assert peaks[0][0] * dt == pytest.approx(6.0, abs=dt)  # the time of a true spike is its peak


def test_strong_steps_broaden_late_aps_through_slow_inactivation():
    """Late in a strong step APs are broader and smaller than early ones; without slow inactivation they are not."""
    dt = 0.02
    params = _cell("Vip", 2, noise_pa=0.0, na_slow_frac=0.7, kd_slow_frac=0.5, g_ca_per_pf=0.25)
    params.na_slow_frac[1] = params.kd_slow_frac[1] = 0.0
    v, spikes = _step(params, 200.0, dt=dt)
    ratios, drops = [], []
    for lane in range(2):
        peaks = (spikes[lane] / dt).astype(int)
        assert peaks.size > 40
        first = np.mean([_half_width_ms(v[:, lane], p, dt) for p in peaks[1:4]])
        last = np.mean([_half_width_ms(v[:, lane], p, dt) for p in peaks[-4:-1]])
        ratios.append(last / first)
        drops.append(v[peaks[1], lane] - v[peaks[-2], lane])
    assert ratios[0] > 1.12 and drops[0] > 15  # broader and >= 15 mV smaller
    assert ratios[1] < 1.02 and drops[1] < 5


def test_depolarisation_block_ends_firing_in_the_strongest_steps():
    """A cell with much slow inactivation fires through a moderate step, but in a strong one it stops and sits
    depolarised without spikes for the rest of the step (block); without slow inactivation it fires to the end."""
    dt = 0.02
    params = _cell("Lamp5", 3, noise_pa=0.0, na_slow_frac=0.8, kd_slow_frac=0.6, g_ca_per_pf=0.4)
    params.na_slow_frac[2] = params.kd_slow_frac[2] = 0.0
    v, (weak, strong, control) = _step(params, np.array([150.0, 300.0, 300.0]), dt=dt)
    assert weak.size > 5 and weak[-1] > 1000  # a moderate step: firing throughout
    assert strong.size > 50 and strong[-1] < 900  # a strong step: firing stops ...
    plateau = v[int((strong[-1] + 50) / dt) : int(1100 / dt), 1]
    assert plateau.min() > -40 and np.ptp(plateau) < 10  # ... while V stays depolarised: block
    assert control[-1] > 1050 and v[int(1000 / dt) : int(1100 / dt), 2].min() < -40


def test_slow_high_resistance_modifier_keeps_class_counts_exact():
    rng = np.random.default_rng(5)
    cohort = draw_cohort(rng, PHENOTYPES, "mouse", 200)
    plain = draw_cohort(np.random.default_rng(5), dict(PHENOTYPES, modifiers={}), "mouse", 200)
    assert list(cohort.subclass) == list(plain.subclass)  # class fractions untouched
    slow = np.array(["slow_high_resistance" in m for m in cohort.modifiers])
    assert slow.sum() == round(PHENOTYPES["modifiers"]["slow_high_resistance"]["fraction"] * 200)
    tau = cohort.params.c_pf / cohort.params.g_leak_ns  # membrane time constant (ms)
    assert np.median(tau[slow]) > 1.8 * np.median(tau[~slow])
    assert np.median(1 / cohort.params.g_leak_ns[slow]) > 1.4 * np.median(1 / cohort.params.g_leak_ns[~slow])
    assert np.median(cohort.params.phi[slow]) < 0.8 * np.median(cohort.params.phi[~slow])  # broader APs


def test_leaky_seal_gives_a_depolarised_drifting_baseline():
    """One tight and 8 leaky seals: how much a single 2 s sweep drifts is random (SD of its 100 ms means ~0.2-0.7
    mV), so the drift is judged on the median leaky lane (> 0.45 mV in every seed tried, the tight lane < 0.25)."""
    lanes = 9
    params = _cell("Sst", lanes)
    rest = resting_potential(params)[0]
    leaky_seal(params, np.arange(1, lanes), np.full(lanes - 1, -55.0), drift=0.3)
    assert resting_potential(params)[1:] == pytest.approx(-55.0, abs=1.0)
    assert rest < -62
    dt = 0.05
    v, _ = _step(params, 0.0, dt=dt, total_ms=2000.0, seed=3)
    means = v[int(200 / dt) :].reshape(-1, int(100 / dt), lanes).mean(axis=1)  # 100 ms means after 200 ms
    assert means[:, 0].std() < 0.3  # a tight seal: stable
    assert np.median(means[:, 1:].std(axis=0)) > 0.4  # a leaky seal: drifts within the sweep ...
    assert np.ptp(means[0, 1:]) > 0.5  # ... and starts elsewhere in every sweep
    assert (means[:, 1:].mean(axis=0) > rest + 6).all() and (means[:, 1:] < -45).all()
