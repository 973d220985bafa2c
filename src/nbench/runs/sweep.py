"""A sweep: runs -> jobs -> an executor, resumable by run key. ``nbench sweep``, ``nbench run`` and ``nbench
tune`` all go through :func:`run_jobs`.

Each run is planned first (task, model, config, run key; no data is read), so a bad name or config in any run
fails the whole sweep in one line before any work. A run of a block with ``predictions:`` (models too slow for
CI) is not trained: its committed predictions ``<folder>/<task>/<model>/<run key>.h5`` are scored, with the
committed training record ``<run key>.json`` beside them for the config, cost and environment; with
``train_committed`` it is trained instead and both files are written there, to be committed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nbench.errors import DataError, NbenchError, UnknownNameError
from nbench.runner import plan
from nbench.runs.execute import Driver, Executor, SerialExecutor, Summary
from nbench.runs.jobs import Job, failed_run, rescore_run, resources_of, train_run
from nbench.runs.progress import Progress
from nbench.runs.store import KeyedStore
from nbench.runs.sweepfile import SweepRun

EXECUTORS = ("serial", "ray")


@dataclass
class Planned:
    """The jobs of a sweep, and the runs that have none here."""

    jobs: list[Job] = field(default_factory=list)
    predictions: dict[str, Path] = field(default_factory=dict)
    unavailable: list[str] = field(default_factory=list)  # optional runs whose task is not on this machine
    pending: list[str] = field(default_factory=list)  # committed-prediction runs whose files are not committed


def plan_jobs(runs: Sequence[SweepRun], out_dir: str | Path, invocation: str | None = None,
              train_committed: bool = False, keep_predictions: bool = False, fresh: bool = False,
              log: Callable[[str], None] | None = None) -> Planned:
    """One job per run (see the module docstring); raises a one-line error for a run that cannot be planned.

    ``keep_predictions``: trained runs return their predictions (:attr:`Summary.predictions`); ``fresh``: trained
    runs delete their work files (checkpoints) first; ``log`` gets the runs' own progress lines (in-process
    executors only: it is not sent to workers).
    """
    out = Planned()
    work = str(Path(out_dir) / "work")
    for item in runs:
        spec = item.spec
        label = f"{spec.task} {spec.model}{_config_label(spec)} seed {spec.seed}" + (
            f" ({spec.phase})" if spec.phase else "")
        try:
            planned = plan(spec)
        except (UnknownNameError, DataError) as exc:
            if not item.optional:
                raise
            out.unavailable.append(f"{label}: {exc}")
            continue
        except NbenchError as exc:
            raise type(exc)(f"{label}: {exc}") from None
        resources = resources_of(planned, item.resources)
        common = {"key": planned.run_key, "folder": f"{spec.task}/{spec.model}", "label": label,
                  "resources": resources, "failure": failed_run(planned, invocation), "optional": item.optional}
        if item.predictions is not None and not train_committed:
            stem = item.predictions / spec.task / spec.model / planned.run_key
            record, predictions = stem.with_suffix(".json"), stem.with_suffix(".h5")
            if not (record.is_file() and predictions.is_file()):
                out.pending.append(f"{label}: no committed predictions; add {_shown(predictions)} and "
                                   f"{_shown(record)} (`nbench sweep SWEEP.yaml --train-committed` writes them)")
                continue
            out.jobs.append(Job(fn=rescore_run, args=(spec, str(record), str(predictions), invocation), **common))
            continue
        if item.predictions is not None:
            out.predictions[planned.run_key] = item.predictions
        keep = keep_predictions or item.predictions is not None
        # committed prediction files keep only what is scored (a Swap-VAE file with latents: 45 MB, without: 2 MB)
        committed = item.predictions is not None and not keep_predictions
        out.jobs.append(Job(fn=train_run, args=(spec, work, invocation, keep, log, fresh, committed), **common))
    return out


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _config_label(spec: object) -> str:
    overrides = getattr(spec, "overrides", ())
    return "".join(f" {k}={v}" for k, v in overrides)


def make_executor(name: str, address: str | None = None, workers: int | None = None) -> Executor:
    """``serial`` (this process; Ray is never imported) or ``ray`` (``ray.init()`` locally, or the cluster at
    ``address``)."""
    if name == "serial":
        return SerialExecutor()
    if name == "ray":
        from nbench.runs.ray_executor import RayExecutor

        return RayExecutor(address=address, num_cpus=workers)
    raise NbenchError(f"--executor {name!r}: expected one of {', '.join(EXECUTORS)}")


def run_jobs(jobs: list[Job], store: KeyedStore, executor: Executor, log: Callable[[str], None] = print,
             retry_failed: bool = False, rerun: bool = False,
             predictions: dict[str, Path] | None = None, record_data_errors: bool = True) -> Summary:
    """Clean up after killed processes, then drive ``jobs`` (see :mod:`nbench.runs.execute`);
    ``record_data_errors=False`` stores no failure record for a run whose dataset is missing (``nbench run``)."""
    recovered = store.recover()
    if recovered.locks or recovered.temps or recovered.merged:
        log(f"{store.root}: cleaned up {recovered}")
    driver = Driver(store=store, executor=executor, progress=Progress(log=log), retry_failed=retry_failed,
                    rerun=rerun, predictions=predictions or {}, log=log, record_data_errors=record_data_errors)
    return driver.execute(jobs)


def default_workers() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
