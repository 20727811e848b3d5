"""Pretraining on mouse and the four ways of reaching human cells, on the very same human folds as the baselines.

- ``scratch``: human cells only;
- ``head``: the pretrained mouse encoder, frozen, with a new human head;
- ``full``: encoder initialised from mouse, ``warmup_frozen_epochs`` with it frozen, then everything trained;
- ``joint``: shared encoder with the mouse head and a new human head trained on L_human + lambda * L_mouse, then
  human-only fine-tuning (the study's reported method);
- ``mapped``: as ``full``, but the human head starts from the mouse head's rows of the classes that map onto each
  human class (``classes.cross_species``), so the mouse decision function is where training starts instead of a
  random head (benchmarks/transfer_diagnosis.py: at a handful of human cells a random head throws the transfer away).

Two strategies align the species in the encoder before transferring (issue 19), both ``joint`` plus one loss term
on the pooled embeddings of each step's human and mouse batch, then the same human-only fine-tuning:
- ``coral``: Deep CORAL (Sun & Saenko 2016): ``coral_weight`` x the squared Frobenius distance between the two
  species' embedding covariances / (4 d^2), so the encoder maps both species onto second-order-matched features;
- ``adversarial``: a species-adversarial encoder (DANN, Ganin et al. 2016): a species head on the embedding through
  a gradient-reversal layer; the head learns to tell the species apart while the encoder, receiving the reversed
  gradient x ``adversarial_weight``, learns embeddings it cannot tell apart.
(Per-feature quantile mapping of each species onto a common distribution within the training folds is what
``bilstm.standardise: quantile`` already does per species on feature tables.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from .model import AttentionBiLSTM, ModelConfig
from .sequence_sources import FamilySequences, FamilyStandardiser, TableSequences, open_source
from .sequences import Standardiser
from .training import TaskData, load_checkpoint, predict_proba, train

STRATEGIES = ("scratch", "head", "full", "joint", "mapped", "coral", "adversarial")
ALIGNING = ("coral", "adversarial")


class ConfigMismatchError(ValueError):
    """The run's model settings disagree with the pretrained checkpoint's architecture."""


def fold_data(
    source: FamilySequences | TableSequences, fold: pd.DataFrame, classes: list[str]
) -> tuple[dict[str, TaskData], FamilyStandardiser | Standardiser, dict[str, list[str]]]:
    """TaskData per role (train/val/test) of one fold, standardised with the training cells only; labels from the
    split table; cell ids per role."""
    ids = {role: fold.loc[fold.role == role, "cell_id"].tolist() for role in ("train", "val", "test")}
    labels = fold.set_index("cell_id")["subclass"]
    scaler = source.fit(ids["train"])
    index = {c: k for k, c in enumerate(classes)}
    data = {}
    for role, cells in ids.items():
        x, mask = source.encode(cells, scaler)
        y = np.array([index[labels[c]] for c in cells], dtype=np.int64)
        data[role] = TaskData(x, mask, y)
    return data, scaler, ids


def check_architecture(checkpoint_config: ModelConfig, requested: dict) -> None:
    """Refuse a run whose model settings differ from the checkpoint it fine-tunes."""
    saved = checkpoint_config.to_dict()
    diffs = [f"{k}={requested[k]!r} (checkpoint: {saved[k]!r})" for k in requested if saved.get(k) != requested[k]]
    if diffs:
        raise ConfigMismatchError(
            "model settings differ from the pretrained checkpoint: " + ", ".join(diffs) + "; rerun pretraining"
        )


@dataclass
class Pretrained:
    """A pretrained mouse model with what reaching human cells from it needs: its metadata (classes, layout) and
    both species' sequences read with its layout (the mouse ones on demand)."""

    model: AttentionBiLSTM
    meta: dict
    human: FamilySequences | TableSequences
    mouse_path: Path
    input_kind: str

    def mouse(self) -> FamilySequences | TableSequences:
        return open_source(self.mouse_path, self.input_kind, layout=self.meta["layout"])

    def mouse_fold(self, splits: pd.DataFrame) -> tuple[dict[str, TaskData], FamilyStandardiser | Standardiser]:
        """The mouse cells of the pretraining split (fold 0 of ``splits``) with the checkpoint's classes."""
        data, scaler, _ = fold_data(self.mouse(), splits[splits.fold == 0], self.meta["classes"])
        return data, scaler


