"""Poisson likelihood metrics: negative log-likelihood and bits per spike (NLB population and per-neuron forms).

Rates are expected spike counts per bin. Definitions follow ``nlb_tools.evaluation`` exactly (NaN spikes are
excluded, zero rates become 1e-9, the null model is each neuron's mean count over the scored data), but inputs are
never modified in place and invalid rates (negative, or NaN where a spike is observed) raise ``ValueError``
instead of failing an assert; the scorer validates submissions before calling these.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

ZERO_RATE = 1e-9


def neg_log_likelihood(rates: np.ndarray, spikes: np.ndarray) -> float:
    """Poisson negative log-likelihood in nats, summed over all entries where ``spikes`` is not NaN.

    Parameters
    ----------
    rates
        Predicted expected counts, same shape as ``spikes``; zeros are replaced by 1e-9.
    spikes
        Observed counts; NaN entries are excluded.

    Returns
    -------
    float
        sum(r - n log r + lgamma(n + 1)).
    """
    rates = np.asarray(rates, dtype=np.float64)
    spikes = np.asarray(spikes, dtype=np.float64)
    if rates.shape != spikes.shape:
        raise ValueError(f"rates shape {rates.shape} != spikes shape {spikes.shape}")
    observed = ~np.isnan(spikes)
    if not observed.all():
        rates, spikes = rates[observed], spikes[observed]
    if np.isnan(rates).any():
        raise ValueError("NaN rate predictions found where spikes are observed")
    if (rates < 0).any():
        raise ValueError("negative rate predictions found")
    rates = np.where(rates == 0, ZERO_RATE, rates)
    return float(np.sum(rates - spikes * np.log(rates) + gammaln(spikes + 1.0)))


def _null_rates(spikes: np.ndarray) -> np.ndarray:
    """Each neuron's mean count over all other axes (NaN-aware), broadcast to the spikes' shape."""
    axes = tuple(range(spikes.ndim - 1))
    with np.errstate(invalid="ignore"):
        null = np.nanmean(spikes, axis=axes, keepdims=True)
    return np.broadcast_to(null, spikes.shape)


def bits_per_spike(rates: np.ndarray, spikes: np.ndarray) -> float:
    """NLB bits per spike: (NLL(null) - NLL(rates)) / total spikes / ln 2, pooled over all neurons.

    The null model predicts each neuron's mean count (last axis is neurons) over the same spikes.
    """
    spikes = np.asarray(spikes, dtype=np.float64)
    nll_model = neg_log_likelihood(rates, spikes)
    nll_null = neg_log_likelihood(_null_rates(spikes), spikes)
    return float((nll_null - nll_model) / np.nansum(spikes) / np.log(2))


def bits_per_spike_per_neuron(rates: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    """Bits per spike of each neuron (last axis) separately, as MtM computes them.

    Neurons without spikes give NaN (their bits/spike is undefined), as do infinite values.
    """
    rates = np.asarray(rates, dtype=np.float64)
    spikes = np.asarray(spikes, dtype=np.float64)
    n_neurons = spikes.shape[-1]
    flat_r = rates.reshape(-1, n_neurons)
    flat_s = spikes.reshape(-1, n_neurons)
    null = _null_rates(flat_s)
    out = np.full(n_neurons, np.nan)
    for j in range(n_neurons):
        total = np.nansum(flat_s[:, j])
        if total > 0:
            gain = neg_log_likelihood(null[:, j], flat_s[:, j]) - neg_log_likelihood(flat_r[:, j], flat_s[:, j])
            out[j] = gain / total / np.log(2)
    out[~np.isfinite(out)] = np.nan
    return out
