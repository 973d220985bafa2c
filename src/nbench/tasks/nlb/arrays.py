"""Trial arrays: nlb_tools' ``make_stacked_array`` and ``make_jagged_array`` for spikes and behavior."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nbench.errors import DataError
from nbench.tasks.nlb.behavior import GapFiller, decimated_runs
from nbench.tasks.nlb.windows import TrialRows

Values = Callable[[np.ndarray], np.ndarray]  # bins (any shape) -> bins.shape + (columns,)


def behavior_values(values: np.ndarray, bin_ms: int, fillers: list[GapFiller] | None = None) -> Values:
    """A :data:`Values` function giving decimated behavior at bins (runs of consecutive bins per row)."""

    def at(bins: np.ndarray) -> np.ndarray:
        flat = bins.reshape(len(bins), -1) if bins.ndim > 1 else bins.reshape(1, -1)
        if flat.shape[1] and not np.all(np.diff(flat, axis=1) == 1):
            raise ValueError("behavior is computed on runs of consecutive bins")
        out = decimated_runs(values, flat[:, 0] if flat.shape[1] else np.zeros(len(flat), np.int64),
                             flat.shape[1], bin_ms, fillers)
        return out.reshape(bins.shape + (values.shape[1],))

    return at


def jagged(rows: TrialRows, include: np.ndarray, values: Values, n_cols: int, what: str, *,
           jitter_bins: np.ndarray | None = None, pad: str = "back", max_len: int | None = None) -> np.ndarray:
    """``make_jagged_array``: one row per included trial, NaN-padded to the longest window (or ``max_len``).

    ``jitter_bins`` shifts front-padded rows earlier by that many bins (DMFC targets).
    """
    rows = rows.nonempty()
    wanted = np.flatnonzero(include)
    where = {int(t): i for i, t in enumerate(rows.trial)}
    missing = [int(t) for t in wanted if int(t) not in where]
    if missing:
        raise DataError(f"{what}: trial {missing[0]} has no data in its window (missing alignment time)")
    length = int(rows.count.max()) if max_len is None else max_len
    out = np.full((len(wanted), length, n_cols), np.nan)
    by_length = _values_by_length(rows, values)
    for i, t in enumerate(wanted):
        k = where[int(t)]
        data = by_length[int(rows.count[k])][k]
        jit = 0 if jitter_bins is None else int(jitter_bins[i])
        _place(out[i], data, jit, pad, length, what)
    return out


def _values_by_length(rows: TrialRows, values: Values) -> dict[int, dict[int, np.ndarray]]:
    """Values of each trial's bins, computed in one batch per window length."""
    starts = np.concatenate([[0], np.cumsum(rows.count)[:-1]])
    out: dict[int, dict[int, np.ndarray]] = {}
    for count in np.unique(rows.count):
        members = np.flatnonzero(rows.count == count)
        bins = rows.bins[starts[members][:, None] + np.arange(count)]
        batch = values(bins)
        out[int(count)] = {int(m): batch[j] for j, m in enumerate(members)}
    return out


def _place(row: np.ndarray, data: np.ndarray, jit: int, pad: str, length: int, what: str) -> None:
    """nlb_tools' placement of one trial's data in a padded row."""
    if pad == "front":
        if jit == 0:
            data = data[-length:]
            row[length - len(data):] = data
        elif jit > 0:
            data = data[-(length - jit):]
            row[length - len(data) - jit:length - jit] = data
        else:
            data = data[-(length - jit):jit]
            row[length - len(data):] = data
    elif jit == 0:
        data = data[:length]
        row[:len(data)] = data
    else:
        raise DataError(f"{what}: jitter with back padding is not part of NLB")


def stacked(rows: TrialRows, values: Values, what: str) -> np.ndarray:
    """``make_stacked_array``: trials x bins x columns; every trial must have the same number of bins."""
    return values(rows.nonempty().stacked(what))
