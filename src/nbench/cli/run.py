"""``nbench run``: fit a model on a task, score it, write a record."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from nbench.cli.display import console, echo_json, record_json, show_record
from nbench.cli.outputs import check_outputs
from nbench.config import load_config_file, parse_set_options
from nbench.runner import RunSpec
from nbench.runner import run as run_spec
from nbench.submission import write_submission

DEFAULT_OUT = "nbench-results"


@click.command("run")
@click.option("--task", "-t", required=True, help="Task name (see `nbench list tasks`).")
@click.option("--model", "-m", required=True, help="Model name (see `nbench list models`).")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed of the model.")
@click.option("--phase", type=click.Choice(["val", "test"]), default=None,
              help="val: fit on train, score val. test: fit on train+val, score test. [default: the task's]")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML file of model config overrides.")
@click.option("--set", "set_pairs", multiple=True, metavar="KEY=VALUE",
              help="Override one config key (repeatable); applied after --config.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N (torch models).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True, help="Directory for records and model work files.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Data directory [default: $NBENCH_DATA_DIR or ~/.cache/nbench].")
@click.option("--targets", "targets_path", type=click.Path(dir_okay=False), default=None,
              help="NLB test-phase target file [default: <data dir>/nlb/eval_data_test.h5].")
@click.option("--save-submission", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the predictions as an NLB-layout submission .h5.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write a report of the run (plots of predictions against the data) into this directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON on stdout instead of the tables.")
@click.option("--fresh", is_flag=True, help="Start the fit over: delete this run's work files (checkpoints) first.")
def run(task: str, model: str, seed: int, phase: str | None, config_file: Path | None, set_pairs: tuple[str, ...],
        device: str, out_dir: Path, data_dir: str | None, targets_path: str | None,
        save_submission: Path | None, report_dir: Path | None, as_json: bool, fresh: bool) -> None:
    """Run MODEL on TASK, print its metrics and write a JSON record.

    \b
    Example:
      nbench run --task lorenz --model smoothing
      nbench run --task mc_maze_small --model smoothing --set kern_sd_ms=40 --phase val
    """
    overrides = load_config_file(config_file) if config_file else {}
    overrides.update(parse_set_options(set_pairs))
    spec = RunSpec.create(task, model, seed=seed, phase=phase, overrides=overrides, device=device,
                          data_dir=data_dir, targets_path=targets_path)
    check_outputs(out_dir=out_dir, data_dir=data_dir, files=[("--save-submission", save_submission)])
    if report_dir is not None:
        from nbench.reporting import check_plots

        check_plots()  # before the run, so that a missing extra does not cost a fit
    result = run_spec(spec, out_dir=out_dir, invocation=shlex.join(["nbench", *sys.argv[1:]]),
                      log=lambda line: click.echo(line, err=True), fresh=fresh)
    if save_submission is not None:
        write_submission(save_submission, list(result.submissions.values()))
    report = None
    if report_dir is not None:
        from nbench.reporting import write_report

        report = write_report(result.record, report_dir, submissions=result.submissions, data_dir=data_dir,
                              targets_path=targets_path)
    if as_json:
        echo_json({**record_json(result.record, result.record_path),
                   "submission": None if save_submission is None else str(save_submission),
                   "report": None if report is None else str(report)})
        return
    show_record(result.record, result.record_path)
    if save_submission is not None:
        click.echo(f"submission: {save_submission}")
    if report is not None:
        console.print(f"report: {report}", soft_wrap=True, highlight=False)
