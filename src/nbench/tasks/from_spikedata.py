"""Build model inputs and hidden targets from a :class:`SpikeData` by NLB's phase rules.

Used by every task whose data arrive as one ``SpikeData`` (the synthetic datasets, IBL sessions). NLB's own
datasets build their targets from the NWB files directly (DMFC windows differ between inputs and targets).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from nbench.data.container import SpikeData
from nbench.metrics.rates import rate_r2
from nbench.tasks.base import PHASE_SPLITS, Targets, TaskInfo, TaskInputs

#: Width (in bins) of the Gaussian that smooths the condition-average reference, as in NDT's analysis.
COND_AVG_SIGMA_BINS = 2.0


def split_spikedata(data: SpikeData, info: TaskInfo, phase: str) -> tuple[TaskInputs, Targets]:
    """Inputs (train trials + eval held-in spikes) and targets (everything else about eval trials) for a phase."""
    train_splits, eval_splits = PHASE_SPLITS[phase]
    train, evals = data.trials_in(train_splits), data.trials_in(eval_splits)
    hi, ho = data.heldin_idx, data.heldout_idx

    def pick(arr: np.ndarray | None, trials: np.ndarray, neurons: np.ndarray) -> np.ndarray | None:
        return None if arr is None else np.ascontiguousarray(arr[np.ix_(trials, np.arange(arr.shape[1]), neurons)])

    inputs = TaskInputs(
        task=info.name, dataset=data.name, phase=phase, group=info.name, bin_ms=data.bin_ms,
        train_spikes_heldin=pick(data.spikes, train, hi), train_spikes_heldout=pick(data.spikes, train, ho),
        eval_spikes_heldin=pick(data.spikes, evals, hi),
        train_spikes_heldin_forward=pick(data.forward_spikes, train, hi),
        train_spikes_heldout_forward=pick(data.forward_spikes, train, ho),
        train_behavior=None if data.behavior is None else data.behavior[train],
        train_conditions=None if data.conditions is None else data.conditions[train],
        heldin_ids=data.neuron_ids[hi], heldout_ids=data.neuron_ids[ho],
        regions_heldin=None if data.regions is None else data.regions[hi],
        regions_heldout=None if data.regions is None else data.regions[ho],
        dataset_info=dict(data.provenance),
    )
    targets = Targets(
        group=info.name,
        eval_spikes_heldout=pick(data.spikes, evals, ho),
        eval_spikes_heldin_forward=pick(data.forward_spikes, evals, hi),
        eval_spikes_heldout_forward=pick(data.forward_spikes, evals, ho),
        eval_true_rates_heldin=pick(data.true_rates, evals, hi),
        eval_true_rates_heldout=pick(data.true_rates, evals, ho),
        reference=condition_average_reference(data, train, evals),
    )
    return inputs, targets


def condition_average_reference(data: SpikeData, train: np.ndarray, evals: np.ndarray) -> dict[str, float]:
    """Rate R2 of predicting each eval trial by the smoothed mean of the train trials of its condition.

    Synthetic conditions repeat the same true rates, so this trial-free predictor is strong; reporting it beside
    a model's rate R2 shows how much single-trial inference adds. Empty when conditions or truth are missing.
    """
    if data.conditions is None or data.true_rates is None:
        return {}
    cond_train, cond_eval = data.conditions[train], data.conditions[evals]
    if not np.isin(cond_eval, cond_train).all():
        return {}
    means = {c: data.spikes[train[cond_train == c]].mean(axis=0) for c in np.unique(cond_eval)}
    smoothed = {c: gaussian_filter1d(m.astype(np.float64), COND_AVG_SIGMA_BINS, axis=0, mode="nearest")
                for c, m in means.items()}
    pred = np.stack([smoothed[c] for c in cond_eval])
    true = data.true_rates[evals]
    return {
        "rate R2 heldin (cond-avg ref)": rate_r2(pred[..., data.heldin_idx], true[..., data.heldin_idx]),
        "rate R2 heldout (cond-avg ref)": rate_r2(pred[..., data.heldout_idx], true[..., data.heldout_idx]),
    }
