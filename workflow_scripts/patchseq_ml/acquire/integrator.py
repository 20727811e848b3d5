"""Integration of the neuron model (``neuron_model.py``) for many lanes at once.

A lane is one sweep of one cell: the cell's kinetics, a stimulus (a unit shape times the lane's amplitude, plus a
current shared by every lane such as the test pulse) and its own noise. Every lane of a batch -- long squares, short
squares and ramps together -- is advanced step by step in float32 numpy arrays of shape (rows, lanes), and a lane
leaves the arrays once it has ended (checked every ``CHUNK_STEPS`` steps), so that long ramps do not carry finished
sweeps along. Each step costs a fixed number of numpy calls, whatever the number of lanes:

- the gates advance by exponential Euler, x <- A x + B with A = exp(-dt / tau(V)) and B = x_inf(V) (1 - A), read
  from per-cell tables (``Kinetics``) on the 0.01 mV grid of V (``neuron_model.GRID``), built once per cell and
  time step: one gather per step for every gate, no exponential;
- the conductances are one gather of factor rows (gates and maximal conductances) and one product;
- V advances linearly implicitly, V <- (C/dt V + sum g E + I) / (C/dt + sum g), the sums over channels;
- the injected current and the Ornstein-Uhlenbeck noise kicks (``standard_normal``) are made per chunk of steps.

All arithmetic is elementwise per lane and in the same order for any number of lanes (no BLAS, no sums across
lanes), so a lane's trace does not depend on which other lanes share its batch, except through the random numbers
it draws (tests/unit/test_integrator.py).
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from .neuron_model import (
    CA_TAU_MS,
    ECA_MV,
    EH_MV,
    EK_MV,
    ENA_MV,
    GRID,
    GRID_MIN_MV,
    GRID_STEP_MV,
    NOISE_TAU_MS,
    RATE_TABLES,
    SEAL_E_MV,
    SEAL_UPDATE_MS,
    SPIKE_LEVEL_MV,
    TRUE_MAX_RISE_MS,
    CellParameters,
    lane_spike_peaks,
    resting_potential,
    seal_conductance,
    steady_state,
)

CHUNK_STEPS = 1000  # steps between bookkeeping (stimulus and noise blocks, stops, dropping finished lanes)
FILTER_LANES = 256  # up to this many lanes, a chunk's noise current is filtered at once (scipy), not step by step
STOP_GUARD_MS = TRUE_MAX_RISE_MS  # a stopped lane runs this long past its end, so that the truth rule sees the peak
# of a spike rising at the end (the recording ends at its end; a spike peaking after it is not a true spike)

f32 = np.float32
_ONE = np.ones(1, dtype=f32)
_T = GRID.size
# Gates: h-current, D-current activation/inactivation, Na/K slow inactivation and Ca activation (time constants
# constant per cell), then Na activation/inactivation, K activation and M (time constants tabulated against V).
_GATES = "qabsrmhnp"
_CONSTANT = 5  # the first 5 gates decay at a constant rate
_G = {g: i for i, g in enumerate(_GATES)}
# rows of the state array beyond the gates
ONE, V, K_DEN, G_NA, G_NA_SLOW, G_KD, G_KD_SLOW, G_M, G_D, G_H, G_CA, C_DT = range(9, 21)
_ROWS = 21
# Each channel's conductance is the product of these rows; the denominator of the V step is the sum of all but the
# last (C/dt + sum g), the numerator the sum of g E over _E_WEIGHTS (the last row is C/dt V, the previous V).
_CHANNELS = (
    ("m", "m", "m", "h", G_NA),  # INa, the fraction without slow inactivation ...
    ("m", "m", "m", "h", "s", G_NA_SLOW),  # ... and the slow-inactivating fraction
    ("n", "n", "n", "n", G_KD),  # IKd, likewise
    ("n", "n", "n", "n", "s", G_KD_SLOW),
    ("p", G_M),  # IM
    ("a", "a", "a", "b", G_D),  # ID
    ("q", G_H),  # Ih
    ("r", "r", G_CA),  # ICa
    (K_DEN,),  # C/dt + gL + gSeal(t): the denominator only (the seal reverses at 0 mV)
    (V, C_DT),  # C/dt V: the numerator only
)
_E_WEIGHTS = np.array([ENA_MV, ENA_MV, EK_MV, EK_MV, EK_MV, EK_MV, EH_MV, ECA_MV, 0.0, 1.0], dtype=f32)[:, None]
_FACTORS = max(len(c) for c in _CHANNELS)
_FACTOR_ROWS = np.array(
    [[_G.get(f, f) for f in c] + [ONE] * (_FACTORS - len(c)) for c in _CHANNELS], dtype=np.intp
).T.ravel()  # (factor, channel) order, so that the product reduces over the first axis
_ENTRY = 16  # floats per table entry: the decays of m, h, n, p, the increments of the 9 gates, padding (64 bytes)
assert SEAL_E_MV == 0.0  # else the seal's drive g_seal(t) E_seal would belong in the numerator


def standard_normal(rng: np.random.Generator, out: np.ndarray) -> np.ndarray:
    """Fill the C-contiguous float32 array ``out`` with independent standard normal samples (Box-Muller on float32
    uniforms): ~3x cheaper than numpy's float32 ziggurat, and a batch of 100 cells draws ~3e8 of them (noise current
    and recording noise). The 24-bit uniforms end the tails at 5.8 SD (probability 8e-9)."""
    if not out.flags.c_contiguous:
        raise ValueError("standard_normal fills a C-contiguous array")
    flat = out.reshape(-1)
    half = (flat.size + 1) // 2
    uniform = rng.random((2, half), dtype=f32)
    radius = np.subtract(f32(1.0), uniform[0])  # in (0, 1]: its logarithm is finite
    np.log(radius, out=radius)
    radius *= f32(-2.0)
    np.sqrt(radius, out=radius)
    angle = np.multiply(uniform[1], f32(2.0 * np.pi), out=uniform[1])
    np.cos(angle[: flat.size - half], out=flat[half:])
    flat[half:] *= radius[: flat.size - half]
    np.sin(angle, out=angle)
    np.multiply(angle, radius, out=flat[:half])
    return out


def mapped_zeros(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A zeroed array that will be written in full, its pages mapped at allocation (Linux ``MAP_POPULATE``): on a
    virtual machine, faulting fresh memory in page by page on first write costs ~1.5 ms CPU per MB, ~5 times more
    than mapping it at once (a batch of 100 cells fills ~0.8 GB). Small arrays, and systems without
    ``MAP_POPULATE``, use ``np.zeros``."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if not populate or nbytes < 2**24:
        return np.zeros(shape, dtype=dtype)
    memory = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    return np.frombuffer(memory, dtype=dtype).reshape(shape)


class Kinetics:
    """Gate tables of some cells for one time step ``dt_ms``.

    ``table`` has one row per (cell, V on ``GRID``), cell-major: the decay A = exp(-dt / tau(V)) of m, h, n, p, then
    the increment B = x_inf(V) (1 - A) of every gate (``_GATES`` order), so that a lane's lookup reads one cache
    line; ``decay`` (5, cells) holds the constant decays of q, a, b, s, r. Sodium/potassium rates are those of
    V - VT, with VT rounded to the grid."""

    def __init__(self, params: CellParameters, dt_ms: float):
        self.params, self.dt_ms = params, float(dt_ms)
        n_cells = params.c_pf.size
        shift = np.rint(params.v_t_mv / GRID_STEP_MV).astype(np.int64)
        u_index = np.clip(np.arange(_T)[None, :] - shift[:, None], 0, _T - 1)  # grid index of V - VT, (cells, T)
        tau = [80.0, 2.0, params.tau_d_inact_ms, params.tau_slow_ms, CA_TAU_MS]  # q, a, b, s, r
        self.decay = np.exp(-self.dt_ms / np.stack([np.broadcast_to(t, n_cells) for t in tau]))
        table = mapped_zeros((n_cells, _T, _ENTRY), f32)
        for row, gate in enumerate(_GATES):
            if gate in "mhn":
                rate = (params.phi * self.dt_ms)[:, None] * RATE_TABLES[f"{gate}_rate"][u_index]
                x_inf = RATE_TABLES[f"{gate}_inf"][u_index]
            elif gate == "p":
                rate = (self.dt_ms / params.tau_m_slow_ms)[:, None] * RATE_TABLES["p_rate"][None, :]
                x_inf = RATE_TABLES["p_inf"][None, :]
            else:
                rate = -np.log(self.decay[row])[:, None]
                x_inf = RATE_TABLES[f"{gate}_inf"][None, :]
            rate = np.negative(rate, dtype=f32)  # float32 exponentials (SIMD), as the tables are float32
            if row >= _CONSTANT:
                table[:, :, row - _CONSTANT] = np.exp(rate)
            table[:, :, len(_GATES) - _CONSTANT + row] = x_inf * -np.expm1(rate)
        self.table = table.reshape(n_cells * _T, _ENTRY)


@dataclass
class LaneTrace:
    """One lane's noise-free membrane potential (mV, float32) over its recorded samples and its true spikes (peak
    times in ms, ``neuron_model.true_spike_peaks``' rule)."""

    v_mv: np.ndarray
    spikes_ms: np.ndarray


