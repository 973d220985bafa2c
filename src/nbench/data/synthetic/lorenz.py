"""An NDT-like Lorenz dataset, following the LFADS run-manager demo recipe the NDT Lorenz data matches.

Recipe (the sizes of NDT's ``lfads_lorenz.h5``: 65 conditions x 24 trials, 29 neurons, 50 bins of 20 ms):
the Lorenz system (sigma 10, rho 28, beta 8/3) is integrated by forward Euler with dt = 0.006 from one initial
state per condition (standard normal + [0, 0, 25]) after a 500-step burn-in, one step per ms. Each condition's
trajectory is mean-centred over the 1 s trial window and divided by its per-dimension maximum over that window.
Neuron i fires at lambda_i(t) = exp(clip(W_i . x(t) + log(5 Hz * 1 ms), -20, 20)) spikes per ms, with
|W| ~ U(1, 2) and random signs; a 1 ms bin holds a spike when a Poisson(lambda) draw is positive, and counts are
summed into 20 ms bins. The ground truth is the expected count per 20 ms bin, sum over ms of
1 - exp(-lambda). The original used MATLAB's random stream, so this dataset is NDT-*like*, not byte-identical.

nbench adds a 200 ms forward window: the trajectory continues with the trial window's normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LorenzParams:
    """Generator settings."""

    seed: int = 0
    n_conditions: int = 65
    trials_per_condition: int = 24
    n_neurons: int = 29
    trial_ms: int = 1000
    bin_ms: int = 20
    forward_ms: int = 200
    burn_in_steps: int = 500
    euler_dt: float = 0.006
    baseline_hz: float = 5.0


def integrate(x0: np.ndarray, n_steps: int, dt: float) -> np.ndarray:
    """Forward-Euler Lorenz trajectories for a batch of initial states: (batch, 3) -> (batch, n_steps, 3)."""
    sigma, rho, beta = 10.0, 28.0, 8.0 / 3.0
    out = np.empty((x0.shape[0], n_steps, 3))
    x = x0.astype(np.float64).copy()
    for t in range(n_steps):
        out[:, t] = x
        dx = np.stack([sigma * (x[:, 1] - x[:, 0]),
                       x[:, 0] * (rho - x[:, 2]) - x[:, 1],
                       x[:, 0] * x[:, 1] - beta * x[:, 2]], axis=1)
        x = x + dt * dx
    return out


def generate(params: LorenzParams) -> dict[str, np.ndarray]:
    """Generate binned spikes, true rates (expected counts per bin) and condition labels."""
    rng = np.random.default_rng(params.seed)
    weights = rng.uniform(1.0, 2.0, (params.n_neurons, 3)) * np.where(rng.standard_normal((params.n_neurons, 3)) < 0,
                                                                        -1.0, 1.0)
    x0 = rng.standard_normal((params.n_conditions, 3)) + np.array([0.0, 0.0, 25.0])
    total_ms = params.trial_ms + params.forward_ms
    path = integrate(x0, params.burn_in_steps + total_ms, params.euler_dt)[:, params.burn_in_steps:]
    window = path[:, :params.trial_ms]
    centred = path - window.mean(axis=1, keepdims=True)
    latents = centred / (window - window.mean(axis=1, keepdims=True)).max(axis=1, keepdims=True)
    log_rate = latents @ weights.T + np.log(params.baseline_hz / 1000.0)
    p_spike = -np.expm1(-np.exp(np.clip(log_rate, -20.0, 20.0)))  # P(Poisson(lambda) > 0) per ms

    n_bins_total = total_ms // params.bin_ms
    binned_truth = p_spike.reshape(params.n_conditions, n_bins_total, params.bin_ms, -1).sum(axis=2)
    reps = params.trials_per_condition
    spikes = np.empty((params.n_conditions * reps, n_bins_total, params.n_neurons), dtype=np.float32)
    for cond in range(params.n_conditions):  # per condition keeps memory at one condition's 1 ms draws
        draws = rng.random((reps,) + p_spike.shape[1:]) < p_spike[cond]
        spikes[cond * reps:(cond + 1) * reps] = draws.reshape(reps, n_bins_total, params.bin_ms, -1).sum(axis=2)
    truth = np.repeat(binned_truth, reps, axis=0).astype(np.float32)
    n_bins = params.trial_ms // params.bin_ms
    return {
        "spikes": spikes[:, :n_bins],
        "true_rates": truth[:, :n_bins],
        "forward_spikes": spikes[:, n_bins:],
        "true_forward_rates": truth[:, n_bins:],
        "conditions": np.repeat(np.arange(params.n_conditions), reps),
        "latents": np.repeat(latents[:, :params.trial_ms:params.bin_ms], reps, axis=0).astype(np.float32),
    }
