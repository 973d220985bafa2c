"""Continuous behavior at chosen bins, bit-identical to nlb_tools' resampling.

nlb_tools fills NaN gaps by linear interpolation (pandas ``interpolate(limit_direction="both")``, i.e.
``np.interp`` over sample positions), runs ``scipy.signal.decimate(x, f, n=500, ftype="fir")`` on the whole
recording, and puts NaN back where the sample at the bin start was NaN. ``decimate`` is a zero-phase 501-tap FIR
(``resample_poly`` with zero padding) whose output at bin ``k`` is ``sum_d x[k*f + d] * h[250 - d]`` accumulated
in increasing ``d``; computing exactly that sum, in that order, only at the bins a tensor needs gives the same
bits at a fraction of the cost.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

HALF = 250  # decimate(n=500): 501 taps, centred
CHUNK_TRIALS = 512


def fir_taps(factor: int) -> np.ndarray:
    """The FIR filter ``scipy.signal.decimate(..., n=500, ftype="fir")`` uses."""
    return scipy.signal.firwin(2 * HALF + 1, 1.0 / factor, window="hamming")


def interpolate_gaps(values: np.ndarray, positions: np.ndarray, column: int) -> np.ndarray:
    """Values of column ``column`` at ``positions`` with NaN replaced as pandas ``interpolate`` does."""
    col = values[:, column]
    out = col[positions]
    gaps = np.isnan(out)
    if not gaps.any():
        return out
    nan = np.isnan(col)
    if nan.all():
        return out
    edges = np.diff(np.concatenate([[False], nan, [False]]).astype(np.int8))
    run_start, run_end = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    where = positions[gaps]
    run = np.searchsorted(run_start, where, side="right") - 1
    left, right = run_start[run] - 1, run_end[run]
    first_valid, last_valid = np.flatnonzero(~nan)[[0, -1]]
    y_left = col[np.maximum(left, 0)]
    y_right = col[np.minimum(right, len(col) - 1)]
    slope = (y_right - y_left) / (right.astype(np.float64) - left.astype(np.float64))
    filled = slope * (where.astype(np.float64) - left) + y_left  # np.interp's formula
    filled = np.where(left < 0, col[first_valid], filled)
    filled = np.where(right >= len(col), col[last_valid], filled)
    out[gaps] = filled
    return out


def decimated_runs(values: np.ndarray, first_bins: np.ndarray, length: int, factor: int) -> np.ndarray:
    """Decimated behavior at bins ``first_bins[i] .. first_bins[i] + length - 1``: (runs, length, columns).

    NaN where the sample at a bin start is NaN, as nlb_tools restores it.
    """
    n_ms, n_cols = values.shape
    taps = fir_taps(factor)
    out = np.empty((len(first_bins), length, n_cols))
    span = (length - 1) * factor + 2 * HALF + 1
    for lo in range(0, len(first_bins), CHUNK_TRIALS):
        starts = first_bins[lo:lo + CHUNK_TRIALS] * factor - HALF
        positions = starts[:, None] + np.arange(span)
        inside = (positions >= 0) & (positions < n_ms)
        clipped = np.clip(positions, 0, n_ms - 1)
        for c in range(n_cols):
            window = interpolate_gaps(values, clipped.reshape(-1), c).reshape(clipped.shape)
            window[~inside] = 0.0  # resample_poly pads with zeros
            out[lo:lo + CHUNK_TRIALS, :, c] = _fir(window, taps, length, factor)
    bin_start = first_bins[:, None] * factor + np.arange(length) * factor
    out[np.isnan(values[bin_start])] = np.nan
    return out


def _fir(window: np.ndarray, taps: np.ndarray, length: int, factor: int) -> np.ndarray:
    """``sum_d window[:, HALF + k*f + d] * taps[HALF - d]`` for d = -HALF..HALF, summed in that order."""
    acc = np.zeros((window.shape[0], length))
    term = np.empty_like(acc)
    stop = (length - 1) * factor + 1
    for j in range(2 * HALF + 1):
        np.multiply(window[:, j:j + stop:factor], taps[2 * HALF - j], out=term)
        np.add(acc, term, out=acc)
    return acc
