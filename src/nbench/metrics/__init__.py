"""Metrics: pure, typed functions with NLB'21-exact definitions, plus their metadata.

``METRICS`` is the single source of truth for metric names (NLB's exact spelling where NLB defines them), their
direction and whether the scorer attaches a bootstrap 95% confidence interval over eval trials. Functions live in
the submodules (``poisson``, ``decoding``, ``psth``, ``timing``, ``rates``, ``bootstrap``); see
``nbench.scoring`` for how targets select them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    """Name, direction and meaning of a metric.

    Attributes
    ----------
    name
        Metric name as reported (NLB spelling for NLB metrics).
    higher_is_better
        Direction used for ranking.
    description
        One-line meaning.
    bootstrap_ci
        True when the scorer reports a bootstrap 95% CI over eval trials for this metric.
    reference
        True for reference values that describe the data, not a model (a record's ``reference`` section).
    """

    name: str
    higher_is_better: bool
    description: str
    bootstrap_ci: bool = False
    reference: bool = False


METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo("co-bps", True, "co-smoothing bits/spike on held-out neurons of eval trials (NLB population form)",
                   bootstrap_ci=True),
        MetricInfo("co-bps per neuron", True,
                   "co-smoothing bits/spike computed per held-out neuron, then averaged (MtM form)",
                   bootstrap_ci=True),
        MetricInfo("fp-bps", True, "forward-prediction bits/spike on all neurons in the forward window (NLB)",
                   bootstrap_ci=True),
        MetricInfo("fp-bps per neuron", True, "forward-prediction bits/spike per neuron, averaged (MtM form)",
                   bootstrap_ci=True),
        MetricInfo("vel R2", True, "R2 of velocity decoded from all rates by NLB's ridge protocol",
                   bootstrap_ci=True),
        MetricInfo("psth R2", True, "R2 of condition-averaged predicted rates against the true PSTHs (NLB)"),
        MetricInfo("tp corr", False, "mean per-condition correlation of neural speed with produced interval tp "
                                     "(DMFC_RSG; more negative is better)"),
        MetricInfo("rate R2 heldin", True, "R2 of predicted against true rates of held-in neurons, per neuron, "
                                           "averaged (synthetic data)", bootstrap_ci=True),
        MetricInfo("rate R2 heldout", True, "R2 of predicted against true rates of held-out neurons, per neuron, "
                                            "averaged (synthetic data)", bootstrap_ci=True),
        MetricInfo("rate R2 heldin (cond-avg ref)", True,
                   "reference: rate R2 of the smoothed train-trial average of each eval trial's condition",
                   reference=True),
        MetricInfo("rate R2 heldout (cond-avg ref)", True,
                   "reference: rate R2 of the smoothed train-trial average of each eval trial's condition",
                   reference=True),
    )
}
