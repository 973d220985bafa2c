"""MtM training: per-session batches, one masking scheme per batch, masked Poisson NLL, resumable checkpoints.

The fit sees each session's training view (every unit of the training trials, window and forward bins). A
``val_fraction`` of each session's trials is held back; the weights with the lowest masked validation NLL (fixed
validation masks, every scheme of the model) are kept. Epochs pass over every training trial once; the LR warms
up linearly over ``warmup_fraction`` of the epochs, then decays by a half cosine (the authors' OneCycle).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nbench.baselines.mtm.config import SCHEMES, MTMConfig
from nbench.baselines.mtm.masking import draw_scheme, scheme_masks
from nbench.baselines.mtm.network import MtMNet
from nbench.baselines.ndt.model import poisson_nll
from nbench.baselines.training import (
    load_checkpoint,
    optimizer_step,
    restore_training,
    resuming,
    rng_state,
    save_checkpoint,
)

CHECKPOINT_NAME = "mtm_checkpoint.pt"


@dataclass
class SessionData:
    """One session's training counts (trials x bins x neurons, NaN = unobserved) and neuron regions."""

    name: str
    counts: np.ndarray
    regions: np.ndarray


@dataclass
class FitSummary:
    """What a fit did (epochs, best masked validation NLL and its epoch, resumption, loss history)."""

    epochs: int = 0
    best_epoch: int = -1
    best_val_nll: float = math.inf
    resumed_from_epoch: int | None = None
    history: list[list[float | None]] = field(default_factory=list)


