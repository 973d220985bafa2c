"""Run a model on a task: ``RunSpec`` -> fit -> predict -> the same scorer as ``nbench score`` -> ``Record``."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbench import registry
from nbench.baselines.base import Capabilities, config_to_dict, preset_key, uses_fallback
from nbench.config import check_seed, config_hash
from nbench.fitting import check_capabilities, fit_and_predict
from nbench.provenance import dataset_record, environment, jsonable, peak_memory_mb, task_record
from nbench.results import Record, make_run_key, new_run_id, utc_now, write_record
from nbench.scoring.task import ScoredView, TaskScorer
from nbench.submission import Submission
from nbench.tasks import make_task
from nbench.tasks.base import PreparedTask, Task, TaskInputs, View
from nbench.validation import spec_from_targets, trimmed, validate_submission


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
    """What a run produced: its record (already written, if an output directory was given) and the
    predictions of every view, by submission group."""

    record: Record
    submissions: dict[str, Submission]
    record_path: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    #: Only the arrays each view's scoring read (no train rates where nothing is decoded, no latents): what a
    #: prediction file needs to be scored again with the same result.
    scored: dict[str, Submission] = field(default_factory=dict)

    @property
    def submission(self) -> Submission:
        """The predictions of a single-view task (NLB layout)."""
        if len(self.submissions) != 1:
            raise ValueError(f"the run has {len(self.submissions)} views; use .submissions")
        return next(iter(self.submissions.values()))


@dataclass
class PlannedRun:
    """A spec resolved without touching data: task, model class, config, phase and the run key.

    The run key is known before any data is built (it hashes the task's identity, the version its dataset pin
    declares, the model, the config hash and the seed), so a finished run can be skipped at no cost.
    """

    spec: RunSpec
    task: Task
    model_cls: type
    capabilities: Capabilities
    config: Any
    config_dict: dict[str, Any]
    phase: str
    task_meta: dict[str, Any]
    run_key: str
    preset_key: str  # the task name or family whose preset the config starts from

    @property
    def model_meta(self) -> dict[str, Any]:
        """The record's ``model`` section, without the fit diagnostics."""
        return {"name": self.spec.model, "origin": _origin(self.model_cls), "config": self.config_dict,
                "config_hash": config_hash(self.config_dict)}

    @property
    def dataset_meta(self) -> dict[str, Any]:
        """The record's ``dataset`` section as the task's pin declares it (the built inputs may add file digests)."""
        pin = self.task.info.pin
        return {"name": self.task.info.dataset, "source": pin.source if pin else None,
                "version": pin.version if pin else None, "sha256": dict(pin.sha256) if pin else {}}


def plan(spec: RunSpec) -> PlannedRun:
    """Resolve ``spec`` (task, model, capabilities, config, phase, run key) without building any data.

    Raises the same one-line errors as :func:`run` for an unknown task or model, a model that cannot serve the
    task, a bad config or an unavailable device (the model is built once to check them).
    """
    task = make_task(spec.task, spec.data_dir, spec.targets_path)
    model_cls = registry.get("models", spec.model)
    caps = getattr(model_cls, "capabilities", Capabilities())
    check_capabilities(task.info, spec.model, caps)
    family = preset_key(model_cls, task.info.preset_keys, task.info.bin_ms)
    config = model_cls.make_config(family, spec.override_dict(), bin_ms=task.info.bin_ms)
    config_dict = config_to_dict(config)
    model_cls(config, seed=spec.seed, workdir=None, device=spec.device)  # config and device checked now
    phase = task.resolve_phase(spec.phase)
    task_meta = task_record(task, phase)
    pin = task.info.pin
    run_key = make_run_key(task_meta, pin.version if pin else None, spec.model, config_hash(config_dict),
                           spec.seed)
    return PlannedRun(spec, task, model_cls, caps, config, config_dict, phase, task_meta, run_key, family)


def run(spec: RunSpec | PlannedRun, out_dir: str | Path | None = None, invocation: str | None = None,
        log: Callable[[str], None] | None = None, work_dir: str | Path | None = None,
        fresh: bool = False) -> RunResult:
    """Execute ``spec`` and return its result; the record is written atomically under ``out_dir`` if given
    (one file per run key: a rerun replaces it).

    ``log`` receives one-line progress messages (the CLI prints them on stderr). Model work files (checkpoints)
    go to ``<work_dir>/<run key>`` (default ``<out_dir>/work``; with neither, a temporary folder removed
    afterwards, so a run without outputs leaves no files); ``fresh`` deletes them first, so the fit starts over.
    The model is checked against the task (capabilities, config) before any data is built.
    """
    if work_dir is not None or out_dir is not None:
        return _run(spec, out_dir, invocation, log, Path(work_dir or Path(str(out_dir)) / "work"), fresh)
    with tempfile.TemporaryDirectory(prefix="nbench-work-") as scratch:
        return _run(spec, None, invocation, log, Path(scratch), fresh)


