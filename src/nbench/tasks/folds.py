"""Subsets and cross-validation folds of a view's training trials, for estimates a task file cannot give.

An nlb_tools 'val' extract has no behaviour or forward spikes for its eval trials; benchmarks estimate those
metrics by splitting the training trials: :func:`cv_fold` turns one fold of them into evaluation trials (their
held-in spikes and spike times only), so a model is fit and evaluated exactly as on a task's own split.
:func:`train_subset` keeps some training trials only (a session with little data).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nbench.tasks.base import TaskInputs
from nbench.tasks.spiketimes import select_events


def train_subset(inputs: TaskInputs, rows: np.ndarray) -> TaskInputs:
    """``inputs`` with only the training trials ``rows`` (indices, in the order given); eval trials unchanged."""

    def pick(array: np.ndarray | None) -> np.ndarray | None:
        return None if array is None else array[rows]

    times = inputs.train_spike_times
    return replace(
        inputs, train_spikes_heldin=inputs.train_spikes_heldin[rows], train_spikes_heldout=pick(
            inputs.train_spikes_heldout), train_spikes_heldin_forward=pick(inputs.train_spikes_heldin_forward),
        train_spikes_heldout_forward=pick(inputs.train_spikes_heldout_forward),
        train_behavior=pick(inputs.train_behavior), train_conditions=pick(inputs.train_conditions),
        train_spike_times=None if times is None else select_events(times, rows, np.arange(inputs.n_heldin)))


def cv_fold(inputs: TaskInputs, test: np.ndarray) -> TaskInputs:
    """Inputs whose training trials are all but ``test`` (indices of training trials) and whose evaluation
    trials are ``test``, held-in spikes (and spike times) only."""
    test = np.asarray(test)
    times = inputs.train_spike_times
    return replace(
        train_subset(inputs, np.setdiff1d(np.arange(inputs.n_train), test)),
        eval_spikes_heldin=inputs.train_spikes_heldin[test],
        eval_spike_times=None if times is None else select_events(times, test, np.arange(inputs.n_heldin)))


def contiguous_folds(n_trials: int, k: int) -> list[np.ndarray]:
    """``k`` folds of consecutive trials (file order), as NLB's unshuffled K-fold splits them."""
    return np.array_split(np.arange(n_trials), k)
