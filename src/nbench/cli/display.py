"""Terminal output shared by the commands: metric tables and the per-session / per-query breakdown."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from nbench.provenance import jsonable
from nbench.results import MetricValue, Record

console = Console()
err_console = Console(stderr=True)
#: Sessions with more queries than this show only their pooled row (the record keeps every query).
MAX_QUERY_ROWS = 12


def _fmt(value: MetricValue) -> tuple[str, str]:
    text = "undefined" if value.value is None else f"{value.value:.4f}"
    ci = "" if value.ci95 is None else f"[{value.ci95[0]:.4f}, {value.ci95[1]:.4f}]"
    return text, ci


def metrics_table(record: Record) -> Table:
    """A table of a record's metrics (with direction arrows) and its reference values."""
    task = record.task
    title = f"{task['name']} ({task.get('phase') or '?'} phase) - {record.model['name']}"
    if record.seed is not None:
        title += f", seed {record.seed}"
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("", justify="center")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    for name, value in record.metrics.items():
        table.add_row(name, "↑" if value.higher_is_better else "↓", *_fmt(value))
    for name, value in record.reference.items():
        table.add_row(f"[dim]{name}[/dim]", "[dim]ref[/dim]", *_fmt(value))
    return table


def breakdown_table(record: Record) -> Table | None:
    """Per session and query (regions, neurons ...): each metric's value and interval; None for single views."""
    if not record.breakdown:
        return None
    names = list(record.metrics)
    table = Table(title="by session and query (each value: estimate [95% CI])", title_justify="left")
    table.add_column("session")
    table.add_column("query")
    for name in names:
        table.add_column(name, justify="right")
    for session, queries in record.breakdown.items():
        shown = [q for q in queries if q != "(all)"]
        rows = ([(q, queries[q]) for q in shown] if len(shown) <= MAX_QUERY_ROWS else [])
        for query, values in rows + [("(all)", queries.get("(all)", {}))]:
            style = "bold" if query == "(all)" else None
            label = query if query != "(all)" or len(shown) <= MAX_QUERY_ROWS else f"(all {len(shown)} queries)"
            table.add_row(session, label, *(_cell(values.get(n)) for n in names), style=style)
    return table


def _cell(value: MetricValue | None) -> str:
    if value is None:
        return ""
    text, ci = _fmt(value)
    return f"{text} {ci}".strip()


def show_record(record: Record, path: object | None = None) -> None:
    """Print a record's tables, its cost and where it was written (paths never wrapped, so they copy whole)."""
    console.print(metrics_table(record))
    extra = breakdown_table(record)
    if extra is not None:
        console.print(extra)
    cost = record.cost
    parts = [f"{k.removesuffix('_s')} {cost[k]:.2f} s" for k in ("fit_s", "predict_s", "score_s") if k in cost]
    if cost.get("peak_mem_mb") is not None:
        parts.append(f"peak memory {cost['peak_mem_mb']:.0f} MiB")
    if parts:
        console.print("cost: " + ", ".join(parts))
    if path is not None:
        console.print(f"record: {path}", soft_wrap=True, highlight=False)


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout (numpy values as numbers, non-finite numbers as null)."""
    click.echo(json.dumps(jsonable(data), indent=2, allow_nan=False))


def record_json(record: Record, path: object | None) -> dict[str, Any]:
    """What ``--json`` prints for a record: the record as written and where it was written."""
    return {"path": None if path is None else str(path), "record": record.to_dict()}