def _run(spec: RunSpec | PlannedRun, out_dir: str | Path | None, invocation: str | None,
         log: Callable[[str], None] | None, work_root: Path, fresh: bool) -> RunResult:
    started = time.perf_counter()
    planned = spec if isinstance(spec, PlannedRun) else plan(spec)
    spec, task, model_cls, caps = planned.spec, planned.task, planned.model_cls, planned.capabilities
    config, phase, run_key = planned.config, planned.phase, planned.run_key
    family = planned.preset_key
    if log is not None and uses_fallback(model_cls, family):
        log(f"note: {spec.model} has no preset for dataset family {family or task.info.name!r}; using its generic "
            f"defaults")
    models: list[Any] = [model_cls(config, seed=spec.seed, workdir=None, device=spec.device)]  # checks config
    prepared = task.build(phase, spike_times="spike_times" in caps.consumes)
    first = prepared.views[0].inputs
    workdir = work_root / run_key
    if fresh and workdir.exists():
        shutil.rmtree(workdir)
    if log is not None:
        log(f"fitting {spec.model} on {spec.task} ({phase} phase: {_sizes(prepared)}, seed {spec.seed}) ...")
    made = [0]

    def make_model() -> Any:
        """A fresh model per fit (the first is the model built above); fit i > 0 works in workdir/fit<i>."""
        model = models[0] if not made[0] else model_cls(config, seed=spec.seed, device=spec.device)
        model.workdir = workdir if not made[0] else workdir / f"fit{made[0]}"
        made[0] += 1
        return model

    collected = _Collector(spec.model, prepared.single)
    fitted = fit_and_predict(prepared, make_model, caps, collected.take, log)
    t1 = time.perf_counter()
    scored = collected.scorer.result()
    t2 = time.perf_counter()
    score_s = collected.scoring_s + (t2 - t1)
    record = Record(
        run_id=new_run_id(), run_key=run_key, created=utc_now(), status="ok", kind="run", task=planned.task_meta,
        dataset=dataset_record(first), seed=spec.seed, **scored.record_fields(),
        model={**planned.model_meta, "fit_info": jsonable(_fit_info(models[0], fitted.fits))},
        cost={"wall_s": round(t2 - started, 3), "fit_s": round(fitted.fit_s, 3),
              "predict_s": round(fitted.predict_s, 3), "score_s": round(score_s, 3), "peak_mem_mb": peak_memory_mb(),
              "device": getattr(models[0], "device", spec.device)},
        environment=environment(), invocation=invocation,
    )
    path = write_record(record, out_dir) if out_dir is not None else None
    timings = {"fit": fitted.fit_s, "predict": fitted.predict_s, "score": score_s}
    return RunResult(record, collected.submissions, path, timings, collected.scored_arrays)


class _Collector:
    """Checks and scores each view's predictions as soon as they exist (``take``), keeping what the run returns."""

    def __init__(self, model_name: str, single_view: bool) -> None:
        self.source, self.single_view = f"model {model_name!r} output", single_view
        self.scorer = TaskScorer()
        self.submissions: dict[str, Submission] = {}
        self.scored_arrays: dict[str, Submission] = {}
        self.scoring_s = 0.0

    def take(self, view: View, inputs: TaskInputs, predicted: Submission) -> None:
        begun = time.perf_counter()
        targets = view.targets
        group_spec = spec_from_targets(targets, inputs)
        sub = predicted.as_float32()
        # Views of multi-query tasks keep only what they score; single views keep NLB's full layout.
        if not self.single_view:
            sub = trimmed(sub, group_spec)
        sub = validate_submission(sub, group_spec, source=self.source)
        self.submissions[view.group] = sub
        self.scored_arrays[view.group] = trimmed(sub, group_spec) if self.single_view else sub  # trimmed already
        self.scorer.add(ScoredView(view.query.session, view.query.name, sub, targets))
        self.scoring_s += time.perf_counter() - begun


def _sizes(prepared: PreparedTask) -> str:
    first = prepared.views[0].inputs
    text = f"{first.n_train} train / {first.n_eval} eval trials"
    if len(prepared.views) > 1:
        text += f", {len(prepared.sessions)} session(s), {len(prepared.views)} queries"
    return text


def _fit_info(first: Any, fits: int) -> dict[str, Any]:
    """The model's fit diagnostics; with several fits, how many and the first one's."""
    info = dict(getattr(first, "fit_info", {}) or {})
    return info if fits == 1 else {"fits": fits, "first_fit": info}


def _origin(model_cls: type) -> str:
    return model_cls.__module__.split(".")[0]
