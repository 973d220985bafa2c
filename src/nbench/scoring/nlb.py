"""Scoring several submission groups the way ``nlb_tools.evaluate`` does, and its result list.

Groups are scored in NLB's dataset order (5 ms before 20 ms), then the others by name; each group is one view
(:func:`nbench.scoring.task.score_views`). :func:`nlb_result_list` gives the shape ``nlb_tools.evaluate``
returns, for parity checks.
"""

from __future__ import annotations

import logging

from nbench.data.nlb.catalog import NLB_NAMES, SCALING_PREFIX
from nbench.errors import ValidationError
from nbench.results import MetricValue
from nbench.scoring.task import ScoredView, score_views
from nbench.submission import Submission
from nbench.tasks.base import Targets

logger = logging.getLogger(__name__)

NLB_METRICS = ("co-bps", "vel R2", "psth R2", "fp-bps", "tp corr")


def score_group(sub: Submission, targets: Targets, *, bootstrap: int = 1000,
                seed: int = 0) -> dict[str, MetricValue]:
    """The declared metrics of one submission group against its targets (one view)."""
    return score_views([ScoredView("", "", sub, targets)], bootstrap=bootstrap, seed=seed).metrics


def score(subs: dict[str, Submission], targets: dict[str, Targets], *, bootstrap: int = 1000,
          seed: int = 0) -> dict[str, dict[str, MetricValue]]:
    """Score every submission group that has targets, in NLB's dataset order (5 ms before 20 ms), then others.

    A group without targets is skipped with a logged warning, as nlb_tools does (and as ``nbench score`` does,
    :mod:`nbench.scoring.files`); scoring nothing at all is an error.
    """
    scored: dict[str, dict[str, MetricValue]] = {}
    for group in ordered_groups(subs):
        if group not in targets:
            logger.warning("no targets for submission group %r; skipped", group)
            continue
        scored[group] = score_group(subs[group], targets[group], bootstrap=bootstrap, seed=seed)
    if not scored:
        raise ValidationError(f"no submission group matches the targets (submission: {sorted(subs)}; "
                              f"targets: {sorted(targets)})")
    return scored


def ordered_groups(groups: dict[str, object]) -> list[str]:
    nlb = [name + suffix for name in NLB_NAMES for suffix in ("", "_20") if name + suffix in groups]
    return nlb + sorted(g for g in groups if g not in nlb)


def nlb_result_list(scores: dict[str, dict[str, MetricValue]]) -> list[dict[str, dict[str, float]]]:
    """Scores in the shape ``nlb_tools.evaluate`` returns (NLB groups and metrics only, scaling sets merged)."""
    out: list[dict[str, dict[str, float]]] = []
    scaling: dict[str, dict[str, float]] = {"": {}, "_20": {}}
    for group, values in scores.items():
        dataset, suffix = (group[:-3], "_20") if group.endswith("_20") else (group, "")
        if dataset not in NLB_NAMES:
            continue
        picked = {name: values[name].value for name in NLB_METRICS if name in values}
        if dataset in SCALING_PREFIX:
            scaling[suffix].update({f"{SCALING_PREFIX[dataset]} {k}": v for k, v in picked.items()})
        else:
            out.append({f"{group}_split": picked})
    for suffix, values in scaling.items():
        if values:
            out.append({f"mc_maze_scaling{suffix}_split": values})
    return out
