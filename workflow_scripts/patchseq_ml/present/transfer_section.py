"""The report's BiLSTM and transfer section: human results of every strategy and the forest on identical folds,
paired differences with CIs and Wilcoxon p-values, and mouse pretraining, beside the study's numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import html, plots

STUDY = pd.DataFrame(
    [
        ("mouse", "BiLSTM + attention (5 classes)", 0.874, 0.915),
        ("human", "BiLSTM + attention from scratch", 0.669, 0.780),
        ("human", "human-only baseline in the transfer experiment", 0.658, 0.771),
        ("human", "transfer: joint mouse+human, then human fine-tune", 0.680, 0.791),
    ],
    columns=["species", "setting (arXiv 2603.11000)", "macro-F1", "accuracy"],
).set_index(["species", "setting (arXiv 2603.11000)"])


def _fmt(row: pd.Series) -> str:
    return f"{row['mean']:.3f} ± {row['sd']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def layout_note(layout: dict) -> str:
    """What one BiLSTM step is, from a checkpoint's layout: the feature-vector families with their widths, or the
    feature groups (shared, then each species' own, masked in the other species) and their standardisation."""
    if layout.get("kind") == "families":
        steps = ", ".join(f"{n} ({w})" for n, w in zip(layout["family_names"], layout["widths"]))
        return f"Sequence steps: {len(layout['family_names'])} feature-vector families (width): {steps}."
    steps = zip(layout["family_names"], layout["families"])
    groups = "; ".join(f"{n} ({len(f)})" if ":" in n else f"{n}: {', '.join(f)}" for n, f in steps)
    return (
        f"Sequence steps: {len(layout['family_names'])} groups of scalar features, standardised by "
        f"{layout.get('standardise', 'zscore')} with training cells; shared quantities by name, then each species' "
        f"own features (species:family (count), absent and masked in the other species; "
        f"results/features/sequence/own_features.tsv lists them): {groups}."
    )


def read_pretrain(paths: list) -> tuple[pd.DataFrame, str]:
    """Mouse pretraining metrics (one row per seed, from its metrics.json) and the `layout_note` of the first."""
    records = [json.loads(Path(path).read_text()) for path in paths]
    note = layout_note(records[0]["layout"])
    return pd.DataFrame([{k: v for k, v in r.items() if k != "layout"} for r in records]), note


def build(
    summary: pd.DataFrame,
    paired: pd.DataFrame,
    pretrain: pd.DataFrame,
    attention: pd.DataFrame,
    curve: pd.DataFrame,
    layout_note: str,
    figures: Path,
    opening: list[str] = (),
) -> str:
    """``summary``: metrics_summary rows with a ``method`` column; ``paired``: paired differences;
    ``pretrain``: one row per seed of mouse test metrics; ``attention``: mean attention per family and class;
    ``opening``: HTML parts the section starts with (the answer: selection_section.opening)."""
    heatmap = plots.save_figure(plots.attention_heatmaps(attention), figures / "attention_by_class")
    curve_png = plots.save_figure(plots.learning_curve(curve), figures / "learning_curve")
    rows = []
    for method, group in summary.groupby("method", sort=False):
        by_metric = group.set_index("metric")
        rows.append(
            {"method": method, **{m: _fmt(by_metric.loc[m]) for m in ("accuracy", "balanced_accuracy", "macro_f1")}}
        )
    f1 = summary[summary.metric.str.startswith("f1_")].pivot_table(index="method", columns="metric", values="mean")
    f1.columns = [c.removeprefix("f1_") for c in f1.columns]
    mouse = {
        "seeds": len(pretrain),
        "mouse test macro-F1": f"{pretrain.macro_f1.mean():.3f} ± "
        f"{pretrain.macro_f1.std(ddof=1) if len(pretrain) > 1 else 0:.3f}",
        "mouse test accuracy": f"{pretrain.accuracy.mean():.3f}",
    }
    return html.section(
        "Attention BiLSTM and mouse -> human transfer",
        *opening,
        html.paragraph(layout_note, "note"),
        html.paragraph(
            "Human test folds, identical for every method (mean ± SD over seed x fold, 95 % bootstrap CI):", "note"
        ),
        html.table(pd.DataFrame(rows).set_index("method")),
        html.paragraph(
            "Paired differences in macro-F1 on the same (seed, fold) test sets, Wilcoxon signed-rank:", "note"
        ),
        html.table(paired.set_index(["method", "reference"]), "{:.3g}"),
        html.paragraph("Per-class F1 (mean over runs):", "note"),
        html.table(f1),
        html.paragraph("Mouse pretraining (first split of each seed, test set):", "note"),
        html.table(pd.DataFrame([mouse]).set_index("seeds")),
        html.paragraph(
            "Learning curve: the same test folds, a stratified fraction of each human training fold "
            "(100 % = the runs above):",
            "note",
        ),
        html.image(curve_png, "learning curve"),
        html.table(curve.set_index(["method", "fraction"]), "{:.3f}"),
        html.paragraph(
            "Where the models look: mean attention weight per family, by true subclass "
            "(an absent family gets zero weight):",
            "note",
        ),
        html.image(heatmap, "attention heatmaps"),
        html.paragraph("The study's numbers (mean ± SD over 10 runs there):", "note"),
        html.table(STUDY),
        anchor="transfer",
    )
