"""Poisson likelihood metrics: negative log-likelihood and bits per spike (NLB population and per-neuron forms).

Rates are expected spike counts per bin. Definitions follow ``nlb_tools.evaluation`` exactly (NaN spikes are
excluded, zero rates become 1e-9, the null model is each neuron's mean count over the scored data), but inputs are
never modified in place and invalid rates (negative, infinite, or NaN where a spike is observed) raise
``ValueError`` instead of failing an assert (nlb_tools asserts on NaN and negative rates and returns NaN for
infinite ones); the scorer validates submissions before calling these.

``bps_trial_stats`` / ``bps_from_stats`` give the same quantity from per-trial sufficient statistics, so that a
bootstrap over trials (which re-estimates the null model on every resample) costs one small matrix product.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

ZERO_RATE = 1e-9


def _checked(rates: np.ndarray, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float64 arrays plus the observed-entry mask; raise ValueError on unusable rates."""
    rates = np.asarray(rates, dtype=np.float64)
    spikes = np.asarray(spikes, dtype=np.float64)
    if rates.shape != spikes.shape:
        raise ValueError(f"rates shape {rates.shape} != spikes shape {spikes.shape}")
    observed = ~np.isnan(spikes)
    scored = rates[observed] if not observed.all() else rates
    if np.isnan(scored).any():
        raise ValueError("NaN rate predictions found where spikes are observed")
    if (scored < 0).any():
        raise ValueError("negative rate predictions found")
    if np.isinf(scored).any():
        raise ValueError("infinite rate predictions found")
    return rates, spikes, observed


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
    rates, spikes, observed = _checked(rates, spikes)
    if not observed.all():
        rates, spikes = rates[observed], spikes[observed]
    rates = np.where(rates == 0, ZERO_RATE, rates)
    return float(np.sum(rates - spikes * np.log(rates) + gammaln(spikes + 1.0)))


def _null_rates(spikes: np.ndarray) -> np.ndarray:
    """Each neuron's mean count over all other axes (NaN-aware), broadcast to the spikes' shape."""
    axes = tuple(range(spikes.ndim - 1))
    with np.errstate(invalid="ignore"), _quiet_nanmean():
        null = np.nanmean(spikes, axis=axes, keepdims=True)
    return np.broadcast_to(null, spikes.shape)


def bits_per_spike(rates: np.ndarray, spikes: np.ndarray) -> float:
    """NLB bits per spike: (NLL(null) - NLL(rates)) / total spikes / ln 2, pooled over all neurons.

    The null model predicts each neuron's mean count (last axis is neurons) over the same spikes.
    """
    spikes = np.asarray(spikes, dtype=np.float64)
    nll_model = neg_log_likelihood(rates, spikes)
    nll_null = neg_log_likelihood(_null_rates(spikes), spikes)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float((nll_null - nll_model) / np.nansum(spikes) / np.log(2))


def bits_per_spike_per_neuron(rates: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    """Bits per spike of each neuron (last axis) separately, as MtM computes them.

    Neurons without spikes give NaN (their bits/spike is undefined), as do infinite values; the MtM summary is
    ``np.nanmean`` of the result.
    """
    rates, spikes, observed = _checked(rates, spikes)
    n_neurons = spikes.shape[-1]
    flat_r = np.where(rates == 0, ZERO_RATE, rates).reshape(-1, n_neurons)
    flat_s = spikes.reshape(-1, n_neurons)
    obs = observed.reshape(-1, n_neurons)
    with np.errstate(invalid="ignore"), _quiet_nanmean():
        null = np.nanmean(flat_s, axis=0)
    null = np.where(null == 0, ZERO_RATE, null)
    with np.errstate(invalid="ignore", divide="ignore"):
        # lgamma(n+1) is common to both likelihoods and cancels per neuron.
        model = np.where(obs, flat_r - flat_s * np.log(flat_r), 0.0).sum(axis=0)
        null_nll = np.where(obs, null - flat_s * np.log(null), 0.0).sum(axis=0)
        total = np.where(obs, flat_s, 0.0).sum(axis=0)
        out = (null_nll - model) / total / np.log(2)
    out[~np.isfinite(out) | (total == 0)] = np.nan
    return out


@dataclass(frozen=True)
class BpsTrialStats:
    """Per-trial, per-neuron sufficient statistics of bits per spike (arrays of shape trials x neurons).

    Attributes
    ----------
    spike_sum
        Sum of observed counts.
    n_observed
        Number of observed (non-NaN) entries.
    model_nll
        Sum of r - n log r over observed entries (the lgamma term cancels in bits per spike).
    """

    spike_sum: np.ndarray
    n_observed: np.ndarray
    model_nll: np.ndarray


def bps_trial_stats(rates: np.ndarray, spikes: np.ndarray) -> BpsTrialStats:
    """Sufficient statistics of bits/spike per trial (first axis) and neuron (last axis)."""
    rates, spikes, observed = _checked(rates, spikes)
    axes = tuple(range(1, spikes.ndim - 1))
    rates = np.where(rates == 0, ZERO_RATE, rates)
    with np.errstate(invalid="ignore"):
        terms = np.where(observed, rates - spikes * np.log(rates), 0.0)
    return BpsTrialStats(
        spike_sum=np.where(observed, spikes, 0.0).sum(axis=axes),
        n_observed=observed.sum(axis=axes).astype(np.float64),
        model_nll=terms.sum(axis=axes),
    )


def _resampled_gain(stats: BpsTrialStats, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-resample, per-neuron likelihood gain over the null (nats) and spike totals, for weights (B x trials)."""
    spikes = weights @ stats.spike_sum
    count = weights @ stats.n_observed
    model = weights @ stats.model_nll
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, spikes / count, 0.0)
    mean = np.where(mean == 0, ZERO_RATE, mean)
    null = count * mean - spikes * np.log(mean)
    return null - model, spikes


def bps_from_stats(stats: BpsTrialStats, weights: np.ndarray) -> np.ndarray:
    """Population bits/spike for each row of trial ``weights`` (B x trials); NaN where no spikes."""
    gain, spikes = _resampled_gain(stats, weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        return gain.sum(axis=1) / spikes.sum(axis=1) / np.log(2)


def bps_per_neuron_from_stats(stats: BpsTrialStats, weights: np.ndarray) -> np.ndarray:
    """Neuron-averaged (nanmean) per-neuron bits/spike for each row of trial ``weights`` (B x trials)."""
    gain, spikes = _resampled_gain(stats, weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_neuron = gain / spikes / np.log(2)
    per_neuron[~np.isfinite(per_neuron) | (spikes == 0)] = np.nan
    with _quiet_nanmean():
        return np.nanmean(per_neuron, axis=1)


@contextlib.contextmanager
def _quiet_nanmean() -> Iterator[None]:
    """Silence numpy's "Mean of empty slice" warning: an all-NaN neuron legitimately gives NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
