"""``nbench report RECORD``: a static HTML report of one run (plots of its predictions against the data)."""

from __future__ import annotations

from pathlib import Path

import click

from nbench.cli.display import console
from nbench.results import load_record


@click.command("report")
@click.argument("record", type=click.Path(path_type=Path))
@click.option("--submission", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The run's predictions (from `nbench run --save-submission`) [default: for records of scored "
                   "files, that file when it is unchanged].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [default: the record's path without .json, plus -report].")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Data directory.")
@click.option("--targets", "targets_path", type=click.Path(dir_okay=False), default=None,
              help="NLB test-phase target file (NLB tasks, test phase).")
def report(record: Path, submission: Path | None, out_dir: Path | None, data_dir: str | None,
           targets_path: str | None) -> None:
    """Write an HTML report of RECORD: metrics, each unit's bits/spike, and, with the run's predictions,
    predicted against true rates (synthetic tasks), PSTHs by condition against the data and rasters of eval
    trials. Needs matplotlib: pip install "nbench[plots]".

    \b
    Example:
      nbench run --task lorenz --model smoothing --save-submission lorenz.h5
      nbench report nbench-results/lorenz/smoothing/<run>.json --submission lorenz.h5
    """
    from nbench.reporting import check_plots, write_report

    check_plots()
    loaded = load_record(record)
    out = out_dir or record.with_name(record.stem + "-report")
    path = write_report(loaded, out, submissions=submission, data_dir=data_dir, targets_path=targets_path)
    console.print(f"report: {path}", soft_wrap=True, highlight=False)
