"""Score a submission group against its hidden targets (interim: Poisson and rate metrics only)."""

from __future__ import annotations

import numpy as np

from nbench.metrics import METRICS
from nbench.metrics.poisson import bits_per_spike, bits_per_spike_per_neuron
from nbench.metrics.rates import rate_r2
from nbench.results import MetricValue
from nbench.submission import Submission
from nbench.tasks.base import Targets


def _metric(name: str, value: float, n: int | None) -> MetricValue:
    return MetricValue(value=float(value), higher_is_better=METRICS[name].higher_is_better, n=n)


def score_group(sub: Submission, targets: Targets, *, bootstrap: int = 0, seed: int = 0) -> dict[str, MetricValue]:
    """Metrics of one submission group; which ones follows from the fields ``targets`` has."""
    sub = sub.as_float64()
    n_eval = targets.eval_spikes_heldout.shape[0]
    spikes = targets.eval_spikes_heldout.astype(np.float64)
    out = {"co-bps": _metric("co-bps", bits_per_spike(sub.eval_rates_heldout, spikes), n_eval),
           "co-bps per neuron": _metric("co-bps per neuron",
                                        np.nanmean(bits_per_spike_per_neuron(sub.eval_rates_heldout, spikes)),
                                        n_eval)}
    if sub.eval_rates_heldin_forward is not None and targets.eval_spikes_heldin_forward is not None:
        rates = np.concatenate([sub.eval_rates_heldin_forward, sub.eval_rates_heldout_forward], axis=-1)
        fwd = np.concatenate([targets.eval_spikes_heldin_forward, targets.eval_spikes_heldout_forward], axis=-1)
        out["fp-bps"] = _metric("fp-bps", bits_per_spike(rates, fwd.astype(np.float64)), n_eval)
    if targets.eval_true_rates_heldin is not None:
        out["rate R2 heldin"] = _metric("rate R2 heldin", rate_r2(sub.eval_rates_heldin,
                                                                  targets.eval_true_rates_heldin), n_eval)
    if targets.eval_true_rates_heldout is not None:
        out["rate R2 heldout"] = _metric("rate R2 heldout", rate_r2(sub.eval_rates_heldout,
                                                                    targets.eval_true_rates_heldout), n_eval)
    return out


def reference_metrics(targets: Targets) -> dict[str, MetricValue]:
    """The task's reference values as metric values."""
    return {name: MetricValue(value=float(v), higher_is_better=METRICS[name].higher_is_better)
            for name, v in targets.reference.items()}
