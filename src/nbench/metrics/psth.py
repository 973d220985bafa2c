"""PSTH R2 (NLB ``psth R2``), exactly as ``nlb_tools.evaluation.eval_psth``.

For each condition with eval trials, the predicted PSTH is the mean of that condition's eval-trial rates after
shifting each trial by its jitter (positive: later, NaN-padded at the start; negative: earlier, NaN-padded at the
end). Only the time rows where the true PSTH of the *first* neuron is not NaN are kept; the kept rows of all
conditions are stacked and scored like ``sklearn.metrics.r2_score`` (per neuron, uniform average, constant
columns follow ``force_finite``).
"""

from __future__ import annotations

import numpy as np

from nbench.metrics.rates import r2_score_uniform


def shift_trials(rates: np.ndarray, jitter: np.ndarray) -> np.ndarray:
    """Shift each trial (first axis) along time (second axis) by ``jitter`` bins, filling with NaN."""
    jitter = np.asarray(jitter)
    n_bins = rates.shape[1]
    if jitter.shape != (rates.shape[0],):
        raise ValueError(f"eval_jitter shape {jitter.shape} != ({rates.shape[0]},) eval trials")
    if not np.issubdtype(jitter.dtype, np.integer):
        if not np.all(np.mod(jitter, 1) == 0):
            raise ValueError("eval_jitter must hold whole numbers of bins")
        jitter = jitter.astype(np.int64)
    if np.any(np.abs(jitter) > n_bins):
        raise ValueError(f"eval_jitter has shifts beyond the {n_bins} bins of a trial")
    if not jitter.any():
        return rates
    source = np.arange(n_bins)[None, :] - jitter[:, None]
    valid = (source >= 0) & (source < n_bins)
    shifted = np.take_along_axis(rates, np.clip(source, 0, n_bins - 1)[:, :, None], axis=1)
    shifted[~valid] = np.nan
    return shifted


def psth_r2(psth: np.ndarray, eval_rates: np.ndarray, eval_cond_idx: list[np.ndarray],
            jitter: np.ndarray | None = None) -> float:
    """R2 of condition-averaged predicted rates against true PSTHs.

    Parameters
    ----------
    psth
        conditions x bins x neurons (all neurons: held-in then held-out), NaN where a condition is padded.
    eval_rates
        eval trials x bins x neurons, same neuron order.
    eval_cond_idx
        Per condition, indices of its eval trials (may be empty).
    jitter
        Per eval trial shift in bins, or None for no shift.
    """
    psth = np.asarray(psth, dtype=np.float64)
    rates = np.asarray(eval_rates, dtype=np.float64)
    if psth.ndim != 3 or rates.ndim != 3 or psth.shape[1:] != rates.shape[1:]:
        raise ValueError(f"psth shape {psth.shape} does not match eval rates shape {rates.shape} in bins x neurons")
    if len(eval_cond_idx) != psth.shape[0]:
        raise ValueError(f"eval_cond_idx has {len(eval_cond_idx)} conditions, psth has {psth.shape[0]}")
    if jitter is not None:
        rates = shift_trials(rates, jitter)
    true_rows, pred_rows = [], []
    for cond, trials in enumerate(eval_cond_idx):
        trials = np.asarray(trials, dtype=np.int64).ravel()
        if trials.size == 0:
            continue
        if trials.min() < 0 or trials.max() >= len(rates):
            raise ValueError(f"eval_cond_idx[{cond}] has trial indices outside 0..{len(rates) - 1}")
        keep = ~np.isnan(psth[cond, :, 0])
        pred = rates[trials].mean(axis=0)[keep]
        if np.isnan(pred).any():
            raise ValueError("NaN rate predictions found within the PSTH time rows")
        true_rows.append(psth[cond][keep])
        pred_rows.append(pred)
    if not true_rows:
        raise ValueError("no PSTH condition has eval trials")
    return r2_score_uniform(np.vstack(true_rows), np.vstack(pred_rows))
