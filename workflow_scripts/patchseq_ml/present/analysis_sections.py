"""The report's analysis sections: cross-species feature shift, calibration and confusion of the human models, the
learned embedding of both species, and run costs in the provenance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import analysis_plots, html, plots

SHIFT_ROWS = 15


def shift_section(shift: pd.DataFrame, figures: Path) -> str:
    png = plots.save_figure(analysis_plots.species_shift_bars(shift, SHIFT_ROWS), figures / "species_shift")
    columns = ["feature", "median_mouse", "median_human", "smd_all", "smd_within_subclass", "ks"]
    return html.section(
        "Cross-species shift per shared feature",
        html.paragraph(
            f"{len(shift)} shared features; standardised mean difference human - mouse in pooled-SD units over all "
            "cells and within subclass (mouse subclasses mapped to human ones, weighted by human cells), and the "
            "Kolmogorov-Smirnov statistic. The within-subclass shift is what a mouse-trained model meets on human "
            f"cells even with the right class mix. The {min(SHIFT_ROWS, len(shift))} largest:",
            "note",
        ),
        html.table(shift[columns].head(SHIFT_ROWS).set_index("feature"), "{:.3g}"),
        html.image(png, "cross-species shift"),
        anchor="species-shift",
    )


def confusion_by_method(confusion: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The long confusion table of evaluate_predictions (method, true, one column per class) per method."""
    return {
        method: group.drop(columns="method").set_index("true").dropna(axis=1, how="all")
        for method, group in confusion.groupby("method", sort=False)
    }


def calibration_section(summary: pd.DataFrame, bins: pd.DataFrame, confusions: dict, figures: Path) -> str:
    reliability = plots.save_figure(analysis_plots.reliability_diagram(bins), figures / "reliability")
    matrices = plots.save_figure(
        plots.confusion_matrices(confusions, "human test cells, summed over folds, mean over seeds"),
        figures / "confusion_transfer",
    )
    table = pd.DataFrame(
        {
            "method": summary["method"],
            "ECE (pooled)": summary["ece"],
            "ECE per run (mean ± SD)": [f"{m:.3f} ± {s:.3f}" for m, s in zip(summary.ece_run_mean, summary.ece_run_sd)],
            "mean confidence": summary["mean_confidence"],
            "accuracy": summary["accuracy"],
            "predictions": summary["n_predictions"],
        }
    ).set_index("method")
    return html.section(
        "Calibration and confusion of the human models",
        html.paragraph(
            "Expected calibration error of the top-label probability (0 = a model is right exactly as often as it "
            "is confident; confidence above accuracy = over-confident), on every human test prediction of every "
            "seed x fold:",
            "note",
        ),
        html.table(table, "{:.3f}"),
        html.image(reliability, "reliability diagrams"),
        html.paragraph("Confusion matrices of the BiLSTM strategies and the forest (row-normalised colour):", "note"),
        html.image(matrices, "confusion matrices of the human models"),
        anchor="calibration",
    )


def embedding_section(
    embedding: pd.DataFrame, alignment: pd.DataFrame, deployed: dict, colours: dict[str, str], figures: Path
) -> str:
    png = plots.save_figure(analysis_plots.embedding_map(embedding, colours), figures / "embedding_map")
    counts = embedding[embedding.encoder == embedding.encoder.iloc[0]].groupby("species").size()
    scores = alignment.set_index(["encoder", "test"])[["macro_f1", "accuracy", "k"]]
    model = pd.DataFrame(
        [
            {
                "strategy": deployed["strategy"],
                "seed": deployed["seed"],
                "training cells": deployed["n_train"],
                "validation cells": deployed["n_val"],
                "validation macro-F1": deployed["val_macro_f1"],
                "epochs": deployed["epochs"],
            }
        ]
    ).set_index("strategy")
    return html.section(
        "Learned embedding of both species",
        html.paragraph(
            f"Encoder output (first two principal components of {counts.get('mouse', 0)} mouse and "
            f"{counts.get('human', 0)} human labelled cells, projected together) of the deployed human model and of "
            "the mouse-pretrained encoder; colour = subclass (mouse mapped to human subclasses), marker = species.",
            "note",
        ),
        html.image(png, "embedding map"),
        html.paragraph(
            "Species alignment: human cells labelled by their k nearest mouse cells (no human label used) beside "
            "their k nearest human cells (leave one out); k is the configured number capped at the smallest "
            "class. Descriptive: the deployed "
            "model has seen every cell; the pretrained encoder has seen no human cell.",
            "note",
        ),
        html.table(scores, "{:.3f}"),
        html.paragraph(
            "The deployed model (results/model/human/checkpoint.pt, used by `python -m patchseq_ml predict`): "
            "trained on every labelled human cell; its expected accuracy is the cross-validated one of its strategy.",
            "note",
        ),
        html.table(model, "{:.3f}"),
        anchor="embedding",
    )


def provenance_section(provenance: dict[str, str], costs: pd.DataFrame) -> str:
    prov = pd.DataFrame({"value": provenance})
    prov.index.name = "setting"
    parts = [html.table(prov)]
    if len(costs):
        parts += [
            html.paragraph(
                "Run time and peak memory per stage, from the jobs' benchmark files as they were when this report "
                "was written (the report's own job excluded):",
                "note",
            ),
            html.table(costs, "{:.4g}"),
        ]
    return html.section("Provenance", *parts, anchor="provenance")


def unlabelled_section(predictions: pd.DataFrame) -> str:
    """The predicted subclass of the extracted cells without a usable label (never trained or tested on)."""
    note = (
        "Cells without a usable label (none, or a label outside the classes) are counted in the retention table and "
        "never trained or tested on; they are predicted here: human cells by the model that selection chose (the "
        "one `predict` uses), mouse cells by the deployed BiLSTM's mouse head (column `model` of the file). "
        "Per cell, with its probabilities: results/model/unlabelled_predictions.tsv."
    )
    if not len(predictions):
        return html.section(
            "Predicted subclass of unlabelled cells",
            html.paragraph(note, "note"),
            html.paragraph("0 extracted cells without a usable label: nothing to predict.", "note"),
            anchor="unlabelled",
        )
    counts = pd.crosstab(predictions["species"], predictions["predicted"])
    counts["cells"] = counts.sum(axis=1)
    counts["fewer than all families"] = (
        (predictions.families_used < predictions.families).groupby(predictions["species"]).sum()
    )
    counts["median probability"] = predictions.groupby("species")["probability"].median()
    return html.section(
        "Predicted subclass of unlabelled cells",
        html.paragraph(note, "note"),
        html.table(counts, "{:.2f}"),
        anchor="unlabelled",
    )
