"""Cross-validation folds of a view's training trials, for estimates a task file cannot give.

An nlb_tools 'val' extract has no behaviour or forward spikes for its eval trials; benchmarks estimate those
metrics by splitting the training trials: :func:`cv_fold` turns one fold of them into evaluation trials (their
held-in spikes and spike times only), so a model is fit and evaluated exactly as on a task's own split.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nbench.tasks.base import TaskInputs
from nbench.tasks.spiketimes import select_events


def cv_fold(inputs: TaskInputs, test: np.ndarray) -> TaskInputs:
    """Inputs whose training trials are all but ``test`` (indices of training trials) and whose evaluation
    trials are ``test``, held-in spikes (and spike times) only."""
    train = np.setdiff1d(np.arange(inputs.n_train), test)

    def rows(array: np.ndarray | None, which: np.ndarray) -> np.ndarray | None:
        return None if array is None else array[which]

    times = inputs.train_spike_times
    units = np.arange(inputs.n_heldin)
    return replace(
        inputs, train_spikes_heldin=inputs.train_spikes_heldin[train],
        train_spikes_heldout=inputs.train_spikes_heldout[train], eval_spikes_heldin=inputs.train_spikes_heldin[test],
        train_spikes_heldin_forward=rows(inputs.train_spikes_heldin_forward, train),
        train_spikes_heldout_forward=rows(inputs.train_spikes_heldout_forward, train),
        train_behavior=rows(inputs.train_behavior, train), train_conditions=rows(inputs.train_conditions, train),
        train_spike_times=None if times is None else select_events(times, train, units),
        eval_spike_times=None if times is None else select_events(times, np.asarray(test), units))


def contiguous_folds(n_trials: int, k: int) -> list[np.ndarray]:
    """``k`` folds of consecutive trials (file order), as NLB's unshuffled K-fold splits them."""
    return np.array_split(np.arange(n_trials), k)
