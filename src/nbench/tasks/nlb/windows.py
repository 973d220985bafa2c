"""Trial windows on the bin grid: ``NWBDataset.make_trial_data`` without a 1 ms frame.

A window holds the bins whose *start time* lies in ``[align + start, align + end - 1 us]`` (in ns, as pandas
slices a TimedeltaIndex). With ``allow_overlap=False`` a window ends where the next included trial's window (or
the start of the trial after that one) begins. Trials whose window edges are missing (NaN alignment) are
dropped, exactly as nlb_tools' ``dropna`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nbench.data.nlb.params import Window
from nbench.data.nlb.timeconv import NAT, NS_PER_MS, ONE_US, ceil_div, ms_to_ns
from nbench.errors import DataError


@dataclass(frozen=True)
class TrialRows:
    """The bins of each kept trial, trial after trial: trial ``trial[i]`` owns ``count[i]`` entries of ``bins``.

    ``align_bin[i]`` is the trial's alignment time rounded up to the bin grid, in bins (nlb_tools'
    ``align_time`` of a bin is ``bin - align_bin``).
    """

    trial: np.ndarray
    count: np.ndarray
    bins: np.ndarray
    align_bin: np.ndarray

    @property
    def first(self) -> np.ndarray:
        """First bin of each trial (meaningful for non-empty trials)."""
        starts = np.concatenate([[0], np.cumsum(self.count)[:-1]])
        return self.bins[np.minimum(starts, max(len(self.bins) - 1, 0))] if len(self.bins) else starts

    def owner(self) -> np.ndarray:
        """Position (into ``trial``) of the trial each entry of ``bins`` belongs to."""
        return np.repeat(np.arange(len(self.trial)), self.count)

    def without(self, nan_bins: np.ndarray) -> TrialRows:
        """Drop bins where any column is missing (``allow_nans=False``); trials left empty vanish, as they do
        from nlb_tools' ``groupby``."""
        keep = ~nan_bins[self.bins]
        count = np.bincount(self.owner()[keep], minlength=len(self.trial))
        alive = count > 0
        return TrialRows(self.trial[alive], count[alive], self.bins[keep], self.align_bin[alive])

    def nonempty(self) -> TrialRows:
        """The trials that own at least one bin (those nlb_tools' ``groupby`` sees)."""
        alive = self.count > 0
        return TrialRows(self.trial[alive], self.count[alive], self.bins, self.align_bin[alive])

    def stacked(self, what: str) -> np.ndarray:
        """Bins as a (trials, bins) array; a one-line error when trials differ in length (nlb_tools'
        ``np.stack`` would fail)."""
        if len(self.trial) == 0:
            raise DataError(f"{what}: no trial has data in its window")
        if np.any(self.count != self.count[0]):
            odd = int(np.flatnonzero(self.count != np.median(self.count))[0])
            raise DataError(f"{what}: trial windows differ in length (trial {int(self.trial[odd])} has "
                            f"{int(self.count[odd])} bins, most have {int(np.median(self.count))}), usually "
                            "because data are missing inside a window")
        return self.bins.reshape(len(self.trial), int(self.count[0]))


def trial_rows(trials: dict[str, np.ndarray], include: np.ndarray, window: Window, bin_ms: int,
               n_bins: int) -> TrialRows:
    """The window of every included trial, after nlb_tools' NaN-edge and overlap rules."""
    bin_ns = bin_ms * NS_PER_MS
    start_field, end_field = trials[window.start_field], trials[window.end_field]
    align_left = trials[window.align] if window.align else start_field
    align_right = trials[window.align] if window.align else end_field
    start_off, end_off = _offsets(window, bin_ns)
    align_start = start_field.copy() if start_off is None else _add(align_left, start_off)
    align_end = _add(end_field, -ONE_US) if end_off is None else _add(align_right, end_off - ONE_US)
    included = np.flatnonzero(include)
    next_start = np.concatenate([trials["start_time"][1:], [NAT]])
    # end bound of an included trial: min(next start, window start) of the next included trial, NaT skipped
    bound_of = _nanmin(next_start[included], align_start[included])
    end_bound = np.concatenate([bound_of[1:], [NAT]])
    edges = np.stack([align_start, align_end, start_field, align_left])[:, included]
    kept = ~np.any(edges == NAT, axis=0)
    idx, a_start, a_end, e_bound = included[kept], align_start[included][kept], align_end[included][kept], \
        end_bound[kept]
    overlap = (e_bound != NAT) & (a_end > e_bound)
    endpoint = np.where(overlap & (not window.allow_overlap), e_bound - ONE_US, a_end)
    lo = np.clip(ceil_div(a_start, bin_ns), 0, n_bins)
    hi = np.clip(endpoint // bin_ns + 1, 0, n_bins)
    count = np.maximum(hi - lo, 0)
    bins = np.repeat(lo - np.concatenate([[0], np.cumsum(count)[:-1]]), count) + np.arange(int(count.sum()))
    return TrialRows(idx, count, bins, ceil_div(align_left[idx], bin_ns))


def _offsets(window: Window, bin_ns: int) -> tuple[int | None, int | None]:
    """Window offsets in ns; a range that is not a whole number of bins is rounded as nlb_tools does."""
    start = None if window.start is None else ms_to_ns(window.start)
    end = None if window.end is None else ms_to_ns(window.end)
    if start is not None and end is not None and (end - start) % bin_ns:
        end = start + int(round((end - start) / bin_ns)) * bin_ns  # Timedelta.round: half to even
    return start, end


def _add(times: np.ndarray, delta: int) -> np.ndarray:
    return np.where(times == NAT, NAT, times + delta)


def _nanmin(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise min that skips NaT (pandas ``min(axis=1)``)."""
    out = np.minimum(np.where(a == NAT, b, a), np.where(b == NAT, a, b))
    return out
