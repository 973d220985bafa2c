"""How a model is fit to a task's views, from what it declares it can do.

- A model that answers any query (``"any_query"``) is fit once per session on every unit of the training trials
  (:attr:`~nbench.tasks.base.PreparedTask.training`) and then predicts every view of that session.
- Any other model is fit once per view (a query of a session) on that view's inputs and predicts it.
- A model that consumes several sessions (``"sessions"``) is fit once on all sessions together: on every
  session's training view (any-query models), or on the views of one query name across sessions.

Before any data is built, :func:`check_capabilities` refuses a model that cannot serve the task, in one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nbench.baselines.base import Capabilities, Model
from nbench.errors import ConfigError
from nbench.submission import Submission
from nbench.tasks.base import PreparedTask, TaskInfo, TaskInputs, View


def check_capabilities(info: TaskInfo, model_name: str, caps: Capabilities) -> None:
    """Raise a one-line :class:`ConfigError` when the model cannot be run on the task (before any data work)."""
    scorable = set()
    if info.scores_rates:
        scorable.add("rates")
    if any(spec.predicted_metric in info.metrics for spec in info.behavior):
        scorable.add("behavior")
    if not scorable & set(caps.produces):
        produces = " and ".join(sorted(caps.produces))
        wanted = " or ".join(sorted(scorable)) or "nothing a model produces"
        raise ConfigError(f"model {model_name!r} produces {produces}; task {info.name!r} scores {wanted} "
                          f"(see `nbench list tasks` and `nbench list models`)")
    if "spike_times" in caps.consumes and info.spike_times == "none":
        raise ConfigError(f"model {model_name!r} needs spike times; task {info.name!r} has none")


@dataclass
class FitPlan:
    """What was fit: the number of fits, per view group its predictions, and the seconds spent."""

    fits: int
    predictions: dict[str, Submission]
    fit_s: float = 0.0
    predict_s: float = 0.0


def fit_and_predict(prepared: PreparedTask, make_model: Callable[[], Model], caps: Capabilities,
                    log: Callable[[str], None] | None = None) -> FitPlan:
    """Fit models as their capabilities say (module docstring) and predict every view."""
    any_query = "any_query" in caps.consumes
    sessions = "sessions" in caps.consumes and len(prepared.sessions) > 1
    if sessions:
        batches = ([list(prepared.views)] if any_query else _by_query_name(prepared.views))
    elif any_query:
        batches = [prepared.views_of(s) for s in prepared.sessions]
    else:
        batches = [[view] for view in prepared.views]
    plan = FitPlan(len(batches), {})
    for i, views in enumerate(batches):
        if log is not None and len(batches) > 1:
            log(f"fit {i + 1} of {len(batches)}: {_describe(views)}")
        model = make_model()
        started = time.perf_counter()
        _fit(model, prepared, views, any_query, sessions)
        fitted = time.perf_counter()
        for view in views:
            plan.predictions[view.group] = model.predict(view.inputs)
        plan.fit_s += fitted - started
        plan.predict_s += time.perf_counter() - fitted
    return plan


def _fit(model: Model, prepared: PreparedTask, views: Sequence[View], any_query: bool, sessions: bool) -> None:
    if any_query:
        inputs: list[TaskInputs] = [prepared.training[s] for s in dict.fromkeys(v.query.session for v in views)]
    else:
        inputs = [view.inputs for view in views]
    if sessions:
        model.fit_sessions(inputs)
    else:
        model.fit(inputs[0])


def _by_query_name(views: Sequence[View]) -> list[list[View]]:
    groups: dict[str, list[View]] = {}
    for view in views:
        groups.setdefault(view.query.name, []).append(view)
    return list(groups.values())


def _describe(views: Sequence[View]) -> str:
    sessions = list(dict.fromkeys(v.query.session for v in views))
    queries = list(dict.fromkeys(v.query.name for v in views))
    return (f"session{'s' if len(sessions) > 1 else ''} {', '.join(sessions)}; "
            f"quer{'ies' if len(queries) > 1 else 'y'} {', '.join(queries[:4])}{' ...' if len(queries) > 4 else ''}")
