"""``nbench score``: validate a submission file and score it against a task's hidden targets."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from nbench import registry
from nbench.cli.display import show_record
from nbench.errors import ValidationError
from nbench.results import file_sha256, write_record
from nbench.runner import make_task, score_record
from nbench.validation import GroupSpec, load_submission, spec_from_targets, submission_groups


@click.command("score")
@click.argument("submission", type=click.Path(path_type=Path))
@click.option("--task", "-t", "task_names", multiple=True,
              help="Task(s) to score against (repeatable). [default: the tasks named by the file's groups]")
@click.option("--targets", "targets_file", type=click.Path(path_type=Path), default=None,
              help="Score against an NLB-style target .h5 (e.g. eval_data_test.h5) instead of a task.")
@click.option("--phase", type=click.Choice(["val", "test"]), default=None, help="Phase of the task(s).")
@click.option("--model-name", default=None, help="Name for the record [default: the file name].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default="nbench-results",
              show_default=True, help="Directory for the JSON records.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Data directory.")
def score(submission: Path, task_names: tuple[str, ...], targets_file: Path | None, phase: str | None,
          model_name: str | None, out_dir: Path, data_dir: str | None) -> None:
    """Validate SUBMISSION (an NLB-layout .h5) and score it; print the metrics and write a record per group.

    \b
    Examples:
      nbench score my_rates.h5 --task lorenz
      nbench score my_rates.h5 --targets eval_data_test.h5
    """
    if targets_file is not None and task_names:
        raise click.UsageError("give either --task or --targets, not both")
    groups = submission_groups(submission)
    if targets_file is not None:
        jobs = _jobs_from_target_file(targets_file, groups, phase)
    else:
        jobs = _jobs_from_tasks(submission, task_names or tuple(groups), groups, phase, data_dir,
                                inferred=not task_names)
    specs: dict[str, GroupSpec] = {g: spec for g, (_, _, _, spec) in jobs.items()}
    subs = load_submission(submission, specs)
    info = {"path": str(submission), "sha256": file_sha256(submission)}
    records = score_record(subs, {g: job[:3] for g, job in jobs.items()}, model_name or submission.stem, info,
                           invocation=shlex.join(["nbench", *sys.argv[1:]]))
    for record in records:
        show_record(record, write_record(record, out_dir))


def _jobs_from_tasks(path: Path, names: tuple[str, ...], groups: list[str], phase: str | None, data_dir: str | None,
                     inferred: bool) -> dict[str, tuple]:
    known = registry.names("tasks")
    if inferred:
        unknown = [g for g in groups if g not in known]
        if unknown:
            raise ValidationError(f"{path}: group {unknown[0]!r} is not a task name (known tasks: "
                                  f"{', '.join(known)}); pass --task or --targets")
    jobs = {}
    for name in names:
        task = make_task(name, data_dir)
        task_phase = task.resolve_phase(phase)
        inputs, targets = task.prepare(task_phase)
        jobs[task.info.name] = (task, task_phase, targets, spec_from_targets(targets, inputs))
    return jobs


def _jobs_from_target_file(path: Path, groups: list[str], phase: str | None) -> dict[str, tuple]:
    from nbench.targets_io import read_targets

    targets = read_targets(path)
    missing = [g for g in groups if g not in targets]
    if missing:
        raise ValidationError(f"{path}: no targets for submission group {missing[0]!r} (target groups: "
                              f"{', '.join(sorted(targets))})")
    return {g: (None, phase, targets[g], spec_from_targets(targets[g])) for g in groups}
