"""NLB model inputs and hidden targets of one phase and bin size, as nlb_tools' ``make_*_tensors`` build them.

``build_arrays`` reproduces ``make_train_input_tensors(include_behavior=True, include_forward_pred=True)``,
``make_eval_input_tensors`` and (val phase) ``make_eval_target_tensors(include_psth=True)`` on a
:class:`~nbench.data.recording.Recording` of an NLB dataset, without nlb_tools' 1 ms data frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nbench.data.nlb.params import DMFC_BEHAVIOR_FIELDS, FORWARD_MS, NLBParams, Window
from nbench.data.nlb.timeconv import NAT, ms_array_to_ns
from nbench.data.recording import Recording, TrialSpikes
from nbench.errors import DataError
from nbench.tasks.base import PHASE_SPLITS
from nbench.tasks.nlb.arrays import Values, behavior_values, jagged, stacked
from nbench.tasks.nlb.behavior import GapFiller
from nbench.tasks.nlb.binning import counts_at, missing_bins, times_at
from nbench.tasks.nlb.psth import condition_table, make_psth
from nbench.tasks.nlb.windows import TrialRows, trial_rows

JITTER_SEED = 0


@dataclass
class NLBArrays:
    """Input tensors (NLB key names), targets (val phase; empty for test), trial/unit bookkeeping and the held-in
    units' spike times in the train and eval input windows (``spike_times["train"]``, ``["eval"]``)."""

    inputs: dict[str, np.ndarray]
    targets: dict[str, Any]
    heldin_ids: np.ndarray
    heldout_ids: np.ndarray
    train_trial_ids: np.ndarray
    eval_trial_ids: np.ndarray
    train_conditions: np.ndarray | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    spike_times: dict[str, TrialSpikes] = field(default_factory=dict)


