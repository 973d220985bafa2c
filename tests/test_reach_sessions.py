"""The generated reaching sessions (``nbench.testing.reaches``): recorded spike times, sessions of different
neurons, one shared behaviour, deterministic by seed."""

from __future__ import annotations

import numpy as np

from nbench.testing.reaches import ReachSessionsTask, reach_recording


def test_sessions_differ_in_neurons_and_share_the_behaviour() -> None:
    task = ReachSessionsTask((("a", 10), ("b", 7)), n_trials=20)
    prepared = task.build("test", spike_times=True)
    assert prepared.sessions == ["a", "b"] and task.info.spike_times == "recorded"
    for view, n_units in zip(prepared.views, (10, 7), strict=True):
        inputs = view.inputs
        assert inputs.n_heldin == n_units and inputs.n_heldout == 0 and inputs.train_behavior.shape[1:] == (50, 2)
        assert view.targets.eval_behavior.shape == (inputs.n_eval, 50, 2) and inputs.n_train == 16
        times = inputs.train_spike_times
        assert not times.jittered and not np.array_equal(times.time_ms, np.round(times.time_ms))
        counts = np.zeros(inputs.train_spikes_heldin.shape)
        np.add.at(counts, (times.trial, (times.time_ms // 20).astype(int), times.unit), 1)
        np.testing.assert_array_equal(counts, inputs.train_spikes_heldin)
        peak = np.abs(inputs.train_behavior).max(axis=(1, 2))
        assert np.all(peak > 0.5) and np.all(peak <= 1.0)  # one bell-shaped reach per trial


def test_generation_is_deterministic_by_seed_and_session() -> None:
    a, b = reach_recording("a", 6, 10), reach_recording("a", 6, 10)
    np.testing.assert_array_equal(a.segments.counts, b.segments.counts)
    np.testing.assert_array_equal(a.segments.spike_times.time_ms, b.segments.spike_times.time_ms)
    assert not np.array_equal(a.segments.counts, reach_recording("a", 6, 10, seed=1).segments.counts)
    assert not np.array_equal(a.segments.behavior, reach_recording("c", 6, 10).segments.behavior)