class MtMTrainer:
    """Trains one :class:`MtMNet` on several sessions.

    Parameters
    ----------
    config, sessions, seed, device
        Settings, the sessions' training data, seed of every draw, torch device.
    checkpoint
        Where to keep the resumable state (None: nowhere).
    fingerprint
        Identity of this fit (config, data, seed); a checkpoint of another fit is not resumed.
    """

    def __init__(self, config: MTMConfig, sessions: list[SessionData], seed: int, device: torch.device,
                 checkpoint: Path | None, fingerprint: str) -> None:
        self.config, self.device, self.checkpoint, self.fingerprint = config, device, checkpoint, fingerprint
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        n_bins = sessions[0].counts.shape[1]
        self.model = MtMNet(config, {s.name: s.counts.shape[2] for s in sessions}, n_bins).to(device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr,
                                           weight_decay=config.weight_decay, eps=1e-8)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.summary = FitSummary()
        self.best_state: dict[str, torch.Tensor] | None = None
        self._split(sessions, seed)

    def _lr_factor(self, epoch: int) -> float:
        warmup = max(1, round(self.config.warmup_fraction * self.config.max_epochs))
        if epoch < warmup:
            return (epoch + 1) / warmup
        progress = (epoch - warmup) / max(1, self.config.max_epochs - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

    def _split(self, sessions: list[SessionData], seed: int) -> None:
        """Per session: training and validation trials, with fixed validation masks for every scheme."""
        self.train: list[tuple[SessionData, torch.Tensor, torch.Tensor]] = []
        self.val: list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor, str]] = []
        val_rng = np.random.default_rng(seed + 1)
        schemes = SCHEMES if self.config.masking == "mtm" else ("temporal",)
        for s in sessions:
            order = np.random.default_rng([seed, len(s.counts)]).permutation(len(s.counts))
            n_val = min(max(1, round(len(order) * self.config.val_fraction)), len(order) - 1)
            finite = torch.from_numpy(np.isfinite(s.counts))
            counts = torch.from_numpy(np.nan_to_num(s.counts).astype(np.float32))
            train, val = order[n_val:], order[:n_val]
            self.train.append((s, counts[train], finite[train]))
            for scheme in schemes:
                zeroed, loss = scheme_masks(scheme, tuple(counts[val].shape), s.regions, self.config, val_rng)
                self.val.append((s.name, counts[val], zeroed, loss & finite[val], scheme))

    def run(self, progress: Any = None) -> FitSummary:
        """Train for ``max_epochs`` (resuming a checkpoint of the same fit); load the best weights."""
        self._try_resume()
        epoch = self.summary.epochs
        while epoch < self.config.max_epochs:
            train_loss = self._train_epoch()
            epoch += 1
            self.scheduler.step()
            val_loss = self._validate(epoch) if epoch % self.config.val_interval == 0 else None
            self.summary.epochs = epoch
            self.summary.history.append([epoch, train_loss, val_loss])
            if epoch % self.config.checkpoint_interval == 0:
                self.save_checkpoint()
            if progress is not None:
                progress(epoch, train_loss, val_loss, self.summary)
        if self.best_state is None:
            self._validate(epoch)
        self.save_checkpoint()
        self.model.load_state_dict(self.best_state)
        self.model.eval()
        return self.summary

    def _batches(self) -> list[tuple[int, torch.Tensor]]:
        """(session position, trial indices) of every batch of one epoch, in random order."""
        batches = []
        for i, (_, counts, _) in enumerate(self.train):
            order = torch.from_numpy(self.rng.permutation(len(counts)))
            batches += [(i, order[k:k + self.config.batch_size]) for k in range(0, len(order), self.config.batch_size)]
        return [batches[j] for j in self.rng.permutation(len(batches))]

    def _train_epoch(self) -> float:
        self.model.train()
        total, count = 0.0, 0
        for i, idx in self._batches():
            session, counts, finite = self.train[i]
            scheme = draw_scheme(self.config, self.rng)
            zeroed, loss_mask = scheme_masks(scheme, tuple(counts[idx].shape), session.regions, self.config, self.rng)
            batch = counts[idx].to(self.device)
            inputs = batch.masked_fill(zeroed.to(self.device), 0.0)
            log_rates = self.model(inputs, session.name, scheme)
            loss = poisson_nll(log_rates, batch, (loss_mask & finite[idx]).to(self.device))
            total += optimizer_step(self.optimizer, self.model, loss, self.config.max_grad_norm) * len(idx)
            count += len(idx)
        return total / max(count, 1)

    @torch.no_grad()
    def validation_loss(self) -> float:
        """Masked Poisson NLL of the validation trials, over every session and scheme (fixed masks)."""
        self.model.eval()
        total, count = 0.0, 0
        for name, counts, zeroed, loss_mask, scheme in self.val:
            log_rates = self.model(counts.masked_fill(zeroed, 0.0).to(self.device), name, scheme)
            n = int(loss_mask.sum())
            if n:
                total += poisson_nll(log_rates, counts.to(self.device), loss_mask.to(self.device)).item() * n
                count += n
        return total / max(count, 1)

    def _validate(self, epoch: int) -> float:
        val = self.validation_loss()
        if val < self.summary.best_val_nll or self.best_state is None:
            self.summary.best_val_nll, self.summary.best_epoch = val, epoch
            self.best_state = copy.deepcopy(self.model.state_dict())
        return val

    def save_checkpoint(self) -> None:
        """The full training state, written atomically (loadable with ``weights_only=True``)."""
        if self.checkpoint is None:
            return
        s = self.summary
        state = {"format": 1, "fingerprint": self.fingerprint, "epoch": s.epochs, "best_epoch": s.best_epoch,
                 "best_val_nll": s.best_val_nll, "history": s.history, "model": self.model.state_dict(),
                 "best_model": self.best_state, "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict(), **rng_state(self.device),
                 "rng_numpy": torch.from_numpy(np.frombuffer(
                     str(self.rng.bit_generator.state).encode(), dtype=np.uint8).copy())}
        save_checkpoint(self.checkpoint, state)

    def _try_resume(self) -> None:
        """Continue from this fit's checkpoint, if there is one; a damaged one is a one-line error."""
        if self.checkpoint is None:
            return
        # The fit directory is shared by the runs of every task family (outside a run's work files, so
        # ``--fresh`` does not reach it): deleting it is how to start over.
        start_over = f"delete {self.checkpoint.parent} to start the fit over"
        state = load_checkpoint(self.checkpoint, self.device, self.fingerprint, "MtM", start_over)
        if state is not None:
            with resuming(self.checkpoint, "MtM", start_over):
                self._restore(state)

    def _restore(self, state: dict[str, Any]) -> None:
        """Load model, optimizer, scheduler, RNG states and progress from a checkpoint dict."""
        self.best_state = restore_training(state, self.model, self.optimizer, self.scheduler, self.device)
        self.rng.bit_generator.state = _rng_state(state["rng_numpy"])
        s = self.summary
        s.epochs, s.best_epoch, s.best_val_nll = state["epoch"], state["best_epoch"], state["best_val_nll"]
        s.history, s.resumed_from_epoch = state["history"], state["epoch"]


def _rng_state(encoded: torch.Tensor) -> dict[str, Any]:
    """numpy's generator state from its stored text (a literal dict of ints and strings)."""
    import ast

    return ast.literal_eval(bytes(encoded.numpy().tobytes()).decode())
