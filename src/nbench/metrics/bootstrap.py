"""Bootstrap confidence intervals over eval trials.

One set of resamples (trial multiplicities, fixed seed) is drawn per scored group and shared by every metric, so
the intervals of different metrics describe the same resampled trial sets. Metrics supply per-trial sufficient
statistics (``poisson.bps_trial_stats``, ``rates.r2_trial_stats``), so each interval is a matrix product.
"""

from __future__ import annotations

import numpy as np

DEFAULT_RESAMPLES = 1000
CI_PERCENTILES = (2.5, 97.5)


def resample_weights(n_trials: int, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """Multiplicity of each trial in each bootstrap resample (n_resamples x n_trials, float64).

    Row ``b`` counts how often each trial was drawn when ``n_trials`` trials are drawn with replacement.
    """
    if n_trials < 1 or n_resamples < 1:
        raise ValueError(f"need at least one trial and one resample, got {n_trials} and {n_resamples}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_trials, size=(n_resamples, n_trials))
    offsets = np.arange(n_resamples)[:, None] * n_trials
    counts = np.bincount((draws + offsets).ravel(), minlength=n_resamples * n_trials)
    return counts.reshape(n_resamples, n_trials).astype(np.float64)


def percentile_interval(values: np.ndarray) -> tuple[float, float] | None:
    """95% percentile interval of the finite resampled values, or None when fewer than two are finite."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size < 2:
        return None
    lo, hi = np.percentile(finite, CI_PERCENTILES)
    return float(lo), float(hi)
