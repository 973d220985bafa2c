"""Poisson likelihood metrics: negative log-likelihood and bits per spike (NLB population and per-neuron forms).

Rates are expected spike counts per bin. Definitions follow ``nlb_tools.evaluation`` exactly (NaN spikes are
excluded, zero rates become 1e-9, the null model is each neuron's mean count over the scored data), but inputs are
never modified in place and invalid rates (negative, infinite, or NaN where a spike is observed) raise
``ValueError`` instead of failing an assert (nlb_tools asserts on NaN and negative rates and returns NaN for
infinite ones); the scorer validates submissions before calling these.

Bits per spike are computed from per-trial sufficient statistics (``bps_trial_stats``): the lgamma terms cancel
between model and null, and a bootstrap over trials costs one small matrix product (``bps_from_stats`` with
resample weights). On resamples the null model stays at the full-sample estimate: re-estimated on each resample
it would be fitted to duplicated trials, every resampled value would be biased down, and percentile intervals
could exclude their own point estimate. Holding it loses nothing at first order (the null's likelihood is
stationary at its estimate); ``benchmark/bootstrap_coverage.py`` measures the coverage (docs/scoring.md).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

ZERO_RATE = 1e-9


def _checked(rates: np.ndarray, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float64 arrays plus the observed-entry mask; raise ValueError on unusable rates."""
    rates = np.asarray(rates, dtype=np.float64)
    spikes = np.asarray(spikes, dtype=np.float64)
    if rates.shape != spikes.shape:
        raise ValueError(f"rates shape {rates.shape} != spikes shape {spikes.shape}")
    # Reductions first (min propagates NaN): the masks below are built only when something needs them.
    observed = ~np.isnan(spikes) if spikes.size and np.isnan(spikes.min()) else np.ones(spikes.shape, dtype=bool)
    scored = rates if observed.all() else rates[observed]
    low, high = (scored.min(), scored.max()) if scored.size else (0.0, 0.0)
    if not (low >= 0 and np.isfinite(high)):
        if np.isnan(scored).any():
            raise ValueError("NaN rate predictions found where spikes are observed")
        if (scored < 0).any():
            raise ValueError("negative rate predictions found")
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
    from scipy.special import gammaln  # imported here: only the full likelihood needs it (~0.3 s import)

    rates, spikes, observed = _checked(rates, spikes)
    if not observed.all():
        rates, spikes = rates[observed], spikes[observed]
    rates = np.where(rates == 0, ZERO_RATE, rates)
    return float(np.sum(rates - spikes * np.log(rates) + gammaln(spikes + 1.0)))


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
        Sum of r - n log r over observed entries (the lgamma term is common to model and null and cancels).
    """

    spike_sum: np.ndarray
    n_observed: np.ndarray
    model_nll: np.ndarray


def bps_trial_stats(rates: np.ndarray, spikes: np.ndarray) -> BpsTrialStats:
    """Sufficient statistics of bits/spike per trial (first axis) and neuron (last axis).

    Arrays with more than three axes are reduced over all middle axes; two-axis arrays are samples x neurons.
    """
    rates, spikes, observed = _checked(rates, spikes)
    if spikes.ndim < 2:
        raise ValueError(f"spikes need a neuron axis, got shape {spikes.shape}")
    axes = tuple(range(1, spikes.ndim - 1))
    rates = np.where(rates == 0, ZERO_RATE, rates)
    if observed.all():
        terms = np.log(rates)  # r - n log r, computed in place: the same operations, fewer temporaries
        terms *= spikes
        terms, counts = np.subtract(rates, terms, out=terms), spikes
    else:
        with np.errstate(invalid="ignore"):
            terms = np.where(observed, rates - spikes * np.log(rates), 0.0)
        counts = np.where(observed, spikes, 0.0)
    return BpsTrialStats(spike_sum=counts.sum(axis=axes), n_observed=observed.sum(axis=axes).astype(np.float64),
                         model_nll=terms.sum(axis=axes))


def _resampled_gain(stats: BpsTrialStats, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-neuron likelihood gain over the null model (nats) and spike totals, per row of trial ``weights``.

    ``weights`` is resamples x trials (trial multiplicities); None means every trial once (a single row).
    The null model is each neuron's mean count over all trials (1e-9 when it is zero), on resamples too.
    """
    totals = [a.sum(axis=0, keepdims=True) for a in (stats.spike_sum, stats.n_observed, stats.model_nll)]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(totals[1] > 0, totals[0] / totals[1], 0.0)
    mean = np.where(mean == 0, ZERO_RATE, mean)
    if weights is None:
        spikes, count, model = totals
    else:
        spikes, count, model = weights @ stats.spike_sum, weights @ stats.n_observed, weights @ stats.model_nll
    null = count * mean - spikes * np.log(mean)
    return null - model, spikes


def bps_population_and_neurons(stats: BpsTrialStats,
                               weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Population bits/spike (resamples,) and per-neuron bits/spike (resamples x neurons) in one pass.

    Per-neuron values are NaN for neurons without spikes and for non-finite values; the population value is
    NaN or infinite when there are no spikes at all (as in nlb_tools).
    """
    gain, spikes = _resampled_gain(stats, weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        population = gain.sum(axis=1) / spikes.sum(axis=1) / np.log(2)
        per_neuron = gain / spikes / np.log(2)
    per_neuron[~np.isfinite(per_neuron) | (spikes == 0)] = np.nan
    return population, per_neuron


def bps_from_stats(stats: BpsTrialStats, weights: np.ndarray | None = None) -> np.ndarray:
    """Population bits/spike for each row of trial ``weights`` (default: all trials once)."""
    return bps_population_and_neurons(stats, weights)[0]


def bps_per_neuron_from_stats(stats: BpsTrialStats, weights: np.ndarray | None = None) -> np.ndarray:
    """Per-neuron bits/spike (resamples x neurons) for each row of trial ``weights`` (default: all trials once)."""
    return bps_population_and_neurons(stats, weights)[1]


def neuron_mean(per_neuron: np.ndarray) -> np.ndarray:
    """MtM's summary of per-neuron bits/spike: NaN-ignoring mean over the last axis (NaN if all are NaN)."""
    with _quiet_nanmean():
        return np.nanmean(per_neuron, axis=-1)


def bits_per_spike(rates: np.ndarray, spikes: np.ndarray) -> float:
    """NLB bits per spike: (NLL(null) - NLL(rates)) / total spikes / ln 2, pooled over all neurons.

    The null model predicts each neuron's mean count (last axis is neurons) over the same spikes.
    """
    return float(bps_from_stats(bps_trial_stats(rates, spikes))[0])


def bits_per_spike_per_neuron(rates: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    """Bits per spike of each neuron (last axis) separately, as MtM computes them.

    Neurons without spikes give NaN (their bits/spike is undefined), as do infinite values; the MtM summary is
    :func:`neuron_mean` of the result.
    """
    return bps_per_neuron_from_stats(bps_trial_stats(rates, spikes))[0]


@contextlib.contextmanager
def _quiet_nanmean() -> Iterator[None]:
    """Silence numpy's "Mean of empty slice" warning: an all-NaN neuron legitimately gives NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
