"""The deployable human model: one strategy trained on every labelled human cell, and what reading it back needs.

Cross-validated numbers (results/finetune) estimate how well this model does; the model itself is trained on the
training and test cells of fold 0 of the chosen seed together, keeping that fold's validation cells for early
stopping, so `predict` uses everything the study has.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..tsv import read_tsv
from .model import AttentionBiLSTM
from .sequence_sources import FamilyStandardiser
from .sequences import Standardiser
from .training import calibrate_head, macro_f1, pick_device, seed_everything
from .transfer import fold_data, mouse_rows, open_pretrained, predictions, run_strategy

LABELLED_ROLES = ("train", "val", "test")


def deployment_fold(splits: pd.DataFrame) -> pd.DataFrame:
    """Fold 0 of a split table with its test cells moved into training (validation kept for early stopping)."""
    fold = splits[splits.fold == 0].copy()
    fold.loc[fold.role == "test", "role"] = "train"
    return fold


def labelled_cells(splits: pd.DataFrame) -> pd.DataFrame:
    """``cell_id, subclass`` of every cell of a split table with a class the models learn (fold 0 rows)."""
    fold = splits[(splits.fold == 0) & splits.role.isin(LABELLED_ROLES)]
    return fold[["cell_id", "subclass"]].reset_index(drop=True)


def scaler_from_dict(kind: str, data: dict) -> FamilyStandardiser | Standardiser:
    """A stored standardisation, for a checkpoint's input ``kind`` ('families' or 'features')."""
    if kind == "families":
        return FamilyStandardiser.from_dict(data)
    return Standardiser.from_dict(data)


def unlabelled_ids(features: pd.DataFrame) -> list[str]:
    """Extracted cells that no model trains or tests on: no label, or a label outside the classes."""
    ok = features["status"] == "ok"
    return features.loc[ok & (features["exclusion"].fillna("") != ""), "cell_id"].astype(str).tolist()


def probability_frame(proba, classes: list[str]) -> pd.DataFrame:
    """``predicted``, its ``probability`` and every class probability (``p_{class}``) of cells x ``classes``."""
    import numpy as np

    frame = pd.DataFrame(proba, columns=[f"p_{c}" for c in classes])
    frame.insert(0, "probability", proba.max(axis=1) if len(proba) else np.zeros(0))
    frame.insert(0, "predicted", [classes[i] for i in proba.argmax(axis=1)] if len(proba) else [])
    return frame


def predict_encoded(model, x, mask, head: str, classes: list[str], device="cpu") -> pd.DataFrame:
    """``probability_frame`` of encoded cells under one head."""
    import torch

    model.eval()
    with torch.no_grad():
        proba = model.probabilities(torch.as_tensor(x).to(device), torch.as_tensor(mask).to(device), head)
    return probability_frame(proba.cpu().numpy(), classes)


def train_deployed_bilstm(
    strategy: str, inputs: dict, settings: dict, seed: int, class_map: dict, threads: int
) -> tuple[AttentionBiLSTM, dict, pd.DataFrame]:
    """``strategy`` trained on every labelled human cell (``deployment_fold`` of ``inputs['human_splits']``), from
    the pretrained checkpoint (``inputs``: checkpoint, human, mouse, human_splits, mouse_splits). Returns the model,
    the metadata `predict` needs, and its fitted predictions (train and validation cells, column ``role``)."""
    seed_everything(seed, threads)
    device = pick_device()
    start = open_pretrained(inputs["checkpoint"], inputs["human"], inputs["mouse"], settings)
    meta = start.meta
    fold = deployment_fold(read_tsv(inputs["human_splits"]))
    classes = sorted(fold.loc[fold.role.isin(["train", "val"]), "subclass"].unique())
    human, scaler, ids = fold_data(start.human, fold, classes)
    mouse, mouse_scaler = start.mouse_fold(read_tsv(inputs["mouse_splits"]))
    rows = mouse_rows(meta["classes"], classes, class_map)
    model, history = run_strategy(
        strategy, human, len(classes), start.model, mouse["train"], settings, seed, device, rows
    )
    calibrated = settings["pretrain"]["calibration"] == "temperature"
    if calibrated and "mouse" in model.config.heads and "mouse" not in model.temperatures:
        # the encoder moved under the mouse head (predict_unlabelled answers mouse cells with it): refit its
        # temperature on the mouse validation cells of the same split
        calibrate_head(model, mouse["val"], "mouse", device)
    metrics = {
        "strategy": strategy,
        "seed": seed,
        "n_train": len(ids["train"]),
        "n_val": len(ids["val"]),
        "val_macro_f1": macro_f1(model, human["val"], "human", device),
        "epochs": len(history),
        "note": "no held-out test cells: see the cross-validated results of this strategy for its expected accuracy",
    }
    metadata = {
        **{k: meta[k] for k in ("layout", "features")},
        "seed": seed,
        "strategy": strategy,
        "head": "human",
        "classes": classes,
        "scaler": scaler.to_dict(),
        "mouse_classes": meta["classes"],
        "mouse_scaler": mouse_scaler.to_dict(),
        "settings": json.dumps(settings, sort_keys=True),
        "split": "fold 0 of " + Path(inputs["human_splits"]).name + ", test cells trained on",
        "device": str(device),
        "metrics": metrics,
    }
    fitted = [predictions(model, human[r], ids[r], classes, "human", device).assign(role=r) for r in ("train", "val")]
    return model, metadata, pd.concat(fitted, ignore_index=True)
