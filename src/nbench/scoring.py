"""Scoring: a submission group plus its hidden targets -> metric values.

Which metrics are computed follows ``nlb_tools.evaluation.evaluate`` exactly:

- ``co-bps`` always (held-out neurons of eval trials);
- per-trial behaviour (DMFC_RSG: trials x 5) -> ``tp corr`` from the eval rates of all neurons;
  per-bin behaviour (trials x bins x k) -> ``vel R2`` from train and eval rates of all neurons (held-in first),
  one decoder per decode-mask column (default: one all-True column);
- ``psth`` -> ``psth R2`` (jitter defaults to zeros);
- forward rates in the submission *and* forward spikes in the targets -> ``fp-bps`` (held-in and held-out
  pooled).

nbench adds ``co-bps per neuron`` and ``fp-bps per neuron`` (MtM's neuron-averaged form), ``rate R2 heldin`` /
``rate R2 heldout`` when the targets carry true rates; ``reference_metrics`` passes ``targets.reference``
through. Every array is cast to float64 first, as nlb_tools does. Metrics marked ``bootstrap_ci`` in
``nbench.metrics.METRICS`` get a 95% percentile interval over eval trials from one shared set of resamples
(``n`` is the number of eval trials).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np

from nbench.errors import ValidationError
from nbench.metrics import METRICS
from nbench.metrics.bootstrap import percentile_interval, resample_weights
from nbench.metrics.decoding import vel_r2_stats, velocity_decoding
from nbench.metrics.poisson import bps_population_and_neurons, bps_trial_stats, neuron_mean
from nbench.metrics.psth import psth_r2
from nbench.metrics.rates import r2_from_stats, r2_stats_3d, rate_r2
from nbench.metrics.timing import tp_correlation
from nbench.results import MetricValue
from nbench.submission import Submission
from nbench.tasks.base import Targets

logger = logging.getLogger(__name__)

NLB_DATASETS = ("mc_maze", "mc_rtt", "area2_bump", "dmfc_rsg", "mc_maze_large", "mc_maze_medium", "mc_maze_small")
NO_SPIKES = {"co-bps": "no observed held-out spikes", "fp-bps": "no observed spikes in the forward window"}
NLB_SCALING_PREFIX = {"mc_maze_large": "[500]", "mc_maze_medium": "[250]", "mc_maze_small": "[100]"}


def _f64(array: np.ndarray | None) -> np.ndarray | None:
    return None if array is None else np.asarray(array, dtype=np.float64)


def _concat_neurons(group: str, split: str, heldin: np.ndarray, heldout: np.ndarray) -> np.ndarray:
    """Held-in then held-out neurons on the last axis, as one float64 array (one pass, no float64 temporaries)."""
    if heldin.shape[:-1] != heldout.shape[:-1]:
        raise ValidationError(f"group {group!r}: {split}_rates_heldin shape {heldin.shape} and "
                              f"{split}_rates_heldout shape {heldout.shape} differ in trials x bins")
    return np.concatenate([heldin, heldout], axis=-1, dtype=np.float64)


class _GroupScorer:
    """Collects the metric values of one group; ``weights`` are the shared bootstrap resamples (or None)."""

    def __init__(self, group: str, n_eval: int, weights: np.ndarray | None) -> None:
        self.group, self.n_eval, self.weights = group, n_eval, weights
        self.values: dict[str, MetricValue] = {}

    def add(self, name: str, compute: Callable[[], float], resampled: Callable[[np.ndarray], np.ndarray] | None
            = None, undefined: str | None = None) -> None:
        """Compute ``name``; ``resampled(weights)`` gives its value on each bootstrap resample.

        A value that is not a finite number (e.g. bits/spike without spikes, or rates so large that the
        likelihood overflows) is recorded as undefined (None, no interval) with a warning giving ``undefined``
        or the value as the reason.
        """
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                value: float | None = float(compute())
                ci = None
                if math.isfinite(value) and resampled is not None and self.weights is not None \
                        and METRICS[name].bootstrap_ci:
                    ci = percentile_interval(resampled(self.weights))
        except ValueError as exc:
            raise ValidationError(f"group {self.group!r}: {name}: {exc}") from exc
        if not math.isfinite(value):
            logger.warning("group %r: %s is undefined (%s)", self.group, name,
                           undefined or f"not a finite number: {value}")
            value = None
        self.values[name] = MetricValue(value, METRICS[name].higher_is_better, self.n_eval, ci)


def score_group(sub: Submission, targets: Targets, *, bootstrap: int = 1000,
                seed: int = 0) -> dict[str, MetricValue]:
    """Score one submission group against its targets (see the module docstring for which metrics).

    Parameters
    ----------
    sub, targets
        The group's predicted rates and hidden targets.
    bootstrap
        Number of bootstrap resamples of eval trials for confidence intervals (0: no intervals).
    seed
        Seed of the resamples.

    Raises
    ------
    ValidationError
        One line naming the group and metric when the arrays cannot be scored (missing keys, mismatched
        shapes, NaN / negative / infinite rates).
    """
    group = sub.group
    spikes = _f64(targets.eval_spikes_heldout)
    rates_in, rates_out = _f64(sub.eval_rates_heldin), _f64(sub.eval_rates_heldout)
    if rates_in is None or rates_out is None:
        raise ValidationError(f"group {group!r}: eval_rates_heldin and eval_rates_heldout are required")
    n_eval = int(spikes.shape[0])
    scorer = _GroupScorer(group, n_eval, resample_weights(n_eval, bootstrap, seed) if bootstrap else None)
    _add_bps(scorer, "co-bps", rates_out, spikes)
    eval_rates = _concat_neurons(group, "eval", rates_in, rates_out)
    _add_behavior(scorer, sub, targets, eval_rates, spikes)
    if targets.psth is not None:
        _add_psth(scorer, targets, eval_rates)
    if sub.eval_rates_heldin_forward is not None and targets.eval_spikes_heldin_forward is not None:
        _add_forward(scorer, sub, targets)
    for side, pred in (("heldin", rates_in), ("heldout", rates_out)):
        true = _f64(getattr(targets, f"eval_true_rates_{side}"))
        if true is not None:
            scorer.add(f"rate R2 {side}", lambda p=pred, t=true: rate_r2(p, t),
                       lambda w, p=pred, t=true: r2_from_stats(r2_stats_3d(t, p), w))
    return scorer.values


def reference_metrics(targets: Targets) -> dict[str, MetricValue]:
    """The targets' reference values (e.g. the condition-average rate R2) as metric values, passed through.

    They describe the data, not the submission, so records keep them apart from the submission's metrics.
    """
    return {name: MetricValue(float(value), METRICS[name].higher_is_better if name in METRICS else True,
                              None, None)
            for name, value in targets.reference.items()}


def _add_bps(scorer: _GroupScorer, name: str, rates: np.ndarray, spikes: np.ndarray) -> None:
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # huge rates: undefined, see add()
            stats = bps_trial_stats(rates, spikes)
            population, per_neuron = bps_population_and_neurons(stats)
    except ValueError as exc:
        raise ValidationError(f"group {scorer.group!r}: {name}: {exc}") from exc
    undefined = None if stats.spike_sum.sum() > 0 else NO_SPIKES[name]
    resampled: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # one pass serves both forms

    def on(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if id(weights) not in resampled:
            resampled[id(weights)] = bps_population_and_neurons(stats, weights)
        return resampled[id(weights)]

    scorer.add(name, lambda: population[0], lambda w: on(w)[0], undefined)
    scorer.add(f"{name} per neuron", lambda: neuron_mean(per_neuron)[0], lambda w: neuron_mean(on(w)[1]), undefined)


def _add_behavior(scorer: _GroupScorer, sub: Submission, targets: Targets, eval_rates: np.ndarray,
                  spikes: np.ndarray) -> None:
    eval_behavior = _f64(targets.eval_behavior)
    if eval_behavior is None:
        return
    if eval_behavior.ndim == 2:
        scorer.add("tp corr", lambda: tp_correlation(spikes, eval_rates, eval_behavior))
        return
    train_behavior = _f64(targets.train_behavior)
    if train_behavior is None:
        raise ValidationError(f"group {scorer.group!r}: targets have eval_behavior but no train_behavior")
    if sub.train_rates_heldin is None or sub.train_rates_heldout is None:
        raise ValidationError(f"group {scorer.group!r}: vel R2 needs train_rates_heldin and train_rates_heldout")
    train_rates = _concat_neurons(scorer.group, "train", sub.train_rates_heldin, sub.train_rates_heldout)
    fits: list = []

    def compute() -> float:
        r2, mask_fits = velocity_decoding(train_rates, train_behavior, targets.train_decode_mask, eval_rates,
                                          eval_behavior, targets.eval_decode_mask)
        fits.extend(mask_fits)
        return r2

    def resampled(weights: np.ndarray) -> np.ndarray:
        per_mask = [r2_from_stats(stats, weights) for stats in vel_r2_stats(fits, scorer.n_eval)]
        return np.mean(per_mask, axis=0)

    scorer.add("vel R2", compute, resampled)


def _add_psth(scorer: _GroupScorer, targets: Targets, eval_rates: np.ndarray) -> None:
    if targets.eval_cond_idx is None:
        raise ValidationError(f"group {scorer.group!r}: targets have psth but no eval_cond_idx")
    scorer.add("psth R2", lambda: psth_r2(_f64(targets.psth), eval_rates, targets.eval_cond_idx,
                                          targets.eval_jitter))


def _add_forward(scorer: _GroupScorer, sub: Submission, targets: Targets) -> None:
    parts = {"eval_rates_heldout_forward": sub.eval_rates_heldout_forward,
             "eval_spikes_heldout_forward": targets.eval_spikes_heldout_forward}
    missing = [key for key, value in parts.items() if value is None]
    if missing:
        raise ValidationError(f"group {scorer.group!r}: fp-bps needs {missing[0]} (held-in forward arrays are "
                              "present)")
    rates = _concat_neurons(scorer.group, "eval_forward", sub.eval_rates_heldin_forward,
                            sub.eval_rates_heldout_forward)
    spikes = np.concatenate([targets.eval_spikes_heldin_forward, targets.eval_spikes_heldout_forward], axis=-1,
                            dtype=np.float64)
    _add_bps(scorer, "fp-bps", rates, spikes)


def score(subs: dict[str, Submission], targets: dict[str, Targets], *, bootstrap: int = 1000,
          seed: int = 0) -> dict[str, dict[str, MetricValue]]:
    """Score every submission group that has targets, in NLB's dataset order (5 ms before 20 ms), then others.

    Groups without targets are skipped with a logged warning, as nlb_tools does; unlike nlb_tools, scoring
    nothing at all is an error (e.g. a group named for the wrong bin width).
    """
    scored: dict[str, dict[str, MetricValue]] = {}
    for group in _ordered(subs):
        if group not in targets:
            logger.warning("no targets for submission group %r; skipped", group)
            continue
        scored[group] = score_group(subs[group], targets[group], bootstrap=bootstrap, seed=seed)
    if not scored:
        raise ValidationError(f"no submission group matches the targets (submission: {sorted(subs)}; "
                              f"targets: {sorted(targets)})")
    return scored


def _ordered(groups: dict[str, object]) -> list[str]:
    nlb = [name + suffix for name in NLB_DATASETS for suffix in ("", "_20") if name + suffix in groups]
    return nlb + sorted(g for g in groups if g not in nlb)


def nlb_result_list(scores: dict[str, dict[str, MetricValue]]) -> list[dict[str, dict[str, float]]]:
    """Scores in the shape ``nlb_tools.evaluate`` returns (NLB groups and metrics only, scaling sets merged)."""
    nlb_metrics = ("co-bps", "vel R2", "psth R2", "fp-bps", "tp corr")
    out: list[dict[str, dict[str, float]]] = []
    scaling: dict[str, dict[str, float]] = {"": {}, "_20": {}}
    for group, values in scores.items():
        dataset, suffix = (group[:-3], "_20") if group.endswith("_20") else (group, "")
        if dataset not in NLB_DATASETS:
            continue
        picked = {name: values[name].value for name in nlb_metrics if name in values}
        if dataset in NLB_SCALING_PREFIX:
            scaling[suffix].update({f"{NLB_SCALING_PREFIX[dataset]} {k}": v for k, v in picked.items()})
        else:
            out.append({f"{group}_split": picked})
    for suffix, values in scaling.items():
        if values:
            out.append({f"mc_maze_scaling{suffix}_split": values})
    return out
