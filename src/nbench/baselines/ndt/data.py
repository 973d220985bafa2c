"""Array layout of NDT inputs and outputs, built from :class:`~nbench.tasks.base.TaskInputs` only.

Time runs over the trial's bins followed by the forward-prediction bins; channels run over held-in then
held-out neurons. The model's input carries held-in counts of the trial bins only: held-out channels and
forward bins are always zero (the authors' NLB setup), so their true counts can only ever be loss targets.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from nbench.errors import ConfigError
from nbench.tasks.base import TaskInputs


@dataclass(frozen=True)
class Layout:
    """Sizes of the trial window, forward window, held-in and held-out neurons."""

    n_bins: int
    n_forward: int
    n_heldin: int
    n_heldout: int

    @property
    def total_bins(self) -> int:
        return self.n_bins + self.n_forward

    @property
    def total_neurons(self) -> int:
        return self.n_heldin + self.n_heldout

    @classmethod
    def of(cls, inputs: TaskInputs) -> Layout:
        has_forward = (inputs.train_spikes_heldin_forward is not None
                       and inputs.train_spikes_heldout_forward is not None)
        return cls(inputs.n_bins, inputs.forward_bins if has_forward else 0, inputs.n_heldin, inputs.n_heldout)


def sum_bins(counts: np.ndarray, factor: int) -> np.ndarray:
    """Counts (trials x bins x neurons) summed over consecutive groups of ``factor`` bins (NaN stays NaN)."""
    if factor == 1:
        return counts
    n_trials, n_bins, n_neurons = counts.shape
    return counts.reshape(n_trials, n_bins // factor, factor, n_neurons).sum(axis=2)


def spread_rates(rates: np.ndarray, factor: int) -> np.ndarray:
    """Rates of wide bins (trials x bins x neurons) spread evenly over the ``factor`` task bins of each."""
    return rates if factor == 1 else np.repeat(rates / factor, factor, axis=1)


def coarsen_inputs(inputs: TaskInputs, factor: int) -> TaskInputs:
    """``inputs`` at bins ``factor`` times wider (counts summed); behaviour and spike times, unused, dropped.

    Raises :class:`ConfigError` when the trial or forward window is not a whole number of wide bins.
    """
    if factor == 1:
        return inputs
    if inputs.n_bins % factor or inputs.forward_bins % factor:
        raise ConfigError(f"model 'ndt': config key 'bin_factor' expects a divisor of task {inputs.task!r}'s "
                          f"{inputs.n_bins} trial bins and {inputs.forward_bins} forward bins, got {factor}")
    wide = {key: None if getattr(inputs, key) is None else sum_bins(getattr(inputs, key), factor)
            for key in ("train_spikes_heldin", "train_spikes_heldout", "eval_spikes_heldin",
                        "train_spikes_heldin_forward", "train_spikes_heldout_forward")}
    return replace(inputs, bin_ms=inputs.bin_ms * factor, train_behavior=None, train_spike_times=None,
                   eval_spike_times=None, **wide)


def training_targets(inputs: TaskInputs, layout: Layout) -> np.ndarray:
    """All training counts in the layout (trials x total bins x total neurons, float32; NaN = not observed)."""
    top = np.concatenate([inputs.train_spikes_heldin, inputs.train_spikes_heldout], axis=2)
    if layout.n_forward:
        bottom = np.concatenate([inputs.train_spikes_heldin_forward, inputs.train_spikes_heldout_forward], axis=2)
        top = np.concatenate([top, bottom], axis=1)
    return np.asarray(top, dtype=np.float32)


def heldin_counts(spikes: np.ndarray, max_spikes: int) -> np.ndarray:
    """Held-in counts as model input: NaN -> 0, clipped to ``max_spikes``, int64."""
    clean = np.nan_to_num(np.asarray(spikes, dtype=np.float64), nan=0.0)
    return np.clip(np.rint(clean), 0, max_spikes).astype(np.int64)


def max_spikes_of(inputs: TaskInputs) -> int:
    """The embedding's largest count: the training maximum + 3 (the authors' choice)."""
    return int(np.nanmax(inputs.train_spikes_heldin, initial=0)) + 3


def split_rates(rates: np.ndarray, layout: Layout) -> dict[str, np.ndarray | None]:
    """Split (trials x total bins x total neurons) rates into held-in/held-out, trial/forward parts."""
    t, n = layout.n_bins, layout.n_heldin
    out: dict[str, np.ndarray | None] = {
        "heldin": rates[:, :t, :n], "heldout": rates[:, :t, n:], "heldin_forward": None, "heldout_forward": None}
    if layout.n_forward:
        out["heldin_forward"] = rates[:, t:, :n]
        out["heldout_forward"] = rates[:, t:, n:]
    return out
