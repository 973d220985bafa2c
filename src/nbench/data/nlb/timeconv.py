"""Time arithmetic exactly as nlb_tools does it through pandas, in int64 nanoseconds.

nlb_tools keeps every time as a pandas ``Timedelta``; window edges such as ``onset - 250 ms - 1 us`` are compared
with the bin grid in nanoseconds. Reproducing pandas' float-seconds -> nanoseconds conversion bit for bit keeps
every window edge identical (checked against ``pandas.to_timedelta`` in the tests).
"""

from __future__ import annotations

import numpy as np

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
NAT = np.iinfo(np.int64).min  # missing time (pandas' NaT)
ONE_US = 1_000


def seconds_to_ns(seconds: np.ndarray) -> np.ndarray:
    """``pd.to_timedelta(seconds, unit="s")`` as int64 ns; NaN becomes :data:`NAT`.

    pandas splits a float into its integer part and its fraction rounded to 9 decimals, then truncates
    ``fraction * 1e9``; doing the same keeps the occasional off-by-one-nanosecond results identical.
    """
    values = np.asarray(seconds, dtype=np.float64)
    nan = np.isnan(values)
    safe = np.where(nan, 0.0, values)
    base = safe.astype(np.int64)
    frac = np.round(safe - base, 9)
    out = base * NS_PER_S + (frac * 1e9).astype(np.int64)
    out[nan] = NAT
    return out


def ms_to_ns(ms: float) -> int:
    """``pd.to_timedelta(ms, unit="ms")`` for one finite value (window offsets, jitter, file shifts)."""
    base = int(ms)
    frac = round(float(ms) - base, 6)
    return base * NS_PER_MS + int(frac * 1e6)


def ms_array_to_ns(ms: np.ndarray) -> np.ndarray:
    """Vectorised :func:`ms_to_ns` for finite values."""
    values = np.asarray(ms, dtype=np.float64)
    base = values.astype(np.int64)
    frac = np.round(values - base, 6)
    return base * NS_PER_MS + (frac * 1e6).astype(np.int64)


def spike_ms(seconds: np.ndarray) -> np.ndarray:
    """1 ms bin of each spike time: ``int(round(t * 1000, 6))`` (truncation after rounding, as nlb_tools)."""
    return np.round(np.asarray(seconds, dtype=np.float64) * 1000.0, 6).astype(np.int64)


def ceil_div(a: np.ndarray, b: int) -> np.ndarray:
    """Integer ceiling division for int64 arrays (negative values included)."""
    return -((-a) // b)


def observed_ms(intervals: np.ndarray, n_ms: int) -> np.ndarray:
    """Boolean mask over the 1 ms grid: True inside the observation intervals (nlb_tools' ``make_mask``).

    Interval ``[start, end]`` in seconds covers samples ``ceil(round(start*1000, 6))`` up to but excluding
    ``floor(round(end*1000, 6))``.
    """
    mask = np.zeros(n_ms, dtype=bool)
    if len(intervals) == 0:
        return mask
    starts = np.ceil(np.round(intervals[:, 0] * 1000.0, 6)).astype(np.int64)
    ends = np.floor(np.round(intervals[:, 1] * 1000.0, 6)).astype(np.int64)
    # Negative Python-style slice bounds count from the end; nlb_tools slices the same way.
    for start, end in zip(starts, ends, strict=True):
        mask[slice(int(start), int(end))] = True
    return mask