def integrate(
    kinetics: Kinetics,
    cell: np.ndarray,
    shapes: list[np.ndarray],
    kind: np.ndarray,
    amplitude_pa: np.ndarray,
    shared_pa: np.ndarray,
    rng: np.random.Generator,
    stops: np.ndarray | None = None,
    stop_after_crossings: int = 0,
    stop_margin_ms: float = 0.0,
) -> list[LaneTrace]:
    """Integrate lanes of the cells of ``kinetics``; lane j belongs to cell ``cell[j]``.

    The injected current of lane j at step i is ``amplitude_pa[j] * shapes[kind[j]][i] + shared_pa[i]`` (pA, one
    sample every ``kinetics.dt_ms``; ``shared_pa`` zero beyond its end); the lane runs for the length of its shape.
    A lane with ``stops[j]`` ends ``stop_margin_ms`` after its ``stop_after_crossings``-th upward crossing of
    ``SPIKE_LEVEL_MV`` (ramps, as MIES stops them), if that comes earlier.
    Every lane starts at rest (``resting_potential``) with its gates at steady state. Deterministic given ``rng``.
    """
    p, dt = kinetics.params, kinetics.dt_ms
    n_lanes = cell.size
    length = np.array([shapes[k].size for k in kind], dtype=np.int64)
    stops = np.zeros(n_lanes, dtype=bool) if stops is None else np.asarray(stops, dtype=bool)
    end = length.copy()  # recorded samples
    run = length.copy()  # simulated samples (stopped lanes: end + guard)
    n_max = int(length.max())
    stimulus = np.zeros((len(shapes), n_max), dtype=f32)
    for k, shape in enumerate(shapes):
        stimulus[k, : shape.size] = shape
    shared = np.zeros(n_max, dtype=f32)
    shared[: min(n_max, shared_pa.size)] = shared_pa[:n_max]

    # per-lane constants and the initial state (rest, gates at steady state)
    v_rest = resting_potential(p)
    gates = steady_state(v_rest, p)
    c_dt = p.c_pf / dt
    y = np.empty((_ROWS, n_lanes), dtype=f32)
    for row, gate in enumerate(_GATES):
        y[row] = gates[gate][cell]
    y[ONE], y[V] = 1.0, v_rest[cell]
    for row, values in (
        (G_NA, p.g_na_ns * (1.0 - p.na_slow_frac)),
        (G_NA_SLOW, p.g_na_ns * p.na_slow_frac),
        (G_KD, p.g_kd_ns * (1.0 - p.kd_slow_frac)),
        (G_KD_SLOW, p.g_kd_ns * p.kd_slow_frac),
        (G_M, p.g_m_ns),
        (G_D, p.g_d_ns),
        (G_H, p.g_h_ns),
        (G_CA, p.g_ca_ns),
        (C_DT, c_dt),
    ):
        y[row] = values[cell]
    drifting = (p.g_seal_ns[cell] > 0) & (p.seal_drift[cell] > 0)
    k_base = (c_dt + p.g_leak_ns + np.where(p.seal_drift > 0, 0.0, p.g_seal_ns))[cell]  # a steady seal: constant
    update_every = max(1, int(round(SEAL_UPDATE_MS / dt)))
    seal_column = np.full(n_lanes, -1)
    seal_column[drifting] = np.arange(int(drifting.sum()))
    seal = None
    if drifting.any():  # a lane may run up to a chunk past its length
        lanes = cell[drifting]
        n_updates = (int(length[drifting].max()) + CHUNK_STEPS) // update_every + 1
        seal = seal_conductance(p.g_seal_ns[lanes], p.seal_drift[lanes], n_updates, rng)
    y[K_DEN] = k_base  # drifting seals are added at the first step
    lane = {
        "decay": kinetics.decay[:, cell].astype(f32),
        "offset": (cell * _T - GRID_MIN_MV / GRID_STEP_MV).astype(np.float64),
        "low": (cell * _T).astype(np.int32),
        "high": (cell * _T + _T - 1).astype(np.int32),
        "drive": (p.g_leak_ns * p.e_leak_mv)[cell].astype(f32),
        "amplitude": np.asarray(amplitude_pa, dtype=f32),
        "kick": (p.noise_pa * np.sqrt(-np.expm1(-2.0 * dt / NOISE_TAU_MS)))[cell].astype(f32),
        "noise": np.zeros(n_lanes, dtype=f32),
        "k_base": k_base.astype(f32),
    }
    noise_decay = f32(np.exp(-dt / NOISE_TAU_MS))
    margin = int(round(stop_margin_ms / dt))
    guard = int(round(STOP_GUARD_MS / dt))
    crossings = np.zeros(n_lanes, dtype=np.int64)
    above = y[V] > SPIKE_LEVEL_MV
    store = {}  # every lane's V, lane-major per stimulus shape; stopping lanes fill only part of their row
    for k in range(len(shapes)):
        size = (int((kind == k).sum()), shapes[k].size)
        store[k] = np.empty(size, dtype=f32) if stops[kind == k].any() else mapped_zeros(size, f32)
    store_row = np.zeros(n_lanes, dtype=np.int64)
    for k in store:
        store_row[kind == k] = np.arange(store[k].shape[0])

    active = np.arange(n_lanes)
    t0 = 0
    while active.size:
        steps = min(CHUNK_STEPS, int(run[active].max()) - t0)
        k_act = kind[active]
        current = np.multiply(
            stimulus[k_act, t0 : t0 + steps].T, lane["amplitude"], out=np.empty((steps, active.size), f32)
        )
        current += shared[t0 : t0 + steps, None]
        current += lane["drive"]
        kicks = None
        if lane["kick"].any():
            kicks = standard_normal(rng, np.empty((steps, active.size), dtype=f32))
            kicks *= lane["kick"]
            if active.size <= FILTER_LANES:  # few lanes: the noise of the whole chunk at once, into the current
                zi = lane["noise"][None, :] * noise_decay  # lfilter's state: the previous value times the decay
                noise = lfilter(_ONE, np.array([1.0, -noise_decay], dtype=f32), kicks, axis=0, zi=zi)[0]
                lane["noise"][:] = noise[-1]
                current += noise
                kicks = None
        sealed = np.flatnonzero(seal_column[active] >= 0) if seal is not None else np.zeros(0, dtype=np.intp)
        out = _advance(
            y, lane, kinetics, current, kicks, noise_decay, t0, update_every, seal, sealed, seal_column[active[sealed]]
        )
        for k in np.unique(k_act):
            columns = np.flatnonzero(k_act == k)
            stored = min(steps, store[k].shape[1] - t0)
            if stored > 0:
                store[k][store_row[active[columns]], t0 : t0 + stored] = out[:stored, columns].T
        watch = np.flatnonzero(stops[active] & (crossings[active] < stop_after_crossings))
        if watch.size:
            lanes = active[watch]
            now = out[:, watch] > SPIKE_LEVEL_MV
            before = np.vstack([above[lanes][None, :], now[:-1]])
            count = crossings[lanes][None, :] + np.cumsum(now & ~before, axis=0)
            crossings[lanes], above[lanes] = count[-1], now[-1]
            done = count[-1] >= stop_after_crossings
            step = t0 + np.argmax(count[:, done] >= stop_after_crossings, axis=0)
            end[lanes[done]] = np.minimum(length[lanes[done]], step + 1 + margin)
            run[lanes[done]] = np.minimum(length[lanes[done]], end[lanes[done]] + guard)
        t0 += steps
        keep = run[active] > t0
        if not keep.all():
            active = active[keep]
            y = np.ascontiguousarray(y[:, keep])
            lane = {name: np.ascontiguousarray(values[..., keep]) for name, values in lane.items()}

    traces = []
    for j in range(n_lanes):
        v = store[kind[j]][store_row[j]]
        peaks = lane_spike_peaks(v[: run[j]], dt)
        traces.append(LaneTrace(v[: end[j]], peaks[peaks < end[j]] * dt))
    return traces


