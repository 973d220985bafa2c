"""``nbench list``: what tasks, models and metrics are available, with what each declares."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from nbench import registry
from nbench.cli.display import console, echo_json
from nbench.errors import NbenchError
from nbench.metrics import METRICS


@click.command("list")
@click.argument("what", type=click.Choice(["tasks", "models", "metrics"]))
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Data directory (imported tasks).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list on stdout instead of the table.")
def list_(what: str, data_dir: str | None, as_json: bool) -> None:
    """List registered tasks (metrics, dataset pin), models (capabilities) or metrics (direction)."""
    entries = listing(what, data_dir)
    if as_json:
        echo_json(entries)
        return
    table = Table(title=f"nbench {what}", title_justify="left")
    if what == "metrics":
        for column in ("metric", "better", "family", "meaning"):
            table.add_column(column, justify="center" if column == "better" else "left")
        for m in entries:
            table.add_row(m["name"], "↑ higher" if m["higher_is_better"] else "↓ lower", m["family"],
                          m["description"])
    elif what == "tasks":
        for column in ("task", "metrics", "dataset pin", "description"):
            table.add_column(column, overflow="fold")
        for t in entries:
            if "error" in t:
                table.add_row(t["name"], "?", "?", f"{t['summary']} ({t['error']})")
                continue
            pin = t["pin"]
            pin_text = "-" if pin is None else f"{pin['source']}:{pin['id']}@{pin['version']}"
            table.add_row(t["name"], ", ".join(t["metrics"]), pin_text, t["summary"] or t["description"])
    else:
        for column in ("model", "consumes", "produces", "description"):
            table.add_column(column, overflow="fold")
        for m in entries:
            table.add_row(m["name"], ", ".join(m["consumes"]), ", ".join(m["produces"]), m["summary"])
    console.print(table)


def listing(what: str, data_dir: str | None = None) -> list[dict[str, Any]]:
    """What ``nbench list WHAT --json`` prints: one object per task, model or metric."""
    if what == "metrics":
        return [{"name": m.name, "higher_is_better": m.higher_is_better, "family": m.family,
                 "bootstrap_ci": m.bootstrap_ci, "description": m.description} for m in METRICS.values()]
    if what == "models":
        from nbench.baselines.base import Capabilities

        out = []
        for name in registry.names("models"):
            caps = getattr(registry.get("models", name), "capabilities", Capabilities())
            out.append({"name": name, "summary": registry.summary("models", name),
                        "consumes": sorted(caps.consumes), "produces": sorted(caps.produces)})
        return out
    return [task_entry(name, data_dir) for name in registry.names("tasks", data_dir)]


def task_entry(name: str, data_dir: str | None) -> dict[str, Any]:
    """A task's declaration as plain data (no data is read); ``error`` says why a task cannot be made."""
    from nbench.tasks import make_task

    entry: dict[str, Any] = {"name": name, "summary": registry.summary("tasks", name, data_dir)}
    try:
        info = make_task(name, data_dir).info
    except NbenchError as exc:
        return {**entry, "error": str(exc)}
    pin = info.pin
    return {**entry, "description": info.description, "dataset": info.dataset, "bin_ms": info.bin_ms,
            "version": info.version, "phases": list(info.phases), "default_phase": info.default_phase,
            "main_metric": info.main_metric, "metrics": list(info.metrics), "family": info.family or None,
            "n_sessions": info.n_sessions,
            "pin": None if pin is None else {"source": pin.source, "id": pin.id, "version": pin.version}}
