"""Views of trial-cut recordings (synthetic generators, nlb_tools tensor imports): phase split x queries.

Used by every task whose recordings hold :class:`~nbench.data.recording.TrialSegments`. For each session and
query, the training trials of the phase give the inputs (visible and hidden units, forward window, behaviour,
conditions) and the evaluation trials give the visible units' spikes as inputs and everything else as targets.
NLB's own datasets are windowed from their timelines instead (:mod:`nbench.tasks.nlb`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.ndimage import gaussian_filter1d

from nbench.data.recording import Recording, TrialSegments, TrialSpikes
from nbench.metrics.rates import rate_r2
from nbench.tasks.base import PHASE_SPLITS, PreparedTask, Query, Targets, TaskInfo, TaskInputs, View
from nbench.tasks.spiketimes import JITTER_SEED, select_events, spike_times_of

#: Width (in bins) of the Gaussian that smooths the condition-average reference, as in NDT's analysis.
COND_AVG_SIGMA_BINS = 2.0
QueryMaker = Callable[[Recording], list[Query]]


def heldout_query(rec: Recording) -> list[Query]:
    """NLB's shape: the units flagged ``heldout`` are hidden, the others visible (one query, ``"heldout"``)."""
    flag = np.asarray(rec.units.flags.get("heldout", np.zeros(rec.n_units, bool)), dtype=bool)
    return [Query("heldout", rec.session, np.flatnonzero(~flag), np.flatnonzero(flag))]


def all_visible_query(rec: Recording) -> list[Query]:
    """Every unit visible, none hidden (rate recovery and behaviour tasks; one query, ``"all"``)."""
    return [Query("all", rec.session, np.arange(rec.n_units), np.zeros(0, dtype=np.int64))]


@dataclass(frozen=True)
class _Split:
    train: np.ndarray
    evals: np.ndarray


def segment_task(info: TaskInfo, recordings: Sequence[Recording], phase: str, make_queries: QueryMaker, *,
                 spike_times: bool = False, forward_inputs: bool = True) -> PreparedTask:
    """Every view of ``recordings`` for ``phase``; see the module docstring.

    ``forward_inputs``: the training trials' forward window reaches the inputs (when the recordings have one);
    the eval trials' forward spikes are targets only when the task declares ``fp-bps``.
    """
    single = len(recordings) == 1
    views, training = [], {}
    for rec in recordings:
        split = _split(rec, phase)
        queries = make_queries(rec)
        times = spike_times_of(rec, seed=JITTER_SEED) if spike_times else None
        for query in queries:
            group = info.name if single and len(queries) == 1 else f"{info.name}/{rec.session}/{query.name}"
            views.append(View(query, group,
                              partial(_inputs, info, rec, split, query, group, phase, times, forward_inputs),
                              partial(_targets, info, rec, split, query, group)))
        every = Query("all", rec.session, np.arange(rec.n_units), np.zeros(0, dtype=np.int64))
        training[rec.session] = partial(_inputs, info, rec, _Split(split.train, split.train[:0]), every,
                                        f"{info.name}/{rec.session}", phase, times, forward_inputs)
    return PreparedTask(info, phase, tuple(views), training)


def _split(rec: Recording, phase: str) -> _Split:
    train_splits, eval_splits = PHASE_SPLITS[phase]
    return _Split(rec.trials.rows_in(train_splits), rec.trials.rows_in(eval_splits))


def _pick(arr: np.ndarray | None, trials: np.ndarray, units: np.ndarray) -> np.ndarray | None:
    return None if arr is None else np.ascontiguousarray(arr[np.ix_(trials, np.arange(arr.shape[1]), units)])


def _inputs(info: TaskInfo, rec: Recording, split: _Split, query: Query, group: str, phase: str,
            times: TrialSpikes | None, forward: bool) -> TaskInputs:
    seg = _segments(rec)
    wants_forward = seg.forward is not None and forward
    vis, hid = query.visible, query.hidden
    ids, regions = rec.units.local_id, rec.units.region
    condition = rec.trials.condition
    return TaskInputs(
        task=info.name, dataset=rec.name, phase=phase, group=group, bin_ms=seg.bin_ms,
        train_spikes_heldin=_pick(seg.counts, split.train, vis),
        train_spikes_heldout=_pick(seg.counts, split.train, hid),
        eval_spikes_heldin=_pick(seg.counts, split.evals, vis),
        train_spikes_heldin_forward=_pick(seg.forward, split.train, vis) if wants_forward else None,
        train_spikes_heldout_forward=_pick(seg.forward, split.train, hid) if wants_forward else None,
        train_behavior=_behavior(info, rec, split.train),
        train_conditions=None if condition is None else np.asarray(condition)[split.train],
        heldin_ids=ids[vis], heldout_ids=ids[hid], regions_heldin=regions[vis], regions_heldout=regions[hid],
        dataset_info=dict(rec.provenance), session=rec.session, query=query.name, behavior=info.behavior,
        train_spike_times=None if times is None else select_events(times, split.train, vis),
        eval_spike_times=None if times is None else select_events(times, split.evals, vis),
        train_trial_ids=trial_ids(rec, split.train), eval_trial_ids=trial_ids(rec, split.evals))


