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


class GapFiller:
    """Linear interpolation over NaN gaps of one column, as pandas ``interpolate(limit_direction="both")``.

    The NaN runs are found once; values at any positions are then filled from the samples around each run
    with ``np.interp``'s formula, so the results are the same bits as interpolating the whole column.
    """

    def __init__(self, column: np.ndarray) -> None:
        self.column = column.astype(np.float64, copy=False)  # np.interp works in float64
        nan = np.isnan(column)
        self.empty = bool(nan.all())
        edges = np.diff(np.concatenate([[False], nan, [False]]).astype(np.int8))
        self.run_start, self.run_end = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        valid = np.flatnonzero(~nan)
        self.first, self.last = (column[valid[0]], column[valid[-1]]) if len(valid) else (np.nan, np.nan)

    def at(self, positions: np.ndarray) -> np.ndarray:
        col = self.column
        out = col[positions]
        gaps = np.isnan(out)
        if self.empty or not gaps.any():
            return out
        where = positions[gaps]
        run = np.searchsorted(self.run_start, where, side="right") - 1
        left, right = self.run_start[run] - 1, self.run_end[run]
        y_left = col[np.maximum(left, 0)]
        y_right = col[np.minimum(right, len(col) - 1)]
        slope = (y_right - y_left) / (right.astype(np.float64) - left.astype(np.float64))
        filled = slope * (where.astype(np.float64) - left) + y_left  # np.interp's formula
        filled = np.where(left < 0, self.first, filled)
        out[gaps] = np.where(right >= len(col), self.last, filled)
        return out


def decimated_runs(values: np.ndarray, first_bins: np.ndarray, length: int, factor: int,
                   fillers: list[GapFiller] | None = None) -> np.ndarray:
    """Decimated behavior at bins ``first_bins[i] .. first_bins[i] + length - 1``: (runs, length, columns).

    NaN where the sample at a bin start is NaN, as nlb_tools restores it. ``fillers`` (one per column) can be
    passed in to reuse the gap search across calls.
    """
    n_ms, n_cols = values.shape
    fillers = fillers or [GapFiller(values[:, c]) for c in range(n_cols)]
    taps = fir_taps(factor).astype(values.dtype)  # decimate filters in the data's precision
    out = np.empty((len(first_bins), length, n_cols), dtype=values.dtype)
    span = (length + 2 * HALF // factor + 2) * factor  # whole phases, covering every tap of every bin
    for lo in range(0, len(first_bins), CHUNK_TRIALS):
        starts = first_bins[lo:lo + CHUNK_TRIALS] * factor - HALF
        positions = starts[:, None] + np.arange(span)
        inside = (positions >= 0) & (positions < n_ms)
        clipped = np.clip(positions, 0, n_ms - 1).reshape(-1)
        window = np.stack([f.at(clipped) for f in fillers], axis=-1).astype(values.dtype, copy=False)
        window = window.reshape(len(starts), span, n_cols)
        window[~inside] = 0.0  # resample_poly pads with zeros
        out[lo:lo + CHUNK_TRIALS] = _fir(window, taps, length, factor)
    bin_start = first_bins[:, None] * factor + np.arange(length) * factor
    out[np.isnan(values[bin_start])] = np.nan
    return out


def _fir(window: np.ndarray, taps: np.ndarray, length: int, factor: int) -> np.ndarray:
    """``sum_d window[:, HALF + k*f + d] * taps[HALF - d]`` for d = -HALF..HALF, added in that order.

    The window is split into its ``factor`` phases first so every tap reads contiguous memory.
    """
    n, span, n_cols = window.shape
    phases = np.ascontiguousarray(window.reshape(n, span // factor, factor, n_cols).transpose(2, 0, 1, 3))
    acc = np.zeros((n, length, n_cols), dtype=window.dtype)
    term = np.empty_like(acc)
    for j in range(2 * HALF + 1):
        shift = j // factor
        np.multiply(phases[j % factor, :, shift:shift + length], taps[2 * HALF - j], out=term)
        np.add(acc, term, out=acc)
    return acc
