"""Score a submission file: the one path shared by ``nbench score`` and the leaderboard's entry scoring.

A file is checked (:mod:`nbench.validation`) against the views of each task it is scored on, either from
registered tasks (targets built by the task) or from an NLB-style target file, then scored by
:func:`nbench.scoring.task.score_views`, exactly as ``nbench run`` scores a model's predictions. One record per
task (per group of a target file).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from nbench import registry
from nbench.errors import ValidationError
from nbench.io import file_sha256
from nbench.provenance import dataset_record, environment, peak_memory_mb, task_record
from nbench.results import Record, make_run_key, new_run_id, utc_now
from nbench.scoring.task import ScoredView, score_views
from nbench.tasks import make_task
from nbench.tasks.base import PreparedTask, Targets, Task
from nbench.text import short_list
from nbench.validation import GroupSpec, load_submission, spec_from_targets, submission_groups

logger = logging.getLogger(__name__)


@dataclass
class TaskJob:
    """What one task (or one target-file group) of a submission is scored against."""

    name: str
    targets: dict[str, tuple[str, str, Targets]]  # view group -> (session, query, targets)
    specs: dict[str, GroupSpec]
    phase: str | None
    task: Task | None = None
    prepared: PreparedTask | None = None


def score_file(submission: str | Path, *, tasks: Sequence[str] = (), targets_file: str | Path | None = None,
               phase: str | None = None, model_name: str | None = None, data_dir: str | None = None,
               seed: int | None = None, allow_extra_groups: bool = False, invocation: str | None = None,
               bootstrap: int = 1000) -> list[Record]:
    """Validate and score ``submission``; return one record per scored task.

    Parameters
    ----------
    submission
        NLB-layout (or nbench multi-view layout) ``.h5`` file.
    tasks
        Tasks to score against; empty means the tasks named by the file's top-level groups.
    targets_file
        An NLB-style target file: alone, the file's groups are scored against it; with ``tasks`` (NLB), it is
        the tasks' test-phase target file.
    phase
        Phase of the tasks (default: each task's default phase).
    model_name
        Model name in the records (default: the file's stem).
    seed
        Seed the predictions came from, if known (leaderboard entries).
    allow_extra_groups
        Ignore groups of the file that are not being scored silently; otherwise each is skipped with a logged
        warning, as nlb_tools does. Scoring no group at all is an error.
    bootstrap
        Bootstrap resamples for the intervals (0: none).
    """
    submission = Path(submission)
    groups = submission_groups(submission)
    if targets_file is not None and not tasks:
        jobs = jobs_from_target_file(Path(targets_file), groups, phase)
    else:
        jobs = jobs_from_tasks(submission, tuple(tasks) or tuple(groups), groups, phase, data_dir,
                               inferred=not tasks, targets_path=targets_file)
    specs = {key: spec for job in jobs for key, spec in job.specs.items()}
    with ThreadPoolExecutor(1) as pool:  # hashing (GIL released) overlaps reading
        digest = pool.submit(file_sha256, submission)
        subs = load_submission(submission, specs, allow_extra_groups=True)
        info = {"path": str(submission), "sha256": digest.result()}
    skipped = [g for g in groups if g not in specs]
    if skipped and not allow_extra_groups:
        logger.warning("%s: no targets for submission group %s; skipped (scored: %s)", submission,
                       short_list(skipped), short_list(list(specs)))
    name = model_name or submission.stem
    return [_record(job, subs, name, info, seed, invocation, bootstrap) for job in jobs]


def jobs_from_tasks(path: Path, names: tuple[str, ...], groups: list[str], phase: str | None,
                    data_dir: str | None, inferred: bool, targets_path: str | Path | None = None) -> list[TaskJob]:
    """Targets and expected layouts of every view of the named tasks."""
    if inferred:
        known = registry.names("tasks", data_dir)
        unknown = [g for g in groups if g not in known]
        if unknown:
            raise ValidationError(f"{path}: group {unknown[0]!r} is not a task name (known tasks: "
                                  f"{', '.join(known)}); pass --task or --targets")
    jobs = []
    for name in names:
        task = make_task(name, data_dir, targets_path)
        prepared = task.build(task.resolve_phase(phase))
        targets = {v.group: (v.query.session, v.query.name, v.targets) for v in prepared.views}
        specs = {v.group: spec_from_targets(v.targets, v.inputs) for v in prepared.views}
        jobs.append(TaskJob(task.info.name, targets, specs, prepared.phase, task, prepared))
    return jobs


def jobs_from_target_file(path: Path, groups: list[str], phase: str | None) -> list[TaskJob]:
    """Targets and expected layouts of the groups, from an NLB-style target ``.h5`` (one view per group)."""
    from nbench.tasks.targets_file import read_targets

    targets = read_targets(path)
    matched = [g for g in groups if g in targets]
    if not matched:
        raise ValidationError(f"{path}: no submission group matches the targets (submission: "
                              f"{short_list(groups)}; targets: {short_list(sorted(targets))})")
    return [TaskJob(g, {g: ("", "", targets[g])}, {g: spec_from_targets(targets[g])}, phase) for g in matched]


def _record(job: TaskJob, subs: dict, model_name: str, info: dict, seed: int | None, invocation: str | None,
            bootstrap: int) -> Record:
    t0 = time.perf_counter()
    views = [ScoredView(session, query, subs[group], targets) for group, (session, query, targets)
             in job.targets.items()]
    scored = score_views(views, bootstrap=bootstrap)
    if job.task is not None and job.prepared is not None:
        task_meta, dataset = task_record(job.task, job.phase), dataset_record(job.prepared.views[0].inputs)
    else:
        task_meta = {"name": job.name, "version": None, "phase": job.phase, "bin_ms": None, "group": job.name}
        dataset = {"name": job.name, "source": None, "version": None, "sha256": {}}
    return Record(
        run_id=new_run_id(), run_key=make_run_key(task_meta, dataset["version"], model_name, info["sha256"], seed),
        created=utc_now(), status="ok", kind="score", task=task_meta, dataset=dataset,
        model={"name": model_name, "origin": "submission", "config": {}, "config_hash": None}, seed=seed,
        **scored.record_fields(),
        cost={"score_s": round(time.perf_counter() - t0, 3), "peak_mem_mb": peak_memory_mb()},
        environment=environment(), invocation=invocation, submission=info,
    )
