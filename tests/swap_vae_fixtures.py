"""Tiny deterministic reaching data for the Swap-VAE tests: 8 reach directions, direction-tuned neurons whose
tuning is expressed during a movement bump, a per-trial gain (a "style" the direction does not explain), and hand
velocity along the reach direction."""

from __future__ import annotations

import numpy as np

from nbench.tasks.base import BehaviorSpec, TaskInputs

VELOCITY = BehaviorSpec("vel", "continuous", "nlb_ridge")
#: A small, fast Swap-VAE config for the tests.
TINY_CONFIG = dict(latent_dim=16, style_dim=8, hidden_dim=32, batch_size=64, lr=3e-3, epochs=30,
                   checkpoint_interval=5)


def reach_data(n_train: int = 96, n_eval: int = 32, n_bins: int = 30, n_heldin: int = 24, n_heldout: int = 8,
               seed: int = 0) -> tuple[TaskInputs, dict[str, np.ndarray]]:
    """Inputs (20 ms bins, 4 forward bins) plus the hidden eval truth: held-out spikes, rates, directions and
    velocity of train and eval trials."""
    rng = np.random.default_rng(seed)
    n_trials, n_neurons, n_fwd = n_train + n_eval, n_heldin + n_heldout, 4
    direction = np.arange(n_trials) % 8
    rng.shuffle(direction)
    theta = 2 * np.pi * direction / 8
    t = np.arange(n_bins + n_fwd) / n_bins
    bump = np.exp(-(((t - 0.5) / 0.2) ** 2))
    preferred = rng.uniform(0, 2 * np.pi, n_neurons)
    depth = rng.uniform(0.6, 1.2, n_neurons)
    gain = rng.normal(0, 0.25, n_trials)
    log_rates = (np.log(rng.uniform(0.15, 0.4, n_neurons))[None, None, :]
                 + depth * np.cos(theta[:, None, None] - preferred) * (0.4 + bump)[None, :, None]
                 + gain[:, None, None])
    rates = np.exp(log_rates)
    spikes = rng.poisson(rates).astype(np.float32)
    speed = 300 * bump[:n_bins] * (1 + 0.1 * rng.standard_normal((n_trials, n_bins)))
    velocity = np.stack([speed * np.cos(theta)[:, None], speed * np.sin(theta)[:, None]], axis=-1)
    tr, ev, hi, ho = slice(0, n_train), slice(n_train, None), slice(0, n_heldin), slice(n_heldin, None)
    win, fwd = slice(0, n_bins), slice(n_bins, None)
    inputs = TaskInputs(
        task="reach", dataset="reach", phase="val", group="reach", bin_ms=20.0,
        train_spikes_heldin=spikes[tr, win, hi], train_spikes_heldout=spikes[tr, win, ho],
        eval_spikes_heldin=spikes[ev, win, hi], train_spikes_heldin_forward=spikes[tr, fwd, hi],
        train_spikes_heldout_forward=spikes[tr, fwd, ho], train_behavior=velocity[tr],
        behavior=(VELOCITY,))
    truth = {"eval_spikes_heldout": spikes[ev, win, ho], "eval_spikes_forward": spikes[ev, fwd],
             "eval_rates": rates[ev, win], "direction": direction, "train_velocity": velocity[tr],
             "eval_velocity": velocity[ev]}
    return inputs, truth