def _advance(y, lane, kinetics, current, kicks, noise_decay, t0, update_every, seal, sealed, seal_columns):
    """Advance the active lanes (columns of ``y``, in place) by ``current.shape[0]`` steps; returns V at each step
    (steps, lanes). ``current``: the injected current plus the leak's drive gL EL per step; ``kicks``: the noise
    current's kicks (or None); ``sealed``: columns whose seal conductance (``seal[:, seal_columns]``) drifts."""
    steps, n = current.shape
    out = np.empty((steps, n), dtype=f32)
    gates, v = y[: len(_GATES)], y[V]
    n_gates = len(_GATES)
    looked_up = np.empty((n, _ENTRY), dtype=f32)
    ab = np.empty((2 * n_gates, n), dtype=f32)  # decays then increments, in _GATES order
    ab[:_CONSTANT] = lane["decay"]
    decay, increment, from_table = ab[:n_gates], ab[n_gates:], ab[_CONSTANT:]
    entries = looked_up[:, : 2 * n_gates - _CONSTANT].T
    factors = np.empty((_FACTOR_ROWS.size, n), dtype=f32)
    by_factor = factors.reshape(_FACTORS, len(_CHANNELS), n)
    g = np.empty((len(_CHANNELS), n), dtype=f32)
    ge = np.empty_like(g)
    g_den = g[:-1]
    scaled, inject = np.empty(n, dtype=f32), np.empty(n, dtype=f32)
    # the sums over channels, term by term in channel order; numpy sums a lone lane's terms pairwise instead, so
    # that lane accumulates (the same order): a lane's numbers do not depend on how many lanes share its batch
    add = np.add.accumulate if n == 1 else np.add.reduce
    den_out, num_out = (np.empty_like(g_den), np.empty_like(g)) if n == 1 else (np.empty(n, f32), np.empty(n, f32))
    den, num = den_out[-1] if n == 1 else den_out, num_out[-1] if n == 1 else num_out
    index = np.empty(n, dtype=np.int32)
    offset, low, high, noise, table = lane["offset"], lane["low"], lane["high"], lane["noise"], kinetics.table
    for i in range(steps):
        if sealed.size and (t0 + i) % update_every == 0:
            y[K_DEN, sealed] = lane["k_base"][sealed] + seal[(t0 + i) // update_every, seal_columns]
        np.multiply(v, f32(1.0 / GRID_STEP_MV), out=scaled)
        np.add(scaled, offset, out=index, casting="unsafe")  # floor: the sum is >= 0 wherever it is not clipped
        np.maximum(index, low, out=index)  # V outside GRID: its end values (ufuncs: no Python-level wrappers)
        np.minimum(index, high, out=index)
        table.take(index, axis=0, out=looked_up, mode="clip")
        np.copyto(from_table, entries)
        gates *= decay
        gates += increment
        y.take(_FACTOR_ROWS, axis=0, out=factors, mode="clip")
        np.multiply.reduce(by_factor, axis=0, out=g)
        add(g_den, axis=0, out=den_out)
        np.multiply(g, _E_WEIGHTS, out=ge)
        add(ge, axis=0, out=num_out)
        if kicks is None:
            num += current[i]
        else:  # the same sum as with the noise filtered into the current (FILTER_LANES): identical results
            noise *= noise_decay
            noise += kicks[i]
            np.add(current[i], noise, out=inject)
            num += inject
        np.divide(num, den, out=v)
        out[i] = v
    return out


def simulate(
    shape: np.ndarray,
    amplitude_pa: np.ndarray,
    offset_pa: np.ndarray,
    params: CellParameters,
    dt_ms: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Integrate one lane per entry of ``params`` with the current ``amplitude_pa[j] * shape + offset_pa`` (pA, one
    sample every ``dt_ms``). Returns the membrane potential (time, lanes) in mV as float32 and, per lane, the true
    spike times in ms (peak times of ``neuron_model.true_spike_peaks``)."""
    n = amplitude_pa.size
    traces = integrate(
        Kinetics(params, dt_ms), np.arange(n), [shape], np.zeros(n, dtype=np.int64), amplitude_pa, offset_pa, rng
    )
    return np.stack([t.v_mv for t in traces], axis=1), [t.spikes_ms for t in traces]
