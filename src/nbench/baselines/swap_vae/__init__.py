"""Swap-VAE baseline (Liu et al., NeurIPS 2021, arXiv:2111.02338), registered as model ``swap_vae``.

A VAE over per-bin population rates whose latent splits into a *content* part, aligned between two views of the
same trial and swapped between them in reconstruction, and a *style* part with a KL prior. nbench's own PyTorch
code after ``nerdslab/SwapVAE`` (layer sizes, loss weights and training defaults in
:class:`~nbench.baselines.swap_vae.config.SwapVAEConfig`). What it predicts:

- held-in rates: decoded from each bin's latents [content, style mean] (decoder output in Hz x bin width);
- held-out rates: the shared batched Poisson readout (:func:`nbench.baselines.readout.poisson_readout`, as
  smoothing and GPFA) from the standardised latents, fit on training trials;
- forward rates: each neuron's mean training rate (:func:`nbench.baselines.readout.forward_rates`);
- latents: [content, style mean] of every bin (``train_latents`` / ``eval_latents``), content first.

Importing this package does not import torch; :meth:`SwapVAEModel.fit` does.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from nbench.baselines.base import Capabilities, Model, config_to_dict
from nbench.baselines.progress import fit_progress
from nbench.baselines.readout import choose_alpha_cv, flat, forward_rates, poisson_readout
from nbench.baselines.swap_vae.config import READOUT_ALPHAS, SwapVAEConfig, preset_config
from nbench.baselines.training import resolve_device, set_threads
from nbench.errors import DataError, ValidationError
from nbench.extras import require
from nbench.submission import Submission
from nbench.tasks.base import TaskInputs

__all__ = ["SwapVAEConfig", "SwapVAEModel"]
RATE_CLIP = (1e-9, 1e20)


class SwapVAEModel(Model):
    """Swap-VAE on windowed per-bin rates; rates from the decoder and a Poisson readout, plus latents."""

    name = "swap_vae"
    Config = SwapVAEConfig
    capabilities = Capabilities(produces=frozenset({"rates", "latents"}))

    def __init__(self, config: SwapVAEConfig, seed: int = 0, workdir: Path | None = None,
                 device: str = "auto") -> None:
        require("torch", "model 'swap_vae'")  # here, so that a missing extra fails before any data work
        super().__init__(config, seed, workdir, device)
        self.config.validate()  # here, so that a bad config or device fails before any data work
        self.torch_device = resolve_device(device)
        self.net: Any = None
        self.summary: Any = None
        #: Optional ``callback(epoch, mean_loss)`` called after every epoch.
        self.epoch_callback: Any = None

    @classmethod
    def preset(cls, family: str, bin_ms: float | None = None) -> SwapVAEConfig | None:
        return preset_config(family)

    def fit(self, inputs: TaskInputs) -> None:
        import torch

        from nbench.baselines.swap_vae.data import window_bins, windowed_rates
        from nbench.baselines.swap_vae.train import Trainer

        if inputs.n_train < 2:
            raise ValidationError(f"model 'swap_vae': needs at least 2 training trials, got {inputs.n_train}")
        # One thread: the network's matrices are small (N x N, N x 128), so threads only add synchronisation; a
        # training step measured 0.05 s on one thread and 0.61 s on two on the shared 2-core machine.
        set_threads(limit=1)
        cfg = self.config
        self._bin_ms = inputs.bin_ms
        self.width = window_bins(cfg.input_window_ms, inputs.bin_ms)
        rates, observed = windowed_rates(inputs.train_spikes_heldin, self.width, inputs.bin_ms)
        self.active = rates[observed].std(axis=0) > cfg.min_std
        if not self.active.any():
            raise DataError(f"model 'swap_vae': every held-in neuron of {inputs.group!r} is silent in training")
        self.mean_counts = np.nan_to_num(np.nanmean(np.asarray(inputs.train_spikes_heldin, dtype=np.float64),
                                                    axis=(0, 1)))
        fingerprint = self._fingerprint(rates, inputs.bin_ms)
        started = time.perf_counter()
        with torch.random.fork_rng(devices=[]), fit_progress("Swap-VAE epoch", cfg.epochs) as bar:
            trainer = Trainer(cfg, np.ascontiguousarray(rates[..., self.active]), observed, inputs.bin_ms,
                              self.seed, self.torch_device, self.workdir, fingerprint)
            self.net = trainer.net
            self.summary = trainer.run(callback=self.epoch_callback, progress=bar)
        train_s = time.perf_counter() - started
        self._predict_all(inputs)
        self.device = str(self.torch_device)
        last = dict(zip(("loss", "recon_swap", "recon_orig", "kl", "align"), self.summary.history[-1][1:],
                        strict=True))
        self.fit_info = {
            "epochs": self.summary.epochs, "steps_per_epoch": self.summary.steps_per_epoch,
            "final_losses": last, "resumed_from_epoch": self.summary.resumed_from_epoch,
            "window_bins": self.width, "active_heldin": int(self.active.sum()), "readout_alpha": self.readout_alpha,
            "readout_cv": self.readout_cv, "device": self.device, "torch_threads": torch.get_num_threads(),
            "train_seconds": round(train_s, 3)}

    def encode(self, heldin: np.ndarray, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """Latents [content, style mean] and decoded held-in rates (expected counts per bin) of trials x bins x
        held-in counts; neurons left out of the network get their mean training count."""
        import torch

        from nbench.baselines.swap_vae.data import windowed_rates

        if self.net is None:
            raise ValidationError("model 'swap_vae': encode() called before fit()")
        x, _ = windowed_rates(heldin, self.width, self._bin_ms)
        samples = torch.from_numpy(np.ascontiguousarray(x[..., self.active].reshape(-1, int(self.active.sum()))))
        latents, decoded = [], []
        self.net.eval()
        with torch.inference_mode():
            for start in range(0, len(samples), batch_size):
                z = self.net.represent(samples[start:start + batch_size].to(self.torch_device))
                latents.append(z.cpu().numpy())
                decoded.append(self.net.decode(z).cpu().numpy())
        shape = heldin.shape[:2]
        rates = np.broadcast_to(self.mean_counts, shape + self.mean_counts.shape).copy()
        rates[..., self.active] = np.concatenate(decoded).reshape(shape + (-1,)) * (self._bin_ms / 1000.0)
        return np.concatenate(latents).reshape(shape + (-1,)), rates

    def _predict_all(self, inputs: TaskInputs) -> None:
        """Latents and held-in rates of train and eval trials; the held-out readout; the forward rates."""
        self._latents, self._heldin = {}, {}
        for split in ("train", "eval"):
            self._latents[split], self._heldin[split] = self.encode(getattr(inputs, f"{split}_spikes_heldin"))
        train_x = flat(self._latents["train"])
        mean, scale = train_x.mean(axis=0), train_x.std(axis=0)
        scale[scale == 0] = 1.0
        features = {s: (flat(self._latents[s]) - mean) / scale for s in ("train", "eval")}
        heldout = flat(inputs.train_spikes_heldout)
        self.readout_alpha, self.readout_cv = self.config.readout_alpha, {}
        if self.readout_alpha is None and inputs.n_heldout:
            self.readout_alpha, self.readout_cv = choose_alpha_cv(features["train"], heldout, inputs.n_bins,
                                                                  READOUT_ALPHAS)
        train_out, eval_out = poisson_readout(features["train"], heldout, [features["train"], features["eval"]],
                                              self.readout_alpha or 0.0, progress="Swap-VAE: Poisson readout")
        self._heldout = {"train": np.clip(train_out, *RATE_CLIP).reshape(inputs.n_train, inputs.n_bins, -1),
                         "eval": np.clip(eval_out, *RATE_CLIP).reshape(inputs.n_eval, inputs.n_bins, -1)}
        self._forward = forward_rates(inputs)

    def predict(self, inputs: TaskInputs) -> Submission:
        if self.net is None:
            raise ValidationError("model 'swap_vae': predict() called before fit()")
        return Submission(
            group=inputs.group,
            train_rates_heldin=self._heldin["train"], train_rates_heldout=self._heldout["train"],
            eval_rates_heldin=self._heldin["eval"], eval_rates_heldout=self._heldout["eval"],
            eval_rates_heldin_forward=self._forward[0], eval_rates_heldout_forward=self._forward[1],
            train_latents=self._latents["train"], eval_latents=self._latents["eval"])

    def _fingerprint(self, rates: np.ndarray, bin_ms: float) -> str:
        blob = json.dumps({"config": config_to_dict(self.config), "seed": self.seed, "bin_ms": bin_ms,
                           "active": self.active.tolist()}, sort_keys=True)
        digest = hashlib.sha256(blob.encode())
        digest.update(np.ascontiguousarray(rates).tobytes())
        return digest.hexdigest()
