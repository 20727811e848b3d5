"""Training loops, determinism, devices and checkpoints for the attention BiLSTM.

Deterministic on the CPU: every RNG is seeded from the job's seed, ``torch.use_deterministic_algorithms(True)``, and
batches come from a seeded generator, so the same seed gives identical metrics. A GPU is used when present.
Checkpoints are plain dicts of tensors and builtins, loaded with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from sklearn.metrics import f1_score
from torch import nn

from .model import AttentionBiLSTM, ModelConfig

CHECKPOINT_FORMAT = "patchseq_ml.bilstm.v1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file."""


def seed_everything(seed: int, threads: int = 1) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (libraries that still draw from the legacy global state)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=False)


def pick_device() -> torch.device:
    """The first GPU when one is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class TaskData:
    """One task's cells: x (cells, steps, width), mask (cells, steps), y (cells,) class indices."""

    x: np.ndarray
    mask: np.ndarray
    y: np.ndarray

    def tensors(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (
            torch.as_tensor(self.x, device=device),
            torch.as_tensor(self.mask, device=device),
            torch.as_tensor(self.y, dtype=torch.long, device=device),
        )


def class_weights(y: np.ndarray, n_classes: int, mode: str | None) -> torch.Tensor | None:
    """'balanced' weights n / (k * count) per class, or None."""
    if mode != "balanced":
        return None
    counts = np.bincount(y, minlength=n_classes).astype(float)
    return torch.tensor(len(y) / (n_classes * np.maximum(counts, 1.0)), dtype=torch.float32)


def predict_proba(model: AttentionBiLSTM, data: TaskData, head: str, device: torch.device) -> np.ndarray:
    model.eval()
    x, mask, _ = data.tensors(device)
    with torch.no_grad():
        return model.probabilities(x, mask, head).cpu().numpy()


TEMPERATURE_RANGE = (0.1, 10.0)
MIN_CALIBRATION_CELLS = 20


def fit_temperature(model: AttentionBiLSTM, data: TaskData, head: str, device: torch.device) -> tuple[float, str]:
    """Temperature scaling (Guo et al. 2017): the T > 0 that minimises the negative log-likelihood of softmax(logits
    / T) on ``data`` (the validation cells), by bounded search over log T in ``TEMPERATURE_RANGE``. One scale for
    all classes, so no prediction changes class. Returns (T, why T is 1 instead, or ""): with fewer than
    ``MIN_CALIBRATION_CELLS`` cells, or none misclassified (the likelihood then only rises as T falls to 0), or an
    optimum on a bound of the range, the cells cannot estimate T and the head stays at T = 1."""
    model.eval()
    x, mask, _ = data.tensors(device)
    with torch.no_grad():
        logits = model(x, mask, head).double().cpu().numpy()
    if len(data.y) < MIN_CALIBRATION_CELLS:
        return 1.0, f"{len(data.y)} validation cells (< {MIN_CALIBRATION_CELLS})"
    if (logits.argmax(axis=1) == data.y).all():
        return 1.0, "no validation cell misclassified"
    rows = np.arange(len(data.y))

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t), axis=1)[rows, data.y].mean())

    low, high = np.log(TEMPERATURE_RANGE)
    log_t = minimize_scalar(nll, bounds=(low, high), method="bounded").x
    if min(log_t - low, high - log_t) < 0.01:
        return 1.0, f"optimum on the bound of {TEMPERATURE_RANGE}"
    return float(np.exp(log_t)), ""


def macro_f1(model: AttentionBiLSTM, data: TaskData, head: str, device: torch.device) -> float:
    pred = predict_proba(model, data, head, device).argmax(axis=1)
    return float(f1_score(data.y, pred, average="macro", labels=np.arange(model.config.heads[head])))


