"""Swap-VAE: the swap operation, training, views, determinism and resumable checkpoints (seconds each)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from swap_vae_fixtures import TINY_CONFIG, reach_data  # noqa: E402

from nbench.baselines.mean_rate import MeanRateModel  # noqa: E402
from nbench.baselines.swap_vae import SwapVAEModel  # noqa: E402
from nbench.baselines.swap_vae.data import PairSampler, windowed_rates  # noqa: E402
from nbench.baselines.swap_vae.net import poisson_nll  # noqa: E402
from nbench.baselines.swap_vae.train import CHECKPOINT_NAME  # noqa: E402
from nbench.errors import ConfigError  # noqa: E402
from nbench.metrics.poisson import bits_per_spike  # noqa: E402


def _fit(epochs: int, workdir: Path | None = None, seed: int = 0, **overrides: object) -> SwapVAEModel:
    inputs, _ = reach_data()
    config = SwapVAEModel.make_config("reach", {**TINY_CONFIG, "epochs": epochs, **overrides})
    model = SwapVAEModel(config, seed=seed, workdir=workdir, device="cpu")
    model.fit(inputs)
    return model


def test_windowed_rates_are_centred_cut_at_edges_and_skip_unobserved_bins() -> None:
    counts = np.array([[[1.0], [3.0], [np.nan], [2.0], [0.0]]])  # one trial, 5 bins of 10 ms, one neuron
    rates, observed = windowed_rates(counts, width=3, bin_ms=10.0)
    # window of bin t: bins t - 1 .. t + 1 inside the trial; mean count over its observed bins, per second
    expected = np.array([(1 + 3) / 2, (1 + 3) / 2, (3 + 2) / 2, (2 + 0) / 2, (2 + 0) / 2]) / 0.01
    np.testing.assert_allclose(rates[0, :, 0], expected, rtol=1e-6)
    assert observed.all()
    rates, observed = windowed_rates(np.full((1, 3, 2), np.nan), width=1, bin_ms=10.0)
    assert not observed.any() and (rates == 0).all()


def test_views_are_two_bins_of_one_trial_within_the_offset() -> None:
    n_trials, n_bins = 6, 40
    ids = np.arange(n_trials * n_bins, dtype=np.float32).reshape(n_trials, n_bins, 1)  # sample id as "rate"
    observed = np.ones((n_trials, n_bins), dtype=bool)
    observed[2, 10:] = False
    sampler = PairSampler(torch.from_numpy(ids), observed, max_offset=5, dropout_max=0.0)
    x1, x2 = sampler.batch(20000, torch.Generator().manual_seed(0))
    a, b = x1[:, 0].long().numpy(), x2[:, 0].long().numpy()
    assert (a // n_bins == b // n_bins).all()
    offsets = b - a
    assert np.abs(offsets).max() == 5 and (offsets == 0).any()
    assert observed.ravel()[a].all() and observed.ravel()[b].all()
    # uniform over pairs: away from the edges every offset is about equally frequent
    inner = (a % n_bins >= 5) & (a % n_bins < n_bins - 5) & (a // n_bins != 2)
    freq = np.bincount(offsets[inner] + 5) / inner.sum()
    np.testing.assert_allclose(freq, 1 / 11, atol=0.015)


def test_paper_views_drop_neurons_at_a_random_rate() -> None:
    ones = torch.ones(4, 10, 50)
    observed = np.ones((4, 10), dtype=bool)
    x1, x2 = PairSampler(ones, observed, 2, dropout_max=0.6).batch(4000, torch.Generator().manual_seed(1))
    dropped = (x1 == 0).float().mean(dim=1).numpy()  # per-sample dropout rate ~ U(0, 0.6)
    assert dropped.mean() == pytest.approx(0.3, abs=0.02) and dropped.max() < 0.8
    assert not torch.equal(x1, x2)
    released = PairSampler(ones, observed, 2, dropout_max=0.0).batch(100, torch.Generator().manual_seed(1))
    assert bool((released[0] == 1).all())


def test_swapping_content_within_a_trial_keeps_the_reconstruction() -> None:
    """Content taken from another view of the same trial reconstructs about as well as the sample's own; content
    of a trial reaching the opposite way does not."""
    inputs, truth = reach_data()
    model = _fit(epochs=20)
    x = torch.from_numpy(windowed_rates(inputs.train_spikes_heldin, model.width, inputs.bin_ms)[0])
    direction = truth["direction"][: inputs.n_train]
    opposite = np.array([np.flatnonzero(direction == (d + 4) % 8)[0] for d in direction])
    own, same, other = [], [], []
    with torch.no_grad():
        for b1 in range(4, 20, 3):
            x1, x2, x3 = x[:, b1], x[:, b1 + 8], x[opposite, b1 + 8]
            c1, mu1, _ = model.net.encode(x1)
            saturated = poisson_nll(x1, x1).mean()

            def excess(content: torch.Tensor, x1=x1, mu1=mu1, saturated=saturated) -> float:
                return float(poisson_nll(x1, model.net.decode(torch.cat([content, mu1], 1))).mean() - saturated)

            own.append(excess(c1))
            same.append(excess(model.net.encode(x2)[0]))
            other.append(excess(model.net.encode(x3)[0]))
    own_loss, same_loss, other_loss = np.mean(own), np.mean(same), np.mean(other)
    assert same_loss < 1.1 * own_loss
    assert other_loss > 1.2 * own_loss and other_loss > same_loss + 0.1 * own_loss


def test_short_training_lowers_the_loss_and_beats_mean_rate() -> None:
    inputs, truth = reach_data()
    model = _fit(epochs=10)
    history = np.array(model.summary.history)
    assert history[-1, 1] < history[0, 1] - 100  # total loss per sample
    sub = model.predict(inputs)
    baseline = MeanRateModel(MeanRateModel.Config())
    baseline.fit(inputs)
    mean_bps = bits_per_spike(baseline.predict(inputs).eval_rates_heldout, truth["eval_spikes_heldout"])
    assert bits_per_spike(sub.eval_rates_heldout, truth["eval_spikes_heldout"]) > mean_bps + 0.1
    assert sub.train_latents.shape == (inputs.n_train, inputs.n_bins, TINY_CONFIG["latent_dim"])
    assert sub.eval_latents.shape == (inputs.n_eval, inputs.n_bins, TINY_CONFIG["latent_dim"])
    assert (sub.eval_rates_heldin >= 0).all() and np.isfinite(sub.eval_rates_heldin).all()


def test_resumed_fit_gives_the_same_model(tmp_path: Path) -> None:
    class Interrupt(Exception):
        pass

    straight = _fit(epochs=10, workdir=tmp_path / "straight")
    inputs, _ = reach_data()
    config = SwapVAEModel.make_config("reach", {**TINY_CONFIG, "epochs": 10})
    interrupted = SwapVAEModel(config, seed=0, workdir=tmp_path / "resumed", device="cpu")

    def stop(epoch: int, loss: float) -> None:
        if epoch == 7:
            raise Interrupt

    interrupted.epoch_callback = stop
    with pytest.raises(Interrupt):
        interrupted.fit(inputs)
    assert torch.load(tmp_path / "resumed" / CHECKPOINT_NAME, weights_only=True)["epoch"] == 5
    resumed = _fit(epochs=10, workdir=tmp_path / "resumed")
    assert resumed.summary.resumed_from_epoch == 5
    assert resumed.summary.history == straight.summary.history
    for key, value in straight.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    assert _fit(epochs=1, seed=1).summary.history[0] != straight.summary.history[0]


def test_a_damaged_checkpoint_state_is_one_line(tmp_path: Path) -> None:
    """A readable checkpoint of this fit whose weights have the wrong shapes: one line naming --fresh."""
    from nbench.errors import DataError

    _fit(epochs=2, workdir=tmp_path)
    path = tmp_path / CHECKPOINT_NAME
    state = torch.load(path, weights_only=True)
    state["model"] = {k: v[:1] if v.ndim else v for k, v in state["model"].items()}
    torch.save(state, path)
    with pytest.raises(DataError) as info:
        _fit(epochs=2, workdir=tmp_path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: cannot resume from this Swap-VAE checkpoint")


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("augmentation", "mixup", "expects one of released, paper"),
    ("style_dim", 128, "less than latent_dim"),
    ("batch_size", 1, "at least 2"),
    ("dropout_max", 1.0, "in [0, 1)"),
])
def test_bad_config_is_one_line(key: str, value: object, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        SwapVAEModel(SwapVAEModel.make_config("reach", {key: value}), device="cpu")
    message = str(info.value)
    assert message.startswith(f"model 'swap_vae': config key '{key}' expects") and expected in message
    assert "\n" not in message
