"""``nbench list``: what tasks, models and metrics are available."""

from __future__ import annotations

import click
from rich.table import Table

from nbench import registry
from nbench.cli.display import console
from nbench.metrics import METRICS


@click.command("list")
@click.argument("what", type=click.Choice(["tasks", "models", "metrics"]))
def list_(what: str) -> None:
    """List registered tasks, models or metrics (built-ins and plug-ins)."""
    table = Table(title=f"nbench {what}", title_justify="left")
    if what == "metrics":
        table.add_column("metric")
        table.add_column("better", justify="center")
        table.add_column("meaning")
        for info in METRICS.values():
            table.add_row(info.name, "↑ higher" if info.higher_is_better else "↓ lower", info.description)
    else:
        table.add_column(what[:-1])
        table.add_column("description")
        for name in registry.names(what):
            table.add_row(name, registry.summary(what, name))
    console.print(table)