def open_pretrained(
    checkpoint: str | Path, human_path: str | Path, mouse_path: str | Path, settings: dict
) -> Pretrained:
    """Load the checkpoint (architecture from the checkpoint itself), refuse model settings that differ from it, and
    open the human sequences with the checkpoint's layout (refused when they do not fit it)."""
    model, meta = load_checkpoint(checkpoint)
    check_architecture(model.config, settings["model"])
    human = open_source(human_path, settings["input"], layout=meta["layout"])
    human.check_layout(meta["layout"])
    return Pretrained(model, meta, human, Path(mouse_path), settings["input"])


def with_new_head(model: AttentionBiLSTM, name: str, n_classes: int, seed: int) -> AttentionBiLSTM:
    """A copy of ``model`` with an extra freshly initialised head (its architecture otherwise unchanged)."""
    config = ModelConfig(**{**model.config.to_dict(), "heads": {**model.config.heads, name: n_classes}})
    torch.manual_seed(seed)
    new = AttentionBiLSTM(config)
    state = new.state_dict()
    state.update({k: v for k, v in model.state_dict().items() if k in state})
    new.load_state_dict(state)
    new.temperatures = dict(model.temperatures)
    return new


def mouse_rows(mouse_classes: list[str], human_classes: list[str], class_map: dict[str, str]) -> list[list[int]]:
    """For each human class, the mouse head's rows (class indices) that map onto it."""
    return [[i for i, m in enumerate(mouse_classes) if class_map.get(m, m) == h] for h in human_classes]


def initialise_head_from_mouse(model: AttentionBiLSTM, rows: list[list[int]]) -> None:
    """Set each human head row to the mean of its mapped mouse head rows (a class without any keeps its init)."""
    with torch.no_grad():
        for k, mapped in enumerate(rows):
            if mapped:
                model.heads["human"].weight[k] = model.heads["mouse"].weight[mapped].mean(dim=0)
                model.heads["human"].bias[k] = model.heads["mouse"].bias[mapped].mean()


def run_strategy(
    strategy: str,
    human: dict[str, TaskData],
    n_human_classes: int,
    pretrained: AttentionBiLSTM | None,
    mouse_train: TaskData | None,
    settings: dict,
    seed: int,
    device: torch.device,
    head_rows: list[list[int]] | None = None,
) -> tuple[AttentionBiLSTM, list[dict]]:
    """Train one strategy; ``settings`` holds ``model``, ``pretrain`` (optimiser) and ``finetune`` (its delta);
    ``head_rows`` (``mouse_rows``) is what ``mapped`` initialises the human head from."""
    base = settings["pretrain"]
    tune = {**base, **{k: v for k, v in settings["finetune"].items() if k in base}}
    if strategy == "scratch":
        torch.manual_seed(seed)
        config = ModelConfig(
            human["train"].x.shape[2], human["train"].x.shape[1], {"human": n_human_classes}, **settings["model"]
        )
        model = AttentionBiLSTM(config)
        return model, train(model, {"human": human["train"]}, human["val"], "human", base, seed, device)
    model = with_new_head(pretrained, "human", n_human_classes, seed)
    if strategy == "head":
        return model, train(
            model, {"human": human["train"]}, human["val"], "human", tune, seed, device, freeze_encoder=True
        )
    if strategy == "mapped":
        if head_rows is None:
            raise ValueError("the mapped strategy needs the mouse rows of each human class")
        initialise_head_from_mouse(model, head_rows)
    if strategy in ("full", "mapped"):
        warmup = int(settings["finetune"]["warmup_frozen_epochs"])
        return model, train(
            model, {"human": human["train"]}, human["val"], "human", tune, seed, device, frozen_epochs=warmup
        )
    if strategy in ("joint", *ALIGNING):
        joint = {**tune, "lr": settings["finetune"]["joint_lr"]}
        weights = {"human": 1.0, "mouse": float(settings["finetune"]["joint_mouse_weight"])}
        alignment = None
        if strategy == "coral":
            alignment = coral_alignment(float(settings["finetune"]["coral_weight"]))
        elif strategy == "adversarial":
            model = with_new_head(model, SPECIES_HEAD, 2, seed)
            alignment = adversarial_alignment(model, float(settings["finetune"]["adversarial_weight"]))
        history = train(
            model,
            {"human": human["train"], "mouse": mouse_train},
            human["val"],
            "human",
            joint,
            seed,
            device,
            loss_weights=weights,
            alignment=alignment,
        )
        polish = {**tune, "lr": settings["finetune"]["joint_finetune_lr"]}
        history += train(model, {"human": human["train"]}, human["val"], "human", polish, seed + 1, device)
        return model, history
    raise ValueError(f"unknown strategy {strategy!r} (known: {STRATEGIES})")


