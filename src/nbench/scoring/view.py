"""Scoring one view: a submission group plus its hidden targets -> the task's declared metrics.

Definitions equal ``nlb_tools.evaluation`` where NLB defines the metric:

- ``co-bps`` on the held-out (hidden) neurons of eval trials, ``co-bps per neuron`` its MtM form;
- ``fp-bps`` (held-in and held-out forward rates pooled) and ``fp-bps per neuron``;
- ``psth R2`` (jitter defaults to zeros); ``rate R2`` / ``rate R2 heldin`` / ``rate R2 heldout`` against true
  rates (synthetic data);
- behaviour metrics (:mod:`nbench.scoring.behavior`): NLB's ``vel R2`` and DMFC's ``tp corr`` decoded from the
  rates, accuracy or R2 of labels / series decoded from rates or predicted directly (``eval_behavior_pred``).

Only declared metrics are computed (:func:`declared`); a declared metric is skipped when the submission does not
hold what it is computed from (a behaviour-only submission has no rate metrics), and skipped with a warning when
a target file lacks its targets. Every array is cast to float64 first, as nlb_tools does.
"""

from __future__ import annotations

import logging

import numpy as np

from nbench.errors import ValidationError
from nbench.metrics.poisson import bps_trial_stats
from nbench.metrics.psth import psth_r2
from nbench.metrics.rates import r2_stats_3d, rate_r2
from nbench.scoring.behavior import behavior_estimates
from nbench.scoring.estimates import BpsPool, Estimate, R2Pool, naming
from nbench.submission import Submission, joined_neurons
from nbench.tasks.base import Targets

logger = logging.getLogger(__name__)



def f64(array: np.ndarray | None) -> np.ndarray | None:
    return None if array is None else np.asarray(array, dtype=np.float64)


def concat_neurons(group: str, split: str, heldin: np.ndarray, heldout: np.ndarray) -> np.ndarray:
    """Held-in then held-out neurons on the last axis as one array (no copy when read as one buffer; float32
    stays float32, and the metrics cast to float64 before any arithmetic)."""
    if heldin.shape[:-1] != heldout.shape[:-1]:
        raise ValidationError(f"group {group!r}: {split}_rates_heldin shape {heldin.shape} and "
                              f"{split}_rates_heldout shape {heldout.shape} differ in trials x bins")
    return joined_neurons(heldin, heldout)


def declared(targets: Targets) -> tuple[str, ...]:
    """The metrics the scorer computes for ``targets``: its own declaration, else the NLB task of its group."""
    if targets.metrics:
        return targets.metrics
    from nbench.tasks.nlb.task import nlb_declared_metrics

    found = nlb_declared_metrics(targets.group)
    if found is None:
        raise ValidationError(f"group {targets.group!r}: the targets declare no metrics and the group is not an NLB "
                              "task; score against the task (--task) or a target file written by nbench")
    return found


def score_view(sub: Submission, targets: Targets) -> dict[str, Estimate]:
    """Estimates of the declared metrics that ``sub`` can be scored on, in declaration order.

    Raises
    ------
    ValidationError
        One line naming the group and metric when the arrays cannot be scored.
    """
    metrics = declared(targets)
    wanted = set(metrics)
    out: dict[str, Estimate] = {}
    has_rates = sub.eval_rates_heldin is not None or sub.eval_rates_heldout is not None
    group = targets.group
    spikes = f64(targets.eval_spikes_heldout)
    if has_rates and spikes.shape[2] > 0 and wanted & {"co-bps", "co-bps per neuron"}:
        with naming(group, "co-bps"):
            if sub.eval_rates_heldout is None:
                raise ValueError("eval_rates_heldout is required")
            _add_bps(out, "co-bps", f64(sub.eval_rates_heldout), spikes)
    out.update(behavior_estimates(metrics, sub, targets, has_rates))
    if has_rates and "psth R2" in wanted:
        with naming(group, "psth R2"):
            _add_psth(out, sub, targets)
    if has_rates and wanted & {"fp-bps", "fp-bps per neuron"}:
        with naming(group, "fp-bps"):
            _add_forward(out, sub, targets)
    for name, parts in (("rate R2 heldin", ("heldin",)), ("rate R2 heldout", ("heldout",)),
                        ("rate R2", ("heldin", "heldout"))):
        if has_rates and name in wanted:
            with naming(group, name):
                _add_rate_r2(out, name, parts, sub, targets)
    return {name: out[name] for name in metrics if name in out}


