"""Coefficient of determination with scikit-learn's semantics, and rate R2 against known true rates.

``r2_force_finite`` reproduces ``sklearn.metrics.r2_score(..., force_finite=True)`` per output from its
numerator and denominator (a constant true column scores 1.0 when predicted perfectly, else 0.0).
``R2TrialStats`` holds per-trial sums from which the uniform-average R2 of any resample of trials follows, so a
bootstrap costs a small matrix product instead of re-scoring. On a resample, R2's baseline (each output's mean)
stays at the full-sample mean, as the null of bits/spike does (:mod:`nbench.metrics.poisson`): re-estimated on
duplicated trials it would bias every resampled R2 down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def r2_force_finite(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Per-output R2 = 1 - numerator / denominator with sklearn's ``force_finite=True`` rules.

    Works elementwise on arrays of any shape; NaN inputs (e.g. an empty resample) give NaN.
    """
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = 1.0 - numerator / denominator
    scores = np.where(numerator == 0, 1.0, scores)
    scores = np.where((numerator != 0) & (denominator == 0), 0.0, scores)
    return np.where(np.isnan(numerator) | np.isnan(denominator), np.nan, scores)


def r2_score_uniform(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """``sklearn.metrics.r2_score(y_true, y_pred)`` (uniform average, force_finite) for samples x outputs.

    Same operations in the same order as scikit-learn, so the result is bit-identical; written here so that
    scoring does not import scikit-learn (about 1-2 s of start-up for ``nbench score``).
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"true shape {y_true.shape} != predicted shape {y_pred.shape}")
    if len(y_true) < 2:
        return float("nan")  # scikit-learn: R2 is not well-defined with less than two samples
    numerator = ((y_true - y_pred) ** 2).sum(axis=0)
    denominator = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    return float(np.mean(r2_force_finite(numerator, denominator)))


def rate_r2(pred_rates: np.ndarray, true_rates: np.ndarray) -> float:
    """R2 of predicted against true rates: per neuron over flattened trials x bins, averaged over neurons.

    Both arrays are trials x bins x neurons in expected counts per bin; the result equals
    ``sklearn.metrics.r2_score(true.reshape(-1, n), pred.reshape(-1, n))``.
    """
    pred = np.asarray(pred_rates, dtype=np.float64)
    true = np.asarray(true_rates, dtype=np.float64)
    if pred.shape != true.shape:
        raise ValueError(f"predicted rates shape {pred.shape} != true rates shape {true.shape}")
    if pred.ndim < 2:
        raise ValueError(f"rates must have a neuron axis, got shape {pred.shape}")
    if np.isnan(pred).any() or np.isinf(pred).any():
        raise ValueError("non-finite rate predictions found")
    if np.isnan(true).any():
        raise ValueError("true rates contain NaN")
    n = pred.shape[-1]
    return r2_score_uniform(true.reshape(-1, n), pred.reshape(-1, n))


@dataclass(frozen=True)
class R2TrialStats:
    """Per-trial sums (arrays trials x outputs): sample counts, squares of the true values centred on the
    full-sample mean, and squared errors."""

    count: np.ndarray
    sum_true_sq: np.ndarray
    sum_sq_error: np.ndarray


def _centred(y_true: np.ndarray) -> np.ndarray:
    """Samples x outputs centred on each output's mean; exactly zero for a constant output (the mean of a
    constant column can differ from it in the last bit, and R2 treats a constant truth specially)."""
    constant = (y_true == y_true[:1]).all(axis=0) if len(y_true) else np.ones(y_true.shape[1], bool)
    return np.where(constant, 0.0, y_true - y_true.mean(axis=0))


def r2_trial_stats(y_true: np.ndarray, y_pred: np.ndarray, trial_of_sample: np.ndarray,
                   n_trials: int) -> R2TrialStats:
    """Sufficient statistics of R2 per trial.

    Parameters
    ----------
    y_true, y_pred
        samples x outputs.
    trial_of_sample
        Trial index (0 .. n_trials-1) of each sample, non-decreasing.
    n_trials
        Number of trials (trials without samples get zero sums).
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    trials, starts = np.unique(trial_of_sample, return_index=True)
    centred = _centred(y_true)

    def per_trial(values: np.ndarray) -> np.ndarray:
        out = np.zeros((n_trials, values.shape[1]))
        if len(trials):
            out[trials] = np.add.reduceat(values, starts, axis=0)
        return out

    ones = np.ones((len(y_true), 1))
    return R2TrialStats(
        count=per_trial(ones)[:, 0],
        sum_true_sq=per_trial(centred**2),
        sum_sq_error=per_trial((y_true - y_pred) ** 2),
    )


def r2_stats_3d(true: np.ndarray, pred: np.ndarray) -> R2TrialStats:
    """``r2_trial_stats`` for trials x bins x outputs arrays (every sample observed)."""
    true = np.asarray(true, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    axes = tuple(range(1, true.ndim - 1))
    centred = _centred(true.reshape(-1, true.shape[-1])).reshape(true.shape)
    return R2TrialStats(
        count=np.full(true.shape[0], float(np.prod([true.shape[a] for a in axes]))),
        sum_true_sq=(centred**2).sum(axis=axes),
        sum_sq_error=((true - pred) ** 2).sum(axis=axes),
    )


def r2_from_stats(stats: R2TrialStats, weights: np.ndarray) -> np.ndarray:
    """Uniform-average R2 for each row of trial ``weights`` (B x trials), the baseline held at the full-sample
    mean; NaN for an empty resample."""
    count = weights @ stats.count
    numerator = np.where(count[:, None] > 0, weights @ stats.sum_sq_error, np.nan)
    return r2_force_finite(numerator, weights @ stats.sum_true_sq).mean(axis=1)
