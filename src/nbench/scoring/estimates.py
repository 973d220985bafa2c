"""Metric estimates that can be bootstrapped over eval trials and pooled over the queries of a session.

A view's metric is an :class:`Estimate`: its value, a function giving its value on bootstrap resamples of the
eval trials, and, for metrics that are sums over units (bits/spike, rate R2), the per-trial, per-unit sufficient
statistics. Statistics of the views of one session (same eval trials, disjoint hidden units) concatenate along
the unit axis, so a task with one query per region or per neuron is scored like one big query: each unit under
its own query, then NLB's population bits/spike or MtM's mean over units. Sessions are averaged; their bootstrap
resamples are drawn independently and averaged resample by resample.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nbench.errors import ValidationError
from nbench.metrics.bootstrap import percentile_interval
from nbench.metrics.poisson import BpsTrialStats, bps_population_and_neurons, neuron_mean
from nbench.metrics.rates import R2TrialStats, r2_from_stats

if TYPE_CHECKING:
    from nbench.scoring.trials import TrialLoss

Resampled = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class BpsPool:
    """Bits/spike statistics; ``per_neuron`` selects MtM's mean over neurons instead of NLB's pooled form."""

    stats: BpsTrialStats
    per_neuron: bool

    def value(self, weights: np.ndarray | None = None) -> np.ndarray:
        population, neurons = bps_population_and_neurons(self.stats, weights)
        return neuron_mean(neurons) if self.per_neuron else population

    @classmethod
    def concat(cls, pools: Sequence[BpsPool]) -> BpsPool:
        parts = [p.stats for p in pools]
        stats = BpsTrialStats(*(np.concatenate([getattr(s, f) for s in parts], axis=1)
                                for f in ("spike_sum", "n_observed", "model_nll")))
        return cls(stats, pools[0].per_neuron)


@dataclass(frozen=True, eq=False)
class R2Pool:
    """Per-unit R2 statistics (rate R2 against true rates): uniform average over units."""

    stats: R2TrialStats

    def value(self, weights: np.ndarray | None = None) -> np.ndarray:
        if weights is None:
            weights = np.ones((1, len(self.stats.count)))
        return r2_from_stats(self.stats, weights)

    @classmethod
    def concat(cls, pools: Sequence[R2Pool]) -> R2Pool:
        parts = [p.stats for p in pools]
        count = parts[0].count
        return cls(R2TrialStats(count, *(np.concatenate([getattr(s, f) for s in parts], axis=1)
                                         for f in ("sum_true_sq", "sum_sq_error"))))


Pool = BpsPool | R2Pool


@dataclass(frozen=True, eq=False)
class Estimate:
    """One metric of one view (or pooled over views): value, bootstrap function, poolable statistics and, for
    metrics that are no pool, the per-trial loss of paired comparisons (:mod:`nbench.scoring.trials`)."""

    value: float
    resampled: Resampled | None = None
    pool: Pool | None = None
    trials: TrialLoss | None = None

    @classmethod
    def of_pool(cls, pool: Pool, value: float | None = None) -> Estimate:
        """An estimate whose value and resamples come from ``pool`` (``value`` overrides the point value)."""
        point = float(pool.value()[0]) if value is None else value
        return cls(point, pool.value, pool)


def interval(estimate: Estimate, weights: np.ndarray | None) -> tuple[float, float] | None:
    """95% percentile interval of ``estimate`` over the resamples ``weights`` (None: no interval)."""
    if weights is None or estimate.resampled is None:
        return None
    return percentile_interval(estimate.resampled(weights))


def combine_views(estimates: Sequence[Estimate]) -> Estimate:
    """One session's metric over its views: pooled statistics when every view has them, else the mean."""
    if len(estimates) == 1:
        return estimates[0]
    pools = [e.pool for e in estimates]
    if all(isinstance(p, BpsPool) for p in pools) and len({p.per_neuron for p in pools}) == 1:
        return Estimate.of_pool(BpsPool.concat(pools))
    if all(isinstance(p, R2Pool) for p in pools):
        return Estimate.of_pool(R2Pool.concat(pools))
    return _mean(estimates, same_trials=True)


def combine_sessions(estimates: Sequence[Estimate], weights: Sequence[np.ndarray | None]) -> tuple[float, tuple[
        float, float] | None]:
    """Mean over sessions and its interval, each session resampled with its own ``weights``."""
    value = float(np.mean([e.value for e in estimates]))
    if any(w is None for w in weights) or any(e.resampled is None for e in estimates):
        return value, None
    draws = np.mean([e.resampled(w) for e, w in zip(estimates, weights, strict=True)], axis=0)
    return value, percentile_interval(draws)


def _mean(estimates: Sequence[Estimate], same_trials: bool) -> Estimate:
    value = float(np.mean([e.value for e in estimates]))
    if not same_trials or any(e.resampled is None for e in estimates):
        return Estimate(value)
    from nbench.scoring.trials import mean_trial_loss, trial_loss

    functions = [e.resampled for e in estimates]

    def resampled(weights: np.ndarray) -> np.ndarray:
        return np.mean([f(weights) for f in functions], axis=0)

    return Estimate(value, resampled, trials=mean_trial_loss([trial_loss(e) for e in estimates]))


@contextlib.contextmanager
def naming(group: str, metric: str) -> Iterator[None]:
    """Turn a metric's ValueError into a one-line ValidationError naming the group and the metric."""
    try:
        yield
    except ValueError as exc:
        raise ValidationError(f"group {group!r}: {metric}: {exc}") from exc
