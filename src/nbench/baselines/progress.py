"""Progress of long fits: one rich bar on stderr (drawn only when stderr is a terminal), shared by the models."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Update = Callable[[int, str], None]


@contextlib.contextmanager
def fit_progress(label: str, total: int) -> Iterator[Update]:
    """Yield ``update(completed, text)``: steps done out of ``total`` and a short status (losses ...)."""
    console = Console(stderr=True)
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[status]}"))
    with Progress(*columns, console=console, disable=not console.is_terminal, transient=False) as bar:
        task = bar.add_task("fit", total=total, status="")

        def update(completed: int, text: str) -> None:
            bar.update(task, completed=completed, status=text)

        yield update
