"""The opening of the report's transfer section: which model to use for human cells (model selection), how good
it is per class, and whether mouse data helped anywhere on the learning curve (paired against the best human-only
model at each training fraction)."""

from __future__ import annotations

import pandas as pd

from ..learn.calibration import KIND_WORDS, calibration_words
from . import html

ALPHA = 0.05


def _num(value, spec: str = ".3f") -> str:
    """A number, or "n/a" where there is none (a CI or p over too few runs)."""
    return "n/a" if value is None or pd.isna(value) else format(value, spec)


def _ci(low, high) -> str:
    return f"95 % CI {_num(low)} to {_num(high)}"


def mouse_verdict(paired: pd.DataFrame, human_only: list[str]) -> tuple[str, pd.DataFrame]:
    """Per fraction the best transfer method (not human-only) against the best human-only model, and one sentence:
    where its paired CI lies above 0 with p < 0.05 mouse data helped."""
    transfer = paired[~paired.method.isin(human_only)]
    if transfer.empty:
        return "The learning curve ran no method that uses mouse cells.", pd.DataFrame()
    best = transfer.loc[transfer.groupby("fraction").mean_difference.idxmax()]
    table = best[["fraction", "method", "reference", "n_pairs", "mean_difference", "ci_low", "ci_high", "wilcoxon_p"]]
    table = table.rename(columns={"method": "best transfer method", "reference": "best human-only model"})
    helped = best[(best.ci_low > 0) & (best.wilcoxon_p < ALPHA)]
    if helped.empty:
        verdict = (
            "Mouse data helped nowhere on the learning curve: at no fraction of the human training folds does any "
            "transfer method beat the best human-only model at the same n (paired CI above 0 and Wilcoxon p < 0.05)."
        )
    else:
        where = ", ".join(f"{r.fraction:g} ({r.method}: {r.mean_difference:+.3f})" for r in helped.itertuples())
        verdict = f"Mouse data helped at these fractions of the human training folds (paired, p < 0.05): {where}."
    return verdict, table.set_index("fraction")


def opening(selected: dict, candidates: pd.DataFrame, lc_paired: pd.DataFrame, human_only: list[str]) -> list[str]:
    """HTML parts: the answer (chosen model, its held-out score and per-class F1, versus the forest), the mouse
    verdict with its table, and the selection table of every candidate."""
    cv, vs = selected["cv"], selected["vs_forest"]
    members = " + ".join(m["name"] for m in selected["members"])
    seeds = (
        f"evaluation seeds {selected['evaluation_seeds']}, chosen on seeds {selected['selection_seeds']}"
        if selected["held_out"]
        else f"seeds {selected['evaluation_seeds']}, the same seeds that chose it (a single split seed: not held out)"
    )
    answer = (
        f"Use {selected['model']}"
        + (f" ({members})" if members != selected["model"] else "")
        + f" for human cells: cross-validated macro-F1 {_num(cv['macro_f1'])} ({_ci(*cv['ci'])}; {cv['runs']} runs "
        f"on {seeds}; rule {selected['rule']}), accuracy {_num(cv['accuracy'])}, calibration error (ECE) "
        f"{_num(cv['ece'])}."
    )
    if vs.get("difference") is not None and selected["model"] != "forest":
        answer += (
            f" Against the forest on the same folds: {_num(vs['difference'], '+.3f')} "
            f"({_ci(vs['ci_low'], vs['ci_high'])}, Wilcoxon p {_num(vs['wilcoxon_p'], '.2g')}, "
            f"{_num(vs['wins'], '.0f')} wins / {_num(vs['losses'], '.0f')} losses)."
        )
    answer += " `predict` uses this model (results/model/human/selected.joblib)."
    verdict, table = mouse_verdict(lc_paired, human_only)
    per_class = pd.DataFrame([selected["per_class_f1"]], index=pd.Index([selected["model"]], name="F1 per class"))
    columns = [
        "method",
        "members",
        "kind",
        "selection_mean",
        "vs_best_difference",
        "vs_best_ci_low",
        "vs_best_ci_high",
        "tied_with_best",
        "chosen",
        "eval_mean",
        "eval_ci_low",
        "eval_ci_high",
        "vs_forest_difference",
        "vs_forest_ci_low",
        "vs_forest_ci_high",
        "vs_forest_wilcoxon_p",
        "ece",
    ]
    shown = candidates[[c for c in columns if c in candidates.columns]].set_index("method")
    parts = [
        html.paragraph(answer),
        html.table(per_class, "{:.3f}"),
        html.paragraph(verdict),
    ]
    if len(table):
        parts.append(html.table(table, "{:.3g}"))
    parts += [
        html.paragraph(
            "Model selection: every candidate on identical folds. selection_*: the selection seeds (the best mean, "
            "each candidate's paired difference to it with its bootstrap CI; tied = the CI reaches 0; of the tied "
            "the simplest wins); eval_*: the evaluation seeds, which took no part in the choice; vs_forest_*: paired "
            "against the forest there; ECE: expected calibration error of the top-label probability. "
            + f"Probabilities: {calibration_words(selected.get('calibration', {}), KIND_WORDS)}; an ensemble "
            "averages its members'.",
            "note",
        ),
        html.table(shown, "{:.3g}"),
    ]
    return parts
