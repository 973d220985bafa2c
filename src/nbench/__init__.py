"""nbench: a benchmark suite and leaderboard harness for models of neural population spiking activity.

The Python API (``import nbench`` loads nothing heavy; each function imports what it needs)::

    import nbench

    nbench.list_tasks()                                # task names; nbench.list_models() likewise
    task = nbench.get_task("lorenz")                   # its declarations; task.build(phase) gives the data
    result = nbench.run("lorenz", "smoothing")         # fit, predict, score: result.record, result.submission
    result = nbench.run("lorenz", MyModel)             # your own nbench.Model subclass (docs/byom.md)
    [record] = nbench.score("rates.h5", task="lorenz") # a submission file (or Submission objects)
    nbench.compare(record_a, record_b)                 # paired bootstrap difference of two runs
    nbench.load_records("nbench-results")              # every record under a directory
    nbench.export("lorenz", "lorenz_inputs.h5")        # a task's model inputs in NLB's tensor layout
    nbench.report(record, "report/")                   # plots of one run (needs nbench[plots])
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from nbench.baselines.base import Model
    from nbench.results import Record
    from nbench.runner import RunResult
    from nbench.scoring.compare import Comparison
    from nbench.submission import Submission
    from nbench.tasks.base import Task

#: Classes re-exported lazily: name -> "module:attribute".
_LAZY = {
    "Model": "nbench.baselines.base:Model",
    "Capabilities": "nbench.baselines.base:Capabilities",
    "Submission": "nbench.submission:Submission",
    "write_submission": "nbench.submission:write_submission",
    "Task": "nbench.tasks.base:Task",
    "TaskInfo": "nbench.tasks.base:TaskInfo",
    "TaskInputs": "nbench.tasks.base:TaskInputs",
    "Targets": "nbench.tasks.base:Targets",
    "Record": "nbench.results:Record",
    "MetricValue": "nbench.results:MetricValue",
    "load_record": "nbench.results:load_record",
    "RunResult": "nbench.runner:RunResult",
    "NbenchError": "nbench.errors:NbenchError",
}

__all__ = ["__version__", "compare", "export", "get_model", "get_task", "list_models", "list_tasks",
           "load_records", "report", "run", "score", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'nbench' has no attribute {name!r}")
    module, _, attr = _LAZY[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def list_tasks(data_dir: str | None = None) -> list[str]:
    """Names of every task: built-in, plug-in and datasets imported into ``data_dir``."""
    from nbench import registry

    return registry.names("tasks", data_dir)


def list_models() -> list[str]:
    """Names of every registered model (built-in and plug-in)."""
    from nbench import registry

    return registry.names("models")


def get_task(name: str, data_dir: str | None = None, targets_path: str | None = None) -> Task:
    """The task ``name``; ``task.info`` holds its declarations, ``task.build(phase)`` its inputs and targets."""
    from nbench.tasks import make_task

    return make_task(name, data_dir, targets_path)


def get_model(name: str) -> type[Model]:
    """The model class registered as ``name``."""
    from nbench import registry

    return registry.get("models", name)


def run(task: str, model: str | type[Model], *, seed: int = 0, phase: str | None = None,
        config: dict[str, Any] | None = None, device: str = "auto", data_dir: str | None = None,
        targets_path: str | None = None, out: str | Path | None = None,
        log: Callable[[str], None] | None = print) -> RunResult:
    """Fit ``model`` on ``task``, predict and score it exactly as ``nbench run`` does.

    Parameters
    ----------
    task
        Task name (:func:`list_tasks`).
    model
        A registered model name, or your own :class:`nbench.Model` subclass (registered under its ``name``).
    config
        Config overrides, as ``--set key=value``.
    out
        Directory to write the record to (as ``nbench run --out``); None writes nothing.
    log
        Receives the one-line progress messages (None: silent).

    Returns
    -------
    RunResult
        ``.record`` (metrics, intervals, provenance), ``.submission`` / ``.submissions`` (the predictions),
        ``.record_path``.
    """
    from nbench.runner import RunSpec
    from nbench.runner import run as run_spec

    spec = RunSpec.create(task, _model_name(model), seed=seed, phase=phase, overrides=config, device=device,
                          data_dir=data_dir, targets_path=targets_path)
    return run_spec(spec, out_dir=out, log=log)


def _model_name(model: str | type[Model]) -> str:
    """A model name; a class is registered under its ``name`` (refused if that would hide another model)."""
    if isinstance(model, str):
        return model
    from nbench import registry
    from nbench.baselines.base import Model

    if not (isinstance(model, type) and issubclass(model, Model)):
        raise TypeError(f"model: expected a name or an nbench.Model subclass, got {model!r}")
    name = getattr(model, "name", None) or model.__name__
    registry.register_class("models", name, model)
    return name


def score(submission: str | Path | Submission | Iterable[Submission], task: str | Sequence[str] = (), *,
          phase: str | None = None, targets: str | Path | None = None, model_name: str | None = None,
          seed: int | None = None, data_dir: str | None = None, out: str | Path | None = None) -> list[Record]:
    """Validate and score a submission exactly as ``nbench score`` does; one record per task.

    ``submission`` is an ``.h5`` file or :class:`Submission` objects (one per group, e.g. ``result.submissions``
    values), which are written to a temporary file first so that they go through the same checks. ``out``
    writes the records there.
    """
    from nbench.results import write_record
    from nbench.scoring.files import score_file
    from nbench.submission import Submission, write_submission

    tasks = (task,) if isinstance(task, str) else tuple(task)
    kwargs = dict(tasks=tasks, targets_file=targets, phase=phase, seed=seed, data_dir=data_dir)
    if isinstance(submission, (str, Path)):
        records = score_file(submission, model_name=model_name, **kwargs)
    else:
        subs = [submission] if isinstance(submission, Submission) else list(submission)
        with tempfile.TemporaryDirectory(prefix="nbench-score-") as tmp:
            path = write_submission(Path(tmp) / "submission.h5", subs)
            records = score_file(path, model_name=model_name or "submission", **kwargs)
        for record in records:
            record.submission = {"path": None, "sha256": record.submission["sha256"]}
    if out is not None:
        for record in records:
            write_record(record, out)
    return records


def load_records(path: str | Path | Iterable[str | Path]) -> list[Record]:
    """Records from a file, every ``*.json`` under a directory, or several paths (any schema version)."""
    from nbench.results import load_record
    from nbench.results import load_records as load_dir

    paths = [path] if isinstance(path, (str, Path)) else list(path)
    out: list[Record] = []
    for item in map(Path, paths):
        out.extend(load_dir(item) if item.is_dir() else [load_record(item)])
    return out


def compare(a: Record | Sequence[Record], b: Record | Sequence[Record], **kwargs: Any) -> Comparison:
    """Paired bootstrap comparison of two runs (or the seeds of two models) on one task; see ``nbench compare``.

    ``result.metrics`` holds, per metric, the values, ``difference`` (A - B), ``ci95`` and ``better``.
    """
    from nbench.scoring.compare import compare_records

    return compare_records(a, b, **kwargs)


def export(task: str, path: str | Path, *, phase: str | None = None, data_dir: str | None = None) -> Path:
    """Write ``task``'s model inputs in NLB's tensor layout, with the trial and unit order a submission follows."""
    from nbench.tasks.export import export_task

    return export_task(get_task(task, data_dir), path, phase)


def report(record: Record | str | Path, out_dir: str | Path, *,
           submission: str | Path | Sequence[Submission] | None = None, data_dir: str | None = None) -> Path:
    """Write the HTML report of one run (plots of predictions against the data); returns its ``index.html``."""
    from nbench.reporting import write_report
    from nbench.results import load_record

    if isinstance(record, (str, Path)):
        record = load_record(record)
    return write_report(record, out_dir, submissions=submission, data_dir=data_dir)
