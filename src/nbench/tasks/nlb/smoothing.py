"""Gaussian-smoothed spike counts summed into bins and averaged over trials: the numbers behind NLB's PSTHs.

nlb_tools smooths every unit's 1 ms counts with ``scipy.signal.convolve(segment, window, "same")`` on each
NaN-free segment (for NLB's 240-420 tap kernels scipy always picks direct convolution, so this is an exact
float64 sum), rectifies, sums the samples of each bin (NaN samples count 0; a bin whose first sample is NaN is
NaN), then averages over trials by ``align_time``. Smoothing is linear, so for every trial whose window and
kernel reach lie inside one segment (a *clean* trial) the per-condition sum is a banded kernel matrix times the
condition's spike histogram: one matrix product per window length instead of a convolution per trial and unit.
Other trials are computed one by one with the segment rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.signal
import scipy.sparse

from nbench.data.recording import SpikeBlock
from nbench.tasks.nlb.binning import add_counts


def gaussian_window(kern_sd_ms: int) -> np.ndarray:
    """nlb_tools' ``smooth_spk`` window at 1 ms: ``int(6*sd)`` points, std ``sd``, normalised to sum 1."""
    window = scipy.signal.windows.gaussian(int(6 * kern_sd_ms), kern_sd_ms, sym=True)
    return window / np.sum(window)


@dataclass
class TrialSet:
    """Trials to average: condition index, window start bin, number of bins and alignment bin of each."""

    cond: np.ndarray
    first: np.ndarray
    count: np.ndarray
    align_bin: np.ndarray


@dataclass
class Sums:
    """Per condition: sum and non-NaN count of each ``align_time`` row, and which rows occur at all."""

    low: np.ndarray
    total: list[np.ndarray]
    n_valid: list[np.ndarray]
    present: list[np.ndarray]


def condition_sums(group: SpikeBlock, trials: TrialSet, n_cond: int, window: np.ndarray, bin_ms: int
                   ) -> Sums:
    """Sum over each condition's trials of the binned smoothed counts of ``group``, per ``align_time`` row."""
    a0 = trials.first - trials.align_bin
    low = np.array([a0[trials.cond == c].min() for c in range(n_cond)])
    high = np.array([(a0 + trials.count)[trials.cond == c].max() for c in range(n_cond)])
    n_units = len(group.ids)
    sizes = high - low
    sums = Sums(low, [np.zeros((n, n_units)) for n in sizes], [np.zeros(n) for n in sizes],
                [np.zeros(n, bool) for n in sizes])
    for c, start, n in zip(trials.cond, a0, trials.count, strict=True):
        sums.present[c][start - low[c]:start - low[c] + n] = True
    clean = _clean(group, trials, len(window), bin_ms)
    _add_clean(sums, group, trials, clean, window, bin_ms)
    runs = _observed_runs(group.observed) if not clean.all() else None
    for t in np.flatnonzero(~clean):
        values = _one_trial(group, runs, int(trials.first[t]), int(trials.count[t]), window, bin_ms)
        row = int(a0[t] - low[trials.cond[t]])
        ok = ~np.isnan(values[:, 0]) if n_units else np.ones(len(values), bool)
        sums.total[trials.cond[t]][row:row + len(values)][ok] += values[ok]
        sums.n_valid[trials.cond[t]][row:row + len(values)][ok] += 1
    return sums


def _reach(n_taps: int) -> tuple[int, int]:
    """(lead, lag): a spike at ms s feeds sample m ('same' mode) when ``m - lead <= s <= m + lag``."""
    centre = (n_taps - 1) // 2
    return n_taps - 1 - centre, centre


def _clean(group: SpikeBlock, trials: TrialSet, n_taps: int, bin_ms: int) -> np.ndarray:
    """True when a trial's samples and every spike that reaches them lie in one observed run of the grid."""
    lead, lag = _reach(n_taps)
    lo = trials.first * bin_ms - lead
    hi = (trials.first + trials.count) * bin_ms - 1 + lag
    n_ms = len(group.observed)
    inside = (lo >= 0) & (hi < n_ms)
    observed_before = np.concatenate([[0], np.cumsum(group.observed, dtype=np.int64)])
    lo_c, hi_c = np.clip(lo, 0, n_ms - 1), np.clip(hi, 0, n_ms - 1)
    full = observed_before[hi_c + 1] - observed_before[lo_c] == hi_c - lo_c + 1
    return inside & full


def binned_kernel(window: np.ndarray, bin_ms: int) -> np.ndarray:
    """``B[t]``: weight of one spike ``t`` ms after the first reachable ms of a bin in that bin's sum.

    With relative ms 0 = ``lead`` ms before the bin's first sample, sample ``q`` of the bin weighs the spike
    by ``window[q + n_taps - 1 - t]`` ('same' mode: ``window[m - s + centre]``).
    """
    n_taps = len(window)
    t = np.arange(n_taps + bin_ms - 1)[:, None]
    tap = np.arange(bin_ms)[None, :] + n_taps - 1 - t
    return np.where((tap >= 0) & (tap < n_taps), window[np.clip(tap, 0, n_taps - 1)], 0.0).sum(axis=1)


