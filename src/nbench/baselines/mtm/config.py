"""MtM configuration: one flat dataclass and per-family presets. This module does not import torch.

The authors' configuration (reference/mtm.md 1.1-1.3) is sized for a GPU: d_model 512, 5 layers, 8 heads, MLP
1024, stitcher width 1336, 1000 epochs at lr 1e-4 (3-6 h per session on a V100). The ``multi_region``,
``lorenz`` and ``chaotic_rnn`` presets are the same architecture scaled to a CPU budget (d_model 64, 3 layers, a
higher learning rate, fewer epochs) and are labelled as such in docs/mtm.md; ``ibl`` keeps the authors' sizes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from nbench.errors import ConfigError

MASKINGS = ("mtm", "temporal")
#: MtM's four schemes, in the order of their prompt tokens.
SCHEMES = ("neuron", "causal", "inter", "intra")


@dataclass(frozen=True)
class MTMConfig:
    """Hyperparameters of the MtM model and its training.

    Attributes
    ----------
    masking
        ``"mtm"``: each batch masks with one of :data:`SCHEMES` drawn uniformly, and a learned prompt token says
        which; ``"temporal"``: the NDT objective (random time bins of every neuron, no prompt), the comparison.
    d_model, num_layers, num_heads, hidden_size
        Transformer width, depth, heads and feed-forward width (pre-LayerNorm, T-Fixup initialisation).
    stitch_dim
        Width of each session's input stitcher (``Linear(neurons -> stitch_dim)``, softsign, then a shared
        ``Linear(stitch_dim -> d_model)``); each session also has its own output layer.
    dropout, dropout_embedding
        Dropout in the encoder layers, and on the input embedding.
    mask_ratio, causal_ratio
        Fraction of neurons (neuron, intra-region) or of time bins (temporal) masked; fraction of time bins
        masked by the causal scheme (0.6, hard-coded in the authors' trainer).
    lr, weight_decay, warmup_fraction, max_epochs, batch_size, max_grad_norm
        AdamW; linear warm-up over ``warmup_fraction`` of the epochs then half-cosine to 0 (the authors'
        OneCycle); epochs are passes over the training trials of every session, batches hold one session.
    val_fraction, val_interval, checkpoint_interval
        Training trials held back for model selection (lowest masked validation NLL), how often to validate and
        to save a resumable checkpoint (epochs).
    """

    masking: str = "mtm"
    d_model: int = 128
    num_layers: int = 4
    num_heads: int = 4
    hidden_size: int = 256
    stitch_dim: int = 256
    dropout: float = 0.2
    dropout_embedding: float = 0.1
    mask_ratio: float = 0.3
    causal_ratio: float = 0.6
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.15
    max_epochs: int = 300
    batch_size: int = 16
    max_grad_norm: float = 1.0
    val_fraction: float = 0.1
    val_interval: int = 10
    checkpoint_interval: int = 25

    def validate(self) -> None:
        """Raise a one-line ConfigError for an impossible setting."""
        def fail(key: str, expected: str) -> ConfigError:
            return ConfigError(f"model 'mtm': config key {key!r} expects {expected}, got {getattr(self, key)!r}")

        if self.masking not in MASKINGS:
            raise fail("masking", f"one of {', '.join(MASKINGS)}")
        for key in ("d_model", "num_layers", "num_heads", "hidden_size", "stitch_dim", "max_epochs", "batch_size",
                    "val_interval", "checkpoint_interval"):
            if getattr(self, key) < 1:
                raise fail(key, "a positive integer")
        if self.d_model % self.num_heads:
            raise fail("num_heads", f"a divisor of d_model ({self.d_model})")
        for key in ("dropout", "dropout_embedding", "warmup_fraction", "val_fraction"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise fail(key, "a value in [0, 1)")
        for key in ("mask_ratio", "causal_ratio"):
            if not 0.0 < getattr(self, key) < 1.0:
                raise fail(key, "a value in (0, 1)")
        if not (self.lr > 0 and self.weight_decay >= 0 and self.max_grad_norm > 0):
            raise ConfigError("model 'mtm': lr and max_grad_norm must be > 0 and weight_decay >= 0")

    # The attribute names NDT's encoder layer reads, so that its layers serve as MtM's backbone.
    @property
    def pre_norm(self) -> bool:
        return True

    @property
    def fixup_init(self) -> bool:
        return True


_AUTHORS: dict[str, Any] = dict(d_model=512, num_layers=5, num_heads=8, hidden_size=1024, stitch_dim=1336,
                                dropout=0.4, dropout_embedding=0.2, lr=1e-4, max_epochs=1000)
# The NLB-style synthetic sets (one session, one region) on a CPU: a smaller network and 50 epochs, about 5
# (lorenz) and 8 (chaotic_rnn) minutes at one thread; sized to the budget, not searched (docs/mtm.md).
_SYNTHETIC: dict[str, Any] = dict(d_model=64, num_layers=3, num_heads=4, hidden_size=128, stitch_dim=128,
                                  lr=2e-3, max_epochs=50, val_interval=5, checkpoint_interval=10)
# The embedded multi_region set (3 sessions of 105 (val phase) / 120 (test phase) training trials, 213-314 neurons
# at about 0.16 spikes a bin): every gain is a fraction of a percent of the loss, so what counts is the number of
# steps. 2 layers at batch 16, lr 2e-3, 15 % warm-up and dropout 0.2 sat on the mean-rate plateau for 60 epochs;
# this preset leaves it after 20-30 epochs (docs/mtm.md). Model selection by masked validation NLL guards against
# overfitting.
_MULTI_REGION: dict[str, Any] = dict(d_model=64, num_layers=3, num_heads=4, hidden_size=128, stitch_dim=128,
                                     dropout=0.0, dropout_embedding=0.0, lr=5e-3, warmup_fraction=0.05,
                                     batch_size=8, max_epochs=200, val_interval=10, checkpoint_interval=25)
PRESETS: dict[str, dict[str, Any]] = {
    "multi_region": _MULTI_REGION,
    "ibl": _AUTHORS,
    "lorenz": _SYNTHETIC,
    "chaotic_rnn": _SYNTHETIC,
}


def preset_config(family: str, masking: str = "mtm") -> MTMConfig | None:
    """The preset of dataset family ``family`` (None when there is none) with the given masking."""
    if family not in PRESETS:
        return None
    return dataclasses.replace(MTMConfig(), masking=masking, **PRESETS[family])
