"""Train/validation/test splits, computed once per (species, seed) and shared by every model.

``kfold``: stratified K folds (test = one fold); inside the rest a stratified validation split with seed
``fold_seed(seed, fold)`` (the study's fold seed; every model trained on the fold uses it too). ``holdout``: one
stratified 60/20/20 split (fold 0).
Output: long table ``cell_id, subclass, fold, role`` (role in train/val/test), one row per cell and fold. Cells of
a class too small to be split (fewer cells than folds, or than 5 for a holdout) are kept as rows with role
``excluded_rare_class`` (fold -1), so that they are counted, not silently lost. Fewer than two classes left to
split (too few labelled cells, e.g. a cell sheet of your own recordings with few labels) is a `TooFewLabelsError`
naming the counts: every training stage needs the splits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from .split_sizes import min_cells_per_class


def fold_seed(seed: int, fold: int) -> int:
    """The seed of one (seed, fold) run: its validation split, training subsample and model (the study's)."""
    return seed + 1000 * fold


class TooFewLabelsError(ValueError):
    """Fewer than two classes with enough labelled, extracted cells to split; the message says what is there."""


def make_splits(cells: pd.DataFrame, scheme: dict, seed: int) -> pd.DataFrame:
    """Splits of the labelled cells (``cell_id``, ``subclass``) under ``scheme`` for one seed."""
    cells = cells.sort_values("cell_id").reset_index(drop=True)
    counts = cells["subclass"].value_counts()
    need = min_cells_per_class(scheme)
    if (counts >= need).sum() < 2:
        found = ", ".join(f"{c} {n}" for c, n in counts.items()) or "none"
        raise TooFewLabelsError(
            f"too few labelled, extracted cells to train: {found}; the splits ({scheme['kind']}"
            + (f", {scheme['folds']} folds" if scheme["kind"] == "kfold" else "")
            + f") need at least 2 classes with {need} or more cells each. Label more cells, or build only the "
            "`features` target (unlabelled cells can still be predicted with an existing model: `predict`)"
        )
    rare = cells["subclass"].isin(counts[counts < need].index)
    rows = [
        pd.DataFrame(
            {
                "cell_id": cells.loc[rare, "cell_id"],
                "subclass": cells.loc[rare, "subclass"],
                "fold": -1,
                "role": "excluded_rare_class",
            }
        )
    ]
    cells = cells[~rare]
    ids, y = cells["cell_id"].to_numpy(), cells["subclass"].to_numpy()
    if scheme["kind"] == "kfold":
        folds = StratifiedKFold(n_splits=int(scheme["folds"]), shuffle=True, random_state=seed).split(ids, y)
        for fold, (rest, test) in enumerate(folds):
            train, val = train_test_split(
                rest, test_size=scheme["val_fraction"], stratify=y[rest], random_state=fold_seed(seed, fold)
            )
            rows.append(_roles(ids, y, fold, train, val, test))
    elif scheme["kind"] == "holdout":
        rest, test = train_test_split(
            np.arange(ids.size), test_size=scheme["test_fraction"], stratify=y, random_state=seed
        )
        val_share = scheme["val_fraction"] / (1.0 - scheme["test_fraction"])
        train, val = train_test_split(rest, test_size=val_share, stratify=y[rest], random_state=seed + 1000)
        rows.append(_roles(ids, y, 0, train, val, test))
    else:
        raise ValueError(f"unknown split kind {scheme['kind']!r}")
    return pd.concat(rows, ignore_index=True)


def _roles(ids, y, fold, train, val, test) -> pd.DataFrame:
    role = np.empty(ids.size, dtype=object)
    role[train], role[val], role[test] = "train", "val", "test"
    return pd.DataFrame({"cell_id": ids, "subclass": y, "fold": fold, "role": role})


def n_folds(scheme: dict) -> int:
    return int(scheme["folds"]) if scheme["kind"] == "kfold" else 1


def subsample_training(fold: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """Keep a stratified ``fraction`` of the fold's training cells (at least one per class); the others get role
    ``unused``. Validation and test cells are untouched, so scores stay comparable across fractions."""
    if fraction >= 1.0:
        return fold
    fold = fold.copy()
    train = fold[fold.role == "train"]
    rng = np.random.default_rng(seed)
    keep = []
    for _, group in train.groupby("subclass", sort=True):
        n = max(1, int(round(fraction * len(group))))
        keep.extend(rng.choice(group.index.to_numpy(), size=n, replace=False))
    fold.loc[train.index.difference(keep), "role"] = "unused"
    return fold


@dataclass(frozen=True)
class FoldRun:
    """One (seed, fold) run of a training job: the fold, its seed (``fold_seed``) and its rows of the split table,
    the training cells subsampled to the job's fraction."""

    fold: int
    seed: int
    rows: pd.DataFrame


def fold_runs(splits: pd.DataFrame, seed: int, folds: Iterable[int], fraction: float = 1.0) -> Iterator[FoldRun]:
    """The runs of a training job that covers every fold of one split seed, in fold order; each run is what a job of
    its own fold would see (the same rows, subsample and seed), so the results do not depend on the grouping."""
    for fold in folds:
        run_seed = fold_seed(seed, fold)
        yield FoldRun(fold, run_seed, subsample_training(splits[splits.fold == fold], fraction, run_seed))
