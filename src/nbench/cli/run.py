"""``nbench run``: fit a model on a task (one or several seeds), score it, write a record per seed.

The runs go through the sweep machinery (:mod:`nbench.runs`): one record per run key (a rerun replaces it), a
lock per run key shared with concurrent sweeps, a failure record with the one-line error when a run fails.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nbench.cli.display import console, echo_json, record_json, show_record
from nbench.cli.outputs import check_outputs
from nbench.config import load_config_file, parse_set_options
from nbench.errors import ConfigError, NbenchError
from nbench.results import Record, record_path
from nbench.runner import RunSpec
from nbench.submission import Submission, write_submission

if TYPE_CHECKING:
    from nbench.runs.execute import Summary
    from nbench.runs.jobs import Job
    from nbench.runs.store import KeyedStore

DEFAULT_OUT = "nbench-results"


@click.command("run")
@click.option("--task", "-t", required=True, help="Task name (see `nbench list tasks`).")
@click.option("--model", "-m", required=True, help="Model name (see `nbench list models`).")
@click.option("--seed", default=None, type=int, help="Random seed of the model [default: 0].")
@click.option("--seeds", "seed_list", default=None, metavar="0,1,2",
              help="Several seeds, one run each (instead of --seed).")
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
              help="Also write the predictions as an NLB-layout submission .h5; with --seeds, '{seed}' in the name "
                   "is the seed (else -seed<N> is added).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write a report of the run (plots of predictions against the data) into this directory; "
                   "with --seeds, one sub-folder per seed.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the record as JSON on stdout instead of the tables (with --seeds, a list of them).")
@click.option("--fresh", is_flag=True, help="Start the fit over: delete this run's work files (checkpoints) first.")
@click.option("--resume", is_flag=True, help="Skip seeds whose run key already has an ok record in --out.")
def run(task: str, model: str, seed: int | None, seed_list: str | None, phase: str | None, config_file: Path | None,
        set_pairs: tuple[str, ...], device: str, out_dir: Path, data_dir: str | None, targets_path: str | None,
        save_submission: Path | None, report_dir: Path | None, as_json: bool, fresh: bool, resume: bool) -> None:
    """Run MODEL on TASK, print its metrics and write a JSON record (one per seed).

    \b
    Example:
      nbench run --task lorenz --model smoothing
      nbench run --task lorenz --model smoothing --seeds 0,1,2
      nbench run --task mc_maze_small --model smoothing --set kern_sd_ms=40 --phase val
    """
    from nbench.runs.execute import SerialExecutor
    from nbench.runs.store import KeyedStore
    from nbench.runs.sweep import plan_jobs, run_jobs
    from nbench.runs.sweepfile import SweepRun

    seeds = parse_seeds(seed_list, seed)
    overrides = load_config_file(config_file) if config_file else {}
    overrides.update(parse_set_options(set_pairs))
    if fresh and resume:
        raise ConfigError("--fresh and --resume: give one of them (--fresh refits, --resume skips finished seeds)")
    runs = [SweepRun(RunSpec.create(task, model, seed=s, phase=phase, overrides=overrides, device=device,
                                    data_dir=data_dir, targets_path=targets_path), 0) for s in seeds]
    check_outputs(out_dir=out_dir, data_dir=data_dir, files=[("--save-submission", save_submission)])
    if report_dir is not None:
        from nbench.reporting import check_plots

        check_plots()  # before the run, so that a missing extra does not cost a fit
    echo = lambda line: click.echo(line, err=True)  # noqa: E731
    planned = plan_jobs(runs, out_dir, invocation=shlex.join(["nbench", *sys.argv[1:]]),
                        keep_predictions=save_submission is not None or report_dir is not None, fresh=fresh,
                        log=echo)
    store = KeyedStore(out_dir)
    # A missing dataset is the user's to fix (exit 2): no failure record is left for it.
    summary = run_jobs(planned.jobs, store, SerialExecutor(), log=echo if len(seeds) > 1 else _quiet, rerun=not resume,
                       predictions={}, record_data_errors=False)
    outputs = RunOutputs(save_submission, report_dir, several=len(seeds) > 1, data_dir=data_dir,
                         targets_path=targets_path)
    _show_results(planned.jobs, summary, store, outputs, lambda key: record_path(out_dir, task, model, key),
                  as_json=as_json, several=len(seeds) > 1)
    _raise_failures(planned.jobs, summary, store.root)


def _show_results(jobs: list[Job], summary: Summary, store: KeyedStore, outputs: RunOutputs,
                  path_of: Callable[[str], Path], as_json: bool, several: bool) -> None:
    """Each finished seed's record (a table, or JSON), after writing its ``--save-submission`` / ``--report``
    files."""
    shown = []
    for job in jobs:
        document = None if job.key in summary.errors else store.read(job.folder, job.key)
        if document is None:
            continue
        record = Record.from_dict(document)
        path = path_of(job.key)
        written = outputs.write(record, summary.predictions.get(job.key))
        if as_json:
            shown.append({**record_json(record, path), **written})
            continue
        show_record(record, path)
        for name, value in written.items():
            if value is not None:
                console.print(f"{name}: {value}", soft_wrap=True, highlight=False)
    if as_json and shown:
        echo_json(shown if several else shown[0])


@dataclass
class RunOutputs:
    """Where ``--save-submission`` and ``--report`` put each seed's files."""

    save_submission: Path | None
    report_dir: Path | None
    several: bool
    data_dir: str | None
    targets_path: str | None

    def write(self, record: Record, predictions: list[Submission] | None) -> dict[str, str | None]:
        """Write the seed's submission and report (when asked and the run made predictions); their paths."""
        written: dict[str, str | None] = {"submission": None, "report": None}
        if predictions is None:
            return written
        if self.save_submission is not None:
            path = submission_path(self.save_submission, record.seed or 0, several=self.several)
            written["submission"] = str(write_submission(path, predictions))
        if self.report_dir is not None:
            from nbench.reporting import write_report

            folder = self.report_dir / f"seed{record.seed}" if self.several else self.report_dir
            written["report"] = str(write_report(record, folder, submissions={s.group: s for s in predictions},
                                                 data_dir=self.data_dir, targets_path=self.targets_path))
        return written


