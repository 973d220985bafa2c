"""Submissions: predicted rates in the NLB'21 submission layout.

One HDF5 file holds one group per dataset and bin size (``mc_maze``, ``mc_maze_20``, ``lorenz`` ...), each with
``train_rates_heldin``, ``train_rates_heldout``, ``eval_rates_heldin``, ``eval_rates_heldout`` and optionally
``eval_rates_heldin_forward`` / ``eval_rates_heldout_forward``. Rates are expected spike counts per bin.
nbench extension: an optional ``eval_behavior_pred`` array for models that decode behavior directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE_KEYS = (
    "train_rates_heldin",
    "train_rates_heldout",
    "eval_rates_heldin",
    "eval_rates_heldout",
    "eval_rates_heldin_forward",
    "eval_rates_heldout_forward",
)
OPTIONAL_KEYS = ("eval_rates_heldin_forward", "eval_rates_heldout_forward", "eval_behavior_pred")


@dataclass(eq=False)
class Submission:
    """Predicted rates for one submission group (trials x bins x neurons, expected counts per bin)."""

    group: str
    train_rates_heldin: np.ndarray | None
    train_rates_heldout: np.ndarray | None
    eval_rates_heldin: np.ndarray
    eval_rates_heldout: np.ndarray
    eval_rates_heldin_forward: np.ndarray | None = None
    eval_rates_heldout_forward: np.ndarray | None = None
    eval_behavior_pred: np.ndarray | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays that are present, by NLB key name."""
        keys = RATE_KEYS + ("eval_behavior_pred",)
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}
