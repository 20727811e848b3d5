"""Splits are deterministic and partition the cells; nothing fitted on a test fold can raise its score."""

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import log_loss

from patchseq_ml.learn.baselines import (
    MODELS,
    build_model,
    feature_families,
    fit_model,
    fit_predict,
    fitted_classifier,
    usable_features,
)
from patchseq_ml.learn.evaluation import bootstrap_ci, fold_metrics, summarise
from patchseq_ml.learn.splits import make_splits

SETTINGS = {
    "n_trees": 60,
    "class_weight": "balanced",
    "logreg_c": 1.0,
    "hgb_max_iter": 100,
    "hgb_learning_rate": 0.1,
    "max_missing": 0.3,
    "calibration": "temperature",  # calibrated inside the training fold: the leak test below covers it
    "calibration_folds": 3,
    "spca_components": 2,
    "spca_alpha": 1.0,
    "spca_families": {"a": "^a_", "b": "^b_"},
}
KFOLD = {"kind": "kfold", "folds": 5, "val_fraction": 0.2, "test_fraction": 0.2}


def _cells(n=200, seed=0):
    rng = np.random.default_rng(seed)
    classes = rng.choice(["Lamp5", "Pvalb", "Sst", "Vip"], size=n, p=[0.1, 0.5, 0.25, 0.15])
    return pd.DataFrame({"cell_id": [f"c{i:04d}" for i in range(n)], "subclass": classes})


def test_kfold_test_sets_partition_the_cells_and_are_stratified():
    cells = _cells()
    splits = make_splits(cells, KFOLD, seed=3)
    tests = splits[splits.role == "test"]
    assert sorted(tests.cell_id) == sorted(cells.cell_id)  # each cell tested exactly once
    for _, fold in splits.groupby("fold"):
        assert set(fold.role) == {"train", "val", "test"} and len(fold) == len(cells)
        share = fold[fold.role == "test"].subclass.value_counts(normalize=True)
        overall = cells.subclass.value_counts(normalize=True)
        assert (share - overall).abs().max() < 0.05


def test_splits_depend_on_the_seed_only():
    cells = _cells()
    a, b = make_splits(cells, KFOLD, 1), make_splits(cells.sample(frac=1, random_state=5), KFOLD, 1)
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    assert not make_splits(cells, KFOLD, 2).equals(a)


def test_holdout_is_60_20_20():
    splits = make_splits(_cells(500), {"kind": "holdout", "folds": 5, "val_fraction": 0.2, "test_fraction": 0.2}, 0)
    shares = splits.role.value_counts(normalize=True)
    assert shares["train"] == pytest.approx(0.6, abs=0.01) and shares["test"] == pytest.approx(0.2, abs=0.01)


def test_rare_classes_are_kept_as_excluded_rows():
    cells = pd.concat([_cells(), pd.DataFrame({"cell_id": ["x1", "x2"], "subclass": ["Sncg", "Sncg"]})])
    splits = make_splits(cells, KFOLD, 0)
    assert set(splits.loc[splits.role == "excluded_rare_class", "cell_id"]) == {"x1", "x2"}


def _noise_table(cells, seed=0):
    rng = np.random.default_rng(seed)
    table = cells.copy()
    for name in ["a_1", "a_2", "a_3", "b_1", "b_2", "c_1"]:
        table[name] = rng.normal(size=len(cells))
    return table


@pytest.mark.parametrize("model_name", MODELS)
def test_a_label_leak_in_the_test_fold_cannot_raise_the_score(model_name):
    """Features are noise; one column holds the true label for test cells only. A pipeline fitted on the training
    cells alone cannot use it, so the score stays at chance level."""
    cells = _cells(300)
    splits = make_splits(cells, KFOLD, 0)
    fold = splits[splits.fold == 0]
    train = fold.loc[fold.role != "test", "cell_id"].tolist()
    test = fold.loc[fold.role == "test", "cell_id"].tolist()
    table = _noise_table(cells)
    codes = table.subclass.astype("category").cat.codes.astype(float)
    leaky = table.copy()
    leaky["a_leak"] = np.where(table.cell_id.isin(test), codes * 10.0, np.random.default_rng(1).normal(size=300))
    features = [c for c in leaky.columns if c[:2] in ("a_", "b_", "c_")]
    scores = []
    for frame, names in ((table, features[:-1]), (leaky, features)):
        predictions = fit_predict(build_model(model_name, names, SETTINGS, 0), frame, names, train, test)
        classes = sorted(cells.subclass.unique())
        scores.append(fold_metrics(predictions.true.to_numpy(), predictions.pred.to_numpy(), classes)["macro_f1"])
    assert scores[1] < 0.45, scores  # chance level for 4 classes is ~0.25
    assert scores[1] - scores[0] < 0.15, scores


def test_a_real_signal_is_learned():
    cells = _cells(300)
    table = _noise_table(cells)
    table["a_1"] += table.subclass.astype("category").cat.codes * 4.0
    splits = make_splits(cells, KFOLD, 0)
    fold = splits[splits.fold == 0]
    features = ["a_1", "a_2", "a_3", "b_1", "b_2", "c_1"]
    predictions = fit_predict(
        build_model("rf_spca", features, SETTINGS, 0),
        table,
        features,
        fold.loc[fold.role != "test", "cell_id"].tolist(),
        fold.loc[fold.role == "test", "cell_id"].tolist(),
    )
    assert (predictions.true == predictions.pred).mean() > 0.8


