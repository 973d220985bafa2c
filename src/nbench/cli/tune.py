"""``nbench tune``: k-fold cross-validated grid search for a model on a task's training trials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from nbench import registry, tuning
from nbench.baselines.base import preset_key
from nbench.cli.display import console, err_console
from nbench.cli.outputs import check_outputs
from nbench.config import check_seed
from nbench.errors import ConfigError, NbenchError
from nbench.io import atomic_path
from nbench.runs.execute import Executor
from nbench.runs.jobs import Job
from nbench.runs.store import KeyedStore
from nbench.runs.sweep import EXECUTORS, make_executor, run_jobs
from nbench.tasks import make_task
from nbench.tasks.base import Task


@click.command("tune")
@click.option("--task", "-t", required=True, help="Task name (see `nbench list tasks`).")
@click.option("--model", "-m", default="smoothing", show_default=True, help="Model name.")
@click.option("--folds", default=5, show_default=True, type=int, help="Folds of training trials.")
@click.option("--grid", "grid_pairs", multiple=True, metavar="KEY=V1,V2,...",
              help="Values to try for one config key (repeatable); replaces the model's default grid.")
@click.option("--phase", type=click.Choice(["val", "test"]), default=None,
              help="Whose training trials to use (test: train+val) [default: the task's default phase].")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the chosen settings [default: nbench-tune/<task>-<model>.yaml].")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--executor", type=click.Choice(EXECUTORS), default="serial", show_default=True,
              help="serial, or ray (one Ray task per grid point; pip install \"nbench[ray]\").")
@click.option("--address", default=None, help="Ray cluster to join [default: start a local one].")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Data directory.")
def tune(task: str, model: str, folds: int, grid_pairs: tuple[str, ...], phase: str | None, out_file: Path | None,
         seed: int, executor: str, address: str | None, data_dir: str | None) -> None:
    """Pick MODEL's settings for TASK by k-fold co-bps on the training trials; write them as a YAML config.

    Every grid point is a job of the sweep machinery: its fold scores are kept in <out folder>/cv/, so an
    interrupted or widened search scores only the grid points it has not scored yet.

    \b
    Examples:
      nbench tune --task lorenz --model smoothing
      nbench tune --task mc_maze_small --grid kern_sd_ms=40,60 --grid alpha=0.01,0.1 --folds 3
      nbench run --task lorenz --model smoothing --config nbench-tune/lorenz-smoothing.yaml
    """
    check_seed(seed)
    out_file = out_file or Path("nbench-tune") / f"{task}-{model}.yaml"
    check_outputs(data_dir=data_dir, files=[("--out", out_file)])
    task_obj = make_task(task, data_dir)
    model_cls = registry.get("models", model)
    grid = tuning.parse_grid(grid_pairs) if grid_pairs else tuning.DEFAULT_GRIDS.get(model)
    if not grid:
        raise ConfigError(f"model {model!r} has no default grid; give one with --grid KEY=V1,V2,...")
    family = preset_key(model_cls, task_obj.info.preset_keys, task_obj.info.bin_ms)
    # Unknown keys and bad values fail before any work, on the preset `nbench run` would use.
    model_cls.make_config(family, {k: v[0] for k, v in grid.items() if v}, bin_ms=task_obj.info.bin_ms)
    grid = tuning.drop_invalid_kernels(grid, task_obj.info.bin_ms)
    if any(not values for values in grid.values()):
        raise ConfigError(f"--grid: no usable values for {[k for k, v in grid.items() if not v]}")
    phase = task_obj.resolve_phase(phase)
    inputs, _ = task_obj.prepare(phase)
    tuning.check_folds(folds, inputs.n_train)
    points = tuning.grid_points(grid)
    err_console.print(f"tuning {model} on {task}: {len(points)} settings x {folds} folds of "
                      f"{inputs.n_train} training trials", highlight=False)
    out_file = out_file or Path("nbench-tune") / f"{task}-{model}.yaml"
    results = _cross_validate(task_obj, model, points, folds, seed, phase, data_dir, out_file.parent / "cv",
                              make_executor(executor, address))
    winner = tuning.best(results)
    console.print(_table(results, winner, task, model, folds))
    with atomic_path(out_file) as tmp:
        tmp.write_text(tuning.config_yaml(winner, task, model, folds))
    console.print(f"best: {', '.join(f'{k}={v}' for k, v in winner.params.items())} (co-bps {winner.mean:.4f})")
    console.print(f"config: {out_file}  (nbench run --task {task} --model {model} --config {out_file})")


def _cross_validate(task: Task, model: str, points: list[dict[str, Any]], folds: int, seed: int, phase: str,
                    data_dir: str | None, cache: Path, executor: Executor) -> list[tuning.GridResult]:
    """Every grid point as a job (stored under ``cache``, resumable); their results in grid order."""
    identity = {"task": task.info.name, "version": str(task.info.version), "pin": str(task.info.pin),
                "phase": phase, "model": model}
    jobs = [Job(key=tuning.point_key(identity, params, folds, seed), folder=f"{task.info.name}/{model}",
                label=", ".join(f"{k}={v}" for k, v in params.items()), fn=tuning.score_point,
                args=(model, task.info.name, params, folds, seed, phase, data_dir)) for params in points]
    store = KeyedStore(cache, records=False)
    summary = run_jobs(jobs, store, executor, log=lambda line: err_console.print(line, highlight=False))
    if summary.failed:
        first = summary.failed[0]
        raise summary.errors[first] if isinstance(summary.errors[first], NbenchError) else NbenchError(
            f"grid point failed: {summary.docs[first]['error']}")
    return [tuning.from_document(store.read(job.folder, job.key) or {}) for job in jobs]


def _table(results: list[tuning.GridResult], winner: tuning.GridResult, task: str, model: str,
           folds: int) -> Table:
    table = Table(title=f"{model} on {task}: {folds}-fold CV co-bps", title_justify="left")
    keys = list(results[0].params)
    for key in keys:
        table.add_column(key, justify="right")
    table.add_column("mean co-bps", justify="right")
    table.add_column("sd", justify="right")
    for res in results:
        style = "bold green" if res is winner else None
        table.add_row(*(str(res.params[k]) for k in keys), f"{res.mean:.4f}", f"{res.sd:.4f}", style=style)
    return table
