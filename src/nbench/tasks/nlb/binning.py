"""Spike counts of chosen bins, straight from the spike list (nlb_tools' ``resample`` + window slicing).

A bin of ``f`` ms starting at ms ``k*f`` holds the observed spikes of ms ``k*f .. k*f+f-1``; it is NaN when its
first ms is unobserved. Only the bins that a tensor needs are counted.
"""

from __future__ import annotations

import numpy as np

from nbench.data.recording import SpikeBlock, TrialSpikes


def add_counts(out: np.ndarray, flat_index: np.ndarray) -> None:
    """``out.flat[i] += 1`` for every ``i`` in ``flat_index`` (repeats add up).

    Sorting and counting runs is several times faster than ``np.add.at`` for millions of spikes.
    """
    if len(flat_index) == 0:
        return
    ordered = np.sort(flat_index)
    cut = np.flatnonzero(np.diff(ordered)) + 1
    starts = np.concatenate([[0], cut])
    runs = np.diff(np.concatenate([starts, [len(ordered)]]))
    out.reshape(-1)[ordered[starts]] += runs


def counts_at(group: SpikeBlock, bins: np.ndarray, bin_ms: int, n_bins: int) -> np.ndarray:
    """Spike counts of ``group`` at ``bins`` (any shape, repeats allowed): ``bins.shape + (units,)``, float32."""
    flat = bins.reshape(-1)
    n_units = len(group.ids)
    out = np.zeros((len(flat), n_units), dtype=np.float32)
    spike_bin = group.spike_ms // bin_ms
    # A bin can be wanted several times (overlapping windows): one lookup table per repeat.
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    new_run = np.concatenate([[True], ordered[1:] != ordered[:-1]]) if len(flat) else np.zeros(0, bool)
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(len(flat)), 0))
    repeat = np.arange(len(flat)) - run_start
    for layer in range(int(repeat.max()) + 1 if len(flat) else 0):
        table = np.full(n_bins, -1, dtype=np.int64)
        chosen = repeat == layer
        table[ordered[chosen]] = order[chosen]
        position = table[spike_bin]
        hit = position >= 0
        add_counts(out, position[hit] * n_units + group.spike_col[hit])
    out[~group.observed[flat * bin_ms]] = np.nan
    return out.reshape(bins.shape + (n_units,))


def times_at(group: SpikeBlock, bins: np.ndarray, bin_ms: int) -> TrialSpikes:
    """Spike times of ``group`` in the trial windows ``bins`` (trials x bins, ascending within a trial).

    Times are whole ms from the start of each window's first bin (the 1 ms grid of the recording); a bin's
    spikes are those :func:`counts_at` counts in it, and unobserved bins (NaN counts) contribute none, so binning
    the times at ``bin_ms`` gives the observed counts exactly. Events are sorted by (trial, time).
    """
    n_trials, n_bins = bins.shape
    start_ms = bins.reshape(-1).astype(np.int64) * bin_ms
    lo = np.searchsorted(group.spike_ms, start_ms)
    n = np.searchsorted(group.spike_ms, start_ms + bin_ms) - lo
    n[~group.observed[start_ms]] = 0
    slot = np.repeat(np.arange(len(start_ms)), n)
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    idx = np.repeat(lo - first, n) + np.arange(int(n.sum()))
    time_ms = (slot % n_bins) * bin_ms + (group.spike_ms[idx] - start_ms[slot])
    return TrialSpikes(slot // n_bins, time_ms.astype(np.float64), group.spike_col[idx].astype(np.int32))


def missing_bins(recording_groups: dict[str, SpikeBlock], row_valid: list[np.ndarray], bin_ms: int,
                 n_bins: int) -> np.ndarray:
    """Per bin: True when any column of nlb_tools' data frame is NaN there (spikes of either unit group, or
    any behavior series), i.e. the rows that ``allow_nans=False`` drops."""
    first_ms = np.arange(n_bins) * bin_ms
    missing = np.zeros(n_bins, dtype=bool)
    for group in recording_groups.values():
        missing |= ~group.observed[first_ms]
    for valid in row_valid:
        missing |= ~valid[first_ms]
    return missing