def _all_rates(sub: Submission, group: str, split: str) -> np.ndarray:
    heldin, heldout = getattr(sub, f"{split}_rates_heldin"), getattr(sub, f"{split}_rates_heldout")
    if heldin is None or heldout is None:
        raise ValueError(f"{split}_rates_heldin and {split}_rates_heldout are required")
    return concat_neurons(group, split, heldin, heldout)


def _add_bps(out: dict[str, Estimate], name: str, rates: np.ndarray, spikes: np.ndarray) -> None:
    stats = bps_trial_stats(rates, spikes)
    out[name] = Estimate.of_pool(BpsPool(stats, per_neuron=False))
    out[f"{name} per neuron"] = Estimate.of_pool(BpsPool(stats, per_neuron=True))


def _add_psth(out: dict[str, Estimate], sub: Submission, targets: Targets) -> None:
    if targets.psth is None:
        logger.warning("group %r: targets have no psth; psth R2 not scored", targets.group)
        return
    if targets.eval_cond_idx is None:
        raise ValueError("targets have psth but no eval_cond_idx")
    eval_rates = _all_rates(sub, targets.group, "eval")
    out["psth R2"] = Estimate(psth_r2(f64(targets.psth), eval_rates, targets.eval_cond_idx, targets.eval_jitter))


def _add_forward(out: dict[str, Estimate], sub: Submission, targets: Targets) -> None:
    given = [k for k in ("eval_rates_heldin_forward", "eval_rates_heldout_forward") if getattr(sub, k) is not None]
    if not given:
        return  # forward rates were not submitted
    if targets.eval_spikes_heldin_forward is None or targets.eval_spikes_heldout_forward is None:
        logger.warning("group %r: targets have no forward spikes; fp-bps not scored", targets.group)
        return
    if len(given) == 1:
        missing = ({"eval_rates_heldin_forward", "eval_rates_heldout_forward"} - set(given)).pop()
        raise ValueError(f"{given[0]} is given without {missing} (forward rates come in pairs)")
    rates = concat_neurons(targets.group, "eval_forward", sub.eval_rates_heldin_forward,
                           sub.eval_rates_heldout_forward)
    spikes = np.concatenate([targets.eval_spikes_heldin_forward, targets.eval_spikes_heldout_forward], axis=-1,
                            dtype=np.float64)
    _add_bps(out, "fp-bps", rates, spikes)


def _add_rate_r2(out: dict[str, Estimate], name: str, parts: tuple[str, ...], sub: Submission,
                 targets: Targets) -> None:
    """Rate R2 of the units of ``parts`` (held-in, held-out or both) against the true rates."""
    truths = [f64(getattr(targets, f"eval_true_rates_{p}")) for p in parts]
    preds = [getattr(sub, f"eval_rates_{p}") for p in parts]
    pairs = [(t, p) for t, p in zip(truths, preds, strict=True) if t is None or t.shape[-1] > 0]
    if not pairs or any(t is None for t, _ in pairs):
        logger.warning("group %r: targets have no true rates; %s not scored", targets.group, name)
        return
    if any(p is None for _, p in pairs):
        raise ValueError(f"needs eval_rates_{'/'.join(parts)}")
    true = np.concatenate([t for t, _ in pairs], axis=-1)
    pred = np.concatenate([f64(p) for _, p in pairs], axis=-1)
    out[name] = Estimate.of_pool(R2Pool(r2_stats_3d(true, pred)), value=rate_r2(pred, true))
