"""Cross-validation folds and training subsets keep arrays, behaviour and spike times of the same trials."""

from __future__ import annotations

import numpy as np

from nbench.tasks.folds import contiguous_folds, cv_fold, train_subset
from nbench.testing.sessions import TinySessionsTask


def _binned(times, shape: tuple, bin_ms: float) -> np.ndarray:
    out = np.zeros(shape)
    np.add.at(out, (times.trial, (times.time_ms // bin_ms).astype(int), times.unit), 1)
    return out


def test_a_fold_moves_its_trials_to_evaluation() -> None:
    inputs = TinySessionsTask((("s1", 12),), behavior="series").build("test", spike_times=True).views[0].inputs
    folds = contiguous_folds(inputs.n_train, 3)
    assert [len(f) for f in folds] == [22, 21, 21] and np.array_equal(np.concatenate(folds), np.arange(64))
    fold = cv_fold(inputs, folds[1])
    train = np.setdiff1d(np.arange(inputs.n_train), folds[1])
    np.testing.assert_array_equal(fold.train_spikes_heldin, inputs.train_spikes_heldin[train])
    np.testing.assert_array_equal(fold.train_spikes_heldout, inputs.train_spikes_heldout[train])
    np.testing.assert_array_equal(fold.train_behavior, inputs.train_behavior[train])
    np.testing.assert_array_equal(fold.eval_spikes_heldin, inputs.train_spikes_heldin[folds[1]])
    assert fold.n_eval == 21 and fold.n_heldout == inputs.n_heldout
    np.testing.assert_array_equal(_binned(fold.train_spike_times, fold.train_spikes_heldin.shape, 20),
                                  fold.train_spikes_heldin)
    np.testing.assert_array_equal(_binned(fold.eval_spike_times, fold.eval_spikes_heldin.shape, 20),
                                  fold.eval_spikes_heldin)


def test_a_training_subset_keeps_the_chosen_trials_in_order() -> None:
    inputs = TinySessionsTask((("s1", 12),), behavior="series").build("test", spike_times=True).views[0].inputs
    rows = np.array([5, 2, 9])
    sub = train_subset(inputs, rows)
    np.testing.assert_array_equal(sub.train_behavior, inputs.train_behavior[rows])
    np.testing.assert_array_equal(_binned(sub.train_spike_times, sub.train_spikes_heldin.shape, 20),
                                  inputs.train_spikes_heldin[rows])
    assert sub.eval_spikes_heldin is inputs.eval_spikes_heldin and sub.eval_spike_times is inputs.eval_spike_times
