"""The learned cell embedding: encoder outputs of both species, a shared 2-D map, and how well it aligns species.

The embedding is the encoder's pooled, normalised output (2 x hidden values per cell), the input of every head.
Alignment is measured by nearest neighbours: each human cell takes the majority subclass of its ``k`` nearest mouse
cells (mouse subclasses mapped to human ones), i.e. a classifier that never sees a human label; its macro-F1 beside
the human-to-human leave-one-out neighbour score says how much of the human class structure the mouse cells carry.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import f1_score
from sklearn.neighbors import KNeighborsClassifier

from .model import AttentionBiLSTM


def embed(
    model: AttentionBiLSTM, x: np.ndarray, mask: np.ndarray, device: torch.device, batch: int = 512
) -> np.ndarray:
    """Encoder embedding (cells, 2 x hidden) of standardised sequences, in evaluation mode."""
    model.eval()
    model.to(device)
    out = []
    with torch.no_grad():
        for start in range(0, len(x), batch):
            xb = torch.as_tensor(x[start : start + batch], dtype=torch.float32, device=device)
            mb = torch.as_tensor(mask[start : start + batch], device=device)
            out.append(model.encode(xb, mb)[0].cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 2 * model.config.hidden), dtype=np.float32)


def project_2d(embedding: np.ndarray) -> np.ndarray:
    """First two principal components (cells, 2), fitted on all rows; signs fixed so the map is deterministic."""
    centred = embedding - embedding.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:2]
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    return centred @ (components * signs[:, None]).T


def neighbour_transfer(
    reference: np.ndarray, reference_labels: np.ndarray, query: np.ndarray, query_labels: np.ndarray, k: int
) -> dict[str, float]:
    """Macro-F1 and accuracy of labelling ``query`` cells by their ``k`` nearest ``reference`` cells (Euclidean);
    ``k`` is capped at the smallest reference class, so that every class can hold a majority (the ``k`` used is
    returned)."""
    k = effective_k(reference_labels, k)
    knn = KNeighborsClassifier(n_neighbors=k).fit(reference, reference_labels)
    predicted = knn.predict(query)
    labels = sorted(set(query_labels))
    return {
        "macro_f1": float(f1_score(query_labels, predicted, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(np.mean(predicted == query_labels)),
        "k": k,
    }


def effective_k(labels: np.ndarray, k: int, leave_one_out: bool = False) -> int:
    """``k`` capped at the size of the smallest class (minus the cell itself when leaving one out), at least 1."""
    smallest = int(np.unique(labels, return_counts=True)[1].min()) - int(leave_one_out)
    return max(1, min(k, smallest))


def leave_one_out_neighbours(embedding: np.ndarray, labels: np.ndarray, k: int) -> dict[str, float]:
    """The same score within one species, each cell labelled by its ``k`` nearest other cells (``k`` capped as in
    ``neighbour_transfer``)."""
    k = effective_k(labels, k, leave_one_out=True)
    knn = KNeighborsClassifier(n_neighbors=k + 1).fit(embedding, labels)
    neighbours = knn.kneighbors(embedding, return_distance=False)[:, 1:]
    predicted = np.array([_majority(labels[row]) for row in neighbours])
    classes = sorted(set(labels))
    return {
        "macro_f1": float(f1_score(labels, predicted, labels=classes, average="macro", zero_division=0)),
        "accuracy": float(np.mean(predicted == labels)),
        "k": k,
    }


def _majority(values: np.ndarray) -> str:
    names, counts = np.unique(values, return_counts=True)
    return str(names[counts.argmax()])  # ties: the alphabetically first, as np.unique sorts
