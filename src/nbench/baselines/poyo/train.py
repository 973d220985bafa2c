"""POYO training and inference: the reduced recipe (:mod:`nbench.baselines.poyo.config`) and resumable checkpoints.

One epoch is one pass over the training trials of every session, in an order drawn from ``(seed, epoch)``; the
learning rate follows a one-cycle schedule stepped once per batch. The state (model with its vocabularies,
optimizer, schedule, epoch, loss history, torch RNG) is saved atomically every ``checkpoint_interval`` epochs,
so an interrupted fit resumes where it stopped and ends with the same weights.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nbench.baselines.poyo.backend import batching, poyo_class
from nbench.baselines.poyo.config import POYOConfig
from nbench.baselines.poyo.tokens import BehaviorCoding, SessionTrials, sample
from nbench.baselines.training import load_checkpoint, restore_rng, resuming, rng_state, save_checkpoint

CHECKPOINT_NAME = "poyo_checkpoint.pt"
MODEL_KEYS = ("input_unit_index", "input_timestamps", "input_token_type", "input_mask", "latent_index",
              "latent_timestamps", "session_index", "output_timestamps")


@dataclass
class FitSummary:
    """What a fit did: epochs and optimizer steps run, the mean training loss of each epoch, and whether it
    resumed from a checkpoint."""

    epochs: int = 0
    steps: int = 0
    history: list[float] = field(default_factory=list)
    resumed_from_epoch: int | None = None


def build_model(config: POYOConfig, window_s: float, dim_out: int, unit_ids: Sequence[str],
                sessions: Sequence[str]) -> Any:
    """A POYO whose context is the trial window, with its unit and session vocabularies (sorted, so the
    embedding rows drawn from the seeded RNG do not depend on the order views arrive in)."""
    steps = max(1, round(window_s / config.latent_step))
    # POYO logs a warning when float rounding makes window / step look fractional; the step count is whole here.
    with _quiet(_NOT_A_MULTIPLE):
        model = poyo_class()(
            sequence_length=float(window_s), latent_step=float(window_s / steps),
            num_latents_per_step=config.num_latents_per_step, dim_out=dim_out, dim=config.dim, depth=config.depth,
            dim_head=config.dim_head, cross_heads=config.cross_heads, self_heads=config.self_heads,
            ffn_dropout=config.ffn_dropout, lin_dropout=config.lin_dropout, atn_dropout=config.atn_dropout,
            emb_init_scale=config.emb_init_scale)
    # Plain str words: numpy strings would make the checkpoint unloadable with weights_only=True.
    model.unit_emb.initialize_vocab(sorted(str(u) for u in unit_ids))
    model.session_emb.initialize_vocab(sorted(str(s) for s in sessions))
    return model


_NOT_A_MULTIPLE = "is not a multiple of latent_step"


@contextlib.contextmanager
def _quiet(text: str) -> Iterator[None]:
    """Drop root-logger records containing ``text`` while the block runs."""
    def keep(record: logging.LogRecord) -> bool:
        return text not in record.getMessage()

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def forward(model: Any, batch: dict[str, Any]) -> torch.Tensor:
    """Model outputs (trials x padded readout times x dim_out) of a collated batch."""
    return model(**{k: batch[k] for k in MODEL_KEYS})


def loss_of(outputs: torch.Tensor, batch: dict[str, Any], categorical: bool) -> torch.Tensor:
    """Cross-entropy of the time-averaged logits, or the MSE over observed (trial, bin, column) targets."""
    if categorical:
        return F.cross_entropy(mean_logits(outputs, batch["output_mask"]), batch["label"], ignore_index=-1)
    mask = batch["target_mask"]
    return ((outputs - batch["target"]) ** 2)[mask].mean()


def mean_logits(outputs: torch.Tensor, output_mask: torch.Tensor) -> torch.Tensor:
    weights = output_mask.unsqueeze(-1).to(outputs.dtype)
    return (outputs * weights).sum(1) / weights.sum(1)


class Trainer:
    """Trains one POYO on the training trials of one or more sessions.

    Parameters
    ----------
    config, coding
        Model and training settings; how behaviour is encoded.
    sessions, targets
        Per session: its training trials and their encoded behaviour (:meth:`BehaviorCoding.encode`).
    seed, device, workdir, fingerprint
        Seed of every draw; torch device; checkpoint directory (None: no checkpoints); identity of this fit
        (a checkpoint of another fit is not resumed).
    """

    def __init__(self, config: POYOConfig, coding: BehaviorCoding, sessions: Sequence[SessionTrials],
                 targets: Sequence[np.ndarray], seed: int, device: torch.device, workdir: Path | None,
                 fingerprint: str) -> None:
        self.config, self.coding, self.sessions, self.targets = config, coding, list(sessions), list(targets)
        self.seed, self.device, self.workdir, self.fingerprint = seed, device, workdir, fingerprint
        torch.manual_seed(seed)
        self.model = build_model(config, max(s.window_s for s in sessions), coding.dim_out,
                                 [u for s in sessions for u in s.unit_ids], [s.session for s in sessions]).to(device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.items = [(k, i) for k, s in enumerate(sessions) for i in range(len(s)) if _has_target(targets[k][i])]
        per_epoch = math.ceil(len(self.items) / config.batch_size)
        self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer, max_lr=config.lr, total_steps=max(1, per_epoch * config.epochs),
            pct_start=config.pct_start, div_factor=1.0, anneal_strategy="cos")
        self.summary = FitSummary()
        self._fixed = None if config.unit_dropout else [self._sample(k, i, None) for k, i in self.items]

    def _sample(self, k: int, i: int, rng: np.random.Generator | None) -> dict[str, Any]:
        trials = self.sessions[k]
        keep = None
        if rng is not None:
            n = len(trials.unit_ids)
            n_keep = int(rng.integers(math.ceil((1 - self.config.unit_dropout) * n), n + 1))
            keep = np.sort(rng.choice(n, max(n_keep, 1), replace=False))
        return sample(self.model, trials, i, keep, self.targets[k][i])

    def run(self, progress: Callable[[int, str], None] | None = None,
            callback: Callable[[int, float], None] | None = None) -> FitSummary:
        """Train for ``epochs`` (resuming a checkpoint of this fit if there is one); leave the model in eval mode.

        ``progress(epoch, text)`` and ``callback(epoch, mean training loss)`` are called after every epoch.
        """
        collate = batching()[0]
        self._try_resume()
        while self.summary.epochs < self.config.epochs:
            epoch = self.summary.epochs
            rng = np.random.default_rng([self.seed, epoch])
            order = rng.permutation(len(self.items))
            self.model.train()
            total, count = 0.0, 0
            for start in range(0, len(order), self.config.batch_size):
                chosen = order[start:start + self.config.batch_size]
                batch = to_device(collate([self._fixed[j] if self._fixed is not None else
                                            self._sample(*self.items[j], rng) for j in chosen]), self.device)
                loss = loss_of(forward(self.model, batch), batch, self.coding.categorical)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                self.scheduler.step()
                total, count = total + loss.item() * len(chosen), count + len(chosen)
                self.summary.steps += 1
            self.summary.epochs += 1
            self.summary.history.append(total / max(count, 1))
            if self.summary.epochs % self.config.checkpoint_interval == 0:
                self.save_checkpoint()
            if progress is not None:
                progress(self.summary.epochs, f"loss {self.summary.history[-1]:.4f}")
            if callback is not None:
                callback(self.summary.epochs, self.summary.history[-1])
        self.save_checkpoint()
        self.model.eval()
        return self.summary

    def _checkpoint_path(self) -> Path | None:
        return None if self.workdir is None else Path(self.workdir) / CHECKPOINT_NAME

    def save_checkpoint(self) -> None:
        """Write the training state atomically (loadable with ``weights_only=True``; vocabularies included)."""
        s = self.summary
        save_checkpoint(self._checkpoint_path(), {
            "format": 1, "fingerprint": self.fingerprint, "epoch": s.epochs, "steps": s.steps,
            "history": s.history, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), **rng_state(self.device)})

    def _try_resume(self) -> None:
        state = load_checkpoint(self._checkpoint_path(), self.device, self.fingerprint, "POYO")
        if state is None:
            return
        # The vocabularies are initialised with the same words, so loading remaps rows by word. The loaded dict
        # is used once: load_state_dict empties its vocabularies. A damaged state is one line, not a traceback.
        with resuming(self._checkpoint_path(), "POYO"):
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            restore_rng(state, self.device)
            s = self.summary
            s.epochs, s.steps, s.history = int(state["epoch"]), int(state["steps"]), list(state["history"])
            s.resumed_from_epoch = s.epochs


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def _has_target(target: np.ndarray) -> bool:
    return bool(target >= 0) if np.ndim(target) == 0 else bool(np.isfinite(target).any())


@torch.no_grad()
def predict(model: Any, coding: BehaviorCoding, trials: SessionTrials, device: torch.device,
            batch_size: int = 32) -> np.ndarray:
    """Behaviour predictions of every trial: trials x bins x k series, or trials x 1 labels."""
    collate = batching()[0]
    model.eval()
    n_bins, outputs = len(trials.output_times), []
    for start in range(0, len(trials), batch_size):
        batch = collate([sample(model, trials, i) for i in range(start, min(start + batch_size, len(trials)))])
        batch = to_device(batch, device)
        out = forward(model, batch)
        out = mean_logits(out, batch["output_mask"]) if coding.categorical else out[:, :n_bins]
        outputs.append(out.float().cpu().numpy())
    empty = (0, coding.dim_out) if coding.categorical else (0, n_bins, coding.dim_out)
    stacked = np.concatenate(outputs) if outputs else np.zeros(empty, np.float32)
    return coding.decode(stacked)
