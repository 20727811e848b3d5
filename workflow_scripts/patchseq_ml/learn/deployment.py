"""The deployable human model: one strategy trained on every labelled human cell, and what reading it back needs.

Cross-validated numbers (results/finetune) estimate how well this model does; the model itself is trained on the
training and test cells of fold 0 of the chosen seed together, keeping that fold's validation cells for early
stopping, so `predict` uses everything the study has.
"""

from __future__ import annotations

import pandas as pd

from .sequence_sources import FamilyStandardiser
from .sequences import Standardiser

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


def predict_encoded(model, x, mask, head: str, classes: list[str], device="cpu") -> pd.DataFrame:
    """``predicted``, its ``probability`` and every class probability of encoded cells under one head."""
    import numpy as np
    import torch

    model.eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(x).to(device), torch.as_tensor(mask).to(device), head)
        proba = torch.softmax(logits, dim=1).cpu().numpy()
    frame = pd.DataFrame(proba, columns=[f"p_{c}" for c in classes])
    frame.insert(0, "probability", proba.max(axis=1) if len(proba) else np.zeros(0))
    frame.insert(0, "predicted", [classes[i] for i in proba.argmax(axis=1)] if len(proba) else [])
    return frame