SPECIES_HEAD = "species"


def coral_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Deep CORAL: squared Frobenius distance between the feature covariances of ``a`` and ``b`` / (4 d^2)."""
    d = a.shape[1]

    def covariance(x):
        centred = x - x.mean(dim=0, keepdim=True)
        return centred.T @ centred / max(x.shape[0] - 1, 1)

    return ((covariance(a) - covariance(b)) ** 2).sum() / (4.0 * d * d)


def coral_alignment(weight: float):
    return lambda embeddings: weight * coral_loss(embeddings["human"], embeddings["mouse"])


class _ReverseGradient(torch.autograd.Function):
    """Identity forward; the gradient times -``scale`` backward (the gradient-reversal layer of DANN)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float) -> torch.Tensor:
    return _ReverseGradient.apply(x, scale)


def adversarial_alignment(model: AttentionBiLSTM, weight: float):
    """Species classification of each batch's embeddings through the gradient-reversal layer (human 0, mouse 1)."""

    def loss(embeddings):
        both = torch.cat([embeddings["human"], embeddings["mouse"]])
        species = torch.cat(
            [
                torch.zeros(len(embeddings["human"]), dtype=torch.long, device=both.device),
                torch.ones(len(embeddings["mouse"]), dtype=torch.long, device=both.device),
            ]
        )
        logits = model.heads[SPECIES_HEAD](reverse_gradient(both, weight))
        return nn.functional.cross_entropy(logits, species)

    return loss


def predictions(
    model: AttentionBiLSTM, data: TaskData, ids: list[str], classes: list[str], head: str, device: torch.device
) -> pd.DataFrame:
    proba = predict_proba(model, data, head, device)
    out = pd.DataFrame(
        {"cell_id": ids, "true": [classes[i] for i in data.y], "pred": [classes[i] for i in proba.argmax(axis=1)]}
    )
    for k, cls in enumerate(classes):
        out[f"p_{cls}"] = proba[:, k]
    return out


def attention_by_class(
    model: AttentionBiLSTM, data: TaskData, classes: list[str], family_names: list[str], device: torch.device
) -> pd.DataFrame:
    """Mean attention weight of each family over the cells of each true class (rows: class, columns: family)."""
    model.eval()
    x, mask, _ = data.tensors(device)
    with torch.no_grad():
        _, weights = model.encode(x, mask)
    frame = pd.DataFrame(weights.cpu().numpy(), columns=family_names)
    frame["class"] = [classes[i] for i in data.y]
    return frame.groupby("class").mean()
