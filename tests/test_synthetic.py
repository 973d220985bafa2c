"""The embedded synthetic datasets: exact recipe, determinism, cache, splits, and what a model may see."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import h5py
import numpy as np
import pytest

from nbench.data.synthetic import SPECS, chaotic_rnn, load_synthetic
from nbench.tasks.base import TaskInputs
from nbench.tasks.synthetic import SyntheticTask


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def test_chaotic_rnn_is_the_published_recipe(cache: Path) -> None:
    """Golden values of the LFADS/NDT chaotic RNN (seed 5): W[0,0], rate statistics, split sizes."""
    rng = np.random.RandomState(5)
    assert abs(rng.randn(50, 50)[0, 0] / np.sqrt(50) - 0.06239899) < 1e-8
    data = load_synthetic("chaotic_rnn", cache)
    assert data.segments.counts.shape == (1300, 100, 50) and data.segments.bin_ms == 10.0
    assert data.segments.counts.max() == 6  # gives NDT's hard-coded max_spikes = 9 (= max + 3)
    assert abs(data.segments.counts.mean() - 0.150) < 0.001
    assert abs((data.segments.counts == 0).mean() - 0.866) < 0.001
    # truth is in expected counts per bin: 0-30 Hz at 10 ms -> [0, 0.3] in the trial window
    assert data.segments.true_rates.min() >= 0 and abs(data.segments.true_rates.max() - 0.3) < 1e-6
    assert {s: int((data.trials.split == s).sum()) for s in ("train", "val", "test")} == {"train": 910, "val": 130,
                                                                                   "test": 260}
    assert int(data.units.flags["heldout"].sum()) == 10 and data.segments.forward.shape == (1300, 20, 50)


def test_chaotic_rnn_all_replications_share_rates(cache: Path) -> None:
    data = load_synthetic("chaotic_rnn", cache)
    reps = data.segments.true_rates.reshape(130, 10, 100, 50)
    assert np.array_equal(reps[:, 0], reps[:, 9])


def test_forward_window_leaves_published_trials_untouched() -> None:
    short = chaotic_rnn.generate(dataclasses.replace(chaotic_rnn.ChaoticRNNParams(), forward_bins=0))
    full = chaotic_rnn.generate(chaotic_rnn.ChaoticRNNParams())
    assert np.array_equal(short["spikes"], full["spikes"])
    assert np.array_equal(short["true_rates"], full["true_rates"])


def test_lorenz_shapes_units_and_splits(cache: Path) -> None:
    data = load_synthetic("lorenz", cache)
    assert data.segments.counts.shape == (1560, 50, 29) and data.segments.bin_ms == 20.0
    assert data.segments.counts.max() <= 20  # at most one spike per 1 ms
    # expected counts per bin: mean truth matches mean counts
    assert abs(data.segments.true_rates.mean() - data.segments.counts.mean()) < 0.003
    assert {s: int((data.trials.split == s).sum()) for s in ("train", "val", "test")} == {"train": 936, "val": 312,
                                                                                   "test": 312}
    assert int(data.units.flags["heldout"].sum()) == 6 and data.segments.forward.shape == (1560, 10, 29)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_generation_is_deterministic_and_cached(name: str, tmp_path: Path) -> None:
    first = load_synthetic(name, tmp_path)
    cached = Path(first.provenance["cache"])
    assert cached.exists()
    fresh = SPECS[name].generate(SPECS[name].params)
    assert np.array_equal(first.segments.counts, fresh["spikes"])
    again = load_synthetic(name, tmp_path)
    assert np.array_equal(first.segments.counts, again.segments.counts)
    assert np.array_equal(first.units.flags["heldout"], again.units.flags["heldout"])


def test_damaged_cache_is_regenerated(tmp_path: Path) -> None:
    cached = Path(load_synthetic("lorenz", tmp_path).provenance["cache"])
    cached.write_bytes(cached.read_bytes()[:500])
    data = load_synthetic("lorenz", tmp_path)
    assert data.segments.counts.shape == (1560, 50, 29)
    with h5py.File(cached) as h5:
        assert h5["spikes"].shape == (1560, 50, 29)


@pytest.mark.parametrize("phase,n_train,n_eval", [("test", 1248, 312), ("val", 936, 312)])
def test_lorenz_task_phases(phase: str, n_train: int, n_eval: int, cache: Path) -> None:
    inputs, targets = SyntheticTask("lorenz", cache).prepare(phase)
    assert (inputs.n_train, inputs.n_eval, inputs.n_heldin, inputs.n_heldout) == (n_train, n_eval, 23, 6)
    assert inputs.forward_bins == 10 and targets.eval_spikes_heldout.shape == (n_eval, 50, 6)
    assert set(targets.reference) == {"rate R2 heldin (cond-avg ref)", "rate R2 heldout (cond-avg ref)"}


def test_targets_never_reach_model_inputs(cache: Path) -> None:
    """No TaskInputs field holds eval held-out spikes, eval forward spikes or true rates."""
    inputs, targets = SyntheticTask("chaotic_rnn", cache).prepare("test")
    data = load_synthetic("chaotic_rnn", cache)
    hidden = [targets.eval_spikes_heldout, targets.eval_spikes_heldin_forward, targets.eval_true_rates_heldin]
    for field in dataclasses.fields(TaskInputs):
        value = getattr(inputs, field.name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim == 3:
            assert value.shape[0] == inputs.n_train or field.name == "eval_spikes_heldin", field.name
            for secret in hidden:
                assert value.shape != secret.shape or not np.array_equal(value, secret), field.name
    test_trials = data.trials.rows_in(("test",))
    heldin = np.flatnonzero(~data.units.flags["heldout"])
    assert np.array_equal(inputs.eval_spikes_heldin, data.segments.counts[test_trials][..., heldin])


def test_condition_average_reference_is_informative(cache: Path) -> None:
    """The cond-avg predictor is strong on chaotic_rnn (NDT reports ~0.69) and positive on lorenz."""
    _, chaotic = SyntheticTask("chaotic_rnn", cache).prepare("test")
    assert 0.6 < chaotic.reference["rate R2 heldin (cond-avg ref)"] < 0.8
    _, lorenz_targets = SyntheticTask("lorenz", cache).prepare("test")
    assert 0.2 < lorenz_targets.reference["rate R2 heldout (cond-avg ref)"] < 0.7
