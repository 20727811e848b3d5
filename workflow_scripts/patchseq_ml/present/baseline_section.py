"""The report's baseline section: metrics with CIs beside the study's numbers, per-class F1, confusion matrices."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..tsv import read_tsv
from . import html, plots

# Reported in arXiv 2603.11000 (mouse, 5 classes) and measured on the published human table (../shared/docs).
REFERENCE = {
    ("mouse", "macro_f1"): (0.873, "study: random forest, Gouwens-style reproduction"),
    ("mouse", "accuracy"): (0.907, "study: random forest, Gouwens-style reproduction"),
    ("human", "macro_f1"): (0.79, "plain forest on the published human IPFX table (5-fold)"),
    ("human", "accuracy"): (0.84, "plain forest on the published human IPFX table (5-fold)"),
}


def _cell(row: pd.Series) -> str:
    return f"{row['mean']:.3f} ± {row['sd']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def read_tables(keys: list, summaries: list, confusions: list) -> tuple[dict, dict]:
    """(species, model) -> its metrics summary, and -> its confusion matrix (indexed by the true class), read from the
    paths given in the order of ``keys``."""
    summary = {key: read_tsv(path) for key, path in zip(keys, summaries)}
    confusion = {key: pd.read_csv(path, sep="\t", index_col=0) for key, path in zip(keys, confusions)}
    return summary, confusion


def summary_table(summaries: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """Rows (species, model); columns: accuracy, balanced accuracy, macro-F1 as mean ± SD [95 % CI]."""
    rows = []
    for (species, model), summary in summaries.items():
        by_metric = summary.set_index("metric")
        row = {"species": species, "model": model, "runs (seed x fold)": int(by_metric.loc["macro_f1", "n"])}
        for metric in ("accuracy", "balanced_accuracy", "macro_f1"):
            row[metric] = _cell(by_metric.loc[metric])
        rows.append(row)
    return pd.DataFrame(rows).set_index(["species", "model"])


def reference_table() -> pd.DataFrame:
    rows = [{"species": s, "metric": m, "value": v, "source": src} for (s, m), (v, src) in REFERENCE.items()]
    return pd.DataFrame(rows).set_index(["species", "metric"])


def per_class_f1(summaries: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for (species, model), summary in summaries.items():
        f1 = summary[summary.metric.str.startswith("f1_")]
        rows.append(
            {"species": species, "model": model, **{m.removeprefix("f1_"): v for m, v in zip(f1.metric, f1["mean"])}}
        )
    return pd.DataFrame(rows).set_index(["species", "model"])


def build(summaries, confusions, figures: Path, class_map: dict[str, str], n_seeds: int) -> str:
    """HTML of the section; ``summaries``/``confusions`` are keyed by (species, model)."""
    parts = [
        html.paragraph(
            f"Stratified cross-validation over {n_seeds} seeds; every model sees the very same test folds "
            "(splits are computed once per species and seed). Mean ± SD over seed x fold runs, with a 95 % "
            "bootstrap CI of the mean.",
            "note",
        ),
        html.table(summary_table(summaries)),
        html.paragraph("Reference numbers:", "note"),
        html.table(reference_table()),
        html.paragraph("Per-class F1 (mean over runs):", "note"),
        html.table(per_class_f1(summaries)),
        html.paragraph(
            "Cross-species class map in this run (mouse -> shared): "
            + ", ".join(f"{k} -> {v}" for k, v in class_map.items())
            + ". Baselines are fitted per species on that species' own classes.",
            "note",
        ),
    ]
    for species in sorted({s for s, _ in confusions}):
        matrices = {model: m for (s, model), m in confusions.items() if s == species}
        fig = plots.confusion_matrices(matrices, f"{species}: confusion (mean counts per seed, summed over folds)")
        parts.append(html.image(plots.save_figure(fig, figures / f"confusion_baseline_{species}"), species))
    return html.section("Baselines (Gouwens et al. 2020 style)", *parts, anchor="baselines")


def alignment(report: pd.DataFrame) -> str:
    """Which quantities mouse and human share (under which names), and why the others were dropped."""
    shared = int((report["status"] == "shared").sum())
    return html.section(
        "Cross-species feature alignment",
        html.paragraph(
            f"{shared} of {len(report)} aligned quantities are shared by both species "
            "(config/feature_alignment.tsv; missing fractions over extracted cells).",
            "note",
        ),
        html.table(report.set_index("feature"), "{:.2f}"),
        anchor="alignment",
    )
