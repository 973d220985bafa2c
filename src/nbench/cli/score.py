"""``nbench score``: validate a submission file and score it against a task's hidden targets."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from nbench.cli.display import echo_json, record_json, show_record
from nbench.cli.outputs import check_outputs
from nbench.results import write_record
from nbench.scoring.files import score_file


@click.command("score")
@click.argument("submission", type=click.Path(path_type=Path))
@click.option("--task", "-t", "task_names", multiple=True,
              help="Task(s) to score against (repeatable). [default: the tasks named by the file's groups]")
@click.option("--targets", "targets_file", type=click.Path(path_type=Path), default=None,
              help="NLB-style target .h5 (e.g. eval_data_test.h5): scores the file's groups against it; with --task, "
                   "it is the NLB task's test-phase target file.")
@click.option("--phase", type=click.Choice(["val", "test"]), default=None, help="Phase of the task(s).")
@click.option("--model-name", default=None, help="Name for the record [default: the file name].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default="nbench-results",
              show_default=True, help="Directory for the JSON records.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Data directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as a JSON list on stdout instead of tables.")
def score(submission: Path, task_names: tuple[str, ...], targets_file: Path | None, phase: str | None,
          model_name: str | None, out_dir: Path, data_dir: str | None, as_json: bool) -> None:
    """Validate SUBMISSION (an NLB-layout .h5) and score it; print the metrics and write a record per group.

    \b
    Examples:
      nbench score my_rates.h5 --task lorenz
      nbench score my_rates.h5 --targets eval_data_test.h5
    """
    check_outputs(out_dir=out_dir, data_dir=data_dir)
    records = score_file(submission, tasks=task_names, targets_file=targets_file, phase=phase,
                         model_name=model_name, data_dir=data_dir,
                         invocation=shlex.join(["nbench", *sys.argv[1:]]))
    written = [(record, write_record(record, out_dir)) for record in records]
    if as_json:
        echo_json([record_json(record, path) for record, path in written])
        return
    for record, path in written:
        show_record(record, path)
