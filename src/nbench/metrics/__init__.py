"""Metrics: pure, typed functions with NLB'21-exact definitions, plus their metadata.

``METRICS`` is the single source of truth for metric ids (NLB's exact spelling where NLB defines them), their
display names, families, direction and whether the scorer attaches a bootstrap 95% confidence interval over eval
trials. Behaviour metrics of any behaviour name follow two patterns, ``"<name> R2 (<how>)"`` and
``"<name> accuracy (<how>)"``, where ``<how>`` is ``decoded`` (from the predicted rates), ``predicted`` (directly
by the model) or ``from latents`` (decoded from the model's latents) (:func:`metric_info`). Tasks declare which
metrics they score; the functions live in the submodules (``poisson``, ``decoding``, ``classify``, ``psth``,
``timing``, ``rates``, ``bootstrap``). This package imports nothing else of nbench.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FAMILIES = ("co-smoothing", "forward", "behavior", "psth", "rates", "reference")
REACH_DIRECTION = "reach-direction accuracy (from latents)"


@dataclass(frozen=True)
class MetricInfo:
    """Id, direction and meaning of a metric.

    Attributes
    ----------
    name
        Metric id as reported (NLB spelling for NLB metrics).
    higher_is_better
        Direction used for ranking.
    description
        One-line meaning.
    bootstrap_ci
        True when the scorer reports a bootstrap 95% CI over eval trials for this metric.
    family
        What the metric is about: one of :data:`FAMILIES`.
    display
        Short label for tables ("" means the id).
    """

    name: str
    higher_is_better: bool
    description: str
    bootstrap_ci: bool = False
    family: str = "co-smoothing"
    display: str = ""

    @property
    def label(self) -> str:
        return self.display or self.name


def _info(name: str, higher: bool, description: str, family: str, ci: bool = True, display: str = "") -> MetricInfo:
    return MetricInfo(name, higher, description, ci, family, display)


METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        _info("co-bps", True, "co-smoothing bits/spike on held-out neurons of eval trials (NLB population form)",
              "co-smoothing"),
        _info("co-bps per neuron", True,
              "co-smoothing bits/spike computed per held-out neuron, then averaged (MtM form)", "co-smoothing"),
        _info("fp-bps", True, "forward-prediction bits/spike on all neurons in the forward window (NLB)", "forward"),
        _info("fp-bps per neuron", True, "forward-prediction bits/spike per neuron, averaged (MtM form)", "forward"),
        _info("vel R2", True, "R2 of velocity decoded from all rates by NLB's ridge protocol", "behavior"),
        _info("psth R2", True, "R2 of condition-averaged predicted rates against the true PSTHs (NLB)", "psth",
              ci=False),
        _info("tp corr", False, "mean per-condition correlation of neural speed with produced interval tp "
                                "(DMFC_RSG; more negative is better)", "behavior", ci=False),
        _info("rate R2", True, "R2 of predicted against true rates of every observed neuron, per neuron, averaged "
                               "(synthetic data, all neurons observed)", "rates"),
        _info("rate R2 heldin", True, "R2 of predicted against true rates of held-in neurons, per neuron, averaged "
                                      "(synthetic data)", "rates"),
        _info("rate R2 heldout", True, "R2 of predicted against true rates of held-out neurons, per neuron, "
                                       "averaged (synthetic data)", "rates"),
        _info("rate R2 (cond-avg ref)", True,
              "reference: rate R2 of the smoothed train-trial average of each eval trial's condition", "reference",
              ci=False),
        _info("rate R2 heldin (cond-avg ref)", True,
              "reference: rate R2 of the smoothed train-trial average of each eval trial's condition", "reference",
              ci=False),
        _info("rate R2 heldout (cond-avg ref)", True,
              "reference: rate R2 of the smoothed train-trial average of each eval trial's condition", "reference",
              ci=False),
        _info("vel R2 (predicted)", True,
              "R2 of directly predicted velocity (eval_behavior_pred) on NLB's lagged, observed bins", "behavior"),
        _info(REACH_DIRECTION, True,
              "accuracy of the 8-way reach direction (sector of the trial's net hand displacement) decoded from the "
              "model's latents of each moving bin by k-nearest neighbours (Swap-VAE's evaluation)", "behavior"),
    )
}

_BEHAVIOR = re.compile(
    r"^(?P<name>[A-Za-z][\w-]{0,40}) (?P<what>R2|accuracy) \((?P<how>decoded|predicted|from latents)\)$")


def metric_info(name: str) -> MetricInfo | None:
    """The metadata of metric ``name``: from :data:`METRICS`, or built from a behaviour metric's pattern.

    Returns None for a name nbench does not define.
    """
    if name in METRICS:
        return METRICS[name]
    match = _BEHAVIOR.match(name)
    if match is None:
        return None
    what = "accuracy of the" if match["what"] == "accuracy" else "R2 of"
    how = {"decoded": "decoded from the predicted rates by the task's decoder",
           "predicted": "predicted directly by the model (eval_behavior_pred)",
           "from latents": "decoded from the model's latents (train_latents, eval_latents) by the task's decoder",
           }[match["how"]]
    return MetricInfo(name, True, f"{what} {match['name']} {how}", True, "behavior")
