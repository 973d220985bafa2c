"""The ``SpikeData`` container: one recording (or one synthetic dataset) as binned trials.

Every data source (synthetic generators, the NLB NWB reader, nlb_tools tensor import, IBL) produces a
``SpikeData``; tasks turn it into model inputs and hidden targets. Arrays are trials x time x neurons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SPLIT_NAMES = ("train", "val", "test", "none")


@dataclass(frozen=True, eq=False)
class SpikeData:
    """Binned spiking activity of one dataset with its metadata.

    Parameters
    ----------
    name
        Dataset name, e.g. ``"lorenz"`` or ``"mc_maze"``.
    bin_ms
        Bin width in milliseconds.
    spikes
        Spike counts, shape (trials, bins, neurons), float32 (NaN where a bin is outside the recording).
    split
        Per-trial split label, shape (trials,), one of ``SPLIT_NAMES``.
    heldout
        Boolean mask over neurons, True for held-out neurons (co-smoothing targets).
    forward_spikes
        Counts in the window right after each trial's window, shape (trials, forward_bins, neurons).
    behavior
        Behavior aligned to the bins (trials, bins, k) with any lag already applied, or per-trial values
        (trials, k).
    behavior_names
        Column names of ``behavior``.
    conditions
        Integer condition label per trial (trials,).
    regions
        Brain-region label per neuron (neurons,).
    neuron_ids
        Identifier per neuron (neurons,); defaults to ``arange(neurons)``.
    true_rates
        Ground-truth rates in **expected spike counts per bin**, same shape as ``spikes`` (synthetic data).
    true_forward_rates
        Ground-truth rates of the forward window, same shape as ``forward_spikes``.
    spike_times
        Optional per-trial, per-neuron spike times in seconds relative to the window start (ragged).
    provenance
        Free-form description of where the data came from (source, version, sha256, generator parameters).
    """

    name: str
    bin_ms: float
    spikes: np.ndarray
    split: np.ndarray
    heldout: np.ndarray
    forward_spikes: np.ndarray | None = None
    behavior: np.ndarray | None = None
    behavior_names: tuple[str, ...] = ()
    conditions: np.ndarray | None = None
    regions: np.ndarray | None = None
    neuron_ids: np.ndarray | None = None
    true_rates: np.ndarray | None = None
    true_forward_rates: np.ndarray | None = None
    spike_times: list[list[np.ndarray]] | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_trials, n_bins, n_neurons = self.spikes.shape
        _check_shape("split", self.split, (n_trials,))
        _check_shape("heldout", self.heldout, (n_neurons,))
        bad = set(np.unique(self.split)) - set(SPLIT_NAMES)
        if bad:
            raise ValueError(f"SpikeData {self.name!r}: unknown split labels {sorted(bad)}")
        if self.forward_spikes is not None:
            _check_shape("forward_spikes", self.forward_spikes, (n_trials, None, n_neurons))
        if self.true_rates is not None:
            _check_shape("true_rates", self.true_rates, self.spikes.shape)
        if self.true_forward_rates is not None and self.forward_spikes is not None:
            _check_shape("true_forward_rates", self.true_forward_rates, self.forward_spikes.shape)
        if self.conditions is not None:
            _check_shape("conditions", self.conditions, (n_trials,))
        if self.regions is not None:
            _check_shape("regions", self.regions, (n_neurons,))
        if self.neuron_ids is None:
            object.__setattr__(self, "neuron_ids", np.arange(n_neurons))
        if self.behavior is not None and self.behavior.shape[0] != n_trials:
            raise ValueError(f"SpikeData {self.name!r}: behavior has {self.behavior.shape[0]} trials, "
                             f"spikes have {n_trials}")

    @property
    def n_trials(self) -> int:
        return int(self.spikes.shape[0])

    @property
    def n_bins(self) -> int:
        return int(self.spikes.shape[1])

    @property
    def n_neurons(self) -> int:
        return int(self.spikes.shape[2])

    @property
    def forward_bins(self) -> int:
        return 0 if self.forward_spikes is None else int(self.forward_spikes.shape[1])

    @property
    def heldin_idx(self) -> np.ndarray:
        return np.flatnonzero(~self.heldout)

    @property
    def heldout_idx(self) -> np.ndarray:
        return np.flatnonzero(self.heldout)

    def trials_in(self, splits: tuple[str, ...]) -> np.ndarray:
        """Indices of the trials whose split label is in ``splits``, in dataset order."""
        return np.flatnonzero(np.isin(self.split, splits))


def _check_shape(name: str, arr: np.ndarray, expected: tuple[int | None, ...]) -> None:
    ok = arr.ndim == len(expected) and all(e is None or a == e for a, e in zip(arr.shape, expected, strict=False))
    if not ok:
        raise ValueError(f"SpikeData field {name!r}: expected shape {expected}, got {arr.shape}")
