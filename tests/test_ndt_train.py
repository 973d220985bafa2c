"""NDT training: a few seconds of fitting lowers the masked NLL and nears the true rates' score; nothing of
the held-out or forward targets ever reaches the network's input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from ndt_fixtures import TINY_CONFIG, tiny_inputs

from nbench.baselines.ndt import NDTModel
from nbench.baselines.ndt.model import NDTNet
from nbench.metrics.poisson import bits_per_spike


@pytest.fixture(scope="module")
def fitted() -> tuple[NDTModel, object, dict, list]:
    inputs, hidden = tiny_inputs()
    model = NDTModel(NDTModel.make_config("tiny", TINY_CONFIG), seed=0, workdir=None, device="cpu")
    losses: list[tuple[int, float, float | None]] = []
    model.epoch_callback = lambda epoch, train, val: losses.append((epoch, train, val))
    model.fit(inputs)
    return model, inputs, hidden, losses


def test_masked_nll_falls(fitted: tuple) -> None:
    model, _, _, losses = fitted
    val = [v for _, _, v in losses if v is not None]
    train = [t for _, t, _ in losses]
    # Measured: the best validation NLL is 0.48 x the first, the last training losses 0.40 x the first.
    assert min(val) < 0.6 * val[0]
    assert np.mean(train[-5:]) < 0.5 * np.mean(train[:3])
    assert model.summary.best_val_nll == pytest.approx(min(val))


def test_nears_the_true_rates_on_heldout_and_forward(fitted: tuple) -> None:
    """Measured: co-bps 0.743 of the true rates' 0.837, forward bits/spike 0.622 of 0.747 (mean rate: 0, -0.12)."""
    model, inputs, hidden, _ = fitted
    sub = model.predict(inputs)
    spikes = hidden["eval_spikes_heldout"]
    assert bits_per_spike(sub.eval_rates_heldout, spikes) >= 0.8 * bits_per_spike(hidden["eval_rates_heldout"], spikes)
    fwd = np.concatenate([sub.eval_rates_heldin_forward, sub.eval_rates_heldout_forward], axis=2)
    truth = hidden["eval_spikes_forward"]
    assert bits_per_spike(fwd, truth) >= 0.7 * bits_per_spike(hidden["eval_rates"][:, inputs.n_bins:], truth)


def test_submission_shapes(fitted: tuple) -> None:
    model, inputs, _, _ = fitted
    sub = model.predict(inputs)
    assert sub.train_rates_heldin.shape == inputs.train_spikes_heldin.shape
    assert sub.train_rates_heldout.shape == inputs.train_spikes_heldout.shape
    assert sub.eval_rates_heldout.shape == (inputs.n_eval, inputs.n_bins, inputs.n_heldout)
    assert sub.eval_rates_heldin_forward.shape == (inputs.n_eval, inputs.forward_bins, inputs.n_heldin)
    assert (sub.eval_rates_heldin > 0).all() and np.isfinite(sub.eval_rates_heldout).all()


def test_targets_never_reach_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Held-out channels and forward bins are zero in every network input, in training and prediction."""
    inputs, _ = tiny_inputs(n_train=24, n_eval=8)
    seen: list[torch.Tensor] = []
    original = NDTNet.forward

    def spy(self: NDTNet, counts: torch.Tensor) -> torch.Tensor:
        seen.append(counts.detach().clone())
        return original(self, counts)

    monkeypatch.setattr(NDTNet, "forward", spy)
    cfg = NDTModel.make_config("tiny", {**TINY_CONFIG, "max_epochs": 3, "val_interval": 1})
    model = NDTModel(cfg, seed=0, workdir=None, device="cpu")
    model.fit(inputs)
    n_fit = len(seen)
    sub = model.predict(inputs)
    assert n_fit > 0 and len(seen) > n_fit
    for x in seen:
        assert not x[:, :, inputs.n_heldin:].any(), "held-out channels carried spikes"
        assert not x[:, inputs.n_bins:, :].any(), "forward bins carried spikes"
    # Prediction inputs are exactly the held-in counts: nothing else of the trial is visible.
    predicted = torch.cat(seen[n_fit:])
    heldin = np.concatenate([inputs.train_spikes_heldin, inputs.eval_spikes_heldin])
    assert np.array_equal(predicted[:, : inputs.n_bins, : inputs.n_heldin].numpy(), heldin)
    # Eval predictions depend on eval held-in spikes only: training-trial targets do not enter them.
    again = model.rates(inputs.eval_spikes_heldin)
    np.testing.assert_allclose(again[:, : inputs.n_bins, inputs.n_heldin:], sub.eval_rates_heldout)


def test_seeded_fit_is_deterministic_on_cpu() -> None:
    inputs, _ = tiny_inputs(n_train=24, n_eval=8)
    cfg = NDTModel.make_config("tiny", {**TINY_CONFIG, "max_epochs": 4, "dropout": 0.2})
    runs = []
    for _ in range(2):
        model = NDTModel(cfg, seed=3, workdir=None, device="cpu")
        model.fit(inputs)
        runs.append(model.predict(inputs).eval_rates_heldout)
    np.testing.assert_array_equal(runs[0], runs[1])
    other = NDTModel(dataclasses.replace(cfg), seed=4, workdir=None, device="cpu")
    other.fit(inputs)
    assert not np.array_equal(runs[0], other.predict(inputs).eval_rates_heldout)


def test_masked_inference_takes_each_heldin_bin_from_the_pass_that_masks_it(fitted: tuple) -> None:
    model, inputs, _, _ = fitted
    heldin = inputs.eval_spikes_heldin[:5]
    plain = model.rates(heldin)
    passes = 3
    model.config = dataclasses.replace(model.config, inference_mask_passes=passes)
    try:
        masked = model.rates(heldin)
    finally:
        model.config = dataclasses.replace(model.config, inference_mask_passes=0)
    n_bins, n_in = inputs.n_bins, inputs.n_heldin
    # Held-out channels and forward bins come from the unmasked pass.
    np.testing.assert_array_equal(masked[:, :, n_in:], plain[:, :, n_in:])
    np.testing.assert_array_equal(masked[:, n_bins:], plain[:, n_bins:])
    for k in range(passes):
        hidden = heldin.copy()
        hidden[:, k::passes] = 0
        expected = model.rates(hidden)[:, k:n_bins:passes, :n_in]
        np.testing.assert_allclose(masked[:, k:n_bins:passes, :n_in], expected, rtol=1e-6)
    assert not np.allclose(masked[:, :n_bins, :n_in], plain[:, :n_bins, :n_in])
