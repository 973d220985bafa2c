"""Swap-VAE training: Adam on batches of view pairs for a fixed number of epochs, resumable.

There is no validation or early stopping, as upstream: the last weights are the model. The full state (network,
optimizer, epoch, loss history, RNG states) is saved atomically every ``checkpoint_interval`` epochs and at the
end, so an interrupted fit resumes where it stopped and ends with the same weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nbench.baselines.swap_vae.config import SwapVAEConfig
from nbench.baselines.swap_vae.data import PairSampler
from nbench.baselines.swap_vae.net import SwapVAENet, total_loss
from nbench.baselines.training import load_checkpoint, restore_rng, resuming, rng_state, save_checkpoint

CHECKPOINT_NAME = "swap_vae_checkpoint.pt"
TERMS = ("loss", "recon_swap", "recon_orig", "kl", "align")
EpochCallback = Callable[[int, float], None]


@dataclass
class FitSummary:
    """What a fit did: epochs, batches per epoch, where it resumed, and per epoch the mean of each loss term
    (``[epoch, loss, recon_swap, recon_orig, kl, align]``)."""

    epochs: int = 0
    steps_per_epoch: int = 0
    resumed_from_epoch: int | None = None
    history: list[list[float]] = field(default_factory=list)


def steps_per_epoch(observed: np.ndarray, bin_ms: float, config: SwapVAEConfig) -> int:
    """Batches per epoch: the training data's number of ``input_window_ms`` windows over the batch size."""
    windows = float(observed.sum()) * bin_ms / config.input_window_ms
    return max(1, int(windows // config.batch_size))


class Trainer:
    """Trains one Swap-VAE on training samples.

    Parameters
    ----------
    config
        Model and training settings.
    rates, observed
        Training samples (trials x bins x neurons, Hz, float32) and which of them may be drawn.
    bin_ms
        Bin width of the samples.
    seed, device, workdir
        Seed of every draw; torch device; directory for checkpoints (None: no checkpoints).
    fingerprint
        Identity of this fit (config, data, seed); a checkpoint with another fingerprint is not resumed.
    """

    def __init__(self, config: SwapVAEConfig, rates: np.ndarray, observed: np.ndarray, bin_ms: float, seed: int,
                 device: torch.device, workdir: Path | None, fingerprint: str) -> None:
        self.config, self.device, self.workdir, self.fingerprint = config, device, workdir, fingerprint
        torch.manual_seed(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.net = SwapVAENet(rates.shape[-1], config.latent_dim, config.style_dim, config.hidden_dim).to(device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        max_offset = int(round(config.max_offset_ms / bin_ms))
        dropout = config.dropout_max if config.augmentation == "paper" else 0.0
        self.sampler = PairSampler(torch.from_numpy(rates).to(device), observed, max_offset, dropout)
        self.summary = FitSummary(steps_per_epoch=steps_per_epoch(observed, bin_ms, config))

    def run(self, callback: EpochCallback | None = None, progress: Callable[[int, str], None] | None = None
            ) -> FitSummary:
        """Train for ``epochs`` (continuing a checkpoint of this fit); leave the network in eval mode."""
        cfg, s = self.config, self.summary
        self._try_resume()
        while s.epochs < cfg.epochs:
            means = self._epoch()
            s.epochs += 1
            s.history.append([s.epochs, *means])
            if s.epochs % cfg.checkpoint_interval == 0:
                self.save_checkpoint()
            if progress is not None:
                progress(s.epochs, "  ".join(f"{k} {v:.3f}" for k, v in zip(TERMS, means, strict=True)))
            if callback is not None:
                callback(s.epochs, means[0])
        self.save_checkpoint()
        self.net.eval()
        return s

    def _epoch(self) -> list[float]:
        self.net.train()
        cfg, totals = self.config, np.zeros(len(TERMS))
        for _ in range(self.summary.steps_per_epoch):
            x1, x2 = self.sampler.batch(cfg.batch_size, self.generator)
            noise = torch.randn((2, cfg.batch_size, cfg.style_dim), generator=self.generator).to(self.device)
            terms = self.net.losses(x1, x2, (noise[0], noise[1]))
            loss = total_loss(terms, cfg.alpha, cfg.beta)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            totals += [loss.item()] + [terms[k].item() for k in TERMS[1:]]
        return (totals / self.summary.steps_per_epoch).tolist()

    def _checkpoint_path(self) -> Path | None:
        return None if self.workdir is None else Path(self.workdir) / CHECKPOINT_NAME

    def save_checkpoint(self) -> None:
        """Write the training state atomically (loadable with ``weights_only=True``)."""
        s = self.summary
        save_checkpoint(self._checkpoint_path(), {
            "format": 1, "fingerprint": self.fingerprint, "epoch": s.epochs, "history": s.history,
            "model": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
            "rng_generator": self.generator.get_state(), **rng_state(self.device)})

    def _try_resume(self) -> None:
        state: dict[str, Any] | None = load_checkpoint(self._checkpoint_path(), self.device, self.fingerprint,
                                                       "Swap-VAE")
        if state is None:
            return
        with resuming(self._checkpoint_path(), "Swap-VAE"):  # a damaged state is one line, not a traceback
            self.net.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            restore_rng(state, self.device)
            self.generator.set_state(state["rng_generator"].cpu())
            s = self.summary
            s.epochs, s.history, s.resumed_from_epoch = int(state["epoch"]), list(state["history"]), int(state["epoch"])