def trial_ids(rec: Recording, rows: np.ndarray) -> np.ndarray:
    """The recording's ``trial_id`` of ``rows``, else the row numbers in its trial table."""
    return np.asarray(rec.trials["trial_id"])[rows] if "trial_id" in rec.trials else np.asarray(rows)


def _targets(info: TaskInfo, rec: Recording, split: _Split, query: Query, group: str) -> Targets:
    seg = _segments(rec)
    vis, hid, ev = query.visible, query.hidden, split.evals
    wants_forward = seg.forward is not None and any(m.startswith("fp-bps") for m in info.metrics)
    scored = {m for spec in info.behavior for m in (spec.decoded_metric, spec.predicted_metric)}
    behavior = _behavior(info, rec, ev) if scored & set(info.metrics) else None
    return Targets(
        group=group, eval_spikes_heldout=_pick(seg.counts, ev, hid),
        train_behavior=_behavior(info, rec, split.train) if behavior is not None else None,
        eval_behavior=behavior,
        eval_spikes_heldin_forward=_pick(seg.forward, ev, vis) if wants_forward else None,
        eval_spikes_heldout_forward=_pick(seg.forward, ev, hid) if wants_forward else None,
        eval_true_rates_heldin=_pick(seg.true_rates, ev, vis) if _wants(info, "rate R2 heldin", "rate R2") else None,
        eval_true_rates_heldout=_pick(seg.true_rates, ev, hid) if _wants(info, "rate R2 heldout", "rate R2") else None,
        eval_cond_idx=_condition_rows(rec, ev),
        reference=condition_average_reference(info, rec, split, query), metrics=info.metrics,
        behavior=info.behavior[0] if info.behavior else None)


def _wants(info: TaskInfo, *metrics: str) -> bool:
    return any(m in info.metrics for m in metrics)


def _condition_rows(rec: Recording, trials: np.ndarray) -> list[np.ndarray] | None:
    """Per condition (sorted), the positions of its trials among ``trials``; None without conditions."""
    if rec.trials.condition is None:
        return None
    conditions = np.asarray(rec.trials.condition)[trials]
    return [np.flatnonzero(conditions == c) for c in np.unique(conditions)]


def _segments(rec: Recording) -> TrialSegments:
    if rec.segments is None:
        raise ValueError(f"recording {rec.name!r} is not trial-cut (no segments)")
    return rec.segments


def _behavior(info: TaskInfo, rec: Recording, trials: np.ndarray) -> np.ndarray | None:
    """The task's behaviour for ``trials``: per bin from the segments, per trial from the trial table."""
    if not info.behavior:
        return None
    spec = info.behavior[0]
    if spec.kind == "continuous":
        seg = _segments(rec)
        return None if seg.behavior is None else seg.behavior[trials]
    column = np.asarray(rec.trials[spec.name], dtype=np.float64)
    return column[trials].reshape(len(trials), -1)


def condition_average_reference(info: TaskInfo, rec: Recording, split: _Split, query: Query) -> dict[str, float]:
    """Rate R2 of predicting each eval trial by the smoothed mean of the train trials of its condition.

    Synthetic conditions repeat the same true rates, so this trial-free predictor is strong; reporting it beside
    a model's rate R2 shows how much single-trial inference adds. One value per declared rate R2 metric; empty
    when conditions or truth are missing.
    """
    seg, conditions = _segments(rec), rec.trials.condition
    if conditions is None or seg.true_rates is None or not len(split.evals):
        return {}
    cond_train, cond_eval = np.asarray(conditions)[split.train], np.asarray(conditions)[split.evals]
    if not np.isin(cond_eval, cond_train).all():
        return {}
    smoothed = {c: gaussian_filter1d(seg.counts[split.train[cond_train == c]].mean(axis=0).astype(np.float64),
                                     COND_AVG_SIGMA_BINS, axis=0, mode="nearest") for c in np.unique(cond_eval)}
    pred = np.stack([smoothed[c] for c in cond_eval])
    true = seg.true_rates[split.evals]
    units = {"rate R2 heldin": query.visible, "rate R2 heldout": query.hidden,
             "rate R2": np.concatenate([query.visible, query.hidden])}
    return {f"{name} (cond-avg ref)": rate_r2(pred[..., u], true[..., u])
            for name, u in units.items() if name in info.metrics and len(u)}
