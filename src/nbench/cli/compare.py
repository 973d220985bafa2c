"""``nbench compare A B``: two models on one task, each metric's difference with a paired bootstrap interval."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from nbench.cli.display import console, echo_json
from nbench.errors import ValidationError
from nbench.results import Record, load_record, load_records
from nbench.scoring.compare import DEFAULT_RESAMPLES, Comparison, MetricComparison, compare_records, label


@click.command("compare")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@click.option("--metric", "-k", "metrics", multiple=True, help="Compare only this metric (repeatable).")
@click.option("--resamples", default=DEFAULT_RESAMPLES, show_default=True, type=click.IntRange(100, 100_000),
              help="Bootstrap resamples.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the bootstrap.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON instead of a table.")
def compare(a: Path, b: Path, metrics: tuple[str, ...], resamples: int, seed: int, as_json: bool) -> None:
    """Compare run A with run B on the same task: A - B per metric with a paired bootstrap 95% interval.

    A and B are record files, or directories of the records of several seeds of one model each (the interval
    then includes seed-to-seed variation).

    \b
    Example:
      nbench compare nbench-results/lorenz/smoothing/<run>.json nbench-results/lorenz/mean_rate/<run>.json
      nbench compare runs/gpfa_seeds/ runs/smoothing_seeds/
    """
    result = compare_records(_side(a), _side(b), resamples=resamples, seed=seed, metrics=metrics)
    if as_json:
        echo_json(result.to_dict())
        return
    show_comparison(result)


def _side(path: Path) -> list[Record]:
    if path.is_dir():
        records = load_records(path)
        if not records:
            raise ValidationError(f"{path}: no records (*.json) in this directory")
        return records
    return [load_record(path)]


def show_comparison(result: Comparison) -> None:
    """The comparison table and a one-line verdict per metric."""
    task, n = result.a[0].task, (result.metrics[0].n_trials if result.metrics else 0)
    name_a, name_b = label(result.a), label(result.b)
    table = Table(title=f"{task['name']} ({task.get('phase') or '?'} phase): A = {name_a}, B = {name_b}",
                  title_justify="left")
    for column in ("metric", "", "A", "B", "A - B", "95% CI (paired)", "verdict"):
        table.add_column(column, justify="left" if column in ("metric", "verdict") else "right")
    for m in result.metrics:
        ci = "" if m.ci95 is None else f"[{m.ci95[0]:+.4f}, {m.ci95[1]:+.4f}]"
        table.add_row(m.metric, "↑" if m.higher_is_better else "↓", f"{m.value_a:.4f}", f"{m.value_b:.4f}",
                      f"{m.difference:+.4f}", ci, _verdict(m))
    console.print(table)
    for name, why in result.skipped.items():
        console.print(f"{name}: not compared ({why})", highlight=False)
    scope = ("runs drawn with replacement on each side too, so the intervals include seed-to-seed variation"
             if result.seed_level else "one run per side: the intervals cover eval-trial sampling, not "
             "seed-to-seed variation (give a directory of several seeds per side to include it)")
    console.print(f"paired bootstrap over {n} eval trials, {result.resamples} resamples; {scope}", highlight=False)
    for m in result.metrics[:1]:
        console.print(_sentence(m, name_a, name_b), highlight=False)


def _verdict(m: MetricComparison) -> str:
    return {"A": "A better", "B": "B better"}.get(m.better or "", "no significant difference")


def _sentence(m: MetricComparison, name_a: str, name_b: str) -> str:
    ci = "no interval" if m.ci95 is None else f"95% CI [{m.ci95[0]:+.4f}, {m.ci95[1]:+.4f}]"
    detail = f"A - B = {m.difference:+.4f}, {ci}"
    if m.better is None:
        return f"{m.metric}: no significant difference between {name_a} and {name_b} ({detail})"
    winner, loser = (name_a, name_b) if m.better == "A" else (name_b, name_a)
    return f"{m.metric}: {winner} is better than {loser} ({detail})"
