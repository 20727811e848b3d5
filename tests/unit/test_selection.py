"""Model selection (learn/selection.py): seed sets, the ensemble, the rule, and that a label leak planted in the
test folds that score the winner cannot raise the selected model's score."""

import numpy as np
import pandas as pd
import pytest

from patchseq_ml.learn import selection

CLASSES = ["Lamp5", "Pvalb", "Sst", "Vip"]
SETTINGS = {
    "seeds": [0, 1],
    "ensemble_top": 2,
    "rule": "simplest_within_ci",
    "simplicity": ["forest", "hgb", "ensemble", "scratch", "leaky"],
}
SEEDS = [0, 1, 2, 3]


def _predictions(rng, accuracy, seeds=SEEDS, folds=5, cells=40, perfect_seeds=()):
    """Test-fold predictions: each cell right with probability ``accuracy`` (its probability mass mostly on the
    predicted class); on ``perfect_seeds`` every cell right with certainty (a leak: the test labels themselves)."""
    rows = []
    for seed in seeds:
        for fold in range(folds):
            for i in range(cells):
                true = CLASSES[(i + fold) % 4]
                right = seed in perfect_seeds or rng.random() < accuracy
                pred = true if right else CLASSES[(CLASSES.index(true) + 1 + int(rng.integers(3))) % 4]
                p = np.full(4, 0.1 if seed not in perfect_seeds else 0.0)
                p[CLASSES.index(pred)] = 0.7 if seed not in perfect_seeds else 1.0
                rows.append(
                    {"seed": seed, "fold": fold, "cell_id": f"c{fold}_{i:03d}", "true": true, "pred": pred}
                    | {f"p_{c}": v for c, v in zip(CLASSES, p)}
                )
    return pd.DataFrame(rows)


@pytest.fixture
def honest():
    rng = np.random.default_rng(3)
    return {"forest": _predictions(rng, 0.78), "hgb": _predictions(rng, 0.80), "scratch": _predictions(rng, 0.65)}


def test_seed_sets_hold_out_the_other_split_seeds():
    assert selection.seed_sets([0, 1, 2, 3], [1]) == ([1], [0, 2, 3], True)
    assert selection.seed_sets([0], [0]) == ([0], [0], False)  # one split seed: flagged, not held out
    with pytest.raises(ValueError, match="none of the split seeds"):
        selection.seed_sets([0, 1], [5])


def test_ensemble_averages_member_probabilities(honest):
    mean = selection.average_probabilities([honest["forest"], honest["hgb"]])
    key = ["seed", "fold", "cell_id"]
    a, b = (honest[m].sort_values(key).reset_index(drop=True) for m in ("forest", "hgb"))
    np.testing.assert_allclose(mean["p_Sst"], (a["p_Sst"] + b["p_Sst"]) / 2)
    assert (mean.pred == mean[[f"p_{c}" for c in CLASSES]].idxmax(axis=1).str[2:]).all()
    with pytest.raises(ValueError, match="same cells"):
        selection.average_probabilities([honest["forest"], honest["hgb"].iloc[1:]])


def test_rule_prefers_the_simpler_model_within_the_ci_of_the_best():
    rows = []
    for seed in (0, 1):
        for fold in range(5):
            noise = 0.02 * ((fold % 2) * 2 - 1)
            rows += [
                {"method": "hgb", "seed": seed, "fold": fold, "macro_f1": 0.81 + noise},
                {"method": "forest", "seed": seed, "fold": fold, "macro_f1": 0.80 - noise},  # tied with the best
                {"method": "scratch", "seed": seed, "fold": fold, "macro_f1": 0.70 + noise / 4},  # clearly worse
            ]
    per_fold = pd.DataFrame(rows)
    winner, table = selection.choose(per_fold, [0, 1], "simplest_within_ci", ["forest", "hgb", "scratch"])
    assert winner == "forest"
    assert table.set_index("method").tied_with_best.to_dict() == {"hgb": True, "forest": True, "scratch": False}
    assert selection.choose(per_fold, [0, 1], "best", [])[0] == "hgb"


def test_selection_decides_on_the_selection_seeds_and_scores_on_the_others(honest):
    winner, members, table, per_fold, predictions = selection.run_selection(honest, SETTINGS, SEEDS, "forest")
    assert set(members) <= {"forest", "hgb", "scratch"} and len(members) == 2 and "ensemble" in predictions
    row = table.set_index("method").loc[winner]
    expected = per_fold[(per_fold.method == winner) & per_fold.seed.isin([2, 3])].macro_f1.mean()
    assert row.eval_mean == pytest.approx(expected) and row.eval_runs == 10


