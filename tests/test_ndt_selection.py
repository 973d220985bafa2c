"""NDT model selection: ``select_by="co_bps"`` keeps the validation epoch with the best held-back co-bps, trains
exactly as the default, and stays out of the config hash of runs that do not use it."""

from __future__ import annotations

import numpy as np
import pytest
from ndt_fixtures import TINY_CONFIG, tiny_inputs

from nbench.baselines.base import config_to_dict
from nbench.baselines.ndt import NDTConfig, NDTModel
from nbench.baselines.ndt.config import preset_config
from nbench.baselines.ndt.train import split_trials
from nbench.errors import ConfigError, ValidationError
from nbench.metrics.poisson import bits_per_spike

CONFIG = {**TINY_CONFIG, "max_epochs": 30, "val_interval": 3, "dropout": 0.1}


def _fit_with_curve(select_by: str) -> tuple[NDTModel, list[tuple[int, float]], list[float]]:
    """A tiny fit; the held-back trials' co-bps at every validation epoch, measured from outside the trainer."""
    inputs, _ = tiny_inputs(n_train=30, n_eval=8)
    model = NDTModel(NDTModel.make_config("tiny", {**CONFIG, "select_by": select_by}), seed=2, workdir=None,
                     device="cpu")
    val = split_trials(inputs.n_train, model.config.val_fraction, model.seed)[0]
    curve: list[tuple[int, float]] = []
    train_losses: list[float] = []

    def record(epoch: int, train_loss: float, val_loss: float | None) -> None:
        train_losses.append(train_loss)
        if val_loss is not None:
            rates = model.rates(inputs.train_spikes_heldin[val])[:, : inputs.n_bins, inputs.n_heldin:]
            curve.append((epoch, bits_per_spike(rates, inputs.train_spikes_heldout[val])))

    model.epoch_callback = record
    model.fit(inputs)
    assert sorted(val.tolist()) == model.summary.val_trials
    return model, curve, train_losses


def test_co_bps_selection_keeps_the_best_held_back_co_bps_epoch() -> None:
    model, curve, _ = _fit_with_curve("co_bps")
    best_epoch, best = max(curve, key=lambda point: point[1])
    assert model.summary.best_epoch == best_epoch
    assert model.summary.best_val_co_bps == pytest.approx(best, abs=1e-6)
    assert model.fit_info["selected_by"] == "co_bps"
    assert model.fit_info["best_val_co_bps"] == pytest.approx(best, abs=1e-6)
    # The kept weights are that epoch's: the co-bps of the held-back trials after fit is the best of the curve.
    inputs, _ = tiny_inputs(n_train=30, n_eval=8)
    val = model.summary.val_trials
    rates = model.rates(inputs.train_spikes_heldin[val])[:, : inputs.n_bins, inputs.n_heldin:]
    assert bits_per_spike(rates, inputs.train_spikes_heldout[val]) == pytest.approx(best, abs=1e-6)


def test_selection_does_not_change_training() -> None:
    by_cobps, curve_a, losses_a = _fit_with_curve("co_bps")
    by_nll, curve_b, losses_b = _fit_with_curve("masked_nll")
    assert losses_a == losses_b and curve_a == curve_b
    assert by_nll.summary.best_val_co_bps is None
    assert by_nll.summary.best_val_nll == by_cobps.summary.best_val_nll
    # Measured: the masked NLL keeps epoch 30 (held-back co-bps 0.681), co-bps keeps epoch 27 (0.735).
    scores = dict(curve_a)
    assert by_cobps.summary.best_epoch != by_nll.summary.best_epoch
    assert scores[by_cobps.summary.best_epoch] > scores[by_nll.summary.best_epoch]


def test_default_selection_stays_out_of_the_config_dict() -> None:
    """Run keys of committed masked-NLL runs stay valid: the field is hashed only when set."""
    assert "select_by" not in config_to_dict(NDTConfig())
    assert config_to_dict(NDTConfig(select_by="co_bps"))["select_by"] == "co_bps"
    assert preset_config("mc_maze_small").select_by == "co_bps"
    assert preset_config("lorenz").select_by == "masked_nll"


def test_co_bps_selection_needs_heldout_neurons() -> None:
    inputs, _ = tiny_inputs(n_train=12, n_eval=4, n_heldout=0)
    model = NDTModel(NDTModel.make_config("tiny", {**CONFIG, "select_by": "co_bps"}), seed=0, workdir=None,
                     device="cpu")
    with pytest.raises(ValidationError, match="select_by") as err:
        model.fit(inputs)
    assert "\n" not in str(err.value)


def test_unknown_selection_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="select_by.*one of"):
        NDTModel(NDTModel.make_config("tiny", {"select_by": "loss"}), seed=0, workdir=None, device="cpu")


def test_rates_of_no_trials_are_empty() -> None:
    model, _, _ = _fit_with_curve("masked_nll")
    inputs, _ = tiny_inputs(n_train=30, n_eval=8)
    empty = model.rates(inputs.eval_spikes_heldin[:0])
    assert empty.shape == (0, inputs.n_bins + inputs.forward_bins, inputs.n_heldin + inputs.n_heldout)
    assert np.isfinite(model.rates(inputs.eval_spikes_heldin)).all()
