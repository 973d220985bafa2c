"""NDT training: masked modelling, AdamW, early stopping and model selection on the held-back trials' masked NLL
or co-bps, resumable checkpoints.

One epoch is one pass over the training trials, as in the authors' code; the LR schedule steps once per epoch.
The last state (model, optimizer, scheduler, epoch, best model, RNG states) is saved atomically every
``checkpoint_interval`` epochs, so an interrupted fit resumes where it stopped and ends with the same weights.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nbench.baselines.ndt.config import NDTConfig
from nbench.baselines.ndt.data import Layout
from nbench.baselines.ndt.masking import mask_batch, span_probability
from nbench.baselines.ndt.model import NDTNet, poisson_nll, unmasked_rates
from nbench.baselines.training import (
    load_checkpoint,
    optimizer_step,
    restore_training,
    resuming,
    rng_state,
    save_checkpoint,
)
from nbench.errors import ValidationError
from nbench.io import atomic_path
from nbench.metrics.poisson import bits_per_spike

CHECKPOINT_NAME = "ndt_checkpoint.pt"
BEST_NAME = "ndt_best.pt"
EpochCallback = Callable[[int, float, float | None], None]


def split_trials(n_trials: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split the training trials into (held back for early stopping, trained on); at least one in each.

    Parameters
    ----------
    n_trials
        Number of training trials.
    val_fraction
        Fraction of them to hold back.
    seed
        The fit's seed; the same seed always gives the same split, in the same order.
    """
    n_val = min(max(1, round(n_trials * val_fraction)), n_trials - 1)
    order = np.random.default_rng(seed).permutation(n_trials)
    return order[:n_val], order[n_val:]


@dataclass
class FitSummary:
    """What a fit did: epochs run, which validation epoch's weights it kept (``best_epoch``, by the config's
    ``select_by``), the lowest masked validation NLL and (``select_by="co_bps"``) the highest validation co-bps,
    whether it resumed, and which training trials (indices into the training arrays) were held back."""

    epochs: int = 0
    best_epoch: int = -1
    best_val_nll: float = math.inf
    best_val_co_bps: float | None = None
    stopped_early: bool = False
    resumed_from_epoch: int | None = None
    val_trials: list[int] = field(default_factory=list)
    history: list[list[float | None]] = field(default_factory=list)  # [epoch, train NLL, val NLL or None]