def parse_seeds(seed_list: str | None, seed: int | None) -> list[int]:
    """``--seeds 0,1,2`` or ``--seed N`` (not both) as a list of distinct seeds."""
    if seed_list is None:
        return [0 if seed is None else seed]
    if seed is not None:
        raise ConfigError("--seed and --seeds: give one of them")
    try:
        seeds = [int(s) for s in seed_list.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds {seed_list!r}: expected integers separated by commas, e.g. 0,1,2") from None
    if not seeds or min(seeds) < 0:
        raise ConfigError(f"--seeds {seed_list!r}: expected integers >= 0 separated by commas, e.g. 0,1,2")
    return list(dict.fromkeys(seeds))


def submission_path(template: Path, seed: int, several: bool) -> Path:
    """``--save-submission`` for one seed: ``{seed}`` in the name is replaced; with several seeds and no
    ``{seed}``, ``-seed<N>`` is added before the suffix."""
    if "{seed}" in template.name:
        return template.with_name(template.name.replace("{seed}", str(seed)))
    return template.with_name(f"{template.stem}-seed{seed}{template.suffix}") if several else template


def _quiet(line: str) -> None:
    """Sweep progress lines are left out for a single run (its own lines are shown)."""


def _raise_failures(jobs: list[Job], summary: Summary, root: Path) -> None:
    """A failed run: its one-line error (exit code 2 for a user error, else 1 with where the traceback is)."""
    failed = [job for job in jobs if job.key in summary.errors]
    if not failed:
        return
    for job in failed[1:]:
        click.echo(f"error: {job.label}: {summary.docs[job.key]['error']}", err=True)
    first = failed[0]
    error = summary.errors[first.key]
    if isinstance(error, NbenchError):
        raise error
    click.echo(f"error: {summary.docs[first.key]['error']} (traceback: {root / 'work' / first.key / 'error.txt'})",
               err=True)
    sys.exit(1)
