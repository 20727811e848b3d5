"""Single-compartment conductance-based interneuron model, integrated for many traces at once.

Units: membrane potential V in mV, time in ms, currents in pA, conductances in nS, capacitance in pF
(so nS * mV = pA and pA / pF = mV/ms).

Currents (Traub-Miles sodium/potassium kinetics as used by Pospischil et al. 2008, Biol Cybern 99:427):
- ``INa = gNa m^3 h (1 - f + f s) (V - ENa)`` and ``IKd = gK n^4 (V - EK)``; rates shifted by ``VT`` (spike
  threshold) and multiplied by ``phi`` (temperature/kinetics factor: larger phi -> narrower action potentials).
  ``s`` is slow inactivation of the fraction ``f`` (``na_slow_frac``) of the sodium channels (time constant
  ``tau_na_slow_ms``, half-inactivated at ``NA_SLOW_HALF_MV``): it builds up while the cell is depolarised and
  fires fast, so late in strong steps APs get smaller, slower and broader, and enough of it ends firing in
  depolarisation block (Fleidervish et al. 1996, J Physiol 493:83; Mickus et al. 1999, Biophys J 76:846);
- ``ICa = gCa r^2 (V - ECa)``: a high-threshold inward current (Ca-like) activating with ``CA_TAU_MS``, slower than
  sodium: it adds little to a full sodium spike but, once slow inactivation has weakened the sodium upstroke, it
  gives the rise a slow foot (dV/dt hovering around 20 mV/ms before the upstroke: one spike by IPFX's re-arming
  rule, two or more by a plain 20 mV/ms upcrossing count), an occasional shoulder on the fall, and it holds the
  depolarised plateau of a cell in block. It does not make rise-phase notches (a dV/dt dip between two fast
  components) at these settings;
- ``IM = gM p (V - EK)``: slow non-inactivating K current -> spike-frequency adaptation (Sst-like);
- ``Ih = gH q (V - EH)``: hyperpolarisation-activated cation current -> sag and rebound;
- ``ID = gD a^3 b (V - EK)``: slowly inactivating D-type K current (Golomb et al. 2007) -> long first-spike latency
  (late-spiking, Lamp5-like);
- leak ``gL (V - EL)`` and an Ornstein-Uhlenbeck noise current (sigma in pA, tau 5 ms) -> irregular firing;
- a recording condition, not a membrane current: the leak of a poor seal ``gSeal(t) (V - 0 mV)`` whose conductance
  wanders log-normally (SD ``seal_drift``, time constant ``SEAL_DRIFT_TAU_MS``), giving a depolarised baseline that
  drifts within and between sweeps (``g_seal_ns`` = 0: a tight seal).

Each lane (one trace) has its own parameters; the whole batch is advanced (``integrator.py``) with exponential Euler
for the gates, their rates tabulated on a 0.01 mV grid of V (``GRID``), and a semi-implicit (linearly implicit) step
for V, which is stable at the 20 us step of 50 kHz recordings.

True spikes (`true_spike_peaks`) are action potentials as IPFX defines one (ipfx.spike_detector, default settings),
found on the noise-free membrane potential, i.e. before recording noise and filtering:
1. a candidate is each upward crossing of ``TRUE_DVDT_MV_PER_MS`` (20 mV/ms) by dV/dt; a candidate counts only when
   dV/dt has gone below zero since the previous one (a rise whose dV/dt dips but stays positive, e.g. a notched AP,
   is one spike);
2. its peak is the maximum of V until the next candidate; a candidate whose dV/dt never falls below zero between
   its peak and the next candidate is merged into the next one;
3. the peak must reach ``TRUE_MIN_PEAK_MV`` (-30 mV), rise ``TRUE_MIN_HEIGHT_MV`` (2 mV) above the candidate and
   come less than ``TRUE_MAX_RISE_MS`` (5 ms) after it (a slow depolarisation with a late peak is no spike).
So the damped oscillations of a cell in depolarisation block are spikes only while they still rise at 20 mV/ms
and peak above -30 mV, exactly where IPFX counts them. Spike times are the peak times (what the extractor reports).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

ENA_MV = 50.0
EK_MV = -90.0
EH_MV = -40.0
ECA_MV = 120.0
SEAL_E_MV = 0.0  # a seal leak is non-selective
NOISE_TAU_MS = 5.0
NA_SLOW_HALF_MV = -55.0  # slow Na inactivation: half at this V
NA_SLOW_SLOPE_MV = 5.0
CA_HALF_MV = -30.0  # Ca-like current: half-activated at this V
CA_SLOPE_MV = 5.0
CA_TAU_MS = 2.0
SEAL_DRIFT_TAU_MS = 10000.0  # a seal leak wanders over many seconds: mostly from sweep to sweep
SEAL_UPDATE_MS = 1.0  # the seal conductance is updated at this interval
SPIKE_LEVEL_MV = -10.0  # upward crossings of this level count spikes for ``stop_after_spikes`` (ramps)
TRUE_DVDT_MV_PER_MS = 20.0  # the truth rule (see the module docstring): IPFX's dv_cutoff,
TRUE_MIN_PEAK_MV = -30.0  # min_peak,
TRUE_MIN_HEIGHT_MV = 2.0  # min_height
TRUE_MAX_RISE_MS = 5.0  # and max_interval


@dataclass
class CellParameters:
    """Per-lane parameters, each an array of shape (lanes,)."""

    c_pf: np.ndarray
    g_leak_ns: np.ndarray
    e_leak_mv: np.ndarray
    g_na_ns: np.ndarray
    g_kd_ns: np.ndarray
    g_m_ns: np.ndarray
    tau_m_slow_ms: np.ndarray
    g_h_ns: np.ndarray
    g_d_ns: np.ndarray
    tau_d_inact_ms: np.ndarray
    v_t_mv: np.ndarray
    phi: np.ndarray
    noise_pa: np.ndarray
    na_slow_frac: np.ndarray
    kd_slow_frac: np.ndarray
    tau_slow_ms: np.ndarray
    g_ca_ns: np.ndarray
    g_seal_ns: np.ndarray
    seal_drift: np.ndarray

    def take(self, index: np.ndarray) -> CellParameters:
        """Parameters of the lanes in ``index`` (e.g. repeat each cell once per sweep)."""
        return CellParameters(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def _vtrap(x: np.ndarray, y: float) -> np.ndarray:
    """x / (exp(x / y) - 1), finite at x = 0."""
    x = np.where(np.abs(x) < 1e-4, 1e-4, x)
    return x / np.expm1(x / y)


def _gate_rates(v: np.ndarray, p: CellParameters) -> tuple[np.ndarray, ...]:
    u = v - p.v_t_mv
    am = 0.32 * _vtrap(-(u - 13.0), 4.0)
    bm = 0.28 * _vtrap(u - 40.0, 5.0)
    ah = 0.128 * np.exp(-(u - 17.0) / 18.0)
    bh = 4.0 / (1.0 + np.exp(-(u - 40.0) / 5.0))
    an = 0.032 * _vtrap(-(u - 15.0), 5.0)
    bn = 0.5 * np.exp(-(u - 10.0) / 40.0)
    return am, bm, ah, bh, an, bn


def _slow_inf(v: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "p": 1.0 / (1.0 + np.exp(-(v + 35.0) / 10.0)),
        "q": 1.0 / (1.0 + np.exp((v + 82.0) / 7.0)),
        "a": 1.0 / (1.0 + np.exp(-(v + 50.0) / 20.0)),
        "b": 1.0 / (1.0 + np.exp((v + 70.0) / 6.0)),
        "s": 1.0 / (1.0 + np.exp((v - NA_SLOW_HALF_MV) / NA_SLOW_SLOPE_MV)),
        "r": 1.0 / (1.0 + np.exp(-(v - CA_HALF_MV) / CA_SLOPE_MV)),
    }


def steady_state(v: np.ndarray, p: CellParameters) -> dict[str, np.ndarray]:
    """Gate values at constant V (used to start every trace at rest)."""
    am, bm, ah, bh, an, bn = _gate_rates(v, p)
    return {"m": am / (am + bm), "h": ah / (ah + bh), "n": an / (an + bn), **_slow_inf(v)}


GRID_MIN_MV = -160.0
GRID_STEP_MV = 0.01
GRID = np.arange(GRID_MIN_MV, 120.0, GRID_STEP_MV)  # rates are tabulated on this grid (integrator.py)


def _rate_tables() -> dict[str, np.ndarray]:
    """Gate steady states and total rates (1/ms) tabulated on ``GRID`` (float64).

    Sodium/potassium entries (m, h, n) are functions of V - VT (the per-lane threshold shift), the others of V."""
    u = GRID
    am = 0.32 * _vtrap(-(u - 13.0), 4.0)
    bm = 0.28 * _vtrap(u - 40.0, 5.0)
    ah = 0.128 * np.exp(-(u - 17.0) / 18.0)
    bh = 4.0 / (1.0 + np.exp(-(u - 40.0) / 5.0))
    an = 0.032 * _vtrap(-(u - 15.0), 5.0)
    bn = 0.5 * np.exp(-(u - 10.0) / 40.0)
    vp = u + 35.0
    return {
        "m_inf": am / (am + bm),
        "m_rate": am + bm,
        "h_inf": ah / (ah + bh),
        "h_rate": ah + bh,
        "n_inf": an / (an + bn),
        "n_rate": an + bn,
        "p_rate": 3.3 * np.exp(vp / 20.0) + np.exp(-vp / 20.0),  # times 1 / tau_max
        **{f"{k}_inf": x for k, x in _slow_inf(u).items()},
    }


RATE_TABLES = _rate_tables()


def seal_conductance(
    g_seal_ns: np.ndarray, seal_drift: np.ndarray, n_updates: int, rng: np.random.Generator
) -> np.ndarray:
    """Seal-leak conductance (nS) of each lane at each update (every ``SEAL_UPDATE_MS``), shape (updates, lanes).

    Log-normal around ``g_seal_ns`` (mean-preserving) with log-SD ``seal_drift``, an Ornstein-Uhlenbeck process of
    time constant ``SEAL_DRIFT_TAU_MS`` started from its stationary distribution (every sweep starts elsewhere)."""
    lanes = g_seal_ns.size
    decay = np.exp(-SEAL_UPDATE_MS / SEAL_DRIFT_TAU_MS)
    kicks = rng.standard_normal((n_updates, lanes)) * np.sqrt(1.0 - decay**2)
    kicks[0] = rng.standard_normal(lanes)
    x = np.empty_like(kicks)
    x[0] = kicks[0]
    for k in range(1, n_updates):
        x[k] = x[k - 1] * decay + kicks[k]
    sd = seal_drift[None, :]
    return (g_seal_ns[None, :] * np.exp(sd * x - sd**2 / 2)).astype(np.float32)


def true_spike_peaks(v: np.ndarray, dt_ms: float, lanes_per_block: int = 64) -> list[np.ndarray]:
    """Sample indices of the true spikes' peaks in each lane of ``v`` (time, lanes), by the rule in the module
    docstring (IPFX's spike definition on the noise-free membrane potential)."""
    found = []
    for j0 in range(0, v.shape[1], lanes_per_block):
        block = np.ascontiguousarray(v[:, j0 : j0 + lanes_per_block].T)
        found += [lane_spike_peaks(lane, dt_ms) for lane in block]
    return found


def lane_spike_peaks(v: np.ndarray, dt_ms: float) -> np.ndarray:
    """Sample indices of the true spikes' peaks in one trace ``v``."""
    dvdt = np.subtract(v[1:], v[:-1], dtype=np.float64)
    dvdt /= dt_ms
    above = dvdt >= TRUE_DVDT_MV_PER_MS
    cand = np.flatnonzero(above[1:] > above[:-1]) + 1
    if cand.size == 0:
        return np.zeros(0, dtype=np.int64)
    falling = np.flatnonzero(dvdt < 0)

    def negative(k: np.ndarray) -> np.ndarray:  # falling steps before sample k
        return np.searchsorted(falling, k)

    cand = cand[np.concatenate([[True], negative(cand[1:]) - negative(cand[:-1]) > 0])]
    peaks = np.array([a + int(np.argmax(v[a:b])) for a, b in zip(cand, np.append(cand[1:], v.size))])
    falls = negative(cand[1:]) - negative(np.minimum(peaks[:-1], cand[1:])) > 0
    peaks, cand = peaks[np.append(falls, True)], cand[np.concatenate([[True], falls])]
    keep = (
        (v[peaks] >= TRUE_MIN_PEAK_MV)
        & (v[peaks].astype(np.float64) - v[cand] >= TRUE_MIN_HEIGHT_MV)
        & ((peaks - cand) * dt_ms < TRUE_MAX_RISE_MS)
    )
    return peaks[keep]


def resting_potential(p: CellParameters, steps: int = 400) -> np.ndarray:
    """Resting potential (mV) per lane: V relaxed with every gate at its steady state, no input, no noise (a leaky
    seal at its mean conductance)."""
    v = np.full(p.c_pf.size, -70.0)
    for _ in range(steps):
        v = _settle_step(v, p)
    return v


def _settle_step(v: np.ndarray, p: CellParameters, dt_ms: float = 1.0) -> np.ndarray:
    """One step of V with every gate at its steady state (noise-free resting potential search)."""
    g = steady_state(v, p)
    g_na = p.g_na_ns * g["m"] ** 3 * g["h"] * (1.0 - p.na_slow_frac + p.na_slow_frac * g["s"])
    kd_available = 1.0 - p.kd_slow_frac + p.kd_slow_frac * g["s"]
    g_k = p.g_kd_ns * g["n"] ** 4 * kd_available + p.g_m_ns * g["p"] + p.g_d_ns * g["a"] ** 3 * g["b"]
    g_h = p.g_h_ns * g["q"]
    g_ca = p.g_ca_ns * g["r"] ** 2
    g_leak = p.g_leak_ns + p.g_seal_ns
    g_tot = g_na + g_k + g_h + g_ca + g_leak
    drive = g_na * ENA_MV + g_k * EK_MV + g_h * EH_MV + g_ca * ECA_MV + p.g_leak_ns * p.e_leak_mv
    drive = drive + p.g_seal_ns * SEAL_E_MV
    return (v + dt_ms / p.c_pf * drive) / (1.0 + dt_ms / p.c_pf * g_tot)