def test_feature_selection_and_families():
    table = _noise_table(_cells(50))
    table["mostly_missing"] = np.where(np.arange(50) < 40, np.nan, 1.0)
    table["flat"] = 3.0
    kept, dropped = usable_features(table, 0.3)
    assert "mostly_missing" in dropped and dropped["flat"] == "constant" and "a_1" in kept
    assert feature_families(kept, {"a": "^a_", "b": "^b_"}) == {
        "a": ["a_1", "a_2", "a_3"],
        "b": ["b_1", "b_2"],
        "other": ["c_1"],
    }


def test_metrics_and_bootstrap():
    metrics = fold_metrics(np.array(["A", "A", "B", "B"]), np.array(["A", "B", "B", "B"]), ["A", "B"])
    assert metrics["accuracy"] == 0.75 and metrics["recall_A"] == 0.5 and metrics["precision_B"] == pytest.approx(2 / 3)
    low, high = bootstrap_ci(np.array([0.8, 0.82, 0.84, 0.86, 0.88]))
    assert 0.8 <= low < 0.84 < high <= 0.88
    per_fold = pd.DataFrame({"seed": [0, 0, 1], "fold": [0, 1, 0], "macro_f1": [0.5, 0.7, 0.6], "n_test": 10})
    row = summarise(per_fold).set_index("metric").loc["macro_f1"]
    assert row["mean"] == pytest.approx(0.6) and row["sd"] == pytest.approx(0.1) and row["n"] == 3


def test_training_subsample_is_stratified_and_leaves_test_cells_alone():
    from patchseq_ml.learn.splits import subsample_training

    fold = make_splits(_cells(400), KFOLD, 0).query("fold == 1")
    small = subsample_training(fold, 0.25, seed=4)
    train, full_train = small[small.role == "train"], fold[fold.role == "train"]
    assert len(train) == pytest.approx(0.25 * len(full_train), abs=4)
    assert set(train.subclass) == set(full_train.subclass)
    pd.testing.assert_frame_equal(small[small.role.isin(["val", "test"])], fold[fold.role.isin(["val", "test"])])
    assert subsample_training(fold, 0.25, seed=4).equals(small)


def test_fold_runs_give_each_fold_what_a_job_of_its_own_would_see():
    from patchseq_ml.learn.splits import fold_runs, fold_seed, subsample_training

    splits = make_splits(_cells(400), KFOLD, 3)
    runs = list(fold_runs(splits, 3, range(5), 0.25))
    assert [(r.fold, r.seed) for r in runs] == [(k, fold_seed(3, k)) for k in range(5)]
    for run in runs:
        alone = subsample_training(splits[splits.fold == run.fold], 0.25, fold_seed(3, run.fold))
        pd.testing.assert_frame_equal(run.rows, alone)
    assert [r.rows.equals(splits[splits.fold == r.fold]) for r in fold_runs(splits, 3, [2])] == [True]


def _signal_fold(n=400, strength=1.0, seed=0):
    cells = _cells(n, seed)
    table = _noise_table(cells, seed)
    table["a_1"] += table.subclass.astype("category").cat.codes * strength
    fold = make_splits(cells, KFOLD, 0).query("fold == 0")
    train, test = (fold.loc[fold.role.isin(r), "cell_id"].tolist() for r in (["train", "val"], ["test"]))
    return table, ["a_1", "a_2", "a_3", "b_1", "b_2", "c_1"], train, test


@pytest.mark.parametrize("model_name", ["rf", "hgb"])
def test_temperature_calibration_keeps_every_class_and_lowers_the_log_loss(model_name):
    """Temperature scaling (fitted on inner folds of the training cells) changes probabilities, not predictions; on
    held-out cells of a noisy task the trees' probabilities are miscalibrated and the log-loss falls."""
    table, features, train, test = _signal_fold()
    runs = {}
    for method in ("none", "temperature"):
        model = build_model(model_name, features, SETTINGS | {"calibration": method}, 0)
        runs[method] = fit_predict(model, table, features, train, test)
    assert runs["none"].pred.tolist() == runs["temperature"].pred.tolist()
    columns = [c for c in runs["none"].columns if c.startswith("p_")]
    losses = {m: log_loss(r.true, r[columns].clip(1e-15, 1), labels=[c[2:] for c in columns]) for m, r in runs.items()}
    assert losses["temperature"] < losses["none"] - 0.02, losses
    assert not np.allclose(runs["none"][columns], runs["temperature"][columns])


def test_calibration_folds_follow_the_smallest_class():
    table, features, train, _ = _signal_fold(200)
    x = table.set_index("cell_id").loc[train, features]
    y = table.set_index("cell_id").loc[train, "subclass"].to_numpy()
    y_two = np.where(np.arange(len(y)) < 2, "Rare", y)  # 2 training cells of one class: 2 inner folds
    model = fit_model(build_model("rf", features, SETTINGS | {"calibration_folds": 5}, 0), x, y_two)
    assert isinstance(model[-1], CalibratedClassifierCV) and model[-1].cv.n_splits == 2
    y_one = np.where(np.arange(len(y)) < 1, "Rare", y)  # one cell: no inner fold holds it, fitted uncalibrated
    model = fit_model(build_model("rf", features, SETTINGS, 0), x, y_one)
    assert not isinstance(model[-1], CalibratedClassifierCV)
    assert len(fitted_classifier(model).feature_importances_) == len(features)


def test_calibrated_forest_exposes_its_importances_and_unknown_methods_are_refused():
    table, features, train, _ = _signal_fold(200)
    indexed = table.set_index("cell_id").loc[train]
    model = fit_model(build_model("rf", features, SETTINGS, 0), indexed[features], indexed.subclass.to_numpy())
    assert np.argmax(fitted_classifier(model).feature_importances_) == 0  # a_1 carries the signal
    with pytest.raises(ValueError, match="calibration"):
        build_model("rf", features, SETTINGS | {"calibration": "platt"}, 0)
