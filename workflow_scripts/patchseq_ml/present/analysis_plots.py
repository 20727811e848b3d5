"""Figures of the analysis sections (calibration, embedding, cross-species shift), in the style of ``plots``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .plots import plt

SPECIES_MARKERS = {"mouse": "o", "human": "^"}


def reliability_diagram(bins: pd.DataFrame) -> plt.Figure:
    """Accuracy against mean confidence per bin (pooled test predictions), one panel per method; the diagonal is
    perfect calibration and bar heights show how many predictions fall in each bin."""
    methods = list(dict.fromkeys(bins["method"]))
    fig, axes = plt.subplots(1, len(methods), figsize=(2.6 * len(methods), 2.9), squeeze=False, sharey=True)
    for ax, method in zip(axes[0], methods):
        b = bins[(bins["method"] == method) & (bins["n"] > 0)]
        width = float((bins["bin_high"] - bins["bin_low"]).iloc[0])
        share = b["n"] / b["n"].sum()
        ax.bar(b["bin_low"] + width / 2, share, width=width * 0.9, color="#dddddd", label="share of predictions")
        ax.plot([0, 1], [0, 1], color="#888888", lw=0.8, ls="--")
        ax.plot(b["confidence"], b["accuracy"], marker="o", color="#1f77b4", label="accuracy")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence (top probability)")
        ax.set_title(method, fontsize=8)
    axes[0][0].set_ylabel("accuracy / share")
    axes[0][0].legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    return fig


def embedding_map(embedding: pd.DataFrame, colours: dict[str, str]) -> plt.Figure:
    """Both species in one 2-D projection of the encoder embedding, per encoder: colour = subclass, marker =
    species (human drawn on top)."""
    encoders = list(dict.fromkeys(embedding["encoder"]))
    fig, axes = plt.subplots(1, len(encoders), figsize=(4.2 * len(encoders), 3.8), squeeze=False)
    for ax, encoder in zip(axes[0], encoders):
        frame = embedding[embedding["encoder"] == encoder]
        for species in ("mouse", "human"):
            cells = frame[frame["species"] == species]
            for subclass, group in cells.groupby("subclass", sort=True):
                ax.scatter(
                    group["pc1"],
                    group["pc2"],
                    s=7 if species == "mouse" else 14,
                    marker=SPECIES_MARKERS[species],
                    color=colours.get(subclass, "#888888"),
                    alpha=0.35 if species == "mouse" else 0.8,
                    edgecolors="black" if species == "human" else "none",
                    linewidths=0.2,
                    label=f"{species} {subclass}",
                )
        ax.set_xlabel("embedding PC 1 (a.u.)")
        ax.set_ylabel("embedding PC 2 (a.u.)")
        ax.set_title(f"{encoder} encoder", fontsize=8)
    axes[0][-1].legend(fontsize=6, markerscale=1.5, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def species_shift_bars(shift: pd.DataFrame, top: int = 15) -> plt.Figure:
    """Standardised mean difference human - mouse (SD units) of the most shifted features: overall and within
    subclass."""
    table = shift.head(top).iloc[::-1]
    y = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(5.2, 0.25 * len(table) + 1.0))
    ax.barh(y - 0.2, table["smd_all"], height=0.4, color="#999999", label="all cells")
    ax.barh(y + 0.2, table["smd_within_subclass"], height=0.4, color="#1f77b4", label="within subclass")
    ax.axvline(0, color="black", lw=0.6)
    ax.set_yticks(y, table["feature"], fontsize=7)
    ax.set_xlabel("human - mouse (SD units, standardised mean difference)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
