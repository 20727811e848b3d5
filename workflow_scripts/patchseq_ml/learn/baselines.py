"""Baseline classifiers (scikit-learn), every step fitted inside the training fold (one Pipeline).

- ``rf_spca``: Gouwens et al. 2020 style: per feature family impute (median) -> standardise -> sparse PCA, then a
  random forest (500 trees);
- ``rf``: the same forest on the standardised features;
- ``logreg``: multinomial logistic regression on the standardised features;
- ``hgb``: class-weighted histogram gradient boosting on the raw features (missing values handled natively, no
  scaling: trees are invariant to monotone transforms).

Probabilities are calibrated inside the training fold (``baseline.calibration``): the classifier step is wrapped in
scikit-learn's ``CalibratedClassifierCV`` with ``ensemble=False``: the calibration map is fitted on out-of-fold
probabilities of ``calibration_folds`` stratified inner folds of the training cells, and the classifier itself is
fitted on all training cells. ``temperature`` (one scale for all classes, Guo et al. 2017) keeps every prediction's
class, so only the probabilities change; ``sigmoid`` / ``isotonic`` calibrate each class one-vs-rest (the argmax
may move).
"""

from __future__ import annotations

import logging
import re
from collections import Counter

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import SparsePCA
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

MODELS = ("rf_spca", "rf", "logreg", "hgb")
CALIBRATION = ("none", "temperature", "sigmoid", "isotonic")
log = logging.getLogger(__name__)


def usable_features(table: pd.DataFrame, max_missing: float) -> tuple[list[str], dict[str, str]]:
    """Numeric feature columns kept, and the reason for each one dropped (label-free, so no fold can leak)."""
    numeric = [c for c in table.columns if c not in ("cell_id", "subclass", "exclusion", "status")]
    kept, dropped = [], {}
    for name in numeric:
        values = pd.to_numeric(table[name], errors="coerce")
        missing = float(values.isna().mean())
        if missing > max_missing:
            dropped[name] = f"missing in {missing:.0%} of cells (> {max_missing:.0%})"
        elif values.nunique(dropna=True) < 2:
            dropped[name] = "constant"
        else:
            kept.append(name)
    return kept, dropped


def feature_families(features: list[str], families: dict[str, str]) -> dict[str, list[str]]:
    """Assign each feature to the first family whose regular expression matches its name ('other' otherwise)."""
    groups: dict[str, list[str]] = {name: [] for name in families}
    groups["other"] = []
    for feature in features:
        family = next((f for f, pattern in families.items() if re.search(pattern, feature)), "other")
        groups[family].append(feature)
    return {k: v for k, v in groups.items() if v}


def _scaled() -> list:
    return [SimpleImputer(strategy="median"), StandardScaler()]


def calibrated(classifier, settings: dict, seed: int):
    """``classifier`` wrapped in the calibration of ``settings["calibration"]`` (itself for ``none``)."""
    method = settings["calibration"]
    if method not in CALIBRATION:
        raise ValueError(f"unknown baseline.calibration {method!r} (known: {CALIBRATION})")
    if method == "none":
        return classifier
    inner = StratifiedKFold(settings["calibration_folds"], shuffle=True, random_state=seed)
    return CalibratedClassifierCV(classifier, method=method, cv=inner, ensemble=False)


def fitted_classifier(pipeline: Pipeline):
    """The fitted classifier of a pipeline (inside its calibration wrapper, if any)."""
    last = pipeline[-1]
    return last.calibrated_classifiers_[0].estimator if isinstance(last, CalibratedClassifierCV) else last


def fit_model(model: Pipeline, x: pd.DataFrame, y: np.ndarray) -> Pipeline:
    """Fit ``model`` (fresh from ``build_model``: its last step may be replaced in place) on cells ``x`` with labels
    ``y``. The inner calibration folds are capped at the smallest class's count (each inner fold needs every
    class); with fewer than 2 cells in a class the classifier is fitted uncalibrated, and the log says so."""
    last = model[-1]
    if isinstance(last, CalibratedClassifierCV):
        smallest = min(Counter(y).values())
        if smallest < 2:
            log.warning("calibration skipped: a class has %d training cell(s); uncalibrated probabilities", smallest)
            model.steps[-1] = (model.steps[-1][0], last.estimator)
        elif smallest < last.cv.n_splits:
            log.info("calibration folds %d -> %d (smallest class)", last.cv.n_splits, smallest)
            last.set_params(cv=StratifiedKFold(smallest, shuffle=True, random_state=last.cv.random_state))
    return model.fit(x, y)


def build_model(name: str, features: list[str], settings: dict, seed: int) -> Pipeline:
    """An unfitted pipeline; ``settings`` is the ``baseline`` config section."""
    forest = calibrated(
        RandomForestClassifier(
            n_estimators=settings["n_trees"], class_weight=settings["class_weight"], random_state=seed, n_jobs=1
        ),
        settings,
        seed,
    )
    if name == "rf":
        return make_pipeline(*_scaled(), forest)
    if name == "hgb":
        hgb = HistGradientBoostingClassifier(
            max_iter=settings["hgb_max_iter"],
            learning_rate=settings["hgb_learning_rate"],
            class_weight=settings["class_weight"],
            early_stopping=False,
            random_state=seed,
        )
        return make_pipeline(calibrated(hgb, settings, seed))
    if name == "logreg":
        logreg = LogisticRegression(max_iter=5000, class_weight=settings["class_weight"], C=settings["logreg_c"])
        return make_pipeline(*_scaled(), calibrated(logreg, settings, seed))
    if name == "rf_spca":
        blocks = []
        for family, columns in feature_families(features, settings["spca_families"]).items():
            n_components = max(1, min(settings["spca_components"], len(columns) - 1)) if len(columns) > 1 else 1
            spca = SparsePCA(n_components=n_components, alpha=settings["spca_alpha"], random_state=seed)
            blocks.append((family, make_pipeline(*_scaled(), spca), columns))
        return Pipeline([("spca", ColumnTransformer(blocks)), ("forest", forest)])
    raise ValueError(f"unknown baseline model {name!r} (known: {MODELS})")


def fit_predict(
    model: Pipeline, table: pd.DataFrame, features: list[str], train_ids: list[str], test_ids: list[str]
) -> pd.DataFrame:
    """Fit on the training cells, predict the test cells: ``cell_id, true, pred, p_<class>...``. One thread (a job
    holds one core: OpenMP in gradient boosting would otherwise spin on every core of a shared machine)."""
    with threadpool_limits(1):
        return _fit_predict(model, table, features, train_ids, test_ids)


def _fit_predict(model, table, features, train_ids, test_ids) -> pd.DataFrame:
    indexed = table.set_index("cell_id")
    x_train = indexed.loc[train_ids, features].astype(float)  # a DataFrame: families select columns by name
    y_train = indexed.loc[train_ids, "subclass"].to_numpy()
    fit_model(model, x_train, y_train)
    x_test = indexed.loc[test_ids, features].astype(float)
    proba = model.predict_proba(x_test)
    classes = model.classes_
    out = pd.DataFrame(
        {
            "cell_id": test_ids,
            "true": indexed.loc[test_ids, "subclass"].to_numpy(),
            "pred": classes[np.argmax(proba, axis=1)],
        }
    )
    for k, cls in enumerate(classes):
        out[f"p_{cls}"] = proba[:, k]
    return out
