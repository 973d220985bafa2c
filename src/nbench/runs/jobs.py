"""Jobs: one unit of work of a sweep (a run, the rescoring of committed predictions, a tuning grid point).

A :class:`Job` names a module-level function and its arguments, so any executor can run it: in this process
(serial) or in a Ray worker. The function returns a JSON-able document (a run record as a dict); the process that
drives the sweep stores it. Every executor runs a job through :func:`call_limited`, with the model's declared
thread count, so a run's numbers do not depend on where it ran; a user's ``NBENCH_NUM_THREADS`` (e.g. 1 on a
shared machine) overrides it, as everywhere in nbench.
"""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbench.baselines.base import Resources
from nbench.errors import NbenchError, ValidationError
from nbench.provenance import environment
from nbench.results import Record, load_record, new_run_id, utc_now
from nbench.runner import PlannedRun, RunSpec, plan, run


@dataclass(frozen=True, eq=False)  # hashed by identity: a job is a handle in the serial executor
class Job:
    """One unit of work.

    Attributes
    ----------
    key
        Its key in the store (the run key for runs).
    folder
        Its folder in the store (``<task>/<model>`` for runs).
    label
        What the progress lines call it (``lorenz smoothing seed 0``).
    fn, args
        ``fn(*args)`` does the work and returns the document to store; ``fn`` is a module-level function.
    resources
        Threads and GPUs it needs.
    failure
        The document stored when it fails, given the one-line error.
    optional
        True when a missing dataset (:class:`~nbench.errors.DataError`) means "not available here", not a
        failure: nothing is stored.
    """

    key: str
    folder: str
    label: str
    fn: Callable[..., dict[str, Any]]
    args: tuple[Any, ...]
    resources: Resources = field(default_factory=Resources)
    failure: Callable[[str], dict[str, Any]] | None = None
    optional: bool = False


@contextlib.contextmanager
def limited_threads(n: int) -> Iterator[None]:
    """BLAS/OpenMP thread pools and torch (``NBENCH_NUM_THREADS``) limited to ``n`` threads inside the block,
    or to the user's ``NBENCH_NUM_THREADS`` when it is set."""
    from threadpoolctl import threadpool_limits

    before = os.environ.get("NBENCH_NUM_THREADS")
    requested = (before or "").strip()
    if not requested:
        os.environ["NBENCH_NUM_THREADS"] = str(n)
    elif requested.isdigit() and int(requested) >= 1:
        n = int(requested)
    # (an invalid value stays set: the model's set_threads() reports it in one line)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        if before is None:
            os.environ.pop("NBENCH_NUM_THREADS", None)
        else:
            os.environ["NBENCH_NUM_THREADS"] = before


def call_limited(fn: Callable[..., dict[str, Any]], args: tuple[Any, ...], threads: int) -> dict[str, Any]:
    """``fn(*args)`` under :func:`limited_threads` (what every executor runs, here or in a worker)."""
    with limited_threads(threads):
        return fn(*args)


MAX_ERROR = 1000  # characters of an error kept in a failure record (the traceback file has all of it)


def one_line(exc: BaseException) -> str:
    """The error as one line: a user error's own message, else ``Type: first line of the message``."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if not isinstance(exc, NbenchError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    text = text or type(exc).__name__
    return text if len(text) <= MAX_ERROR else text[:MAX_ERROR - 3] + "..."


def error_detail(exc: BaseException) -> str:
    """The full traceback, for the run's work folder."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


# --- runs ---------------------------------------------------------------------------------------------------


def train_run(spec: RunSpec, work_dir: str, invocation: str | None, keep_predictions: bool,
              log: Callable[[str], None] | None = None, fresh: bool = False, scored_only: bool = False
              ) -> dict[str, Any]:
    """Fit, predict and score ``spec``; the record as a dict (and, if asked, the predictions under
    ``"__predictions__"`` as a list of submissions, for the driver to write: in full, or with ``scored_only``
    only the arrays the scoring read, as committed prediction files keep). ``fresh`` deletes the run's work
    files (checkpoints) first."""
    result = run(spec, invocation=invocation, work_dir=work_dir, log=log, fresh=fresh)
    doc = result.record.to_dict()
    if keep_predictions:
        doc["__predictions__"] = list((result.scored if scored_only else result.submissions).values())
    return doc


def rescore_run(spec: RunSpec, record_file: str, predictions_file: str, invocation: str | None) -> dict[str, Any]:
    """Score committed predictions of ``spec`` as ``nbench score`` does; the record keeps the committed training
    record's identity, config, fit diagnostics, cost and environment, with kind ``"score"`` and the file's digest.
    """
    from nbench.scoring.files import score_file

    planned = plan(spec)
    committed = load_record(record_file)
    _check_committed(committed, planned, record_file)
    [scored] = score_file(predictions_file, tasks=(spec.task,), phase=planned.phase, model_name=spec.model,
                          data_dir=spec.data_dir, seed=spec.seed, invocation=invocation)
    scored.run_key, scored.model, scored.cost = committed.run_key, committed.model, committed.cost
    scored.environment = committed.environment
    scored.submission = {"path": Path(predictions_file).name, "sha256": scored.submission["sha256"]}
    return scored.to_dict()


def _check_committed(committed: Record, planned: PlannedRun, path: str) -> None:
    expected = {"run_key": planned.run_key, "status": "ok", "model.name": planned.spec.model,
                "model.config_hash": planned.model_meta["config_hash"], "seed": planned.spec.seed}
    actual = {"run_key": committed.run_key, "status": committed.status, "model.name": committed.model.get("name"),
              "model.config_hash": committed.model.get("config_hash"), "seed": committed.seed}
    for key, value in expected.items():
        if actual[key] != value:
            raise ValidationError(f"{path}: key {key!r} expected {value!r} (the sweep's run), got {actual[key]!r}")


def failed_run(planned: PlannedRun, invocation: str | None) -> Callable[[str], dict[str, Any]]:
    """The failure record of ``planned``: its identity, status ``"error"`` and the one-line error."""

    def make(error: str) -> dict[str, Any]:
        return Record(
            run_id=new_run_id(), run_key=planned.run_key, created=utc_now(), status="error", kind="run",
            task=planned.task_meta, dataset=planned.dataset_meta, model={**planned.model_meta, "fit_info": {}},
            seed=planned.spec.seed, metrics={}, environment=environment(), invocation=invocation, error=error,
        ).to_dict()

    return make


def resources_of(planned: PlannedRun, override: Resources | None = None) -> Resources:
    """The model's declared resources, or the sweep file's override."""
    return override or getattr(planned.model_cls, "resources", Resources())
