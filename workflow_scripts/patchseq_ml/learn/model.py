"""Attention BiLSTM over a cell's sequence of feature families (the study's architecture, with a mask).

input LayerNorm -> BiLSTM -> additive attention pooling (Linear 2H->H, tanh, Linear H->1, softmax over the present
steps only) -> LayerNorm -> dropout -> one linear head per task. ``pooling='last'`` / ``'mean'`` are the
no-attention ablations. Shapes: x (batch, steps, width), mask (batch, steps) bool.

The input LayerNorm is optional (``input_norm``): the study's steps are 100-point waveforms, where normalising each
step's vector keeps its shape; our steps are a few standardised scalars (already z-scored per step and feature with
training statistics), where a LayerNorm over 2-5 values removes their level and scale, i.e. the signal (a 2-wide
step collapses to its sign; measured in tests/unit/test_bilstm.py). Hence ``none`` by default for feature groups.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn


@dataclass
class ModelConfig:
    """Architecture; saved in every checkpoint so that fine-tuning rebuilds exactly the pretrained network."""

    input_width: int
    n_steps: int
    heads: dict[str, int] = field(default_factory=dict)  # task name -> number of classes
    hidden: int = 128
    layers: int = 1
    dropout: float = 0.2
    pooling: str = "attention"  # attention | last | mean
    input_norm: str = "none"  # layernorm (the study's) | none (see the module docstring)

    def to_dict(self) -> dict:
        return asdict(self)


class AttentionBiLSTM(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        h = config.hidden
        self.input_norm = nn.LayerNorm(config.input_width) if config.input_norm == "layernorm" else nn.Identity()
        self.lstm = nn.LSTM(config.input_width, h, num_layers=config.layers, batch_first=True, bidirectional=True)
        self.score = nn.Sequential(nn.Linear(2 * h, h), nn.Tanh(), nn.Linear(h, 1))
        self.output_norm = nn.LayerNorm(2 * h)
        self.dropout = nn.Dropout(config.dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(2 * h, n) for name, n in config.heads.items()})
        # per head: the softmax temperature fitted on validation cells after training (training.fit_temperature);
        # a head without one answers at temperature 1
        self.temperatures: dict[str, float] = {}

    def encoder_parameters(self):
        """Everything but the heads (what transfer shares or freezes)."""
        return [p for name, p in self.named_parameters() if not name.startswith("heads.")]

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pooled embedding (batch, 2H) and attention weights (batch, steps; 0 on absent steps)."""
        x = x.masked_fill(~mask.unsqueeze(-1), 0.0)  # an absent family's values can never reach the output
        states, _ = self.lstm(self.input_norm(x))
        weights_mask = mask.float()
        if self.config.pooling == "attention":
            logits = self.score(states).squeeze(-1).masked_fill(~mask, float("-inf"))
            weights = torch.softmax(logits, dim=1)
            weights = torch.nan_to_num(weights, nan=0.0)  # a cell with no present step
        elif self.config.pooling == "mean":
            weights = weights_mask / weights_mask.sum(dim=1, keepdim=True).clamp(min=1.0)
        else:  # last present step
            last = (mask.long() * torch.arange(mask.shape[1], device=mask.device)).argmax(dim=1)
            weights = nn.functional.one_hot(last, mask.shape[1]).float() * weights_mask
        pooled = (weights.unsqueeze(-1) * states).sum(dim=1)
        return self.output_norm(pooled), weights

    def forward(self, x: torch.Tensor, mask: torch.Tensor, head: str) -> torch.Tensor:
        embedding, _ = self.encode(x, mask)
        return self.heads[head](self.dropout(embedding))

    def probabilities(self, x: torch.Tensor, mask: torch.Tensor, head: str) -> torch.Tensor:
        """Class probabilities of ``head``: softmax of the logits divided by the head's fitted temperature (the
        predicted class is the logits' argmax whatever the temperature)."""
        return torch.softmax(self(x, mask, head) / self.temperatures.get(head, 1.0), dim=1)
