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

Each lane (one trace) has its own parameters; the whole batch is advanced with exponential Euler for the gates and a
semi-implicit (linearly implicit) step for V, which is stable at the 20 us step of 50 kHz recordings.

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


def _relax(x: np.ndarray, x_inf: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """Exponential-Euler step: x -> x_inf + (x - x_inf) * decay."""
    return x_inf + (x - x_inf) * decay


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


_GRID_MIN_MV = -160.0
_GRID_STEP_MV = 0.01
_GRID = np.arange(_GRID_MIN_MV, 120.0, _GRID_STEP_MV)
_SLOW_GATES = "pqabsr"  # M, h-current, D-current activation/inactivation, Na slow inactivation, Ca activation


def _rate_tables() -> dict[str, np.ndarray]:
    """Gate steady states and total rates (1/ms) tabulated on a 0.01 mV grid.

    Sodium/potassium tables are indexed by V - VT (the per-lane threshold shift), the others by V.
    """
    u = _GRID
    am = 0.32 * _vtrap(-(u - 13.0), 4.0)
    bm = 0.28 * _vtrap(u - 40.0, 5.0)
    ah = 0.128 * np.exp(-(u - 17.0) / 18.0)
    bh = 4.0 / (1.0 + np.exp(-(u - 40.0) / 5.0))
    an = 0.032 * _vtrap(-(u - 15.0), 5.0)
    bn = 0.5 * np.exp(-(u - 10.0) / 40.0)
    vp = u + 35.0
    tables = {
        "m_inf": am / (am + bm),
        "m_rate": am + bm,
        "h_inf": ah / (ah + bh),
        "h_rate": ah + bh,
        "n_inf": an / (an + bn),
        "n_rate": an + bn,
        "p_rate": 3.3 * np.exp(vp / 20.0) + np.exp(-vp / 20.0),  # times 1 / tau_max
        **{f"{k}_inf": x for k, x in _slow_inf(u).items()},
    }
    return {k: v.astype(np.float32) for k, v in tables.items()}


_TABLES = _rate_tables()
_FAST_INF = np.stack([_TABLES[k] for k in ("m_inf", "h_inf", "n_inf")])
_FAST_RATE = np.stack([_TABLES[k] for k in ("m_rate", "h_rate", "n_rate")])
_SLOW_INF = np.stack([_TABLES[f"{k}_inf"] for k in _SLOW_GATES])


def _grid_index(v: np.ndarray) -> np.ndarray:
    idx = ((v - _GRID_MIN_MV) * (1.0 / _GRID_STEP_MV)).astype(np.int32)
    return np.clip(idx, 0, _GRID.size - 1, out=idx)


def _seal_conductance(params: CellParameters, n_updates: int, rng: np.random.Generator) -> np.ndarray | None:
    """Seal-leak conductance (nS) of every lane at each update, shape (updates, lanes); None without a leaky seal.

    Log-normal around ``g_seal_ns`` (mean-preserving) with log-SD ``seal_drift``, an Ornstein-Uhlenbeck process of
    time constant ``SEAL_DRIFT_TAU_MS`` started from its stationary distribution (every sweep starts elsewhere)."""
    if not np.any(params.g_seal_ns > 0):
        return None
    lanes = params.g_seal_ns.size
    decay = np.exp(-SEAL_UPDATE_MS / SEAL_DRIFT_TAU_MS)
    kicks = rng.standard_normal((n_updates, lanes)) * np.sqrt(1.0 - decay**2)
    kicks[0] = rng.standard_normal(lanes)
    x = np.empty_like(kicks)
    x[0] = kicks[0]
    for k in range(1, n_updates):
        x[k] = x[k - 1] * decay + kicks[k]
    sd = params.seal_drift[None, :]
    return (params.g_seal_ns[None, :] * np.exp(sd * x - sd**2 / 2)).astype(np.float32)


def simulate(
    shape: np.ndarray,
    amplitude_pa: np.ndarray,
    offset_pa: np.ndarray,
    params: CellParameters,
    dt_ms: float,
    rng: np.random.Generator,
    stop_after_spikes: int | None = None,
    stop_margin_ms: float = 0.0,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Integrate the model for a batch of lanes.

    The injected current of lane j at step i is ``amplitude_pa[j] * shape[i] + offset_pa[i]`` (pA), sampled every
    ``dt_ms``; ``shape`` and ``offset_pa`` have shape (time,), ``amplitude_pa`` (lanes,).
    Returns the membrane potential (time, lanes) in mV as float32 (sample i at time i * dt_ms) and, per lane, the
    true spike times in ms (peak times of `true_spike_peaks`).
    Every lane starts at rest (``resting_potential``) with its gates at steady state.
    With ``stop_after_spikes`` the run ends ``stop_margin_ms`` after every lane has crossed ``SPIKE_LEVEL_MV`` that
    many times. Rates come from tables (float32); the result is deterministic given ``rng``.
    """
    n_t, n_lanes = shape.size, amplitude_pa.size
    f32 = np.float32
    v64 = resting_potential(params)
    gates = steady_state(v64, params)
    fast = np.stack([gates[k] for k in "mhn"]).astype(f32)  # Na activation/inactivation, K activation
    slow = np.stack([gates[k] for k in _SLOW_GATES]).astype(f32)
    v = v64.astype(f32)
    P = {f.name: getattr(params, f.name).astype(f32) for f in fields(params)}
    dt = f32(dt_ms)
    vt_shift = (-P["v_t_mv"]).astype(f32)
    phi_dt = (dt * P["phi"])[None, :]
    p_scale = dt / P["tau_m_slow_ms"]
    slow_decay = np.stack(
        [
            np.ones(n_lanes),
            np.full(n_lanes, np.exp(-dt_ms / 80.0)),
            np.full(n_lanes, np.exp(-dt_ms / 2.0)),
            np.exp(-dt_ms / params.tau_d_inact_ms),
            np.exp(-dt_ms / params.tau_slow_ms),
            np.full(n_lanes, np.exp(-dt_ms / CA_TAU_MS)),
        ]
    ).astype(f32)
    noise = np.zeros(n_lanes, dtype=f32)
    noise_decay = f32(np.exp(-dt_ms / NOISE_TAU_MS))
    noise_kick = (P["noise_pa"] * np.sqrt(1.0 - noise_decay**2)).astype(f32)
    dt_c = dt / P["c_pf"]
    g_leak = P["g_leak_ns"]
    leak_drive = g_leak * P["e_leak_mv"]
    g_na_max, g_kd_max, g_m_max, g_d_max, g_h_max = (P[k] for k in ("g_na_ns", "g_kd_ns", "g_m_ns", "g_d_ns", "g_h_ns"))
    na_slow, kd_slow = P["na_slow_frac"], P["kd_slow_frac"]
    na_fixed, kd_fixed = f32(1.0) - na_slow, f32(1.0) - kd_slow
    g_ca_max = P["g_ca_ns"]
    update_every = max(1, int(round(SEAL_UPDATE_MS / dt_ms)))
    seal = _seal_conductance(params, n_t // update_every + 1, rng)
    g_rest = g_leak if seal is None else g_leak + seal[0]
    out = np.empty((n_t, n_lanes), dtype=f32)
    above = v > SPIKE_LEVEL_MV
    amp = amplitude_pa.astype(f32)
    shape32, offset32 = shape.astype(f32), offset_pa.astype(f32)
    counts = np.zeros(n_lanes, dtype=np.int64)
    stop_at = n_t
    margin_steps = int(round(stop_margin_ms / dt_ms))
    fast_inf, fast_rate, slow_inf, p_rate = _FAST_INF, _FAST_RATE, _SLOW_INF, _TABLES["p_rate"]
    e_na, e_k, e_h, e_ca = f32(ENA_MV), f32(EK_MV), f32(EH_MV), f32(ECA_MV)
    for i in range(n_t):
        if i >= stop_at:
            break
        if seal is not None and i % update_every == 0:
            g_rest = g_leak + seal[i // update_every]  # the seal reverses at 0 mV: conductance only
        iu = _grid_index(v + vt_shift)
        iv = _grid_index(v)
        fast = _relax(fast, fast_inf[:, iu], np.exp(-phi_dt * fast_rate[:, iu]))
        slow_decay[0] = np.exp(-p_scale * p_rate[iv])
        slow = _relax(slow, slow_inf[:, iv], slow_decay)
        noise = noise * noise_decay + noise_kick * rng.standard_normal(n_lanes, dtype=f32)
        m, h, n = fast
        pm, q, a, b, s, r = slow
        g_na = g_na_max * (m * m * m * h) * (na_fixed + na_slow * s)
        n2 = n * n
        g_k = g_kd_max * (n2 * n2) * (kd_fixed + kd_slow * s) + g_m_max * pm + g_d_max * (a * a * a * b)
        g_h = g_h_max * q
        g_ca = g_ca_max * (r * r)
        g_tot = g_na + g_k + g_h + g_ca + g_rest
        drive = (
            g_na * e_na + g_k * e_k + g_h * e_h + g_ca * e_ca + leak_drive + (amp * shape32[i] + offset32[i]) + noise
        )
        v_new = (v + dt_c * drive) / (f32(1.0) + dt_c * g_tot)
        if stop_after_spikes is not None:
            now_above = v_new > SPIKE_LEVEL_MV
            counts += now_above & ~above
            above = now_above
            if stop_at == n_t and counts.min() >= stop_after_spikes:
                stop_at = min(n_t, i + 1 + margin_steps)
        v = v_new
        out[i] = v
    out = out[:stop_at]
    return out, [peaks * dt_ms for peaks in true_spike_peaks(out, dt_ms)]


def true_spike_peaks(v: np.ndarray, dt_ms: float, lanes_per_block: int = 64) -> list[np.ndarray]:
    """Sample indices of the true spikes' peaks in each lane of ``v`` (time, lanes), by the rule in the module
    docstring (IPFX's spike definition on the noise-free membrane potential)."""
    found = []
    for j0 in range(0, v.shape[1], lanes_per_block):
        block = np.ascontiguousarray(v[:, j0 : j0 + lanes_per_block].T, dtype=np.float64)
        found += [_lane_peaks(lane, dt_ms) for lane in block]
    return found


def _lane_peaks(v: np.ndarray, dt_ms: float) -> np.ndarray:
    dvdt = np.diff(v) / dt_ms
    above = dvdt >= TRUE_DVDT_MV_PER_MS
    cand = np.flatnonzero(~above[:-1] & above[1:]) + 1
    if cand.size == 0:
        return np.zeros(0, dtype=np.int64)
    negative = np.concatenate([[0], np.cumsum(dvdt < 0)])  # negative[k]: falling steps before sample k
    cand = cand[np.concatenate([[True], negative[cand[1:]] - negative[cand[:-1]] > 0])]
    peaks = np.array([a + int(np.argmax(v[a:b])) for a, b in zip(cand, np.append(cand[1:], v.size))])
    falls = negative[cand[1:]] - negative[np.minimum(peaks[:-1], cand[1:])] > 0
    peaks, cand = peaks[np.append(falls, True)], cand[np.concatenate([[True], falls])]
    keep = (
        (v[peaks] >= TRUE_MIN_PEAK_MV)
        & (v[peaks] - v[cand] >= TRUE_MIN_HEIGHT_MV)
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
