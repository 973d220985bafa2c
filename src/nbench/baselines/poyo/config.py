"""POYO configuration: torch_brain's 1.3M model shape and a training recipe reduced to fit a CPU.

The model fields are the constructor arguments of ``torch_brain.models.POYO`` (0.2.1) with the values of
torch_brain's ``poyo_1.3M`` config (``examples/poyo/configs/model``). The training fields follow its recipe
(``examples/poyo/train_simple.py``: sample-weighted MSE on normalised behaviour at the behaviour timestamps,
a one-cycle schedule that holds the peak learning rate for half the run and then decays it by a cosine, weight
decay 1e-4, unit dropout) scaled down to CPU: AdamW instead of SparseLAMB (not in the 0.2.1 wheel), batches of
2 trials at a peak learning rate of 5e-4 instead of 128 at 4e-3, tens of epochs instead of 1000, no unit dropout
by default, and z-scored behaviour instead of fixed per-dataset scales. POYO starts on a plateau (it predicts
the mean) that it leaves after a number of optimizer *steps*; with a few hundred training trials and a CPU
budget, many small steps leave it soonest (docs/poyo.md has the measurements). Results are labelled "reduced
recipe". This module does not import torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nbench.errors import ConfigError

RECIPE = ("reduced recipe: torch_brain poyo_1.3M shape; AdamW, one-cycle schedule (peak for the first "
          "{pct:.0%}, then cosine), {epochs} epochs of batch {batch}, z-scored behaviour, CPU-sized")


@dataclass(frozen=True)
class POYOConfig:
    """Hyperparameters of POYO and its training.

    Attributes
    ----------
    dim, depth, dim_head, cross_heads, self_heads, num_latents_per_step
        Model shape (torch_brain's ``poyo_1.3M``: 64, 6, 64, 2, 8, 16).
    latent_step
        Spacing of the latent grid in seconds (0.125 upstream); rounded so that a whole number of steps fills
        the task's trial window, which is the model's ``sequence_length``.
    emb_init_scale
        Spread of the initial unit, session, token-type and latent embeddings (0.02 upstream).
    ffn_dropout, lin_dropout, atn_dropout
        Dropout of the feed-forward blocks, the residual branches and attention (0.2 / 0.4 / 0.2 upstream).
    lr, weight_decay, batch_size, epochs, pct_start
        AdamW peak learning rate and weight decay, trials per step, passes over the training trials, and the
        fraction of the run held at the peak learning rate before the cosine decay (0.5 upstream).
    unit_dropout
        Largest fraction of a trial's units dropped at random in a training sample (upstream keeps a
        triangularly distributed number of units); 0 switches the augmentation off.
    checkpoint_interval
        Save a resumable checkpoint every this many epochs (and at the end).
    """

    dim: int = 64
    depth: int = 6
    dim_head: int = 64
    cross_heads: int = 2
    self_heads: int = 8
    num_latents_per_step: int = 16
    latent_step: float = 0.125
    emb_init_scale: float = 0.02
    ffn_dropout: float = 0.2
    lin_dropout: float = 0.4
    atn_dropout: float = 0.2
    lr: float = 5e-4
    weight_decay: float = 1e-4
    batch_size: int = 2
    epochs: int = 20
    pct_start: float = 0.5
    unit_dropout: float = 0.0
    checkpoint_interval: int = 5

    def validate(self) -> None:
        """Raise a one-line :class:`ConfigError` for an impossible setting."""
        positive = ("dim", "depth", "dim_head", "cross_heads", "self_heads", "num_latents_per_step", "batch_size",
                    "epochs", "checkpoint_interval")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"poyo config: {name} must be >= 1, got {getattr(self, name)}")
        if not self.latent_step > 0 or not self.lr > 0 or self.weight_decay < 0:
            raise ConfigError("poyo config: latent_step and lr must be > 0 and weight_decay >= 0")
        for name in ("ffn_dropout", "lin_dropout", "atn_dropout", "unit_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"poyo config: {name} must be in [0, 1), got {getattr(self, name)}")
        if not 0 <= self.pct_start <= 1:
            raise ConfigError(f"poyo config: pct_start must be in [0, 1], got {self.pct_start}")

    def recipe(self) -> str:
        """The label results of this config carry."""
        return RECIPE.format(pct=self.pct_start, epochs=self.epochs, batch=self.batch_size)


#: Per-family settings on top of the defaults. NLB maze reaches (one 700 ms window per trial): 30 epochs of
#: batch 2 (1,500 steps on MC_Maze_Small's 100 training trials), chosen by cross-validation on the 75 training
#: trials of its val extract (benchmark/poyo_mc_maze_small_cv.py; unit dropout 0.3 scored lower there).
PRESETS: dict[str, dict[str, object]] = {
    family: {"epochs": 30} for family in ("mc_maze", "mc_maze_large", "mc_maze_medium", "mc_maze_small")
}


def preset_config(family: str) -> POYOConfig | None:
    """The preset of a dataset family, or None."""
    values = PRESETS.get(family)
    return None if values is None else dataclasses.replace(POYOConfig(), **values)
