"""Run a model on a task: ``RunSpec`` -> fit -> predict -> the same scorer as ``nbench score`` -> ``Record``."""

from __future__ import annotations

import json
import math
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from nbench import __version__, registry
from nbench.baselines.base import config_to_dict
from nbench.config import check_seed, config_hash
from nbench.errors import ValidationError
from nbench.results import Record, make_run_key, new_run_id, utc_now, write_record
from nbench.scoring import reference_metrics, score_group
from nbench.submission import Submission
from nbench.tasks.base import Task, TaskInputs
from nbench.validation import spec_from_targets, validate_submission

KEY_PACKAGES = ("numpy", "scipy", "scikit-learn", "h5py", "pynwb", "torch", "elephant")


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines a run. Frozen: a spec is hashed into the record's run key.

    ``overrides`` are config overrides as a sorted tuple of (key, JSON-encoded value) pairs; use
    :meth:`create` to build one from a dict.
    """

    task: str
    model: str
    seed: int = 0
    phase: str | None = None
    overrides: tuple[tuple[str, str], ...] = ()
    device: str = "auto"
    data_dir: str | None = None
    targets_path: str | None = None

    @classmethod
    def create(cls, task: str, model: str, seed: int = 0, phase: str | None = None,
               overrides: dict[str, Any] | None = None, device: str = "auto", data_dir: str | None = None,
               targets_path: str | None = None) -> RunSpec:
        pairs = tuple(sorted((k, json.dumps(v)) for k, v in (overrides or {}).items()))
        return cls(task, model, check_seed(seed), phase, pairs, device, data_dir, targets_path)

    def override_dict(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.overrides}


@dataclass
class RunResult:
    """What a run produced: its record (already written, if an output directory was given) and predictions."""

    record: Record
    submission: Submission
    record_path: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)


def make_task(name: str, data_dir: str | None = None, targets_path: str | Path | None = None) -> Task:
    """Instantiate a registered task.

    Tasks that keep data on disk accept ``data_dir``; tasks whose test-phase targets come from a file (NLB)
    accept ``targets_path``.
    """
    factory = registry.get("tasks", name, data_dir=data_dir)
    kwargs = {key: value for key, value in (("data_dir", data_dir), ("targets_path", targets_path)) if value}
    try:
        return factory(**kwargs)
    except TypeError as exc:
        if "targets_path" in kwargs and "targets_path" in str(exc):
            raise ValidationError(f"task {name!r} builds its own targets; a target file applies to NLB tasks "
                                  "only") from exc
        raise


def run(spec: RunSpec, out_dir: str | Path | None = None, invocation: str | None = None,
        log: Callable[[str], None] | None = None, fresh: bool = False) -> RunResult:
    """Execute ``spec`` and return its result; the record is written atomically under ``out_dir`` if given.

    ``log`` receives one-line progress messages (the CLI prints them on stderr); ``fresh`` deletes the run's
    work files (checkpoints) first, so the fit starts over.
    """
    started = time.perf_counter()
    task = make_task(spec.task, spec.data_dir, spec.targets_path)
    model_cls = registry.get("models", spec.model)
    config = model_cls.make_config(spec.task, spec.override_dict())
    config_dict = config_to_dict(config)
    phase = task.resolve_phase(spec.phase)
    inputs, targets = task.prepare(phase)
    task_meta = task_record(task, phase)
    run_key = make_run_key(task_meta, inputs.dataset_info.get("version"), spec.model, config_hash(config_dict),
                           spec.seed)
    workdir = Path(out_dir or ".") / "work" / run_key
    if fresh and workdir.exists():
        shutil.rmtree(workdir)
    model = model_cls(config, seed=spec.seed, workdir=workdir, device=spec.device)
    if log is not None:
        log(f"fitting {spec.model} on {spec.task} ({phase} phase: {inputs.n_train} train / {inputs.n_eval} eval "
            f"trials, seed {spec.seed}) ...")

    t0 = time.perf_counter()
    model.fit(inputs)
    t1 = time.perf_counter()
    submission = model.predict(inputs).as_float32()
    t2 = time.perf_counter()
    validate_submission(submission, spec_from_targets(targets, inputs), source=f"model {spec.model!r} output")
    metrics = score_group(submission, targets)
    t3 = time.perf_counter()

    record = Record(
        run_id=new_run_id(), run_key=run_key, created=utc_now(), status="ok", kind="run", task=task_meta,
        dataset=dataset_record(inputs), seed=spec.seed, metrics=metrics, reference=reference_metrics(targets),
        model={"name": spec.model, "origin": _origin(model_cls), "config": config_dict,
               "config_hash": config_hash(config_dict), "fit_info": jsonable(getattr(model, "fit_info", {}))},
        cost={"wall_s": round(t3 - started, 3), "fit_s": round(t1 - t0, 3), "predict_s": round(t2 - t1, 3),
              "score_s": round(t3 - t2, 3), "peak_mem_mb": peak_memory_mb(),
              "device": getattr(model, "device", spec.device)},
        environment=environment(), invocation=invocation,
    )
    path = write_record(record, out_dir) if out_dir is not None else None
    return RunResult(record, submission, path, {"fit": t1 - t0, "predict": t2 - t1, "score": t3 - t2})


def task_record(task: Task, phase: str | None) -> dict[str, Any]:
    info = task.info
    return {"name": info.name, "version": info.version, "phase": phase, "bin_ms": info.bin_ms,
            "group": info.name}


def dataset_record(inputs: TaskInputs) -> dict[str, Any]:
    meta = inputs.dataset_info
    return {"name": inputs.dataset, "source": meta.get("source"), "version": meta.get("version"),
            "sha256": dict(meta.get("sha256", {}))}


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def environment() -> dict[str, Any]:
    """Python, platform, nbench and key package versions, and the git state of the nbench source."""
    packages = {}
    for name in KEY_PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            continue
    commit, dirty = _git_state(Path(__file__).resolve().parent)
    return {"python": platform.python_version(), "platform": platform.platform(), "nbench": __version__,
            "packages": packages, "git_commit": commit, "git_dirty": dirty}


def _git_state(where: Path) -> tuple[str | None, bool | None]:
    try:
        commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5)
        if commit.returncode != 0:
            return None, None
        status = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=5)
        return commit.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars/arrays as Python numbers/lists, mapping keys as strings, non-finite as None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _origin(model_cls: type) -> str:
    return model_cls.__module__.split(".")[0]
