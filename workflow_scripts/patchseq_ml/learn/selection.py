"""Model selection for human cells: candidates compared on identical folds, the winner chosen by a stated rule on
seeds whose test folds never score it.

Nesting by a held-out seed set: the split seeds are divided into *selection seeds* (``selection.seeds``) and
*evaluation seeds* (every other split seed). Everything that is decided from data -- which candidates the ensemble
averages (and how many, of the sizes in ``selection.ensemble_top``) and which candidate wins -- is decided on the
test folds of the selection seeds only; the winner's cross-validated score (what the report and `predict` print)
comes from the test folds of the evaluation seeds, which take no part in the decision. So a candidate that is
better only on the folds that score it (a leak planted in an evaluation fold) cannot be chosen for it
(tests/unit/test_selection.py). The seeds are re-partitions of the same cells: this keeps the decision off the
scoring folds, it does not make the cells independent (the optimism of picking the best of a few candidates on the
same cells remains; the rule below is biased towards the simpler).

Rule ``simplest_within_ci``: the best candidate by mean macro-F1 over the selection runs; every candidate whose
paired difference to it (same seeds and folds, 95 % bootstrap CI over the runs) reaches 0 is tied with it; of the
tied, the first in ``simplicity`` order wins. Rule ``best``: the highest mean. With a single split seed there is
no evaluation seed: the score is then that of the selection seeds and flagged ``held_out: false``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .evaluation import per_fold_table, summarise
from .paired_stats import paired_differences

ENSEMBLE = "ensemble"
RULES = ("simplest_within_ci", "best")


def seed_sets(split_seeds: list[int], selection_seeds: list[int]) -> tuple[list[int], list[int], bool]:
    """(selection seeds, evaluation seeds, held out?): the evaluation seeds are the split seeds not used for
    selection; when none is left, the selection seeds score too (not held out)."""
    chosen = [s for s in split_seeds if s in set(selection_seeds)]
    if not chosen:
        raise ValueError(f"selection.seeds {selection_seeds} has none of the split seeds {split_seeds}")
    rest = [s for s in split_seeds if s not in set(chosen)]
    return chosen, (rest or chosen), bool(rest)


def probability_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("p_")]


def average_probabilities(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The ensemble's predictions: per (seed, fold, cell) the mean of its members' class probabilities (the same
    classes; no weight is fitted, so nothing is learnt from any test fold), ``pred`` their argmax."""
    key = ["seed", "fold", "cell_id"]
    base = frames[0].sort_values(key).reset_index(drop=True)
    columns = probability_columns(base)
    total = base[columns].to_numpy(float)
    for frame in frames[1:]:
        other = frame.sort_values(key).reset_index(drop=True)
        if not other[key].equals(base[key]) or sorted(probability_columns(other)) != sorted(columns):
            raise ValueError("ensemble members must predict the same cells of the same runs with the same classes")
        total = total + other[columns].to_numpy(float)
    out = base[[*key, "true"]].copy()
    proba = total / len(frames)
    classes = np.array([c[2:] for c in columns])
    out["pred"] = classes[proba.argmax(axis=1)]
    for k, column in enumerate(columns):
        out[column] = proba[:, k]
    return out


