"""The trivial reference: each neuron's mean training rate, constant over trials and bins.

Every real model must beat it; it is the yardstick in the tests and on the leaderboard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nbench.baselines.base import Model
from nbench.submission import Submission
from nbench.tasks.base import TaskInputs


@dataclass(frozen=True)
class MeanRateConfig:
    """No settings: the prediction is fully determined by the training data."""


class MeanRateModel(Model):
    """Predict each neuron's mean count per bin over training trials (forward: mean over training forward bins)."""

    name = "mean_rate"
    Config = MeanRateConfig

    def fit(self, inputs: TaskInputs) -> None:
        self.means = {
            "heldin": np.nanmean(inputs.train_spikes_heldin, axis=(0, 1)),
            "heldout": np.nanmean(inputs.train_spikes_heldout, axis=(0, 1)),
        }
        if inputs.train_spikes_heldin_forward is not None:
            self.means["heldin_forward"] = np.nanmean(inputs.train_spikes_heldin_forward, axis=(0, 1))
            self.means["heldout_forward"] = np.nanmean(inputs.train_spikes_heldout_forward, axis=(0, 1))

    def predict(self, inputs: TaskInputs) -> Submission:
        def fill(n_trials: int, n_bins: int, key: str) -> np.ndarray:
            return np.broadcast_to(self.means[key], (n_trials, n_bins, self.means[key].size)).copy()

        fwd = inputs.forward_bins
        return Submission(
            group=inputs.group,
            train_rates_heldin=fill(inputs.n_train, inputs.n_bins, "heldin"),
            train_rates_heldout=fill(inputs.n_train, inputs.n_bins, "heldout"),
            eval_rates_heldin=fill(inputs.n_eval, inputs.n_bins, "heldin"),
            eval_rates_heldout=fill(inputs.n_eval, inputs.n_bins, "heldout"),
            eval_rates_heldin_forward=fill(inputs.n_eval, fwd, "heldin_forward") if fwd else None,
            eval_rates_heldout_forward=fill(inputs.n_eval, fwd, "heldout_forward") if fwd else None,
        )
