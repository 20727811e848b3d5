"""The report's data sections: what came in, what was kept and why, and what the features look like.

Reads only declared per-species tables (features, failures; for NWB input also sheet, sweep counts, spike
validation, example traces); each figure is also written as PNG and SVG.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..tsv import read_tsv
from . import html, plots

NO_SPIKE_CHECK = (
    "No spike-detection check against true spike times: only simulated cells have them (recorded cells have no "
    "ground truth), so that section appears in simulated runs only."
)
STIMULUS_COLUMNS = ["long_square", "short_square", "ramp", "search", "test", "other", "unknown"]


@dataclass
class SpeciesTables:
    """The per-species inputs of the data report."""

    features: pd.DataFrame
    failures: pd.DataFrame
    sheet: pd.DataFrame | None = None  # NWB source only (as the three below)
    sweep_counts: pd.DataFrame | None = None
    spike_detection: pd.DataFrame | None = None
    traces: dict[str, np.ndarray] | None = None


def read_species_tables(inputs, species: list[str]) -> dict[str, SpeciesTables]:
    """Species -> its tables, read from ``inputs`` (the report's per-species path lists, by attribute: features,
    failures, sheets, sweep_counts, spike_detection, traces; the NWB-only lists are empty for tables)."""
    tables = {}
    for i, sp in enumerate(species):
        t = SpeciesTables(read_tsv(inputs.features[i]), read_tsv(inputs.failures[i]))
        if len(inputs.sheets):
            t.sheet, t.sweep_counts = read_tsv(inputs.sheets[i]), read_tsv(inputs.sweep_counts[i])
            if len(inputs.spike_detection):  # simulated cells only: it needs the simulator's true spike times
                t.spike_detection = read_tsv(inputs.spike_detection[i])
            with np.load(inputs.traces[i]) as npz:
                t.traces = {k: npz[k] for k in npz.files}
        tables[sp] = t
    return tables


def retention(species: str, t: SpeciesTables) -> dict[str, object]:
    """Cells at each step from file to classifier input."""
    ok = t.features["status"] == "ok"
    labelled = t.features["exclusion"].fillna("") == ""
    return {
        "species": species,
        "cells in": len(t.features),
        "extracted": int(ok.sum()),
        "failed extraction": int((~ok).sum()),
        "excluded (label)": int((~labelled).sum()),
        "usable (extracted and labelled)": int((ok & labelled).sum()),
    }


def failure_counts(tables: dict[str, SpeciesTables]) -> pd.DataFrame:
    """Failures by species, level and reason (cells affected and records)."""
    frames = [t.failures.assign(species=s) for s, t in tables.items() if len(t.failures)]
    if not frames:
        return pd.DataFrame(columns=["species", "level", "reason", "cells", "records"])
    all_failures = pd.concat(frames)
    grouped = all_failures.groupby(["species", "level", "reason"])
    return pd.DataFrame({"cells": grouped["cell_id"].nunique(), "records": grouped.size()}).reset_index()


def sweep_summary(tables: dict[str, SpeciesTables]) -> pd.DataFrame:
    """Per species and stimulus type: sweeps matched, mean per cell, cells with none usable."""
    rows = []
    for species, t in tables.items():
        counts = t.sweep_counts
        if counts is None:
            continue
        for kind in STIMULUS_COLUMNS:
            if kind not in counts:
                continue
            usable = counts.get(f"usable_{kind}")
            rows.append(
                {
                    "species": species,
                    "stimulus type": kind,
                    "sweeps": int(counts[kind].sum()),
                    "per cell (mean)": float(counts[kind].mean()),
                    "cells with none usable": int((usable == 0).sum()) if usable is not None else np.nan,
                }
            )
    return pd.DataFrame(rows)


def data_sections(
    tables: dict[str, SpeciesTables], feature_names: list[str], colours: dict[str, str], figures: Path
) -> list[str]:
    """The report's data sections; figures are written under ``figures``."""
    counts = (
        pd.DataFrame(
            {
                s: t.features.loc[t.features["subclass"].fillna("") != "", "subclass"].value_counts()
                for s, t in tables.items()
            }
        )
        .fillna(0)
        .astype(int)
    )
    counts.index.name = "subclass"
    figure = plots.save_figure(plots.cells_per_subclass(counts, colours), figures / "cells_per_subclass")
    sections = [
        html.section(
            "Cells per species and subclass",
            html.table(counts),
            html.image(figure, "cells per subclass"),
            anchor="cells",
        ),
        html.section(
            "Retention and failure reasons",
            html.table(pd.DataFrame([retention(s, t) for s, t in tables.items()]).set_index("species")),
            html.paragraph(
                "Every lost cell, stimulus family or sweep, with its reason (a lost sweep or family never "
                "drops the cell; labels exclude a cell from classification only):",
                "note",
            ),
            html.table(failure_counts(tables)),
            anchor="retention",
        ),
    ]
    sweeps = sweep_summary(tables)
    validations = {s: t.spike_detection for s, t in tables.items() if t.spike_detection is not None}
    if len(sweeps):
        parts = [html.table(sweeps)]
        if not validations:
            parts.append(html.paragraph(NO_SPIKE_CHECK, "note"))
        sections.append(html.section("Sweeps per stimulus type", *parts, anchor="sweeps"))
    if validations:
        frame = pd.concat([v.assign(species=s) for s, v in validations.items()]).set_index("species")
        sections.append(
            html.section(
                "Spike detection against the simulator's true spike times",
                html.table(frame, "{:.4f}"),
                html.paragraph("QC-passed sweeps; a detection within 1 ms of a true spike is a match.", "note"),
                anchor="spike-detection",
            )
        )
    traces = {s: t.traces for s, t in tables.items() if t.traces}
    if traces:
        png = plots.save_figure(plots.example_traces(traces, colours), figures / "example_traces")
        sections.append(
            html.section(
                "Example traces",
                html.paragraph(
                    "Rheobase sweep (colour) and deepest hyperpolarising step (grey) of one cell per subclass.", "note"
                ),
                html.image(png, "example traces"),
                anchor="traces",
            )
        )
    for species, t in tables.items():
        ok = t.features[(t.features["status"] == "ok") & (t.features["subclass"].fillna("") != "")]
        names = [n for n in feature_names if n in ok]
        if not names:
            continue
        fig = plots.feature_distributions(ok, names, colours, f"{species}: features by subclass")
        png = plots.save_figure(fig, figures / f"feature_distributions_{species}")
        sections.append(
            html.section(
                f"Feature distributions ({species})",
                html.image(png, f"{species} features"),
                anchor=f"features-{species}",
            )
        )
    return sections
