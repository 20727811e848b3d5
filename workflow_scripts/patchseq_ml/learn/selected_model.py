"""The deployed human model: the winner of model selection (results/select/human/selected.json) fitted on every
labelled human cell, as one bundle that `predict` reads (results/model/human/selected.joblib).

A bundle holds each member (a scikit-learn pipeline on the scalar features, or a BiLSTM checkpoint payload on the
families or feature groups), the classes, the extraction settings of the run (NWB sources), the winner's
cross-validated score on the evaluation seeds, and per scikit-learn member its global feature importances (the
forest's impurity importances; permutation importances on the training cells for other models). An ensemble's
probability is the mean of its members' probabilities, as in selection. Bundles are pickles (joblib): load only
bundles this workflow wrote.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from .baselines import fitted_classifier
from .calibration import calibration_words

BUNDLE_FORMAT = "patchseq_ml.selected.v1"
TOP_FEATURES = 3


class BundleError(ValueError):
    """A file that is not a selected-model bundle of this workflow."""


def importances(pipeline, x: pd.DataFrame, y: np.ndarray, seed: int) -> tuple[str, dict[str, float]]:
    """Global importances of a fitted pipeline's features: the forest's own (impurity, sums to 1), else the mean
    rise of the log-loss when a feature is permuted (training cells, 3 repeats; the log-loss, not the accuracy,
    which a model that fits its training cells perfectly keeps whatever one feature does)."""
    last = fitted_classifier(pipeline)
    if hasattr(last, "feature_importances_"):
        return "forest impurity importance", dict(zip(x.columns, map(float, last.feature_importances_)))
    result = permutation_importance(pipeline, x, y, scoring="neg_log_loss", n_repeats=3, random_state=seed, n_jobs=1)
    return "permutation importance (log-loss)", dict(zip(x.columns, map(float, result.importances_mean)))


def sklearn_member(name: str, pipeline, features: list[str], x: pd.DataFrame, y: np.ndarray, seed: int) -> dict:
    kind, values = importances(pipeline, x, y, seed)
    return {
        "name": name,
        "kind": "sklearn",
        "pipeline": pipeline,
        "features": features,
        "importance_kind": kind,
        "importances": values,
    }


def save_bundle(path: str | Path, bundle: dict) -> None:
    tmp = Path(path).with_suffix(".tmp")
    joblib.dump({"format": BUNDLE_FORMAT, **bundle}, tmp)
    tmp.replace(path)


def is_bundle(path: str | Path) -> bool:
    """A selected-model bundle (by its suffix; `load_bundle` checks the content)."""
    return Path(path).suffix == ".joblib"


def load_bundle(path: str | Path) -> dict:
    try:
        bundle = joblib.load(path)
    except Exception as error:  # noqa: BLE001 (pickle raises many types for a foreign file)
        raise BundleError(f"{path}: not a readable selected-model bundle ({type(error).__name__})") from None
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path}: not a {BUNDLE_FORMAT} bundle")
    return bundle


def sklearn_proba(member: dict, features: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """Class probabilities (columns in ``classes`` order) of a scikit-learn member for cells x named features
    (features the table lacks are missing values, imputed as in training)."""
    x = features.reindex(columns=member["features"]).astype(float)
    proba = member["pipeline"].predict_proba(x)
    order = [list(member["pipeline"].classes_).index(c) for c in classes]
    return proba[:, order]


def bundle_probabilities(bundle: dict, features: pd.DataFrame, sequences=None, device="cpu") -> np.ndarray:
    """Class probabilities (columns in ``bundle["classes"]`` order) of the bundle's model for the cells of
    ``features`` (rows indexed by cell id, named feature columns): the mean over its members, as in selection.
    ``sequences``: the run's sequence source of these cells (``sequence_sources.open_source``), needed only when a
    member is a BiLSTM (encoded with the standardisation stored in its checkpoint)."""
    from .deployment import predict_encoded, scaler_from_dict
    from .training import model_from_payload

    classes, ids, probas = bundle["classes"], features.index.astype(str).tolist(), []
    for member in bundle["members"]:
        if member["kind"] == "sklearn":
            probas.append(sklearn_proba(member, features, classes))
            continue
        if sequences is None:
            raise ValueError(f"member {member['name']} is a BiLSTM: its cells' sequences are needed")
        model, meta = model_from_payload(member["checkpoint"])
        model.to(device)
        x, mask = sequences.encode(ids, scaler_from_dict(meta["layout"]["kind"], meta["scaler"]))
        frame = predict_encoded(model, x, mask, "human", meta["classes"], device)
        probas.append(frame[[f"p_{c}" for c in classes]].to_numpy(float))
    return np.mean(probas, axis=0)


def top_importances(bundle: dict, n: int = TOP_FEATURES) -> tuple[str, list[dict]] | None:
    """The ``n`` most important features of the bundle's first scikit-learn member (a forest if it has one)."""
    members = [m for m in bundle["members"] if m["kind"] == "sklearn"]
    if not members:
        return None
    member = next((m for m in members if m["importance_kind"].startswith("forest")), members[0])
    ranked = sorted(member["importances"].items(), key=lambda kv: -kv[1])[:n]
    return f"{member['name']} {member['importance_kind']}", [{"feature": f, "importance": v} for f, v in ranked]


def describe(bundle: dict) -> str:
    """One line: which model answers, its cross-validated macro-F1 and how its probabilities are calibrated."""
    cv = bundle["cv"]
    members = " + ".join(m["name"] for m in bundle["members"])
    what = bundle["model"] if members == bundle["model"] else f"{bundle['model']} ({members})"
    seeds = "held-out evaluation seeds" if bundle["held_out"] else "the selection seeds (no held-out seed)"
    kinds = dict.fromkeys(m["kind"] for m in bundle["members"])
    averaged = " (the mean of the members)" if len(bundle["members"]) > 1 else ""
    return (
        f"model: {what}, chosen by {bundle['rule']}; cross-validated human macro-F1 {cv['macro_f1']:.3f} "
        f"(95 % CI {cv['ci'][0]:.3f}-{cv['ci'][1]:.3f}, {cv['runs']} runs on {seeds} {bundle['evaluation_seeds']}); "
        f"probabilities: {calibration_words(bundle.get('calibration', {}), kinds)}{averaged}, ECE {cv['ece']:.3f}"
    )
