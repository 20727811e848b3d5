"""The report's figures as Snakemake's ``--report`` shows them: category and title per figure, from its file name.

The report rule writes ``results/report/figures/{name}.png`` (and ``.svg``); ``name`` is a figure stem below,
optionally followed by ``_{species}``. Each stem has a caption, ``report/captions/{stem}.rst``. Pure Python (the
Snakefile imports it at parse time)."""

from __future__ import annotations

# stem -> (category, title); the order is the report's
FIGURES: dict[str, tuple[str, str]] = {
    "cells_per_subclass": ("1. Data", "Cells per subclass"),
    "example_traces": ("1. Data", "Example traces"),
    "feature_distributions": ("1. Data", "Feature distributions"),
    "species_shift": ("1. Data", "Cross-species feature shift"),
    "confusion_baseline": ("2. Baselines", "Baseline confusion matrices"),
    "learning_curve": ("3. Transfer", "Learning curve"),
    "attention_by_class": ("3. Transfer", "Attention by class"),
    "reliability": ("3. Transfer", "Calibration (reliability diagrams)"),
    "confusion_transfer": ("3. Transfer", "Confusion matrices of the human models"),
    "embedding_map": ("4. Embedding", "Learned embedding of both species"),
}


def split_name(name: str, species: list[str]) -> tuple[str, str]:
    """``feature_distributions_mouse`` -> ("feature_distributions", "mouse"); a figure of all species: (name, "")."""
    for sp in species:
        if name.endswith(f"_{sp}") and name.removesuffix(f"_{sp}") in FIGURES:
            return name.removesuffix(f"_{sp}"), sp
    return name, ""


def category(name: str, species: list[str]) -> str:
    stem, _ = split_name(name, species)
    return FIGURES.get(stem, ("5. Other", ""))[0]


def labels(name: str, species: list[str]) -> dict[str, str]:
    """The columns of the figure's row in the report: title and species ("all" for a figure of every species)."""
    stem, sp = split_name(name, species)
    return {"figure": FIGURES.get(stem, ("", name))[1], "species": sp or "all"}
