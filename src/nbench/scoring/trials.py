"""Per-trial and per-unit detail of a score, kept in records: paired comparisons and per-neuron plots.

**Per-trial losses** (:class:`TrialLoss`) let two runs on the same eval trials be compared with a paired bootstrap
without their predictions (``nbench compare``). For a metric, each run stores one number per eval trial,
``loss``, and the data gives ``norm``; on trial weights ``w`` (one bootstrap resample) the difference of the two
runs is ``value_A(w) - value_B(w) = (w·loss_B - w·loss_A) / (w·norm)``:

- population bits/spike (``co-bps``, ``fp-bps``): ``loss`` is the model's Poisson log-loss of the trial in bits
  (sum of ``r - n log r`` over units and bins, / ln 2) and ``norm`` the trial's spike count; the null model is
  common to both runs and cancels, so the difference is exact on every resample;
- accuracy: ``loss`` is 1 for a wrong label, ``norm`` 1 for a scored trial (exact);
- R2 (rate R2, decoded or predicted behaviour) and per-neuron bits/spike (mean over units of a ratio):
  ``loss`` is the trial's share of each unit's squared error (log-loss) divided by that unit's total sum of squares
  (spike count) over all trials, averaged over units, and ``norm`` is uniform (``1 / n``). The point difference
  is exact; on resamples each unit's denominator stays at its full-sample value.

**Per-unit values** (:func:`unit_values`): each unit's bits/spike (``co-bps``: hidden units; ``fp-bps``: visible
then hidden units) or rate R2, in the column order of the view (views of one session in query order).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np

from nbench.metrics.poisson import bps_population_and_neurons
from nbench.metrics.rates import R2TrialStats, r2_force_finite
from nbench.scoring.estimates import BpsPool, Estimate, R2Pool

LN2 = float(np.log(2.0))
#: Per-trial losses are stored as little-endian float32, base64-encoded (4 bytes per trial before encoding).
TRIAL_DTYPE = "<f4"


@dataclass(frozen=True, eq=False)
class TrialLoss:
    """Per-eval-trial pieces of one metric for paired differences (module docstring); ``norm`` None: uniform."""

    loss: np.ndarray
    norm: np.ndarray | None = None

    def norm_or_uniform(self) -> np.ndarray:
        n = len(self.loss)
        return np.full(n, 1.0 / n) if self.norm is None else self.norm


def r2_trial_loss(stats: R2TrialStats) -> np.ndarray:
    """Each trial's squared error over each output's total sum of squares, averaged over outputs.

    Outputs whose truth is constant (no variance) carry no share: their R2 is 1 or 0 by convention, not a ratio.
    """
    total = stats.sum_true_sq.sum(axis=0)
    usable = total > 0
    if not usable.any():
        return np.zeros(len(stats.count))
    return (stats.sum_sq_error[:, usable] / total[usable]).sum(axis=1) / len(total)


def trial_loss(estimate: Estimate) -> TrialLoss | None:
    """The per-trial loss of ``estimate`` (None when the metric has no per-trial form, e.g. psth R2)."""
    if estimate.trials is not None:
        return estimate.trials
    pool = estimate.pool
    if isinstance(pool, BpsPool):
        stats = pool.stats
        if not pool.per_neuron:
            return TrialLoss(stats.model_nll.sum(axis=1) / LN2, stats.spike_sum.sum(axis=1))
        spikes = stats.spike_sum.sum(axis=0)
        valid = spikes > 0
        if not valid.any():
            return None
        return TrialLoss((stats.model_nll[:, valid] / spikes[valid]).sum(axis=1) / LN2 / valid.sum())
    if isinstance(pool, R2Pool):
        return TrialLoss(r2_trial_loss(pool.stats))
    return None


def mean_trial_loss(losses: list[TrialLoss | None]) -> TrialLoss | None:
    """The loss of the mean of several metrics over the same trials (possible when their norms agree)."""
    if not losses or any(loss is None for loss in losses):
        return None
    first = losses[0].norm  # type: ignore[union-attr]
    if any(not _same(loss.norm, first) for loss in losses):  # type: ignore[union-attr]
        return None
    return TrialLoss(np.mean([loss.loss for loss in losses], axis=0), first)  # type: ignore[union-attr]


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and bool(np.array_equal(a, b))


def unit_values(estimate: Estimate) -> np.ndarray | None:
    """Per-unit values behind a pooled metric: bits/spike of each unit (NaN without spikes) or each unit's R2."""
    pool = estimate.pool
    if isinstance(pool, BpsPool) and not pool.per_neuron:
        return bps_population_and_neurons(pool.stats)[1][0]
    if isinstance(pool, R2Pool):
        stats = pool.stats
        return r2_force_finite(stats.sum_sq_error.sum(axis=0), stats.sum_true_sq.sum(axis=0))
    return None


def session_detail(estimates: dict[str, dict[str, Estimate]]
                   ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict[str, TrialLoss]]]:
    """Per session and metric: the per-unit values and the per-trial losses (where the metric has them)."""
    neurons: dict[str, dict[str, np.ndarray]] = {}
    trials: dict[str, dict[str, TrialLoss]] = {}
    for session, by_metric in estimates.items():
        for name, estimate in by_metric.items():
            values = unit_values(estimate)
            if values is not None:
                neurons.setdefault(session, {})[name] = values
            loss = trial_loss(estimate)
            if loss is not None:
                trials.setdefault(session, {})[name] = loss
    return neurons, trials


def encode_neurons(neurons: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, list[float | None]]]:
    """Per-unit values for a record: 6 significant digits, NaN as null."""
    return {session: {name: [float(f"{v:.6g}") if np.isfinite(v) else None for v in values]
                      for name, values in by_metric.items()} for session, by_metric in neurons.items()}


def encode_trials(trials: dict[str, dict[str, TrialLoss]]) -> dict[str, dict[str, dict[str, str | None]]]:
    """Per-trial losses for a record: ``{session: {metric: {"loss": base64, "norm": base64 or null}}}``."""
    return {session: {name: {"loss": _b64(loss.loss), "norm": None if loss.norm is None else _b64(loss.norm)}
                      for name, loss in by_metric.items()} for session, by_metric in trials.items()}


def decode_trials(data: dict[str, Any], source: str = "record") -> dict[str, dict[str, TrialLoss]]:
    """The per-trial losses of a record's ``trials`` key."""
    from nbench.errors import ValidationError

    out: dict[str, dict[str, TrialLoss]] = {}
    try:
        for session, by_metric in data.items():
            for name, value in by_metric.items():
                loss = _array(value["loss"])
                norm = None if value.get("norm") is None else _array(value["norm"])
                if norm is not None and norm.shape != loss.shape:
                    raise ValueError(f"loss of {loss.size} trials, norm of {norm.size}")
                out.setdefault(session, {})[name] = TrialLoss(loss, norm)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValidationError(f"{source}: key 'trials' is not valid per-trial data ({type(exc).__name__}: "
                              f"{exc})") from None
    return out


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=TRIAL_DTYPE).tobytes()).decode("ascii")


def _array(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text.encode("ascii"), validate=True), dtype=TRIAL_DTYPE).astype(np.float64)