def test_a_label_leak_in_the_scoring_folds_cannot_raise_the_selected_models_score(honest):
    """A candidate that knows the test labels of the evaluation seeds (a leak planted there), and is weak where the
    choice is made, is not chosen, and the selected model and its score stay exactly what they were without it;
    a selection that looked at the scoring folds would have picked it (the test has teeth)."""
    rng = np.random.default_rng(11)
    leaky = {**honest, "leaky": _predictions(rng, 0.5, perfect_seeds=(2, 3))}
    clean = selection.run_selection(honest, SETTINGS, SEEDS, "forest")
    leaked = selection.run_selection(leaky, SETTINGS, SEEDS, "forest")
    assert leaked[0] == clean[0] != "leaky"
    assert leaked[1] == clean[1]  # the ensemble's members too
    score = {name: run[2].set_index("method").loc[run[0], "eval_mean"] for name, run in (("c", clean), ("l", leaked))}
    assert score["l"] == score["c"]
    assert leaked[2].set_index("method").loc["leaky", "eval_mean"] == 1.0  # the leak is there, on the scoring folds
    naive = selection.choose(leaked[3], [2, 3], "best", [])[0]  # a choice made on the scoring folds picks it
    assert naive == "leaky"


def test_report_opening_names_the_model_and_survives_missing_statistics():
    """The transfer section's answer with a p-value that could not be computed (too few runs) and a transfer method
    that beats the best human-only model at one fraction."""
    from patchseq_ml.present import selection_section

    chosen = {
        "model": "hgb",
        "members": [{"name": "hgb", "kind": "sklearn"}],
        "rule": "simplest_within_ci",
        "selection_seeds": [0],
        "evaluation_seeds": [1],
        "held_out": True,
        "cv": {"macro_f1": 0.5, "ci": [0.4, 0.6], "runs": 3, "accuracy": 0.6, "ece": 0.1},
        "per_class_f1": {"Pvalb": 0.5},
        "vs_forest": {"difference": 0.01, "ci_low": None, "ci_high": None, "wilcoxon_p": None, "wins": 1, "losses": 1},
    }
    curve = pd.DataFrame(
        {
            "fraction": [0.1, 0.1, 0.5],
            "method": ["joint", "scratch", "joint"],
            "reference": ["forest"] * 3,
            "n_pairs": [5, 5, 5],
            "mean_difference": [0.05, -0.1, -0.02],
            "ci_low": [0.01, -0.2, -0.05],
            "ci_high": [0.1, 0.0, 0.01],
            "wilcoxon_p": [0.01, 0.5, 0.3],
        }
    )
    text = "\n".join(selection_section.opening(chosen, pd.DataFrame({"method": ["hgb"]}), curve, ["forest", "scratch"]))
    assert text.startswith("<p>Use hgb for human cells: cross-validated macro-F1 0.500")
    assert "Wilcoxon p n/a" in text and "Mouse data helped at these fractions" in text and "0.1 (joint: +0.050)" in text
    verdict, _ = selection_section.mouse_verdict(curve[curve.fraction == 0.5], ["forest", "scratch"])
    assert verdict.startswith("Mouse data helped nowhere")


def _leaky_third(rng):
    """Two honest candidates and a third that is poor on the selection seeds 0-1 and knows the labels on 2-3."""
    third = pd.concat(
        [_predictions(rng, 0.10, seeds=[0, 1]), _predictions(rng, 0.0, seeds=[2, 3], perfect_seeds=[2, 3])]
    )
    return {"forest": _predictions(rng, 0.78), "hgb": _predictions(rng, 0.80), "third": third}


def test_the_ensemble_size_is_chosen_on_the_selection_seeds_only():
    candidates = _leaky_third(np.random.default_rng(5))
    settings = SETTINGS | {"ensemble_top": [2, 3]}
    _, members, table, per_fold, _ = selection.run_selection(candidates, settings, SEEDS, "forest")
    assert sorted(members) == ["forest", "hgb"]  # adding the third lowers the selection-seed mean
    # the check can fail: on the evaluation seeds the three-member ensemble would have won
    three = selection.per_fold_scores({"e": selection.average_probabilities(list(candidates.values()))})
    two = per_fold[per_fold.method == "ensemble"]
    assert three[three.seed >= 2].macro_f1.mean() > two[two.seed >= 2].macro_f1.mean()
    assert selection.ensemble_sizes(3) == [3] and selection.ensemble_sizes([0, 3, 2, 2]) == [2, 3]


def test_a_larger_ensemble_that_scores_better_on_the_selection_seeds_is_kept():
    rng = np.random.default_rng(7)
    candidates = {m: _predictions(rng, a) for m, a in (("forest", 0.70), ("hgb", 0.72), ("scratch", 0.68))}
    settings = SETTINGS | {"ensemble_top": [2, 3]}
    _, members, _, per_fold, _ = selection.run_selection(candidates, settings, SEEDS, "forest")
    pairs = selection.per_fold_scores({"e": selection.average_probabilities([candidates["hgb"], candidates["forest"]])})
    assert len(members) == 3  # independent errors: three votes beat two on the selection seeds
    ensemble = per_fold[per_fold.method == "ensemble"]
    assert ensemble[ensemble.seed < 2].macro_f1.mean() > pairs[pairs.seed < 2].macro_f1.mean()
