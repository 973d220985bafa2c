"""Score a submission file: the one path shared by ``nbench score`` and the leaderboard's entry scoring.

A file is checked (:mod:`nbench.validation`) against the targets of each group, either from registered tasks
(targets built by the task) or from an NLB-style target file, then scored by :func:`nbench.scoring.score_group`,
exactly as ``nbench run`` scores a model's predictions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nbench import registry
from nbench.errors import ValidationError
from nbench.results import Record, file_sha256, make_run_key, new_run_id, utc_now
from nbench.runner import dataset_record, environment, make_task, peak_memory_mb, task_record
from nbench.scoring import reference_metrics, score_group
from nbench.submission import Submission
from nbench.tasks.base import Targets, Task, TaskInputs
from nbench.text import short_list
from nbench.validation import GroupSpec, load_submission, spec_from_targets, submission_groups

logger = logging.getLogger(__name__)


@dataclass
class GroupJob:
    """What one submission group is scored against."""

    targets: Targets
    spec: GroupSpec
    phase: str | None
    task: Task | None = None
    inputs: TaskInputs | None = None


def score_file(submission: str | Path, *, tasks: Sequence[str] = (), targets_file: str | Path | None = None,
               phase: str | None = None, model_name: str | None = None, data_dir: str | None = None,
               seed: int | None = None, allow_extra_groups: bool = False, invocation: str | None = None,
               warn: Callable[[str], None] = logger.warning) -> list[Record]:
    """Validate and score ``submission``; return one record per scored group.

    Parameters
    ----------
    submission
        NLB-layout ``.h5`` file.
    tasks
        Tasks to score against; empty means the tasks named by the file's groups.
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
        Ignore groups of the file that are not being scored silently; otherwise each is skipped with a
        warning, as nlb_tools does. Scoring no group at all is an error.
    warn
        Receives the one-line warnings.
    """
    submission = Path(submission)
    groups = submission_groups(submission)
    if targets_file is not None and not tasks:
        jobs = jobs_from_target_file(Path(targets_file), groups, phase)
    else:
        jobs = jobs_from_tasks(submission, tuple(tasks) or tuple(groups), groups, phase, data_dir,
                               inferred=not tasks, targets_path=targets_file)
    subs = load_submission(submission, {g: job.spec for g, job in jobs.items()}, allow_extra_groups=True)
    skipped = [g for g in groups if g not in jobs]
    if skipped and not allow_extra_groups:
        warn(f"{submission}: no targets for submission group {short_list(skipped)}; skipped (scored: "
             f"{short_list(list(jobs))})")
    info = {"path": str(submission), "sha256": file_sha256(submission)}
    name = model_name or submission.stem
    return [_record(group, subs[group], job, name, info, seed, invocation) for group, job in jobs.items()]


def jobs_from_tasks(path: Path, names: tuple[str, ...], groups: list[str], phase: str | None,
                    data_dir: str | None, inferred: bool, targets_path: str | Path | None = None
                    ) -> dict[str, GroupJob]:
    """Targets and expected layouts of the groups, from registered tasks."""
    if inferred:
        known = registry.names("tasks", data_dir)
        unknown = [g for g in groups if g not in known]
        if unknown:
            raise ValidationError(f"{path}: group {unknown[0]!r} is not a task name (known tasks: "
                                  f"{', '.join(known)}); pass --task or --targets")
    jobs = {}
    for name in names:
        task = make_task(name, data_dir, targets_path)
        task_phase = task.resolve_phase(phase)
        inputs, targets = task.prepare(task_phase)
        jobs[targets.group] = GroupJob(targets, spec_from_targets(targets, inputs), task_phase, task, inputs)
    return jobs


def jobs_from_target_file(path: Path, groups: list[str], phase: str | None) -> dict[str, GroupJob]:
    """Targets and expected layouts of the groups, from an NLB-style target ``.h5``."""
    from nbench.targets_io import read_targets

    targets = read_targets(path)
    matched = [g for g in groups if g in targets]
    if not matched:
        raise ValidationError(f"{path}: no submission group matches the targets (submission: "
                              f"{short_list(groups)}; targets: {short_list(sorted(targets))})")
    return {g: GroupJob(targets[g], spec_from_targets(targets[g]), phase) for g in matched}


def _record(group: str, sub: Submission, job: GroupJob, model_name: str, info: dict, seed: int | None,
            invocation: str | None) -> Record:
    t0 = time.perf_counter()
    metrics = score_group(sub, job.targets)
    if job.task is not None and job.inputs is not None:
        task_meta, dataset = task_record(job.task, job.phase), dataset_record(job.inputs)
    else:
        task_meta = {"name": group, "version": None, "phase": job.phase, "bin_ms": None, "group": group}
        dataset = {"name": group, "source": None, "version": None, "sha256": {}}
    return Record(
        run_id=new_run_id(), run_key=make_run_key(task_meta, dataset["version"], model_name, info["sha256"], seed),
        created=utc_now(), status="ok", kind="score", task=task_meta, dataset=dataset,
        model={"name": model_name, "origin": "submission", "config": {}, "config_hash": None}, seed=seed,
        metrics=metrics, reference=reference_metrics(job.targets),
        cost={"score_s": round(time.perf_counter() - t0, 3), "peak_mem_mb": peak_memory_mb()},
        environment=environment(), invocation=invocation, submission=info,
    )
