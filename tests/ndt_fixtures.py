"""Tiny deterministic spiking data for the NDT tests: a rotating 2-D latent read out by log-linear neurons."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from nbench.data.nlb_tensors import import_tensors
from nbench.tasks.base import TaskInputs


def tiny_inputs(n_train: int = 48, n_eval: int = 16, n_bins: int = 20, n_forward: int = 4, n_heldin: int = 10,
                n_heldout: int = 4, seed: int = 0) -> tuple[TaskInputs, dict[str, np.ndarray]]:
    """Inputs plus the hidden eval truth (held-out spikes and rates) of a small synthetic task."""
    rng = np.random.default_rng(seed)
    n_trials, total_bins, n_neurons = n_train + n_eval, n_bins + n_forward, n_heldin + n_heldout
    phase = rng.uniform(0, 2 * np.pi, n_trials)[:, None] + np.linspace(0, 2 * np.pi, total_bins)[None, :]
    latent = np.stack([np.cos(phase), np.sin(phase)], axis=-1)  # trials x bins x 2
    weights = rng.normal(0, 1.2, (2, n_neurons))
    rates = np.exp(latent @ weights + np.log(0.4))
    spikes = rng.poisson(rates).astype(np.float32)
    tr, ev = slice(0, n_train), slice(n_train, n_trials)
    hi, ho = slice(0, n_heldin), slice(n_heldin, n_neurons)
    win, fwd = slice(0, n_bins), slice(n_bins, total_bins)
    inputs = TaskInputs(
        task="tiny", dataset="tiny", phase="val", group="tiny", bin_ms=10.0,
        train_spikes_heldin=spikes[tr, win, hi], train_spikes_heldout=spikes[tr, win, ho],
        eval_spikes_heldin=spikes[ev, win, hi],
        train_spikes_heldin_forward=spikes[tr, fwd, hi] if n_forward else None,
        train_spikes_heldout_forward=spikes[tr, fwd, ho] if n_forward else None,
    )
    hidden = {"eval_spikes_heldout": spikes[ev, win, ho], "eval_rates_heldout": rates[ev][:, win, ho],
              "eval_spikes_forward": spikes[ev, fwd, :], "eval_rates": rates[ev]}
    return inputs, hidden


def import_tiny_task(tmp: Path, n_bins: int = 50) -> Path:
    """Write :func:`tiny_inputs` as an nlb_tools tensor file (10 ms bins) and import it as task ``tiny`` into the
    data directory ``tmp / "data"``, which is returned (50 bins: GPFA places three 20-bin segments at random)."""
    inputs, hidden = tiny_inputs(n_bins=n_bins)
    with h5py.File(tmp / "tiny_10ms.h5", "w") as h5:
        for key in ("train_spikes_heldin", "train_spikes_heldout", "eval_spikes_heldin",
                    "train_spikes_heldin_forward", "train_spikes_heldout_forward"):
            h5[key] = getattr(inputs, key)
        h5["eval_spikes_heldout"] = hidden["eval_spikes_heldout"]
    import_tensors(tmp / "tiny_10ms.h5", "tiny", tmp / "data")
    return tmp / "data"


#: A small, fast NDT config for the tests (2 layers, count embedding).
TINY_CONFIG = dict(num_layers=2, hidden_size=32, embed_dim=2, max_epochs=40, val_interval=5, patience=1000,
                   checkpoint_interval=5, lr=5e-3, dropout=0.0, dropout_rates=0.0, dropout_embedding=0.0,
                   batch_size=16, context_forward=4, context_backward=4)