@dataclass
class Batcher:
    """Builds masked model inputs and loss masks in the NDT layout."""

    config: NDTConfig
    layout: Layout
    max_spikes: int
    device: torch.device

    def batch(self, heldin: torch.Tensor, finite: torch.Tensor, span_prob: float,
              generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked input and loss mask for held-in counts (trials x bins x held-in, CPU int64).

        Loss targets are the masked held-in bins, every held-out channel and every forward bin, restricted to
        observed (finite) counts.
        """
        lay = self.layout
        masked, bin_mask = mask_batch(heldin, self.config, span_prob, generator, self.max_spikes)
        n = heldin.shape[0]
        inputs = torch.zeros(n, lay.total_bins, lay.total_neurons, dtype=torch.long)
        inputs[:, : lay.n_bins, : lay.n_heldin] = masked
        loss_mask = torch.zeros(n, lay.total_bins, lay.total_neurons, dtype=torch.bool)
        loss_mask[:, : lay.n_bins, : lay.n_heldin] = bin_mask.unsqueeze(-1)
        loss_mask[:, :, lay.n_heldin:] = True
        loss_mask[:, lay.n_bins:, :] = True
        return inputs.to(self.device), loss_mask.to(self.device) & finite


class Trainer:
    """Trains one NDT on training trials, keeping the weights with the best validation score (``select_by``).

    Parameters
    ----------
    config, layout, max_spikes
        Model and masking settings and the array layout.
    targets
        Training counts in the layout (trials x total bins x total neurons; NaN = unobserved).
    seed, device, workdir
        Seed of every random draw; torch device; directory for checkpoints (None: no checkpoints).
    fingerprint
        Identity of this fit (config, data, seed); a checkpoint with another fingerprint is not resumed.
    """

    def __init__(self, config: NDTConfig, layout: Layout, max_spikes: int, targets: np.ndarray, seed: int,
                 device: torch.device, workdir: Path | None, fingerprint: str) -> None:
        self.config, self.layout, self.device = config, layout, device
        self.workdir, self.fingerprint = workdir, fingerprint
        torch.manual_seed(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.model = NDTNet(config, layout.total_bins, layout.total_neurons, max_spikes).to(device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr,
                                           weight_decay=config.weight_decay, eps=1e-8)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_factor(config))
        self.batcher = Batcher(config, layout, max_spikes, device)
        self.summary = FitSummary()
        self._split(targets, seed)
        self.best_state: dict[str, torch.Tensor] | None = None

    def _split(self, targets: np.ndarray, seed: int) -> None:
        """Hold back ``val_fraction`` of the trials for early stopping; draw fixed validation masks."""
        n = targets.shape[0]
        val_trials, train_trials = split_trials(n, self.config.val_fraction, seed)
        lay = self.layout
        heldin = torch.from_numpy(np.nan_to_num(targets[:, : lay.n_bins, : lay.n_heldin]))
        heldin = heldin.round().clamp(0, self.batcher.max_spikes).long()
        finite = torch.from_numpy(np.isfinite(targets)).to(self.device)
        labels = torch.from_numpy(np.nan_to_num(targets)).to(self.device)
        val_idx, train_idx = torch.from_numpy(val_trials), torch.from_numpy(train_trials)
        self.summary.val_trials = sorted(val_trials.tolist())
        self.train_heldin, self.train_finite = heldin[train_idx], finite[train_idx]
        self.train_labels = labels[train_idx]
        # Fixed validation masks (no spans, like the authors' validation) make successive losses comparable.
        val_gen = torch.Generator().manual_seed(seed + 1)
        self.val_inputs, self.val_mask = self.batcher.batch(heldin[val_idx], finite[val_idx], 0.0, val_gen)
        self.val_labels = labels[val_idx]
        self.val_heldin = heldin[val_idx]
        self.val_heldout = targets[val_trials, : lay.n_bins, lay.n_heldin:]
        if self.config.select_by == "co_bps" and lay.n_heldout == 0:
            raise ValidationError("model 'ndt': config key 'select_by' expects 'masked_nll' on a task without "
                                  "held-out neurons, got 'co_bps'")

    def run(self, callback: EpochCallback | None = None, progress: Any = None) -> FitSummary:
        """Train until early stopping or ``max_epochs``; load the best weights; return the summary."""
        cfg = self.config
        self._try_resume()
        epoch = self.summary.epochs
        while epoch < cfg.max_epochs and not self.summary.stopped_early:
            train_loss = self._train_epoch(epoch)
            epoch += 1
            self.scheduler.step()
            val_loss = self._validate_and_track(epoch) if epoch % cfg.val_interval == 0 else None
            self.summary.epochs = epoch
            self.summary.history.append([epoch, train_loss, val_loss])
            if epoch % cfg.checkpoint_interval == 0:
                self.save_checkpoint()
            if progress is not None:
                progress(epoch, train_loss, val_loss, self.summary)
            if callback is not None:
                callback(epoch, train_loss, val_loss)
        if self.best_state is None:  # max_epochs below val_interval: validate once at the end
            self._validate_and_track(epoch)
        self.save_checkpoint()
        self.model.load_state_dict(self.best_state)
        self.model.eval()
        self._save_best()
        return self.summary

    def _train_epoch(self, epoch: int) -> float:
        self.model.train()
        span_prob = span_probability(epoch, self.config)
        n = self.train_heldin.shape[0]
        order = torch.randperm(n, generator=self.generator)
        total, count = 0.0, 0
        for start in range(0, n, self.config.batch_size):
            idx = order[start:start + self.config.batch_size]
            inputs, loss_mask = self.batcher.batch(self.train_heldin[idx], self.train_finite[idx.to(self.device)],
                                                   span_prob, self.generator)
            with self._autocast():
                log_rates = self.model(inputs)
            loss = poisson_nll(log_rates, self.train_labels[idx.to(self.device)], loss_mask)
            total += optimizer_step(self.optimizer, self.model, loss, self.config.max_grad_norm) * len(idx)
            count += len(idx)
        return total / max(count, 1)

    def _autocast(self) -> Any:
        """bfloat16 autocast for training forward passes when ``train_precision`` asks for it."""
        enabled = self.config.train_precision == "bfloat16"
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=enabled)

    @torch.no_grad()
    def validation_loss(self) -> float:
        """Masked Poisson NLL on the validation trials with the fixed validation masks."""
        self.model.eval()
        total, count = 0.0, 0
        for start in range(0, self.val_inputs.shape[0], self.config.batch_size):
            sl = slice(start, start + self.config.batch_size)
            log_rates = self.model(self.val_inputs[sl])
            mask = self.val_mask[sl]
            n_entries = int(mask.sum().item())
            if n_entries:
                total += poisson_nll(log_rates, self.val_labels[sl], mask).item() * n_entries
                count += n_entries
        return total / max(count, 1)

    @torch.no_grad()
    def validation_co_bps(self) -> float:
        """co-bps of the validation trials' held-out neurons, predicted from their unmasked held-in counts."""
        self.model.eval()
        rates = unmasked_rates(self.model, self.val_heldin, self.layout, self.device)
        return bits_per_spike(rates[:, : self.layout.n_bins, self.layout.n_heldin:].numpy(), self.val_heldout)

    def _validate_and_track(self, epoch: int) -> float:
        val = self.validation_loss()
        s = self.summary
        first = self.best_state is None
        improved = val < s.best_val_nll
        if improved or first:
            s.best_val_nll = val
        if self.config.select_by == "co_bps":
            score = self.validation_co_bps()
            improved = s.best_val_co_bps is None or score > s.best_val_co_bps
            if improved:
                s.best_val_co_bps = score
        if improved or first:
            s.best_epoch = epoch
            self.best_state = copy.deepcopy(self.model.state_dict())
        elif epoch - s.best_epoch > self.config.patience:
            s.stopped_early = True
        return val

    # ---- checkpoints -------------------------------------------------------------------------------------
    def _checkpoint_path(self) -> Path | None:
        return None if self.workdir is None else Path(self.workdir) / CHECKPOINT_NAME

    def save_checkpoint(self) -> None:
        """Write the full training state atomically (loadable with ``weights_only=True``)."""
        path = self._checkpoint_path()
        if path is None:
            return
        s = self.summary
        state = {
            "format": 1, "fingerprint": self.fingerprint, "epoch": s.epochs, "best_epoch": s.best_epoch,
            "best_val_nll": s.best_val_nll, "best_val_co_bps": s.best_val_co_bps, "stopped_early": s.stopped_early,
            "history": s.history,
            "model": self.model.state_dict(), "best_model": self.best_state,
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "rng_generator": self.generator.get_state(), **rng_state(self.device),
        }
        save_checkpoint(path, state)

    def _try_resume(self) -> None:
        """Continue from this fit's checkpoint, if there is one; a damaged one is a one-line error."""
        path = self._checkpoint_path()
        state = load_checkpoint(path, self.device, self.fingerprint, "NDT")
        if state is None:
            return  # none, or a different fit wrote it: start afresh (it is overwritten at the first save)
        with resuming(path, "NDT"):
            self._restore(state)

    def _restore(self, state: dict[str, Any]) -> None:
        """Load model, optimizer, scheduler, RNG states and progress from a checkpoint dict."""
        self.best_state = restore_training(state, self.model, self.optimizer, self.scheduler, self.device)
        self.generator.set_state(state["rng_generator"].cpu())
        s = self.summary
        s.epochs, s.best_epoch, s.best_val_nll = state["epoch"], state["best_epoch"], state["best_val_nll"]
        s.best_val_co_bps = state.get("best_val_co_bps")
        s.stopped_early, s.history, s.resumed_from_epoch = state["stopped_early"], state["history"], state["epoch"]

    def _save_best(self) -> None:
        if self.workdir is None:
            return
        with atomic_path(Path(self.workdir) / BEST_NAME) as tmp:
            torch.save(self.model.state_dict(), tmp)


def lr_factor(config: NDTConfig) -> Callable[[int], float]:
    """Per-epoch LR multiplier: constant, or linear warm-up then half-cosine to 0 at ``max_epochs``."""
    warmup, total = config.warmup_epochs, config.max_epochs

    def factor(epoch: int) -> float:
        if config.lr_schedule == "constant":
            return 1.0
        if epoch < warmup:
            return epoch / max(1, warmup)
        progress = (epoch - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

    return factor


def load_weights(path: Path, model: NDTNet, device: torch.device) -> None:
    """Load a state dict saved by this module (``weights_only=True``; never unpickles objects)."""
    model.load_state_dict(torch.load(path, map_location=device, weights_only=True))
