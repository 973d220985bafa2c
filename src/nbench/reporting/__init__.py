"""A static HTML report of one run: its metrics, each unit's values, and plots of its predictions against the data.

``nbench run ... --report DIR`` writes it from the run's predictions in memory; ``nbench report RECORD`` writes it
later from the record and the run's predictions (``--submission FILE``, as written by ``--save-submission``; for
records of scored files, the scored file when it is still where it was). Without predictions the report holds
the record's metrics and per-unit values only, and says how to get the plots. The task's data are rebuilt from
the data directory (the task version must still be the record's). Plots are drawn for the first view of the
task (NLB and synthetic tasks have one). Needs matplotlib (``pip install "nbench[plots]"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nbench.errors import ValidationError
from nbench.extras import require
from nbench.io import atomic_path, file_sha256
from nbench.results import Record
from nbench.submission import Submission
from nbench.tasks.base import View

__all__ = ["check_plots", "write_report"]
#: Eval trials shown in the rate and raster plots (the first ones of the task's order).
SHOWN_TRIALS = 3


@dataclass
class Figures:
    """The report's figures (SVG text, caption) and notes on what could not be drawn."""

    items: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_plots() -> None:
    """A one-line error naming the extra to install when matplotlib is missing."""
    require("matplotlib", "the run report")


def write_report(record: Record, out_dir: str | Path, *,
                 submissions: str | Path | Sequence[Submission] | Mapping[str, Submission] | None = None,
                 data_dir: str | None = None, targets_path: str | None = None) -> Path:
    """Write ``<out_dir>/index.html`` for ``record`` (module docstring); return its path."""
    check_plots()
    from nbench.reporting import figures
    from nbench.reporting.page import render

    found = _given(record, submissions)
    result = Figures()
    values = {name: vals for by_metric in list(record.neurons.values())[:1] for name, vals in by_metric.items()}
    histogram = figures.neuron_histogram(values)
    if histogram is not None:
        result.items.append((histogram, "Each unit's value of the metrics pooled over units (first session)."))
    if found is None:
        result.notes.append("No predictions: pass the run's predictions (`nbench report RECORD --submission FILE`, "
                            "FILE from `nbench run --save-submission`) or run with `--report DIR` for plots of "
                            "predictions against the data.")
    else:
        view = _first_view(record, data_dir, targets_path)
        _plots(result, figures, _prediction_of(view, found), view)
    path = Path(out_dir) / "index.html"
    with atomic_path(path) as tmp:
        tmp.write_text(render(record, result.items, result.notes), encoding="utf-8")
    return path


def _plots(result: Figures, figures: object, sub: Submission, view: View) -> None:
    inputs, targets = view.inputs, view.targets
    trials = list(range(min(SHOWN_TRIALS, inputs.n_eval)))
    rates = figures.rates_figure(sub, inputs, targets, trials)  # type: ignore[attr-defined]
    if rates is not None:
        result.items.append((rates, "Predicted against true rates (expected counts per bin) of the most active "
                                    "scored units on the first eval trials; ticks: spikes."))
    else:
        result.notes.append("No true rates (real data): the rate plot is drawn for synthetic tasks only.")
    psth = figures.psth_figure(sub, inputs, targets)  # type: ignore[attr-defined]
    if psth is not None:
        result.items.append((psth, "Trial-averaged predictions (solid) against the data's trial average smoothed "
                                   "with a 2-bin Gaussian (dashed), for the conditions with the most eval trials."))
    else:
        result.notes.append("The task gives no conditions of eval trials: no PSTH plot.")
    result.items.append((figures.raster_figure(sub, inputs, targets, trials),  # type: ignore[attr-defined]
                         "Spikes of the first eval trials (visible units grey, hidden units red) above the predicted "
                         "rates of the hidden units."))


def _first_view(record: Record, data_dir: str | None, targets_path: str | None) -> View:
    from nbench.tasks import make_task

    task = make_task(record.task["name"], data_dir, targets_path)
    if str(task.info.version) != str(record.task.get("version")):
        raise ValidationError(f"record {record.run_id}: task {task.info.name!r} version {record.task.get('version')!r}"
                              f", but the installed task is version {task.info.version!r}; the data may differ")
    return task.build(record.task.get("phase")).views[0]


def _given(record: Record, given: object) -> dict[str, Submission] | Path | None:
    """The run's predictions by group (given in memory), a file of them, or None."""
    if isinstance(given, Mapping):
        return dict(given)
    if given is not None and not isinstance(given, (str, Path)):
        return {sub.group: sub for sub in given}  # type: ignore[attr-defined]
    return Path(given) if given is not None else _scored_file(record)


def _prediction_of(view: View, found: dict[str, Submission] | Path) -> Submission:
    """The predictions of ``view``; a file is checked as ``nbench score`` checks it."""
    if isinstance(found, Path):
        from nbench.validation import load_submission, spec_from_targets

        found = load_submission(found, {view.group: spec_from_targets(view.targets, view.inputs)},
                                allow_extra_groups=True)
    if view.group not in found:
        raise ValidationError(f"the predictions have no group {view.group!r} (groups: {', '.join(found)})")
    return found[view.group]


def _scored_file(record: Record) -> Path | None:
    """The file a score record was made from, when it is still there unchanged."""
    info = record.submission or {}
    path = Path(info["path"]) if info.get("path") else None
    if path is None or not path.is_file() or file_sha256(path) != info.get("sha256"):
        return None
    return path
