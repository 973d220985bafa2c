"""Swap-VAE configuration: the official defaults (``nerdslab/SwapVAE`` ``vae_neural.py`` flags) as one dataclass.

This module does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from nbench.errors import ConfigError

#: ``"released"``: views are two samples of one trial at most ``max_offset_ms`` apart (the released script's
#: default path); ``"paper"``: the same temporal pairing plus randomized neuron dropout of each view (the paper).
AUGMENTATIONS = ("released", "paper")
READOUT_ALPHAS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)


@dataclass(frozen=True)
class SwapVAEConfig:
    """Hyperparameters of Swap-VAE and its training.

    Attributes
    ----------
    latent_dim, style_dim
        Total latent size (``l_dim``, 128) and its style part (``s_dim``, 64); content is the rest (64).
    hidden_dim
        Width of the encoder's second and the decoder's first layer (128).
    alpha, beta
        Weights of the style KL (10) and of the content alignment loss (1).
    lr, batch_size, epochs
        Adam learning rate, batch size and epochs (5e-4, 256, 225). An epoch is as many batches as the
        training data has ``input_window_ms`` windows, divided by the batch size (at least one), as the
        official pair generator's epoch of ``num_examples // batch_size`` batches.
    input_window_ms
        Each sample is the population's firing rate (Hz) over a window of this width centred on a bin: the
        paper's 100 ms bins, taken at every bin of the task.
    max_offset_ms
        The two views of a sample are samples of the same trial at most this far apart (offset drawn uniformly
        over the pairs, including 0): the released code's +-5 bins of 100 ms.
    augmentation
        ``"released"`` or ``"paper"`` (see :data:`AUGMENTATIONS`).
    dropout_max
        ``"paper"`` only: each view drops every neuron with a probability drawn per sample from U(0,
        dropout_max) (``RandomizedDropout(0.6)``).
    min_std
        Held-in neurons whose training input has a standard deviation at most this are left out of the network,
        as the official data loader drops them; they are predicted at their mean training rate.
    readout_alpha
        L2 penalty of the Poisson readout from latents to held-out neurons; None: chosen by 3-fold CV over
        training trials from :data:`READOUT_ALPHAS`.
    checkpoint_interval
        Save a resumable checkpoint every this many epochs (and at the end).
    """

    latent_dim: int = 128
    style_dim: int = 64
    hidden_dim: int = 128
    alpha: float = 10.0
    beta: float = 1.0
    lr: float = 5e-4
    batch_size: int = 256
    epochs: int = 225
    input_window_ms: float = 100.0
    max_offset_ms: float = 500.0
    augmentation: str = "released"
    dropout_max: float = 0.6
    min_std: float = 1e-3
    readout_alpha: float | None = None
    checkpoint_interval: int = 25

    @property
    def content_dim(self) -> int:
        return self.latent_dim - self.style_dim

    def validate(self) -> None:
        """Raise a one-line :class:`ConfigError` for an impossible setting."""
        positive = ("latent_dim", "style_dim", "hidden_dim", "lr", "batch_size", "epochs", "input_window_ms",
                    "checkpoint_interval")
        for key in positive:
            if getattr(self, key) <= 0:
                _bad(key, "a value > 0", getattr(self, key))
        if self.batch_size < 2:
            _bad("batch_size", "at least 2 (BatchNorm normalises over the batch)", self.batch_size)
        if self.style_dim >= self.latent_dim:
            _bad("style_dim", f"less than latent_dim ({self.latent_dim}) so that content is not empty",
                 self.style_dim)
        for key in ("alpha", "beta", "max_offset_ms", "min_std"):
            if getattr(self, key) < 0:
                _bad(key, "a value >= 0", getattr(self, key))
        if self.augmentation not in AUGMENTATIONS:
            _bad("augmentation", f"one of {', '.join(AUGMENTATIONS)}", self.augmentation)
        if not 0 <= self.dropout_max < 1:
            _bad("dropout_max", "a value in [0, 1)", self.dropout_max)
        if self.readout_alpha is not None and self.readout_alpha < 0:
            _bad("readout_alpha", "a value >= 0 or null (chosen by CV)", self.readout_alpha)


def _bad(key: str, expected: str, got: object) -> None:
    raise ConfigError(f"model 'swap_vae': config key {key!r} expects {expected}, got {got!r}")


#: Per-family changes to the official defaults. MC_Maze_Small has 75 training trials (525 windows of 100 ms: two
#: batches per epoch), so 225 epochs are 450 steps; on one CV fold of its training trials (50 trials, one batch
#: per epoch) co-bps was 0.060 / 0.109 / 0.112 / 0.068 after 225 / 900 / 1800 / 3600 epochs (docs/swap_vae.md).
PRESETS: dict[str, dict[str, object]] = {"mc_maze_small": {"epochs": 1000}}


def preset_config(family: str) -> SwapVAEConfig | None:
    """The preset of a dataset family (None: the official defaults apply)."""
    changes = PRESETS.get(family)
    return None if changes is None else replace(SwapVAEConfig(), **changes)
