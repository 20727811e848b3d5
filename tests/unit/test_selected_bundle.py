"""The selected model's bundle answers as selection scored it: an ensemble is the mean of its members."""

import numpy as np
import pandas as pd
import pytest

from patchseq_ml.learn.baselines import build_model, fit_model
from patchseq_ml.learn.selected_model import bundle_probabilities, describe, sklearn_member, sklearn_proba

SETTINGS = {
    "n_trees": 40,
    "class_weight": "balanced",
    "logreg_c": 1.0,
    "hgb_max_iter": 30,
    "hgb_learning_rate": 0.1,
    "calibration": "temperature",
    "calibration_folds": 3,
}
CLASSES = ["Lamp5", "Pvalb", "Sst", "Vip"]


def _cells(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.choice(CLASSES, size=n)
    x = pd.DataFrame(
        rng.normal(size=(n, 4)), columns=["f1", "f2", "f3", "f4"], index=[f"c{seed}_{i}" for i in range(n)]
    )
    x["f1"] += pd.Series(y, index=x.index).map({c: k for k, c in enumerate(CLASSES)}) * 1.5
    return x, y


def _member(name, model):
    x, y = _cells(160, 0)
    return sklearn_member(
        name, fit_model(build_model(model, list(x.columns), SETTINGS, 0), x, y), list(x.columns), x, y, 0
    )


def test_an_ensemble_bundle_answers_with_the_mean_of_its_members():
    members = [_member("forest", "rf"), _member("logreg", "logreg")]
    bundle = {"model": "ensemble", "classes": CLASSES, "members": members}
    new, _ = _cells(25, 1)
    proba = bundle_probabilities(bundle, new)
    expected = np.mean([sklearn_proba(m, new, CLASSES) for m in members], axis=0)
    np.testing.assert_allclose(proba, expected)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    single = bundle_probabilities({**bundle, "members": members[:1]}, new)
    assert not np.allclose(single, proba)  # the second member counts


def test_a_missing_feature_is_imputed_and_a_bilstm_member_needs_sequences():
    member = _member("forest", "rf")
    new, _ = _cells(5, 2)
    proba = bundle_probabilities({"classes": CLASSES, "members": [member]}, new.drop(columns="f4"))
    assert proba.shape == (5, 4) and np.isfinite(proba).all()
    bilstm = {"name": "scratch", "kind": "bilstm", "checkpoint": {}}
    with pytest.raises(ValueError, match="scratch is a BiLSTM"):
        bundle_probabilities({"classes": CLASSES, "members": [member, bilstm]}, new)


def test_predict_says_which_model_answers_its_score_and_how_its_probabilities_are_calibrated():
    bundle = {
        "model": "ensemble",
        "rule": "best",
        "members": [{"name": "forest", "kind": "sklearn"}, {"name": "scratch", "kind": "bilstm"}],
        "held_out": True,
        "evaluation_seeds": [2, 3],
        "cv": {"macro_f1": 0.81234, "ci": [0.8, 0.82], "runs": 10, "ece": 0.0456},
        "calibration": {"sklearn": "temperature", "bilstm": "none"},
    }
    line = describe(bundle)
    assert line.startswith("model: ensemble (forest + scratch), chosen by best; cross-validated human macro-F1 0.812")
    assert "scikit-learn temperature-scaled on inner folds of each training set; BiLSTM uncalibrated" in line
    assert "(the mean of the members), ECE 0.046" in line
