"""NDT on wider bins than the task's (``bin_factor``): the network trains on summed counts, its rates are spread
evenly over the task's bins, and the fit is the same as a fit on the summed data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from ndt_fixtures import TINY_CONFIG, tiny_inputs

from nbench.baselines.base import config_to_dict
from nbench.baselines.ndt import NDTConfig, NDTModel
from nbench.baselines.ndt.config import preset_config
from nbench.baselines.ndt.data import coarsen_inputs, spread_rates, sum_bins
from nbench.errors import ConfigError
from nbench.metrics.poisson import bits_per_spike

CONFIG = {**TINY_CONFIG, "max_epochs": 8, "val_interval": 2, "dropout": 0.1}


def test_coarsen_sums_every_window_and_widens_the_bins() -> None:
    inputs, _ = tiny_inputs(n_train=6, n_eval=3, n_bins=20, n_forward=4)
    wide = coarsen_inputs(inputs, 2)
    assert (wide.n_bins, wide.forward_bins, wide.bin_ms) == (10, 2, 20.0)
    np.testing.assert_array_equal(wide.train_spikes_heldin[:, 3],
                                  inputs.train_spikes_heldin[:, 6] + inputs.train_spikes_heldin[:, 7])
    np.testing.assert_array_equal(wide.train_spikes_heldout_forward[:, 1],
                                  inputs.train_spikes_heldout_forward[:, 2:].sum(1))
    np.testing.assert_array_equal(wide.eval_spikes_heldin.sum(1), inputs.eval_spikes_heldin.sum(1))
    assert coarsen_inputs(inputs, 1) is inputs


def test_a_nan_bin_makes_its_wide_bin_unobserved() -> None:
    counts = np.ones((1, 4, 2))
    counts[0, 1, 0] = np.nan
    wide = sum_bins(counts, 2)
    assert np.isnan(wide[0, 0, 0]) and wide[0, 1, 0] == 2 and wide[0, 0, 1] == 2


def test_windows_that_do_not_divide_are_refused() -> None:
    inputs, _ = tiny_inputs(n_train=6, n_eval=3, n_bins=20, n_forward=4)
    with pytest.raises(ConfigError, match="'bin_factor' expects a divisor of task 'tiny''s 20 trial bins and 4 "
                                          "forward bins, got 3"):
        coarsen_inputs(inputs, 3)
    model = NDTModel(NDTModel.make_config("tiny", {**CONFIG, "bin_factor": 8}), seed=0, device="cpu")
    with pytest.raises(ConfigError, match="got 8"):
        model.fit(inputs)
    with pytest.raises(ConfigError, match="'bin_factor' expects >= 1"):
        NDTModel.make_config("tiny", {"bin_factor": 0})


def test_spread_rates_keep_each_wide_bins_expected_count() -> None:
    rates = np.random.default_rng(0).uniform(0.1, 2, (3, 5, 4))
    spread = spread_rates(rates, 4)
    assert spread.shape == (3, 20, 4)
    np.testing.assert_allclose(sum_bins(spread, 4), rates)


def test_a_wide_fit_is_the_fit_on_summed_counts() -> None:
    """Same seed: bin_factor 2 on the task trains the same network as bin_factor 1 on the summed data; its rates are
    that network's rates spread, so co-bps on the task's bins equals co-bps on the wide bins."""
    inputs, hidden = tiny_inputs(n_train=24, n_eval=8, n_bins=20, n_forward=4)
    wide_model = NDTModel(NDTModel.make_config("tiny", {**CONFIG, "bin_factor": 2}), seed=1, device="cpu")
    wide_model.fit(inputs)
    summed = coarsen_inputs(inputs, 2)
    plain = NDTModel(NDTModel.make_config("tiny", CONFIG), seed=1, device="cpu")
    plain.fit(summed)
    for key, value in plain.net.state_dict().items():
        assert torch.equal(value, wide_model.net.state_dict()[key]), key
    sub, wide_sub = wide_model.predict(inputs), plain.predict(summed)
    assert sub.eval_rates_heldout.shape == (8, 20, 4) and sub.eval_rates_heldin_forward.shape == (8, 4, 10)
    np.testing.assert_allclose(sub.eval_rates_heldout, spread_rates(wide_sub.eval_rates_heldout, 2), rtol=1e-6)
    truth = hidden["eval_spikes_heldout"]
    assert bits_per_spike(sub.eval_rates_heldout, truth) == pytest.approx(
        bits_per_spike(wide_sub.eval_rates_heldout, sum_bins(truth, 2)), abs=1e-9)


def test_mc_maze_small_preset_trains_on_20_ms_bins_at_any_data_bin_width() -> None:
    at5, at20 = preset_config("mc_maze_small"), preset_config("mc_maze_small", bin_ms=20)
    assert (at5.bin_factor, at20.bin_factor) == (4, 1)
    assert dataclasses.replace(at5, bin_factor=1) == at20  # same network, same windows in 20 ms bins
    assert preset_config("mc_maze", bin_ms=5).bin_factor == 1


def test_default_bin_factor_stays_out_of_the_config_dict() -> None:
    assert "bin_factor" not in config_to_dict(NDTConfig())
    assert config_to_dict(dataclasses.replace(NDTConfig(), bin_factor=4))["bin_factor"] == 4
