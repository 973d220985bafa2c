"""The LFADS chaotic-RNN dataset as the NDT paper used it (``chaotic_rnn_no_inputs_dataset_N50_S50``).

A random rate network x_t = a x_{t-1} + (dt/tau) g W tanh(x_{t-1}) (a = 1 - dt/tau) runs from one initial
state per condition; each unit's tanh activity is min-max normalised per trial to [0, 1] and read out as a
Poisson rate of up to 30 Hz in 10 ms bins. Random draws follow the original generator's order exactly
(``numpy.random.RandomState(5)``: W, two unused input vectors, the initial states, the unused input times, then
the spikes trial by trial and unit by unit), so the 100-bin trial window is the published dataset (check:
W[0, 0] = 0.06239899).

nbench adds a forward window: the network keeps running for ``forward_bins`` more steps; those rates use the
trial window's min/max (clipped at 0) and their spikes come from a separate stream, so adding the window leaves
the published trials untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ChaoticRNNParams:
    """Generator settings (defaults: the NDT recipe, ``gen_synth_data_no_inputs.sh``)."""

    seed: int = 5
    n_conditions: int = 130
    n_units: int = 50
    n_replications: int = 10
    duration_s: float = 1.0
    dt_s: float = 0.01
    tau_s: float = 0.025
    gain: float = 1.5
    x0_std: float = 1.0
    max_rate_hz: float = 30.0
    forward_bins: int = 20


def simulate_rates(params: ChaoticRNNParams, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Draw the network and initial states from ``rng`` and return normalised rates and condition labels.

    Returns
    -------
    rates
        (trials, bins + forward_bins, units) in [0, 1] for the trial window (forward part clipped at 0 only).
    conditions
        (trials,) condition index, replications of a condition adjacent.
    """
    n, n_steps = params.n_units, int(round(params.duration_s / params.dt_s))
    weights = rng.randn(n, n) / np.sqrt(n)
    rng.randn(n)  # input weights: unused without inputs, drawn to keep the original random stream
    rng.randn(n)  # second input weights: likewise
    x0 = np.stack([params.x0_std * rng.randn(n) for _ in range(params.n_conditions)])
    n_trials = params.n_conditions * params.n_replications
    rng.choice(n_steps // 2, size=n_trials)  # input times: unused, drawn for the same reason

    decay = 1.0 - params.dt_s / params.tau_s
    coupling = params.dt_s / params.tau_s * params.gain * weights
    total = n_steps + params.forward_bins
    activity = np.empty((params.n_conditions, total, n))
    x, r = x0.copy(), np.tanh(x0)
    for t in range(total):
        x = decay * x + r @ coupling.T
        r = np.tanh(x)
        activity[:, t] = r
    window = activity[:, :n_steps]
    lo, hi = window.min(axis=1, keepdims=True), window.max(axis=1, keepdims=True)
    rates = np.clip((activity - lo) / (hi - lo), 0.0, None)
    rates = np.repeat(rates, params.n_replications, axis=0)
    conditions = np.repeat(np.arange(params.n_conditions), params.n_replications)
    return rates, conditions


def generate(params: ChaoticRNNParams) -> dict[str, np.ndarray]:
    """Generate spikes and true rates (expected counts per bin) for the trial and forward windows."""
    rng = np.random.RandomState(params.seed)
    rates, conditions = simulate_rates(params, rng)
    n_steps = int(round(params.duration_s / params.dt_s))
    counts_per_unit_rate = params.max_rate_hz * params.dt_s
    truth = rates * counts_per_unit_rate
    n_trials, _, n_units = truth.shape
    spikes = np.empty((n_trials, n_steps, n_units), dtype=np.float32)
    for trial in range(n_trials):  # the original order: trial by trial, unit by unit
        for unit in range(n_units):
            spikes[trial, :, unit] = rng.poisson(truth[trial, :n_steps, unit], size=n_steps)
    fwd_rng = np.random.default_rng([params.seed, 1])
    forward_spikes = fwd_rng.poisson(truth[:, n_steps:]).astype(np.float32)
    return {
        "spikes": spikes,
        "true_rates": truth[:, :n_steps].astype(np.float32),
        "forward_spikes": forward_spikes,
        "true_forward_rates": truth[:, n_steps:].astype(np.float32),
        "conditions": conditions,
        "replication": np.tile(np.arange(params.n_replications), params.n_conditions),
    }
