"""Draw per-cell model parameters from the subclass phenotypes in ``config/phenotypes.yaml``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .neuron_model import CellParameters

_VOLTAGES = ("e_leak_mv", "v_t_mv")
MAX_SLOW_FRAC = 0.95  # the log-normal spread may not make more than this share of channels slow-inactivating


@dataclass
class Cohort:
    """Subclass labels (cells,), model parameters and phenotype modifiers (names, per cell) of each cell."""

    subclass: np.ndarray
    params: CellParameters
    modifiers: list[list[str]]


def draw_subclasses(rng: np.random.Generator, fractions: dict[str, float], n_cells: int) -> np.ndarray:
    """Exact class counts by largest remainder (every class with a positive fraction gets >= 1 cell), shuffled."""
    names = list(fractions)
    weights = np.array([fractions[k] for k in names], dtype=float)
    weights /= weights.sum()
    counts = np.maximum(np.floor(weights * n_cells).astype(int), 1)
    while counts.sum() < n_cells:
        counts[np.argmax(weights * n_cells - counts)] += 1
    while counts.sum() > n_cells:
        counts[np.argmax(counts)] -= 1
    labels = np.repeat(names, counts)
    return rng.permutation(labels)


def draw_cohort(rng: np.random.Generator, phenotypes: dict, species: str, n_cells: int) -> Cohort:
    """Subclasses in the species' proportions and per-cell parameters around each subclass phenotype."""
    spec = phenotypes["species"][species]
    subclass = draw_subclasses(rng, spec["fractions"], n_cells)
    cv = float(phenotypes["variability"]["cv"])
    v_sd = float(phenotypes["variability"]["v_sd_mv"])
    sigma = np.sqrt(np.log1p(cv**2))
    scale = spec.get("scale", {}) or {}
    shift = spec.get("shift_mv", {}) or {}
    names = list(next(iter(phenotypes["classes"].values())))
    values: dict[str, np.ndarray] = {}
    for name in names:
        centre = np.array([phenotypes["classes"][c][name] for c in subclass], dtype=float)
        if name in _VOLTAGES:
            values[name] = centre + float(shift.get(name, 0.0)) + rng.normal(0.0, v_sd, n_cells)
        else:
            values[name] = centre * float(scale.get(name, 1.0)) * rng.lognormal(-(sigma**2) / 2, sigma, n_cells)
    modifiers = apply_modifiers(rng, values, phenotypes.get("modifiers", {}) or {})
    c = values["c_pf"]
    params = CellParameters(
        c_pf=c,
        g_leak_ns=1000.0 / values["r_in_mohm"],
        e_leak_mv=values["e_leak_mv"],
        g_na_ns=values["g_na_per_pf"] * c,
        g_kd_ns=values["g_kd_per_pf"] * c,
        g_m_ns=values["g_m_per_pf"] * c,
        tau_m_slow_ms=values["tau_m_slow_ms"],
        g_h_ns=values["g_h_ns"],
        g_d_ns=values["g_d_per_pf"] * c,
        tau_d_inact_ms=values["tau_d_inact_ms"],
        v_t_mv=values["v_t_mv"],
        phi=values["phi"],
        noise_pa=values["noise_pa"],
        na_slow_frac=np.minimum(values["na_slow_frac"], MAX_SLOW_FRAC),
        kd_slow_frac=np.minimum(values["kd_slow_frac"], MAX_SLOW_FRAC),
        tau_slow_ms=values["tau_slow_ms"],
        g_ca_ns=values["g_ca_per_pf"] * c,
        g_seal_ns=np.zeros(n_cells),
        seal_drift=np.zeros(n_cells),
    )
    return Cohort(subclass=subclass, params=params, modifiers=modifiers)


def pick_cells(rng: np.random.Generator, n_cells: int, fraction: float) -> np.ndarray:
    """Boolean mask of round(fraction * n) cells (at least one when fraction > 0), drawn without replacement."""
    count = min(n_cells, max(1, int(round(fraction * n_cells)))) if fraction > 0 else 0
    mask = np.zeros(n_cells, dtype=bool)
    mask[rng.permutation(n_cells)[:count]] = True
    return mask


def apply_modifiers(rng: np.random.Generator, values: dict[str, np.ndarray], modifiers: dict) -> list[list[str]]:
    """Phenotype modifiers drawn per cell across subclasses (class fractions stay as they are): each goes to
    round(fraction * n) cells and multiplies (``scale``) or shifts (``shift_mv``) their drawn values in place.
    Returns the modifier names of each cell."""
    n_cells = next(iter(values.values())).size
    names: list[list[str]] = [[] for _ in range(n_cells)]
    for name, spec in modifiers.items():
        mask = pick_cells(rng, n_cells, float(spec["fraction"]))
        for key, factor in (spec.get("scale", {}) or {}).items():
            values[key] = np.where(mask, values[key] * float(factor), values[key])
        for key, shift in (spec.get("shift_mv", {}) or {}).items():
            values[key] = np.where(mask, values[key] + float(shift), values[key])
        for i in np.flatnonzero(mask):
            names[i].append(name)
    return names
