"""Calibration of predicted class probabilities: reliability bins and expected calibration error (ECE).

Top-label calibration: a prediction's confidence is its highest class probability; within each confidence bin a
well-calibrated model is right as often as it is confident. ECE = sum over bins of (n_bin / n) * |accuracy - confidence|
(Naeini et al. 2015; Guo et al. 2017), in probability units (0 = perfectly calibrated).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def confidence_and_correct(predictions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Top-label confidence and correctness of a predictions table with ``true``, ``pred`` and ``p_{class}``."""
    columns = [c for c in predictions.columns if c.startswith("p_")]
    if not columns:
        raise ValueError("predictions carry no class probabilities (p_* columns)")
    confidence = predictions[columns].to_numpy(float).max(axis=1)
    correct = (predictions["true"].astype(str) == predictions["pred"].astype(str)).to_numpy()
    return confidence, correct


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, n_bins: int) -> pd.DataFrame:
    """Equal-width confidence bins on [0, 1]: count, mean confidence and accuracy per bin (empty bins kept, NaN)."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        inside = index == b
        rows.append(
            {
                "bin_low": edges[b],
                "bin_high": edges[b + 1],
                "n": int(inside.sum()),
                "confidence": float(confidence[inside].mean()) if inside.any() else np.nan,
                "accuracy": float(correct[inside].mean()) if inside.any() else np.nan,
            }
        )
    return pd.DataFrame(rows)


def expected_calibration_error(bins: pd.DataFrame) -> float:
    """ECE of a ``reliability_bins`` table (probability units)."""
    filled = bins[bins.n > 0]
    if filled.empty:
        return float("nan")
    weights = filled.n / filled.n.sum()
    return float((weights * (filled.accuracy - filled.confidence).abs()).sum())


def calibration_summary(predictions: pd.DataFrame, n_bins: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """Reliability bins of the pooled predictions and the ECE: pooled, and mean/SD over (seed, fold) runs."""
    confidence, correct = confidence_and_correct(predictions)
    bins = reliability_bins(confidence, correct, n_bins)
    per_run = [
        expected_calibration_error(reliability_bins(*confidence_and_correct(group), n_bins))
        for _, group in predictions.groupby(["seed", "fold"], sort=True)
    ]
    summary = {
        "ece": expected_calibration_error(bins),
        "ece_run_mean": float(np.mean(per_run)),
        "ece_run_sd": float(np.std(per_run, ddof=1)) if len(per_run) > 1 else 0.0,
        "mean_confidence": float(confidence.mean()),
        "accuracy": float(correct.mean()),
        "n_predictions": int(confidence.size),
        "n_runs": len(per_run),
    }
    return bins, summary


KIND_WORDS = {"sklearn": "scikit-learn", "bilstm": "BiLSTM"}
CALIBRATION_WORDS = {
    ("sklearn", "temperature"): "temperature-scaled on inner folds of each training set",
    ("sklearn", "sigmoid"): "sigmoid-calibrated per class on inner folds of each training set",
    ("sklearn", "isotonic"): "isotonic-calibrated per class on inner folds of each training set",
    ("bilstm", "temperature"): "temperature-scaled on the validation cells",
}


def calibration_words(calibration: dict, kinds) -> str:
    """How the probabilities of each member kind in ``kinds`` are calibrated, in words (``calibration``: the
    method per kind, as selection recorded it)."""
    return "; ".join(
        f"{KIND_WORDS[k]} {CALIBRATION_WORDS.get((k, calibration.get(k, 'none')), 'uncalibrated')}" for k in kinds
    )