def train(
    model: AttentionBiLSTM,
    tasks: dict[str, TaskData],
    val: TaskData,
    val_head: str,
    optim: dict,
    seed: int,
    device: torch.device,
    loss_weights: dict[str, float] | None = None,
    frozen_epochs: int = 0,
    freeze_encoder: bool = False,
    alignment=None,
) -> list[dict]:
    """Train on every task at once (loss = sum of weight * cross-entropy), early-stop on validation macro-F1 of
    ``val_head`` and restore the best weights. ``optim``: lr, weight_decay, clip, batch_size, max_epochs, patience,
    class_weight. The encoder is frozen for the first ``frozen_epochs`` epochs (always, with ``freeze_encoder``).
    ``alignment``: a function of the batch's pooled embeddings per task (dict) giving a loss added to the step's
    (species alignment: transfer.py). With ``optim["calibration"] == "temperature"`` the ``val_head``'s softmax
    temperature is then fitted on the validation cells (``fit_temperature``; other heads lose theirs when the
    encoder trained). Returns one row of metrics per epoch."""
    model.to(device)
    loss_weights = loss_weights or dict.fromkeys(tasks, 1.0)
    opt = torch.optim.AdamW(model.parameters(), lr=optim["lr"], weight_decay=optim["weight_decay"])
    generator = torch.Generator().manual_seed(seed)
    losses = {
        name: nn.CrossEntropyLoss(
            weight=_on(class_weights(t.y, model.config.heads[name], optim["class_weight"]), device)
        )
        for name, t in tasks.items()
    }
    tensors = {name: t.tensors(device) for name, t in tasks.items()}
    best, best_score, best_epoch, waited, history = None, -1.0, 0, 0, []
    for epoch in range(1, optim["max_epochs"] + 1):
        frozen = freeze_encoder or epoch <= frozen_epochs
        for p in model.encoder_parameters():
            p.requires_grad_(not frozen)
        model.train()
        total = 0.0
        batches = {
            name: torch.randperm(len(t.y), generator=generator).split(optim["batch_size"]) for name, t in tasks.items()
        }
        for step in range(max(len(b) for b in batches.values())):
            opt.zero_grad()
            loss, embeddings = torch.zeros((), device=device), {}
            for name, order in batches.items():
                index = order[step % len(order)].to(device)
                x, mask, y = (t[index] for t in tensors[name])
                if alignment is None:
                    logits = model(x, mask, name)
                else:  # the same computation as forward, keeping the embedding
                    embeddings[name], _ = model.encode(x, mask)
                    logits = model.heads[name](model.dropout(embeddings[name]))
                loss = loss + loss_weights[name] * losses[name](logits, y)
            if alignment is not None:
                loss = loss + alignment(embeddings)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), optim["clip"])
            opt.step()
            total += float(loss.detach())
        score = macro_f1(model, val, val_head, device)
        history.append({"epoch": epoch, "train_loss": total, "val_macro_f1": score, "encoder_frozen": frozen})
        if score > best_score:
            best, best_score, best_epoch, waited = copy.deepcopy(model.state_dict()), score, epoch, 0
        else:
            waited += 1
            if waited >= optim["patience"] and epoch > frozen_epochs:
                break
    model.load_state_dict(best)
    for p in model.parameters():
        p.requires_grad_(True)
    refit_head_temperatures(model, [*tasks, val_head], encoder_trained=not freeze_encoder)
    note = ""
    if optim.get("calibration", "none") == "temperature":  # absent in settings stored by older checkpoints
        note = calibrate_head(model, val, val_head, device)
    history.append(
        {
            "epoch": best_epoch,
            "train_loss": np.nan,
            "val_macro_f1": best_score,
            "encoder_frozen": False,
            "restored_best": True,
            "temperature": model.temperatures.get(val_head, 1.0),
            "temperature_note": note,
        }
    )
    return history


def refit_head_temperatures(model: AttentionBiLSTM, trained: list[str], encoder_trained: bool) -> None:
    """Forget the temperatures that training made stale: every head's when the encoder trained (it moves all
    logits), else the trained heads' only."""
    for name in list(model.temperatures) if encoder_trained else trained:
        model.temperatures.pop(name, None)


def calibrate_head(model: AttentionBiLSTM, val: TaskData, head: str, device: torch.device) -> str:
    """Fit ``head``'s temperature on ``val`` (``fit_temperature``); returns why it stays 1, or ""."""
    t, note = fit_temperature(model, val, head, device)
    if note:
        model.temperatures.pop(head, None)
    else:
        model.temperatures[head] = t
    return note


def _on(tensor: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    return None if tensor is None else tensor.to(device)


def save_checkpoint(path: Path, model: AttentionBiLSTM, metadata: dict) -> None:
    """State dict + model config + metadata (seed, classes, features, standardisation, metrics...), atomically."""
    payload = checkpoint_payload(model, metadata)
    tmp = Path(path).with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def load_checkpoint(path: str | Path) -> tuple[AttentionBiLSTM, dict]:
    """Rebuild the network from the checkpoint's own config (never from the run's config) and load its weights."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 (torch raises many types for a corrupted or foreign file)
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(error).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint")
    return model_from_payload(payload)


def checkpoint_payload(model: AttentionBiLSTM, metadata: dict) -> dict:
    """What a checkpoint file holds: format, model config, weights (on the CPU), metadata."""
    return {
        "format": CHECKPOINT_FORMAT,
        "model_config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "temperatures": dict(model.temperatures),
        "metadata": metadata,
    }


def model_from_payload(payload: dict) -> tuple[AttentionBiLSTM, dict]:
    """The network and metadata of a checkpoint payload (a file's, or one stored inside a selected-model bundle)."""
    model = AttentionBiLSTM(ModelConfig(**payload["model_config"]))
    model.load_state_dict(payload["state_dict"])
    model.temperatures = dict(payload.get("temperatures", {}))
    return model, payload["metadata"]
