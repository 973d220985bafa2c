"""``nbench list``: what tasks, models and metrics are available, with what each declares."""

from __future__ import annotations

import click
from rich.table import Table

from nbench import registry
from nbench.cli.display import console
from nbench.errors import NbenchError
from nbench.metrics import METRICS


@click.command("list")
@click.argument("what", type=click.Choice(["tasks", "models", "metrics"]))
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Data directory (imported tasks).")
def list_(what: str, data_dir: str | None) -> None:
    """List registered tasks (metrics, dataset pin), models (capabilities) or metrics (direction)."""
    table = Table(title=f"nbench {what}", title_justify="left")
    if what == "metrics":
        for column in ("metric", "better", "family", "meaning"):
            table.add_column(column, justify="center" if column == "better" else "left")
        for info in METRICS.values():
            table.add_row(info.name, "↑ higher" if info.higher_is_better else "↓ lower", info.family,
                          info.description)
    elif what == "tasks":
        for column in ("task", "metrics", "dataset pin", "description"):
            table.add_column(column, overflow="fold")
        for name in registry.names("tasks", data_dir):
            table.add_row(name, *_task_columns(name, data_dir))
    else:
        for column in ("model", "consumes", "produces", "description"):
            table.add_column(column, overflow="fold")
        for name in registry.names("models"):
            table.add_row(name, *_model_columns(name))
    console.print(table)


def _task_columns(name: str, data_dir: str | None) -> tuple[str, str, str]:
    """Declared metrics, dataset pin and summary of a task (its info only: no data is read)."""
    from nbench.tasks import make_task

    try:
        info = make_task(name, data_dir).info
    except NbenchError as exc:
        return "?", "?", f"{registry.summary('tasks', name, data_dir)} ({exc})"
    pin = str(info.pin) if info.pin is not None else "-"
    return ", ".join(info.metrics), pin, registry.summary("tasks", name, data_dir) or info.description


def _model_columns(name: str) -> tuple[str, str, str]:
    from nbench.baselines.base import Capabilities

    caps = getattr(registry.get("models", name), "capabilities", Capabilities())
    return ", ".join(sorted(caps.consumes)), ", ".join(sorted(caps.produces)), registry.summary("models", name)
