"""DMFC_RSG ``tp corr``, exactly as ``nlb_tools.evaluation.speed_tp_correlation``.

Per eval trial, neural speed is the mean Euclidean norm of consecutive differences of all neurons' rates inside
the scored window (the bins where held-out neuron 0's spikes are not NaN, i.e. set to go). Trials are grouped by
the unique rows of behavior columns 0-2 (is_eye, theta, is_short; all-NaN rows, i.e. outlier trials, dropped),
and tp corr is the mean over groups of Pearson's r between speed and the last behavior column (tp).

One deliberate difference: a condition with fewer than two eval trials has no correlation; nlb_tools (through
scipy) raises on it, nbench leaves it out of the mean. The real DMFC_RSG eval sets have many trials per condition.
"""

from __future__ import annotations

import warnings

import numpy as np

CONDITION_COLUMNS = [0, 1, 2]


def neural_speed(eval_rates: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Per trial, mean norm of consecutive rate differences within the True bins of ``window`` (trials x bins)."""
    speeds = np.empty(len(eval_rates))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a window of < 2 bins gives NaN, as in nlb_tools
        for i, (trial, mask) in enumerate(zip(eval_rates, window, strict=True)):
            steps = np.diff(trial[mask], axis=0)
            speeds[i] = np.mean(np.linalg.norm(steps, axis=1))
    return speeds


def tp_correlation(eval_spikes_heldout: np.ndarray, eval_rates: np.ndarray, eval_behavior: np.ndarray) -> float:
    """Mean over conditions of Pearson's r between neural speed and produced interval tp.

    Parameters
    ----------
    eval_spikes_heldout
        eval trials x bins x held-out neurons, NaN outside the scored window.
    eval_rates
        eval trials x bins x all neurons.
    eval_behavior
        eval trials x columns (DMFC: is_eye, theta, is_short, ts, tp), NaN rows for outlier trials.
    """
    spikes = np.asarray(eval_spikes_heldout, dtype=np.float64)
    rates = np.asarray(eval_rates, dtype=np.float64)
    behavior = np.asarray(eval_behavior, dtype=np.float64)
    if spikes.ndim != 3 or rates.ndim != 3 or spikes.shape[:2] != rates.shape[:2]:
        raise ValueError(f"eval spikes shape {spikes.shape} and rates shape {rates.shape} differ in trials x bins")
    if behavior.ndim != 2 or len(behavior) != len(rates) or behavior.shape[1] < 4:
        raise ValueError(f"per-trial eval behavior shape {behavior.shape} does not fit {len(rates)} trials")
    window = ~np.isnan(spikes[..., 0])
    if np.isnan(rates[window]).any() or np.isinf(rates[window]).any():
        raise ValueError("non-finite rate predictions found within the scored window")
    from scipy.stats import pearsonr  # imported here: scipy.stats costs ~0.3 s and only DMFC needs it

    speeds = neural_speed(rates, window)
    conditions = np.unique(behavior[:, CONDITION_COLUMNS], axis=0)
    conditions = conditions[~np.all(np.isnan(conditions), axis=1)]
    rs = []
    for cond in conditions:
        members = np.all(behavior[:, CONDITION_COLUMNS] == cond, axis=1)
        if members.sum() < 2:
            continue
        r, _ = pearsonr(speeds[members], behavior[members, -1])
        rs.append(r)
    if not rs:
        raise ValueError("no behavior condition has two or more eval trials, so tp corr is undefined")
    return float(np.mean(rs))