def per_fold_scores(predictions: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Metrics per (method, seed, fold) of every candidate's test-fold predictions."""
    tables = []
    for method, frame in predictions.items():
        classes = sorted(frame["true"].unique())
        tables.append(per_fold_table(frame, classes).assign(method=method))
    return pd.concat(tables, ignore_index=True)


def rank(per_fold: pd.DataFrame, seeds: list[int], metric: str = "macro_f1") -> pd.Series:
    """Mean ``metric`` per method over the runs of ``seeds``, best first."""
    inside = per_fold[per_fold.seed.isin(seeds)]
    return inside.groupby("method")[metric].mean().sort_values(ascending=False, kind="stable")


def ensemble_members(per_fold: pd.DataFrame, seeds: list[int], top: int) -> list[str]:
    """The ``top`` best candidates on the selection ``seeds`` (what the ensemble averages)."""
    return rank(per_fold[per_fold.method != ENSEMBLE], seeds).index[:top].tolist()


def ensemble_sizes(top: int | list[int]) -> list[int]:
    """The ensemble sizes tried (``selection.ensemble_top``: one size or a list; sizes below 2 mean none)."""
    return sorted({k for k in ([top] if isinstance(top, int) else top) if k >= 2})


def best_ensemble(
    predictions: dict[str, pd.DataFrame], per_fold: pd.DataFrame, seeds: list[int], sizes: list[int]
) -> tuple[list[str], pd.DataFrame | None]:
    """Of the ensembles of the best k candidates (k in ``sizes``, ranked on the selection ``seeds``), the one with
    the highest mean macro-F1 on those seeds, the smaller on a tie: (members, its predictions); ([], None) when
    no size has 2 candidates. The evaluation seeds take no part."""
    best: tuple[list[str], pd.DataFrame | None, float] = ([], None, -np.inf)
    for k in sizes:
        members = ensemble_members(per_fold, seeds, k)
        if len(members) < 2 or members == best[0]:
            continue
        frame = average_probabilities([predictions[m] for m in members])
        scores = per_fold_scores({ENSEMBLE: frame})
        mean = float(scores.loc[scores.seed.isin(seeds), "macro_f1"].mean())
        if mean > best[2]:
            best = (members, frame, mean)
    return best[0], best[1]


def choose(
    per_fold: pd.DataFrame, seeds: list[int], rule: str, simplicity: list[str], metric: str = "macro_f1"
) -> tuple[str, pd.DataFrame]:
    """The winner under ``rule`` on the runs of ``seeds`` only, and the decision table (per method: mean on the
    selection runs, paired difference to the best with CI and p, tied or not)."""
    if rule not in RULES:
        raise ValueError(f"unknown selection rule {rule!r} (known: {RULES})")
    inside = per_fold[per_fold.seed.isin(seeds)]
    means = rank(inside, seeds, metric)
    best = means.index[0]
    paired = paired_differences(inside, best, metric).set_index("method")
    table = pd.DataFrame({"method": means.index, "selection_mean": means.to_numpy()})
    for column in ("mean_difference", "ci_low", "ci_high", "wilcoxon_p"):
        table["vs_best_" + column.replace("mean_", "")] = table.method.map(paired[column]) if len(paired) else np.nan
    table.loc[table.method == best, "vs_best_difference"] = 0.0
    # tied with the best: its paired CI reaches 0 (a CI that cannot be computed, with a single run, ties nothing)
    table["tied_with_best"] = (table.method == best) | (table.vs_best_ci_high >= 0)
    if rule == "best":
        winner = best
    else:
        order = {m: k for k, m in enumerate(simplicity)}
        tied = table[table.tied_with_best]
        winner = min(tied.method, key=lambda m: (order.get(m, len(order)), -means[m]))
    table["chosen"] = table.method == winner
    return winner, table


def evaluation_table(
    per_fold: pd.DataFrame, seeds: list[int], reference: str, metric: str = "macro_f1"
) -> pd.DataFrame:
    """Per method on the runs of the evaluation ``seeds``: mean, SD, 95 % CI, accuracy, and the paired difference to
    ``reference`` (the forest) with CI, p, wins and losses."""
    inside = per_fold[per_fold.seed.isin(seeds)]
    rows = []
    for method, group in inside.groupby("method", sort=False):
        summary = summarise(group[["seed", "fold", metric, "accuracy"]]).set_index("metric")
        score = summary.loc[metric]
        rows.append(
            {"method": method, **{f"eval_{k}": score[k] for k in ("mean", "sd", "ci_low", "ci_high")}}
            | {"eval_accuracy": summary.loc["accuracy", "mean"], "eval_runs": int(score["n"])}
        )
    table = pd.DataFrame(rows)
    paired = paired_differences(inside, reference, metric)
    if len(paired):
        paired = paired.set_index("method")
        for column in ("mean_difference", "ci_low", "ci_high", "wilcoxon_p", "wins", "losses"):
            table[f"vs_{reference}_{column.replace('mean_', '')}"] = table.method.map(paired[column])
        table.loc[table.method == reference, f"vs_{reference}_difference"] = 0.0
    return table


def per_class_f1(per_fold: pd.DataFrame, method: str, seeds: list[int]) -> dict[str, float]:
    """Mean F1 of each class of ``method`` over the runs of ``seeds``."""
    rows = per_fold[(per_fold.method == method) & per_fold.seed.isin(seeds)]
    return {c[3:]: float(rows[c].mean()) for c in rows.columns if c.startswith("f1_") and rows[c].notna().any()}


def run_selection(
    predictions: dict[str, pd.DataFrame], settings: dict, split_seeds: list[int], reference: str
) -> tuple[str, list[str], pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """Selection as rule select_model runs it, from every candidate's test-fold predictions on every split seed:
    (winner, ensemble members, candidate table, per-fold scores, predictions with the ensemble's added).
    ``settings``: the ``selection`` config section; ``reference``: the candidate paired against on evaluation."""
    selection_seeds, evaluation_seeds, _ = seed_sets(split_seeds, settings["seeds"])
    predictions = dict(predictions)
    per_fold = per_fold_scores(predictions)
    members, frame = best_ensemble(predictions, per_fold, selection_seeds, ensemble_sizes(settings["ensemble_top"]))
    if members:
        predictions[ENSEMBLE] = frame
        per_fold = pd.concat([per_fold, per_fold_scores({ENSEMBLE: frame})], ignore_index=True)
    winner, decision = choose(per_fold, selection_seeds, settings["rule"], settings["simplicity"])
    table = decision.merge(evaluation_table(per_fold, evaluation_seeds, reference), on="method", how="left")
    return winner, members, table, per_fold, predictions
