"""Figures of the reports, in one style: labelled axes with units, one fixed colour per subclass."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

plt.rcParams.update(
    {
        "figure.dpi": 100,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": 9,
        "svg.hashsalt": "patchseq_ml",
        "svg.fonttype": "none",
    }
)
FEATURE_LABELS = {
    "rheobase_pa": "rheobase (pA)",
    "input_resistance_mohm": "input resistance (MOhm)",
    "tau_ms": "tau (ms)",
    "sag": "sag (fraction)",
    "rheo_width_ms": "AP width at rheobase (ms)",
    "rheo_upstroke_downstroke_ratio": "upstroke/downstroke",
    "rheo_latency_ms": "latency at rheobase (ms)",
    "rheo_plus40_rate_hz": "rate at rheobase+40 pA (Hz)",
    "rheo_plus40_adaptation": "adaptation index at +40 pA",
    "fi_slope_hz_per_pa": "f-I slope (Hz/pA)",
    "vrest_mv": "resting Vm (mV)",
    "ss_width_ms": "short-square AP width (ms)",
}


def save_figure(fig: plt.Figure, stem: Path) -> Path:
    """Write ``stem``.png and ``stem``.svg (deterministic SVG ids); return the PNG path."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(stem.with_suffix(".png"), bbox_inches="tight", metadata={"Software": None})
    fig.savefig(stem.with_suffix(".svg"), bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return stem.with_suffix(".png")


def cells_per_subclass(counts: pd.DataFrame, colours: dict[str, str]) -> plt.Figure:
    """Grouped bars: cells per subclass (rows of ``counts``) and species (columns)."""
    fig, axes = plt.subplots(1, counts.shape[1], figsize=(3.2 * counts.shape[1], 2.8), squeeze=False)
    for ax, species in zip(axes[0], counts.columns):
        col = counts[species].dropna()
        ax.bar(col.index, col.values, color=[colours.get(s, "#888888") for s in col.index])
        ax.set_title(species)
        ax.set_ylabel("cells")
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def example_traces(traces: dict[str, dict], colours: dict[str, str]) -> plt.Figure:
    """Rows: subclasses; columns: species. Each panel: rheobase sweep and deepest hyperpolarising step (mV vs s)."""
    species = list(traces)
    subclasses = sorted({k.split("__")[0] for arrays in traces.values() for k in arrays})
    fig, axes = plt.subplots(
        len(subclasses), len(species), figsize=(4.2 * len(species), 1.9 * len(subclasses)), squeeze=False, sharex=True
    )
    for col, sp in enumerate(species):
        for row, subclass in enumerate(subclasses):
            ax = axes[row, col]
            arrays = traces[sp]
            if f"{subclass}__rheo_v" not in arrays:
                ax.set_axis_off()
                continue
            colour = colours.get(subclass, "#444444")
            ax.plot(arrays[f"{subclass}__rheo_t"], arrays[f"{subclass}__rheo_v"], color=colour, lw=0.6)
            if f"{subclass}__hyper_v" in arrays:
                ax.plot(arrays[f"{subclass}__hyper_t"], arrays[f"{subclass}__hyper_v"], color="#555555", lw=0.6)
            ax.set_title(f"{sp} {subclass} (cell {arrays[f'{subclass}__cell_id']})", fontsize=8)
            ax.set_ylabel("V (mV)")
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def feature_distributions(features: pd.DataFrame, names: list[str], colours: dict[str, str], title: str) -> plt.Figure:
    """One panel per feature: values per subclass as jittered points over a box plot."""
    subclasses = sorted(features["subclass"].dropna().unique())
    ncols = 4
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.4 * nrows), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, name in zip(axes.flat, names):
        data = [features.loc[features["subclass"] == s, name].dropna().to_numpy(float) for s in subclasses]
        ax.boxplot(data, showfliers=False, widths=0.6)
        for k, (subclass, values) in enumerate(zip(subclasses, data), start=1):
            ax.scatter(
                k + rng.uniform(-0.2, 0.2, values.size), values, s=4, alpha=0.6, color=colours.get(subclass, "#444444")
            )
        ax.set_xticks(range(1, len(subclasses) + 1), subclasses, rotation=30)
        ax.set_ylabel(FEATURE_LABELS.get(name, name), fontsize=8)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_axis_off()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrices(matrices: dict[str, pd.DataFrame], title: str) -> plt.Figure:
    """One panel per model: row-normalised confusion matrix (true subclass vs predicted), with the mean counts."""
    fig, axes = plt.subplots(1, len(matrices), figsize=(3.4 * len(matrices), 3.2), squeeze=False)
    for ax, (model, matrix) in zip(axes[0], matrices.items()):
        values = matrix.to_numpy(float)
        norm = values / np.maximum(values.sum(axis=1, keepdims=True), 1e-12)
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for (i, j), count in np.ndenumerate(values):
            ax.text(
                j,
                i,
                f"{count:.0f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if norm[i, j] > 0.6 else "black",
            )
        ax.set_xticks(range(len(matrix.columns)), matrix.columns, rotation=45)
        ax.set_yticks(range(len(matrix.index)), matrix.index)
        ax.set_xlabel("predicted subclass")
        ax.set_ylabel("true subclass")
        ax.set_title(model)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def attention_heatmaps(attention: pd.DataFrame) -> plt.Figure:
    """Mean attention weight per family (columns) and class (rows), one panel per (species, method)."""
    groups = list(attention.groupby(["species", "method"], sort=True))
    fig, axes = plt.subplots(1, len(groups), figsize=(3.3 * len(groups), 2.8), squeeze=False)
    for ax, ((species, method), frame) in zip(axes[0], groups):
        values = frame.set_index("class").drop(columns=["species", "method"])
        ax.imshow(values.to_numpy(float), cmap="viridis", vmin=0, vmax=max(0.5, float(values.to_numpy().max())))
        for (i, j), w in np.ndenumerate(values.to_numpy(float)):
            ax.text(j, i, f"{w:.2f}", ha="center", va="center", fontsize=6, color="white")
        ax.set_xticks(range(values.shape[1]), values.columns, rotation=60, fontsize=7)
        ax.set_yticks(range(values.shape[0]), values.index)
        ax.set_title(f"{species}: {method}", fontsize=8)
    fig.suptitle("mean attention weight per feature family (test cells, by true subclass)")
    fig.tight_layout()
    return fig


def learning_curve(curve: pd.DataFrame) -> plt.Figure:
    """Macro-F1 (mean and 95 % CI over seed x fold) against the fraction of human training cells, per method."""
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    for method, group in curve.groupby("method", sort=True):
        group = group.sort_values("fraction")
        ax.plot(group["fraction"] * 100, group["macro_f1"], marker="o", label=method)
        ax.fill_between(group["fraction"] * 100, group["ci_low"], group["ci_high"], alpha=0.15)
    ax.set_xscale("log")
    ax.set_xlabel("human training cells used (% of each training fold)")
    ax.set_ylabel("test macro-F1")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
