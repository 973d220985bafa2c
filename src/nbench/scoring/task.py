"""Scoring a whole task: every view's declared metrics, pooled per session and averaged over sessions.

For a single-view task (NLB) the task's metrics are the view's. For a task of several queries per session,
each unit is scored under its own query and the session's bits/spike and rate R2 pool the units of all queries
(:func:`nbench.scoring.estimates.combine_views`); other metrics average the views. Sessions are averaged. The
per-query and per-session values are kept as a breakdown. Bootstrap intervals resample eval trials: one set of
resamples per session (seed ``seed + i`` for the i-th session) shared by all its views and metrics.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nbench.metrics import metric_info
from nbench.metrics.bootstrap import resample_weights
from nbench.results import ALL_QUERIES, MetricValue
from nbench.scoring.estimates import BpsPool, Estimate, combine_sessions, combine_views, interval
from nbench.scoring.trials import TrialLoss, encode_neurons, encode_trials, session_detail
from nbench.scoring.view import score_view
from nbench.submission import Submission
from nbench.tasks.base import Targets

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class ScoredView:
    """One view to score: its session, query, predictions and targets."""

    session: str
    query: str
    submission: Submission
    targets: Targets


@dataclass
class TaskScore:
    """A task's metrics, the reference values beside them, and the per-session / per-query breakdown.

    ``breakdown`` maps session -> query -> metric values, with the session's pooled values under ``"(all)"``;
    it is empty for single-view tasks.
    """

    metrics: dict[str, MetricValue]
    reference: dict[str, MetricValue] = field(default_factory=dict)
    breakdown: dict[str, dict[str, dict[str, MetricValue]]] = field(default_factory=dict)
    neurons: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    trials: dict[str, dict[str, TrialLoss]] = field(default_factory=dict)

    def record_fields(self) -> dict[str, Any]:
        """The record keys this score fills (``metrics``, ``reference``, ``breakdown``, ``neurons``, ``trials``)."""
        return {"metrics": self.metrics, "reference": self.reference, "breakdown": self.breakdown,
                "neurons": encode_neurons(self.neurons), "trials": encode_trials(self.trials)}


def metric_value(name: str, value: float, n: int | None, ci: tuple[float, float] | None = None) -> MetricValue:
    """A metric value whose direction comes from nbench's metric table; a value that is not a finite number is
    undefined (None, without an interval)."""
    info = metric_info(name)
    defined = math.isfinite(value)
    return MetricValue(float(value) if defined else None, info.higher_is_better if info is not None else True, n,
                       ci if defined else None)


def undefined_reason(name: str, estimate: Estimate) -> str:
    """Why a metric has no finite value, for the warning: no spikes to score, or the value itself."""
    if isinstance(estimate.pool, BpsPool) and estimate.pool.stats.spike_sum.sum() == 0:
        return "no observed held-out spikes" if name.startswith("co-bps") else "no observed forward spikes"
    return f"not a finite number: {estimate.value}"


class TaskScorer:
    """Scores views one at a time (so that a task of many queries never holds all predictions), then combines.

    Parameters
    ----------
    bootstrap
        Bootstrap resamples of eval trials for the intervals (0: none).
    seed
        Seed of the first session's resamples (session i uses ``seed + i``).
    """

    def __init__(self, *, bootstrap: int = 1000, seed: int = 0) -> None:
        self.bootstrap, self.seed = bootstrap, seed
        self._views: list[tuple[str, str, dict[str, Estimate]]] = []
        self._n_eval: dict[str, int] = {}
        self._references: list[dict[str, float]] = []

    def add(self, view: ScoredView) -> None:
        """Score one view now (its arrays may be dropped afterwards); undefined metrics are named in a warning."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # overflow: an undefined metric
            estimates = score_view(view.submission, view.targets)
        for name, estimate in estimates.items():
            if not math.isfinite(estimate.value):
                logger.warning("group %r: %s is undefined (%s)", view.targets.group, name,
                               undefined_reason(name, estimate))
        self._views.append((view.session, view.query, estimates))
        self._n_eval.setdefault(view.session, view.targets.n_eval)
        self._references.append(dict(view.targets.reference))

    def result(self) -> TaskScore:
        """The task's metrics, references and breakdown (module docstring)."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._result()

    def _result(self) -> TaskScore:
        sessions = list(self._n_eval)
        weights = {s: resample_weights(self._n_eval[s], self.bootstrap, self.seed + i) if self.bootstrap else None
                   for i, s in enumerate(sessions)}
        session_estimates = {s: _combine([est for v, _, est in self._views if v == s]) for s in sessions}
        names = list(dict.fromkeys(name for est in session_estimates.values() for name in est))
        metrics = {}
        for name in names:
            present = [s for s in sessions if name in session_estimates[s]]
            ests = [session_estimates[s][name] for s in present]
            use_ci = _wants_ci(name)
            value, ci = combine_sessions(ests, [weights[s] if use_ci else None for s in present])
            metrics[name] = metric_value(name, value, sum(self._n_eval[s] for s in present), ci)
        breakdown = {} if len(self._views) == 1 else self._breakdown(session_estimates, weights)
        return TaskScore(metrics, _reference(self._references), breakdown, *session_detail(session_estimates))

    def _breakdown(self, session_estimates: dict[str, dict[str, Estimate]],
                   weights: dict[str, np.ndarray | None]) -> dict[str, dict[str, dict[str, MetricValue]]]:
        out: dict[str, dict[str, dict[str, MetricValue]]] = {}
        for session, query, est in self._views:
            w, n = weights[session], self._n_eval[session]
            out.setdefault(session, {})[query] = {k: _value(k, e, w, n) for k, e in est.items()}
        for session, est in session_estimates.items():
            w, n = weights[session], self._n_eval[session]
            out[session][ALL_QUERIES] = {k: _value(k, e, w, n) for k, e in est.items()}
        return out


def score_views(views: Sequence[ScoredView], *, bootstrap: int = 1000, seed: int = 0) -> TaskScore:
    """Score every view and combine them (see the module docstring)."""
    scorer = TaskScorer(bootstrap=bootstrap, seed=seed)
    for view in views:
        scorer.add(view)
    return scorer.result()


def _combine(per_view: list[dict[str, Estimate]]) -> dict[str, Estimate]:
    names = list(dict.fromkeys(name for est in per_view for name in est))
    return {name: combine_views([est[name] for est in per_view if name in est]) for name in names}


def _wants_ci(name: str) -> bool:
    info = metric_info(name)
    return info is not None and info.bootstrap_ci


def _value(name: str, est: Estimate, weights: np.ndarray | None, n: int) -> MetricValue:
    return metric_value(name, est.value, n, interval(est, weights) if _wants_ci(name) else None)


def reference_metrics(targets: Targets) -> dict[str, MetricValue]:
    """The reference values of one view's targets as metric values (they describe the data, not a model)."""
    return _reference([dict(targets.reference)])


def _reference(references: Sequence[dict[str, float]]) -> dict[str, MetricValue]:
    """The targets' reference values (data, not the submission), averaged over views where there are several."""
    names = list(dict.fromkeys(k for ref in references for k in ref))
    return {name: metric_value(name, float(np.mean([r[name] for r in references if name in r])), None)
            for name in names}
