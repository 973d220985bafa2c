"""NDT network: local attention window, attention paths, presets and config errors."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
import torch

from nbench.baselines.ndt.config import NDTConfig, default_config
from nbench.baselines.ndt.model import NDTNet, context_mask
from nbench.errors import ConfigError


@pytest.mark.parametrize(("forward", "backward"), [(2, 3), (0, 5), (4, 0), (-1, 2), (3, -1), (-1, -1)])
def test_context_mask_matches_definition(forward: int, backward: int) -> None:
    n = 12
    mask = context_mask(n, forward, backward)
    for t in range(n):
        for s in range(n):
            ok_fwd = forward < 0 or s <= t + forward
            ok_back = backward < 0 or s >= t - backward
            assert bool(mask[t, s]) == (ok_fwd and ok_back)


def _net(**overrides: object) -> NDTNet:
    cfg = dataclasses.replace(NDTConfig(num_layers=1, hidden_size=16, dropout=0.0, dropout_rates=0.0,
                                        dropout_embedding=0.0), **overrides)
    torch.manual_seed(0)
    return NDTNet(cfg, n_bins=16, n_neurons=6, max_spikes=5).eval()


@pytest.mark.parametrize("embedding", ["count", "identity", "linear"])
def test_one_layer_sees_only_its_window(embedding: str) -> None:
    net = _net(embedding=embedding, embed_dim=2, context_forward=2, context_backward=3)
    x = torch.randint(0, 4, (1, 16, 6))
    base = net(x)
    for s in range(16):
        changed = x.clone()
        changed[0, s] = (changed[0, s] + 1) % 4
        moved = (net(changed) - base).abs().amax(dim=-1)[0] > 1e-6
        expected = torch.tensor([s - 2 <= t <= s + 3 for t in range(16)])
        assert torch.equal(moved, expected), f"perturbing bin {s} moved bins {moved.nonzero().flatten().tolist()}"


def test_training_attention_path_equals_fused_path() -> None:
    net = _net(context_forward=3, context_backward=1, dropout=0.0)
    net.layers[0].attn_dropout = 1e-12  # take the explicit path in train mode without actually dropping
    x = torch.randint(0, 4, (3, 16, 6))
    fused = net(x)
    net.train()
    explicit = net(x)
    assert torch.allclose(fused, explicit, atol=1e-5)


def test_dropout_is_off_in_eval_mode() -> None:
    net = _net(dropout=0.5, dropout_rates=0.5, dropout_embedding=0.5)
    x = torch.randint(0, 4, (2, 16, 6))
    assert torch.equal(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))


def test_counts_above_max_are_clamped() -> None:
    net = _net()
    x = torch.randint(0, 4, (1, 16, 6))
    big = x.clone()
    big[0, 0, 0] = 99
    capped = x.clone()
    capped[0, 0, 0] = 6  # max_spikes + 1, the largest index of the table
    assert torch.equal(net(big), net(capped))


def test_presets_follow_the_authors_configs() -> None:
    """The NDT authors' settings (arxiv architecture, lorenz.yaml, configs/mc_maze.yaml, dmfc_rsg.yaml)."""
    lorenz = default_config("lorenz")
    assert (lorenz.embedding, lorenz.embed_dim, lorenz.pre_norm, lorenz.fixup_init) == ("count", 2, True, True)
    maze, maze20 = default_config("mc_maze"), default_config("mc_maze", bin_ms=20)
    assert (maze.embedding, maze.num_layers, maze.lr_schedule) == ("identity", 4, "cosine")
    assert maze20.context_forward == round(maze.context_forward / 4)
    assert default_config("dmfc_rsg").num_layers == 6
    assert default_config("mc_maze_small", bin_ms=20).context_backward == maze20.context_backward
    assert default_config("no_such_family") == NDTConfig()


@pytest.mark.regression
def test_presets_nbench_choices_regression() -> None:
    """Regression check: nbench's own choices (pre-LN and a cosine schedule for chaotic_rnn, CPU epoch budgets)."""
    lorenz, chaotic = default_config("lorenz"), default_config("chaotic_rnn")
    assert (chaotic.pre_norm, chaotic.fixup_init, chaotic.lr_schedule) == (True, True, "cosine")
    assert lorenz.max_epochs == 500 and chaotic.max_epochs == 400
    rates = default_config("lorenz_rates")  # the paper's protocol: the lorenz recipe, a longer cosine
    assert rates == dataclasses.replace(lorenz, max_epochs=800, patience=800)
    chaotic_rates = default_config("chaotic_rnn_rates")  # batches of 16, 10% held back, a 400-epoch cosine
    assert chaotic_rates == dataclasses.replace(chaotic, batch_size=16, val_fraction=0.1, max_epochs=400,
                                                patience=400)


def test_bad_config_is_one_line_error() -> None:
    with pytest.raises(ConfigError, match="'embedding'"):
        NDTConfig(embedding="onehot").validate()
    with pytest.raises(ConfigError, match="num_heads"):
        NDTConfig(embedding="identity", num_heads=2).validate(n_neurons=7)
    with pytest.raises(ConfigError, match="mask_ratio"):
        NDTConfig(mask_ratio=1.5).validate()


def test_listing_models_does_not_import_torch() -> None:
    code = ("import sys; from nbench import registry; names = registry.names('models'); "
            "assert 'ndt' in names; registry.summary('models', 'ndt'); "
            "import nbench.baselines.ndt.config; assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
