"""Single-compartment conductance-based interneuron model, integrated for many traces at once.

Units: membrane potential V in mV, time in ms, currents in pA, conductances in nS, capacitance in pF
(so nS * mV = pA and pA / pF = mV/ms).

Currents (Traub-Miles sodium/potassium kinetics as used by Pospischil et al. 2008, Biol Cybern 99:427):
- ``INa = gNa m^3 h (V - ENa)`` and ``IKd = gK n^4 (V - EK)``; rates shifted by ``VT`` (spike threshold) and
  multiplied by ``phi`` (temperature/kinetics factor: larger phi -> narrower action potentials);
- ``IM = gM p (V - EK)``: slow non-inactivating K current -> spike-frequency adaptation (Sst-like);
- ``Ih = gH q (V - EH)``: hyperpolarisation-activated cation current -> sag and rebound;
- ``ID = gD a^3 b (V - EK)``: slowly inactivating D-type K current (Golomb et al. 2007) -> long first-spike latency
  (late-spiking, Lamp5-like);
- leak ``gL (V - EL)`` and an Ornstein-Uhlenbeck noise current (sigma in pA, tau 5 ms) -> irregular firing.

Each lane (one trace) has its own parameters; the whole batch is advanced with exponential Euler for the gates and a
semi-implicit (linearly implicit) step for V, which is stable at the 20 us step of 50 kHz recordings.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

ENA_MV = 50.0
EK_MV = -90.0
EH_MV = -40.0
NOISE_TAU_MS = 5.0
SPIKE_LEVEL_MV = -10.0  # upward crossings of this level define the true spike times


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


def steady_state(v: np.ndarray, p: CellParameters) -> dict[str, np.ndarray]:
    """Gate values at constant V (used to start every trace at rest)."""
    am, bm, ah, bh, an, bn = _gate_rates(v, p)
    return {
        "m": am / (am + bm),
        "h": ah / (ah + bh),
        "n": an / (an + bn),
        "p": 1.0 / (1.0 + np.exp(-(v + 35.0) / 10.0)),
        "q": 1.0 / (1.0 + np.exp((v + 82.0) / 7.0)),
        "a": 1.0 / (1.0 + np.exp(-(v + 50.0) / 20.0)),
        "b": 1.0 / (1.0 + np.exp((v + 70.0) / 6.0)),
    }


_GRID_MIN_MV = -160.0
_GRID_STEP_MV = 0.01
_GRID = np.arange(_GRID_MIN_MV, 120.0, _GRID_STEP_MV)


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
        "p_inf": 1.0 / (1.0 + np.exp(-vp / 10.0)),
        "p_rate": 3.3 * np.exp(vp / 20.0) + np.exp(-vp / 20.0),  # times 1 / tau_max
        "q_inf": 1.0 / (1.0 + np.exp((u + 82.0) / 7.0)),
        "a_inf": 1.0 / (1.0 + np.exp(-(u + 50.0) / 20.0)),
        "b_inf": 1.0 / (1.0 + np.exp((u + 70.0) / 6.0)),
    }
    return {k: v.astype(np.float32) for k, v in tables.items()}


_TABLES = _rate_tables()
_FAST_INF = np.stack([_TABLES[k] for k in ("m_inf", "h_inf", "n_inf")])
_FAST_RATE = np.stack([_TABLES[k] for k in ("m_rate", "h_rate", "n_rate")])
_SLOW_INF = np.stack([_TABLES[k] for k in ("p_inf", "q_inf", "a_inf", "b_inf")])


def _grid_index(v: np.ndarray) -> np.ndarray:
    idx = ((v - _GRID_MIN_MV) * (1.0 / _GRID_STEP_MV)).astype(np.int32)
    return np.clip(idx, 0, _GRID.size - 1, out=idx)


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
    Returns the membrane potential (time, lanes) in mV as float32 and, per lane, the true spike times in ms
    (upward crossings of ``SPIKE_LEVEL_MV``, linearly interpolated).
    Every lane starts at rest (``resting_potential``) with its gates at steady state.
    With ``stop_after_spikes`` the run ends ``stop_margin_ms`` after every lane has fired that many spikes.
    Rates come from tables (float32); the result is deterministic given ``rng``.
    """
    n_t, n_lanes = shape.size, amplitude_pa.size
    f32 = np.float32
    v64 = resting_potential(params)
    gates = steady_state(v64, params)
    fast = np.stack([gates[k] for k in "mhn"]).astype(f32)  # Na activation/inactivation, K activation
    slow = np.stack([gates[k] for k in "pqab"]).astype(f32)  # M, h-current, D-current activation/inactivation
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
        ]
    ).astype(f32)
    noise = np.zeros(n_lanes, dtype=f32)
    noise_decay = f32(np.exp(-dt_ms / NOISE_TAU_MS))
    noise_kick = (P["noise_pa"] * np.sqrt(1.0 - noise_decay**2)).astype(f32)
    dt_c = dt / P["c_pf"]
    g_leak = P["g_leak_ns"]
    leak_drive = g_leak * P["e_leak_mv"]
    g_na_max, g_kd_max, g_m_max, g_d_max, g_h_max = (P[k] for k in ("g_na_ns", "g_kd_ns", "g_m_ns", "g_d_ns", "g_h_ns"))
    out = np.empty((n_t, n_lanes), dtype=f32)
    spikes: list[list[float]] = [[] for _ in range(n_lanes)]
    above = v > SPIKE_LEVEL_MV
    amp = amplitude_pa.astype(f32)
    shape32, offset32 = shape.astype(f32), offset_pa.astype(f32)
    counts = np.zeros(n_lanes, dtype=np.int64)
    stop_at = n_t
    margin_steps = int(round(stop_margin_ms / dt_ms))
    fast_inf, fast_rate, slow_inf, p_rate = _FAST_INF, _FAST_RATE, _SLOW_INF, _TABLES["p_rate"]
    for i in range(n_t):
        if i >= stop_at:
            break
        iu = _grid_index(v + vt_shift)
        iv = _grid_index(v)
        fast = _relax(fast, fast_inf[:, iu], np.exp(-phi_dt * fast_rate[:, iu]))
        slow_decay[0] = np.exp(-p_scale * p_rate[iv])
        slow = _relax(slow, slow_inf[:, iv], slow_decay)
        noise = noise * noise_decay + noise_kick * rng.standard_normal(n_lanes, dtype=f32)
        m, h, n = fast
        pm, q, a, b = slow
        g_na = g_na_max * (m * m * m * h)
        n2 = n * n
        g_k = g_kd_max * (n2 * n2) + g_m_max * pm + g_d_max * (a * a * a * b)
        g_h = g_h_max * q
        g_tot = g_na + g_k + g_h + g_leak
        drive = (
            g_na * f32(ENA_MV)
            + g_k * f32(EK_MV)
            + g_h * f32(EH_MV)
            + leak_drive
            + (amp * shape32[i] + offset32[i])
            + noise
        )
        v_new = (v + dt_c * drive) / (f32(1.0) + dt_c * g_tot)
        now_above = v_new > SPIKE_LEVEL_MV
        crossing = now_above & ~above
        if crossing.any():
            for lane in np.flatnonzero(crossing):
                frac = (SPIKE_LEVEL_MV - v[lane]) / (v_new[lane] - v[lane])
                spikes[lane].append(float((i - 1 + frac) * dt_ms))
            counts += crossing
            if stop_after_spikes is not None and stop_at == n_t and counts.min() >= stop_after_spikes:
                stop_at = min(n_t, i + 1 + margin_steps)
        above = now_above
        v = v_new
        out[i] = v
    return out[:stop_at], [np.asarray(s) for s in spikes]


def resting_potential(p: CellParameters, steps: int = 400) -> np.ndarray:
    """Resting potential (mV) per lane: V relaxed with every gate at its steady state, no input, no noise."""
    v = np.full(p.c_pf.size, -70.0)
    for _ in range(steps):
        v = _settle_step(v, p)
    return v


def _settle_step(v: np.ndarray, p: CellParameters, dt_ms: float = 1.0) -> np.ndarray:
    """One step of V with every gate at its steady state (noise-free resting potential search)."""
    g = steady_state(v, p)
    g_na = p.g_na_ns * g["m"] ** 3 * g["h"]
    g_k = p.g_kd_ns * g["n"] ** 4 + p.g_m_ns * g["p"] + p.g_d_ns * g["a"] ** 3 * g["b"]
    g_h = p.g_h_ns * g["q"]
    g_tot = g_na + g_k + g_h + p.g_leak_ns
    drive = g_na * ENA_MV + g_k * EK_MV + g_h * EH_MV + p.g_leak_ns * p.e_leak_mv
    return (v + dt_ms / p.c_pf * drive) / (1.0 + dt_ms / p.c_pf * g_tot)