def band_matrix(count: int, kernel: np.ndarray, bin_ms: int) -> np.ndarray:
    """``M[i, j] = kernel[j - i*bin_ms]``: bin ``i``'s weight of a spike at relative ms ``j``."""
    span = (count - 1) * bin_ms + len(kernel)
    t = np.arange(span)[None, :] - bin_ms * np.arange(count)[:, None]
    return np.where((t >= 0) & (t < len(kernel)), kernel[np.clip(t, 0, len(kernel) - 1)], 0.0)


def _add_clean(sums: Sums, group: SpikeBlock, trials: TrialSet, clean: np.ndarray, window: np.ndarray,
               bin_ms: int) -> None:
    """Clean trials: per window length, (condition, start) x unit spike histograms times the band matrix.

    The histograms are sparse (one entry per spike), so the product costs about spikes x bins.
    """
    lead, _ = _reach(len(window))
    kernel = binned_kernel(window, bin_ms)
    n_units = len(group.ids)
    a0 = trials.first - trials.align_bin
    idx = np.flatnonzero(clean)
    for count in np.unique(trials.count[idx]):
        same = idx[trials.count[idx] == count]
        keys, column = np.unique(np.stack([trials.cond[same], a0[same]]), axis=1, return_inverse=True)
        column = column.reshape(-1)
        matrix = band_matrix(int(count), kernel, bin_ms)
        rel, owner, unit = _spikes_in(group, trials.first[same] * bin_ms - lead, matrix.shape[1])
        hist = scipy.sparse.csr_matrix((np.ones(len(rel)), (column[owner] * n_units + unit, rel)),
                                       shape=(keys.shape[1] * n_units, matrix.shape[1]))
        product = np.asarray(hist @ matrix.T)  # (keys x units, bins)
        for k in range(keys.shape[1]):
            cond, start = keys[:, k]
            row = int(start - sums.low[cond])
            sums.total[cond][row:row + count] += product[k * n_units:(k + 1) * n_units].T
            sums.n_valid[cond][row:row + count] += np.sum(column == k)


def _spikes_in(group: SpikeBlock, starts: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spikes at ms ``starts[i] .. starts[i] + span - 1``: their ms relative to ``starts[i]``, ``i`` and unit."""
    lo = np.searchsorted(group.spike_ms, starts, side="left")
    hi = np.searchsorted(group.spike_ms, starts + span, side="left")
    lengths = hi - lo
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    take = np.repeat(lo - offsets, lengths) + np.arange(int(lengths.sum()))
    owner = np.repeat(np.arange(len(starts)), lengths)
    return group.spike_ms[take] - starts[owner], owner, group.spike_col[take]


def _dense_counts(group: SpikeBlock, start: int, stop: int) -> np.ndarray:
    """1 ms counts of every unit over ``start:stop``."""
    out = np.zeros((stop - start, len(group.ids)))
    rel, _, unit = _spikes_in(group, np.array([start]), stop - start)
    add_counts(out, rel * out.shape[1] + unit)
    return out


def _observed_runs(observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of every run of observed ms: nlb_tools' NaN-free segments."""
    edges = np.diff(np.concatenate([[0], observed.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _smooth_run(group: SpikeBlock, start: int, stop: int, lo: int, hi: int, window: np.ndarray) -> np.ndarray:
    """Smoothed samples ``lo:hi`` of the observed run ``start:stop`` (all units), as nlb_tools computes them.

    A run shorter than the kernel is smoothed by scipy's FFT path on float16 input (float32 precision), so it is
    computed with that very call; otherwise the exact float64 sum over the spikes that reach ``lo:hi``.
    """
    lead, lag = _reach(len(window))
    n_units = len(group.ids)
    if stop - start < len(window):
        dense = _dense_counts(group, start, stop).astype(np.float16)
        out = np.stack([scipy.signal.convolve(dense[:, u], window, "same") for u in range(n_units)], axis=1)
        return np.maximum(out, 0.0)[lo - start:hi - start]
    s_lo, s_hi = max(lo - lead, start), min(hi + lag, stop)
    dense = _dense_counts(group, s_lo, s_hi)
    full = scipy.signal.fftconvolve(dense, window[:, None], mode="full", axes=0)
    return np.maximum(full[lag + lo - s_lo:lag + hi - s_lo], 0.0)  # 'same' mode keeps from centre = lag


def _one_trial(group: SpikeBlock, runs: tuple[np.ndarray, np.ndarray], first: int, count: int,
               window: np.ndarray, bin_ms: int) -> np.ndarray:
    """Binned smoothed counts of one trial with nlb_tools' segment rules (trials near missing data)."""
    n_ms, n_units = len(group.observed), len(group.ids)
    m_lo, m_hi = first * bin_ms, min((first + count) * bin_ms, n_ms)
    samples = np.zeros((count * bin_ms, n_units))
    starts, stops = runs
    for r in np.flatnonzero((starts < m_hi) & (stops > m_lo)):
        lo, hi = max(starts[r], m_lo), min(stops[r], m_hi)
        samples[lo - m_lo:hi - m_lo] = _smooth_run(group, int(starts[r]), int(stops[r]), lo, hi, window)
    out = samples.reshape(count, bin_ms, n_units).sum(axis=1)
    out[~group.observed[np.arange(first, first + count) * bin_ms]] = np.nan
    return out
