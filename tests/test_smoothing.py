"""The smoothing baseline: NLB's kernel rule, per-dataset defaults, and that it learns on synthetic tasks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from baseline_data import tiny_inputs
from scipy.signal.windows import gaussian

from nbench.baselines.mean_rate import MeanRateModel
from nbench.baselines.readout import forward_rates
from nbench.baselines.smoothing import SmoothingConfig, SmoothingModel, gaussian_kernel, smooth_spikes
from nbench.errors import ConfigError
from nbench.metrics.poisson import bits_per_spike
from nbench.runner import make_task


@pytest.mark.parametrize(("kern_sd", "bin_ms", "points", "std"), [
    (30, 5, 36, 6), (40, 5, 48, 8), (50, 5, 60, 10), (60, 5, 72, 12),  # NLB's sweep values at 5 ms
    (30, 20, 9, 1), (50, 20, 15, 2), (60, 20, 18, 3), (45, 10, 27, 4),  # int() truncation at coarser bins
])
def test_kernel_follows_nlb_int_truncation(kern_sd: float, bin_ms: float, points: int, std: int) -> None:
    window = gaussian_kernel(kern_sd, bin_ms)
    expected = gaussian(points, std, sym=True)
    np.testing.assert_allclose(window, expected / expected.sum(), rtol=1e-15)


@pytest.mark.parametrize(("kern_sd", "bin_ms"), [(60, 5), (50, 5), (50, 20), (40, 20), (45, 10)])
def test_smoothing_equals_np_convolve_same_including_even_kernels(kern_sd: float, bin_ms: float) -> None:
    rng = np.random.default_rng(0)
    spikes = rng.poisson(0.3, (4, 80, 5)).astype(np.float32)
    window = gaussian_kernel(kern_sd, bin_ms)
    expected = np.apply_along_axis(lambda x: np.convolve(x, window, "same"), 1, spikes.astype(np.float64))
    got = smooth_spikes(spikes, window)
    np.testing.assert_allclose(got, expected, atol=1e-15)
    assert (got >= 0).all()


def test_kernel_narrower_than_one_bin_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="kern_sd_ms"):
        gaussian_kernel(15, 20)


@pytest.mark.parametrize(("task", "expected"), [  # NLB's published per-dataset settings (independent)
    ("mc_maze", (50, 0.01)), ("mc_maze_20", (50, 0.01)), ("mc_rtt", (30, 0.1)), ("area2_bump_20", (30, 0.01)),
    ("dmfc_rsg", (60, 0.001)), ("mc_maze_large", (40, 0.1)), ("mc_maze_medium_20", (60, 0.1)),
    ("mc_maze_small", (60, 0.1)), ("mc_maze_small_20", (60, 0.1)),
])
def test_nlb_per_dataset_defaults(task: str, expected: tuple[float, float]) -> None:
    assert default_config_of(task) == (*expected, "batched")


@pytest.mark.regression
@pytest.mark.parametrize(("task", "expected"), [
    ("lorenz", (30, 0.01)), ("chaotic_rnn", (30, 0.1)), ("my_imported_set", (50, 0.01)),
])
def test_nbench_chosen_defaults_regression(task: str, expected: tuple[float, float]) -> None:
    """Regression check: nbench's own choices (synthetic tasks: its CV tuning; unknown tasks: the fallback)."""
    assert default_config_of(task) == (*expected, "batched")


def default_config_of(task: str) -> tuple[float, float, str]:
    """(kern_sd_ms, alpha, readout) of a task's default smoothing config. Presets follow the dataset family a task
    declares (both bin sizes of an NLB dataset share one)."""
    from nbench import registry

    family, bin_ms = task, None
    if task in registry.names("tasks"):
        info = make_task(task).info
        family, bin_ms = info.preset_family, info.bin_ms
    cfg = SmoothingModel.default_config(family, bin_ms)
    return cfg.kern_sd_ms, cfg.alpha, cfg.readout


def test_overrides_and_bad_values() -> None:
    cfg = SmoothingModel.make_config("mc_maze", {"kern_sd_ms": "40", "readout": "sklearn"})
    assert cfg == SmoothingConfig(40.0, 0.01, "sklearn")
    with pytest.raises(ConfigError, match="unknown config key"):
        SmoothingModel.make_config("mc_maze", {"kernel": 40})
    inputs = tiny_inputs()
    with pytest.raises(ConfigError, match="readout"):
        SmoothingModel(SmoothingConfig(readout="lbfgs")).fit(inputs)
    with pytest.raises(ConfigError, match="alpha"):
        SmoothingModel(SmoothingConfig(alpha=-1)).fit(inputs)


def test_submission_shapes_and_forward_rule() -> None:
    inputs = tiny_inputs()
    model = SmoothingModel(SmoothingConfig(kern_sd_ms=40, alpha=0.1))
    model.fit(inputs)
    sub = model.predict(inputs)
    assert sub.train_rates_heldin.shape == (60, 30, 12) and sub.eval_rates_heldout.shape == (20, 30, 4)
    assert sub.eval_rates_heldin_forward.shape == (20, 10, 12) and sub.eval_rates_heldout_forward.shape == (20, 10, 4)
    np.testing.assert_allclose(sub.eval_rates_heldin, smooth_spikes(inputs.eval_spikes_heldin, gaussian_kernel(40, 20)))
    expected_fwd = inputs.train_spikes_heldout_forward.mean(axis=(0, 1))  # pooled over trials and forward bins
    np.testing.assert_allclose(sub.eval_rates_heldout_forward, np.broadcast_to(expected_fwd, (20, 10, 4)), rtol=1e-6)
    assert (sub.eval_rates_heldout >= 1e-9).all() and np.isfinite(sub.eval_rates_heldout).all()


@pytest.mark.parametrize("task", ["lorenz", "chaotic_rnn"])
def test_beats_the_mean_rate_predictor_on_synthetic_tasks(task: str) -> None:
    inputs, targets = make_task(task).prepare()
    scores = {}
    for model in (SmoothingModel(SmoothingModel.default_config(task)), MeanRateModel(MeanRateModel.Config())):
        model.fit(inputs)
        scores[model.name] = bits_per_spike(model.predict(inputs).eval_rates_heldout, targets.eval_spikes_heldout)
    assert scores["smoothing"] > scores["mean_rate"] + 0.2, scores


def test_forward_rate_of_a_neuron_silent_in_every_training_forward_window_is_its_trial_rate() -> None:
    inputs = tiny_inputs()
    silent_fwd = inputs.train_spikes_heldin_forward.copy()
    silent_fwd[:, :, 3] = 0.0
    inputs = dataclasses.replace(inputs, train_spikes_heldin_forward=silent_fwd)
    heldin_fwd, _ = forward_rates(inputs)
    assert heldin_fwd[0, 0, 3] == pytest.approx(inputs.train_spikes_heldin[:, :, 3].mean())
    assert (heldin_fwd > 0).all()
