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
    """What was fit: the number of fits and the seconds spent fitting and predicting."""

    fits: int
    fit_s: float = 0.0
    predict_s: float = 0.0


def fit_and_predict(prepared: PreparedTask, make_model: Callable[[], Model], caps: Capabilities,
                    on_prediction: Callable[[View, TaskInputs, Submission], None],
                    log: Callable[[str], None] | None = None) -> FitPlan:
    """Fit models as their capabilities say (module docstring) and predict every view.

    ``on_prediction(view, inputs, submission)`` receives each view's predictions as soon as they are made, so
    that a task of many queries never holds every view's inputs or predictions at once.
    """
    any_query = "any_query" in caps.consumes
    sessions = "sessions" in caps.consumes and len(prepared.sessions) > 1
    if sessions:
        batches = ([list(prepared.views)] if any_query else _by_query_name(prepared.views))
    elif any_query:
        batches = [prepared.views_of(s) for s in prepared.sessions]
    else:
        batches = [[view] for view in prepared.views]
    plan = FitPlan(len(batches))
    for i, views in enumerate(batches):
        if log is not None and len(batches) > 1 and (len(batches) <= 20 or i % max(1, len(batches) // 20) == 0):
            log(f"fit {i + 1} of {len(batches)}: {_describe(views)}")
        model = make_model()
        started = time.perf_counter()
        fit_inputs = _fit_inputs(prepared, views, any_query)
        if sessions:
            model.fit_sessions(fit_inputs)
        else:
            model.fit(fit_inputs[0])
        plan.fit_s += time.perf_counter() - started
        for j, view in enumerate(views):
            inputs = view.inputs if any_query else fit_inputs[j]
            started = time.perf_counter()
            submission = model.predict(inputs)
            plan.predict_s += time.perf_counter() - started
            on_prediction(view, inputs, submission)
    return plan


def _fit_inputs(prepared: PreparedTask, views: Sequence[View], any_query: bool) -> list[TaskInputs]:
    """What a batch is fit on: the sessions' training views (any-query models) or the views' own inputs."""
    if any_query:
        return [prepared.training_view(s) for s in dict.fromkeys(v.query.session for v in views)]
    return [view.inputs for view in views]


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