class _Builder:
    """Shared state of one build: the recording, bin grid, missing-bin flags and jittered alignments."""

    def __init__(self, params: NLBParams, rec: Recording, bin_ms: int, what: str) -> None:
        self.params, self.rec, self.bin_ms, self.what = params, rec, bin_ms, what
        self.n_bins = -(-rec.n_ms // bin_ms)
        self.trials = dict(rec.trials.columns)
        self.groups = {block.name: block for block in rec.spikes}
        self._missing: np.ndarray | None = None
        self._behavior: dict[tuple, np.ndarray] = {}
        self._series: tuple[np.ndarray, list[GapFiller]] | None = None

    @property
    def missing(self) -> np.ndarray:
        """Bins where any column of nlb_tools' frame is NaN (dropped by ``allow_nans=False``)."""
        if self._missing is None:
            if self.params.behavior_field in self.rec.series:
                self._behavior_series()  # loads the series once; its NaN rows come from the same read
            valid = [series.row_valid() for series in self.rec.series.values()]
            self._missing = missing_bins(self.groups, valid, self.bin_ms, self.n_bins)
        return self._missing

    def rows(self, mask: np.ndarray, window: Window, allow_nans: bool) -> TrialRows:
        rows = trial_rows(self.trials, mask, window, self.bin_ms, self.n_bins)
        return rows if allow_nans else rows.without(self.missing)

    def spikes(self, group: str) -> Values:
        if group not in self.groups:
            raise DataError(f"{self.what}: the NWB file(s) have no {group} units")
        return lambda bins: counts_at(self.groups[group], bins, self.bin_ms, self.n_bins)

    def times(self, rows: TrialRows, what: str) -> TrialSpikes:
        """Held-in spike times in the windows of ``rows`` (the rows an input tensor was stacked from)."""
        return times_at(self.groups["heldin"], rows.nonempty().stacked(what), self.bin_ms)

    def jittered(self, window: Window, mask: np.ndarray) -> tuple[Window, np.ndarray | None]:
        """DMFC: draw jitter for ``mask`` (seed reset, as nlb_tools) and align ``window`` to go + jitter."""
        if not self.params.dmfc:
            return window, None
        jitter = jitter_ms(self.trials, mask, self.bin_ms, JITTER_SEED)
        name = window.align.replace("_time", "_jitter_time")
        column = np.full(len(mask), NAT)
        finite = ~np.isnan(jitter)
        rows = np.flatnonzero(mask)
        column[rows[finite]] = self.trials[window.align][rows[finite]] + ms_array_to_ns(jitter[finite])
        column[self.trials[window.align] == NAT] = NAT
        self.trials[name] = column
        return window.realigned(name), jitter

    def forward(self, window: Window, mask: np.ndarray) -> dict[str, np.ndarray]:
        start = window.end if window.end is not None else 0
        steps = FORWARD_MS / self.bin_ms
        fwd = Window(window.align, start, start + steps * self.bin_ms, allow_overlap=True)
        rows = self.rows(mask, fwd, allow_nans=False)
        return {g: stacked(rows, self.spikes(g), f"{self.what} forward window") for g in ("heldin", "heldout")}

    def behavior(self, window: Window, mask: np.ndarray) -> np.ndarray:
        """Per-bin behavior (lagged window, NaN-padded) or DMFC's per-trial values."""
        if self.params.dmfc:
            return trial_behavior(self.trials, mask)
        key = (window, mask.tobytes())
        if key not in self._behavior:  # train behavior is both an input and a target
            values, fillers = self._behavior_series()
            rows = self.rows(mask, window.shifted(self.params.lag_ms), allow_nans=True)
            self._behavior[key] = jagged(rows, mask, behavior_values(values, self.bin_ms, fillers), values.shape[1],
                                         f"{self.what} behavior")
        return self._behavior[key].copy()

    def _behavior_series(self) -> tuple[np.ndarray, list[GapFiller]]:
        if self._series is None:
            name = self.params.behavior_field
            if name not in self.rec.series:
                raise DataError(f"{self.what}: the train file has no {name!r} behavior series")
            values = self.rec.series[name].values()
            self._series = values, [GapFiller(values[:, c]) for c in range(values.shape[1])]
        return self._series


def jitter_ms(trials: dict[str, np.ndarray], mask: np.ndarray, bin_ms: int, seed: int) -> np.ndarray:
    """DMFC jitter (ms) of the ``mask`` trials: uniform in whole bins over [0, clip(1500 - tp, 0, 300)] ms,
    0 for test trials, drawn with ``np.random.seed(seed)`` one trial after another."""
    rows = np.flatnonzero(mask)
    tp = np.asarray(trials["tp"], dtype=np.float64)[rows] if "tp" in trials else np.full(len(rows), np.nan)
    high = np.where(trials["split"][rows] == "test", 0.0, np.clip(1500.0 - tp, 0.0, 300.0))
    high = np.floor(np.round(high / bin_ms, 4))
    draws = np.random.RandomState(seed).random_sample(len(rows))
    return np.round(draws * high) * bin_ms


def trial_behavior(trials: dict[str, np.ndarray], mask: np.ndarray) -> np.ndarray:
    """DMFC behavior: ``[is_eye, theta, is_short, ts, tp]`` per trial, NaN rows for outliers."""
    out = np.stack([np.asarray(trials[f], dtype=np.float64)[mask] for f in DMFC_BEHAVIOR_FIELDS], axis=1)
    outlier = np.asarray(trials["is_outlier"], dtype=np.float64)[mask] != 0
    out[outlier] = np.nan
    return out


def build_arrays(params: NLBParams, rec: Recording, phase: str, bin_ms: int, what: str,
                 with_targets: bool = True) -> NLBArrays:
    """Inputs and (``with_targets`` and val phase) targets of ``phase`` at ``bin_ms``."""
    b = _Builder(params, rec, bin_ms, what)
    train_splits, eval_splits = PHASE_SPLITS[phase]
    train_mask = np.isin(b.trials["split"], train_splits)
    eval_mask = np.isin(b.trials["split"], eval_splits)
    if not train_mask.any() or not eval_mask.any():
        raise DataError(f"{what}: no {'/'.join(train_splits if not train_mask.any() else eval_splits)} "
                        "trials in the NWB file(s)")
    inputs, train_pos, train_times = _train_inputs(b, train_mask)
    inputs["eval_spikes_heldin"], eval_pos, eval_times = _eval_input(b, eval_mask)
    targets = _targets(b, train_mask, eval_mask) if with_targets and phase == "val" else {}
    conditions = None
    if params.psth is not None:
        cond_of, _ = condition_table(b.trials, params.psth.cond_fields, train_mask | eval_mask)
        conditions = cond_of[train_pos]
    return NLBArrays(inputs, targets, b.groups["heldin"].ids, b.groups["heldout"].ids,
                     b.trials["trial_id"][train_pos], b.trials["trial_id"][eval_pos], conditions,
                     spike_times={"train": train_times, "eval": eval_times})


def eval_input(params: NLBParams, rec: Recording, bin_ms: int, splits: tuple[str, ...], what: str
               ) -> tuple[np.ndarray, np.ndarray]:
    """``make_eval_input_tensors``' held-in spikes of the ``splits`` trials, and their trial ids."""
    b = _Builder(params, rec, bin_ms, what)
    tensor, pos, _ = _eval_input(b, np.isin(b.trials["split"], splits))
    return tensor, b.trials["trial_id"][pos]


def _eval_input(b: _Builder, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, TrialSpikes]:
    window, _ = b.jittered(b.params.window, mask)
    rows = b.rows(mask, window, allow_nans=True).nonempty()
    what = f"{b.what} eval window"
    return stacked(rows, b.spikes("heldin"), what), rows.trial, b.times(rows, what)


def _train_inputs(b: _Builder, mask: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, TrialSpikes]:
    window, _ = b.jittered(b.params.window, mask)
    rows = b.rows(mask, window, allow_nans=False).nonempty()
    what = f"{b.what} train window"
    out = {"train_spikes_heldin": stacked(rows, b.spikes("heldin"), what),
           "train_spikes_heldout": stacked(rows, b.spikes("heldout"), what),
           "train_behavior": b.behavior(window, mask)}
    fwd = b.forward(window, mask)
    out["train_spikes_heldin_forward"], out["train_spikes_heldout_forward"] = fwd["heldin"], fwd["heldout"]
    return out, rows.trial, b.times(rows, what)


def _targets(b: _Builder, train_mask: np.ndarray, eval_mask: np.ndarray) -> dict[str, Any]:
    params, what = b.params, b.what
    out: dict[str, Any] = {}
    _, train_jitter = b.jittered(params.eval_window, train_mask)
    window, eval_jitter = b.jittered(params.eval_window, eval_mask)
    if params.dmfc:
        rows = b.rows(eval_mask, window, allow_nans=False)
        jitter_bins = np.round(eval_jitter / b.bin_ms).astype(int)
        out["eval_spikes_heldout"] = jagged(rows, eval_mask, b.spikes("heldout"), b.groups["heldout"].n_units,
                                            f"{what} eval window", jitter_bins=jitter_bins, pad="front",
                                            max_len=int(round(params.eval_seg_len_ms / b.bin_ms)))
    else:
        rows = b.rows(eval_mask, window, allow_nans=False)
        out["eval_spikes_heldout"] = stacked(rows, b.spikes("heldout"), f"{what} eval window")
    out["train_behavior"] = b.behavior(window, train_mask)
    out["eval_behavior"] = b.behavior(window, eval_mask)
    fwd = b.forward(window, eval_mask)
    out["eval_spikes_heldin_forward"], out["eval_spikes_heldout_forward"] = fwd["heldin"], fwd["heldout"]
    if params.decode_mask_field:
        values = np.asarray(b.trials[params.decode_mask_field], dtype=np.float64)
        for key, mask in (("train_decode_mask", train_mask), ("eval_decode_mask", eval_mask)):
            out[key] = np.stack([values[mask] == 0, values[mask] == 1]).T
    if params.psth is not None:
        ignore = ~(train_mask | eval_mask)
        result = make_psth(b.rec, params.psth, train_mask, eval_mask, ignore, b.bin_ms, what)
        out["psth"], out["eval_cond_idx"] = result.psth, result.eval_cond_idx
        out["train_cond_idx"] = result.train_cond_idx
        if params.dmfc:
            out["eval_jitter"] = np.round(eval_jitter / b.bin_ms).astype(int)
            out["train_jitter"] = np.round(train_jitter / b.bin_ms).astype(int)
    return out
