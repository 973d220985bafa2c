"""``nbench sweep``: every run of a sweep file, serially or on Ray, resumable by run key."""

from __future__ import annotations

import shlex
import signal
import sys
from pathlib import Path
from typing import Any

import click

from nbench.cli.run import DEFAULT_OUT
from nbench.runs.sweep import EXECUTORS
from nbench.runs.sweepfile import SweepRun


def echo_err(line: str) -> None:
    click.echo(line, err=True)


def terminate_as_interrupt() -> None:
    """SIGTERM (Slurm's time limit, ``kill``) stops a sweep like Ctrl-C: locks freed, nothing half-stored."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@click.command("sweep")
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True, help="Results folder (one record per run key; shared safely by several sweeps).")
@click.option("--executor", type=click.Choice(EXECUTORS), default="serial", show_default=True,
              help="serial: one run at a time in this process. ray: Ray tasks (pip install \"nbench[ray]\").")
@click.option("--address", default=None, help="Ray cluster to join (e.g. auto, ray://host:10001) [default: start "
              "a local one].")
@click.option("--workers", type=int, default=None, help="CPUs of the local Ray cluster [default: all cores].")
@click.option("--retry-failed", is_flag=True, help="Run again the runs whose stored record is a failure.")
@click.option("--rerun", is_flag=True, help="Run every run again, replacing stored records.")
@click.option("--train-committed", is_flag=True,
              help="Train the runs of blocks with `predictions:` and write their predictions there to commit.")
@click.option("--tasks", "only_tasks", default=None, metavar="A,B", help="Only the runs of these tasks.")
@click.option("--models", "only_models", default=None, metavar="A,B", help="Only the runs of these models.")
@click.option("--dry-run", is_flag=True, help="List the runs and their stored status; run nothing.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Data directory.")
def sweep(sweep_file: Path, out_dir: Path, executor: str, address: str | None, workers: int | None,
          retry_failed: bool, rerun: bool, train_committed: bool, only_tasks: str | None, only_models: str | None,
          dry_run: bool, data_dir: str | None) -> None:
    """Run every run of SWEEP_FILE (tasks x models x config values x seeds) that has no record in --out yet.

    A finished run (its run key has an ok record) is skipped; a failed one is skipped unless --retry-failed.
    Interrupted or killed, a sweep restarts where it stopped. Exit code 1 when a run failed.

    \b
    Examples:
      nbench sweep leaderboard/sweep.yaml --out leaderboard/records
      nbench sweep my_sweep.yaml --executor ray --workers 8
      nbench sweep my_sweep.yaml --executor ray --address auto      # on a node of a running Ray cluster
    """
    from nbench.runs.store import KeyedStore
    from nbench.runs.sweep import make_executor, plan_jobs, run_jobs
    from nbench.runs.sweepfile import load_sweep

    if executor != "ray" and (address is not None or workers is not None):
        raise click.UsageError("--address and --workers go with --executor ray")
    runs = select(load_sweep(sweep_file, data_dir), only_tasks, only_models)
    invocation = shlex.join(["nbench", *sys.argv[1:]])
    planned = plan_jobs(runs, out_dir, invocation=invocation, train_committed=train_committed)
    store = KeyedStore(out_dir)
    for line in planned.unavailable:
        echo_err(f"not available here: {line}")
    if dry_run:
        for job in planned.jobs:
            status = store.status(job.folder, job.key, warn=echo_err) or "to run"
            click.echo(f"{job.key}  {status:<7} {job.label}")
        _report_pending(planned.pending)
        return
    terminate_as_interrupt()
    summary = run_jobs(planned.jobs, store, make_executor(executor, address, workers), log=echo_err,
                       retry_failed=retry_failed, rerun=rerun, predictions=planned.predictions)
    _report_pending(planned.pending)
    click.echo(f"{out_dir}: {len(summary.ran)} run, {len(summary.failed)} failed, {len(summary.skipped)} skipped"
               + (f", {len(planned.pending)} pending committed predictions" if planned.pending else ""))
    if summary.failed:
        sys.exit(1)


def select(runs: list[SweepRun], tasks: str | None, models: str | None) -> list[SweepRun]:
    """The runs of the named tasks and models (comma-separated; None: all)."""
    keep_tasks = {t.strip() for t in tasks.split(",")} if tasks else None
    keep_models = {m.strip() for m in models.split(",")} if models else None
    return [r for r in runs if (keep_tasks is None or r.spec.task in keep_tasks)
            and (keep_models is None or r.spec.model in keep_models)]


def _report_pending(pending: list[str]) -> None:
    for line in pending:
        echo_err(f"pending: {line}")
