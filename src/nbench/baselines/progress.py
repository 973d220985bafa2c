"""Progress of long fits: one rich bar on stderr, shared by the models.

A bar is drawn only when stderr is a terminal, and only once the fit has lasted :data:`DELAY_S` seconds, so that
quick fits print nothing.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

Update = Callable[[int, str], None]
DELAY_S = 2.0


@contextlib.contextmanager
def fit_progress(label: str, total: int, delay_s: float | None = None) -> Iterator[Update]:
    """Yield ``update(completed, text)``: steps done out of ``total`` and a short status (losses ...); the bar
    appears after ``delay_s`` seconds (default :data:`DELAY_S`)."""
    delay_s = DELAY_S if delay_s is None else delay_s
    console = Console(stderr=True)
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
               TextColumn("{task.fields[status]}"))
    bar = Progress(*columns, console=console, disable=not console.is_terminal, transient=False)
    task = bar.add_task("fit", total=total, status="")
    started = time.monotonic()
    shown = False

    def update(completed: int, text: str) -> None:
        nonlocal shown
        bar.update(task, completed=completed, status=text)
        if not shown and time.monotonic() - started >= delay_s:
            bar.start()
            shown = True

    try:
        yield update
    finally:
        if shown:
            bar.stop()
