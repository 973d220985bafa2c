"""A rich progress bar for training (NDT, MtM): epoch, time elapsed and left, and the train / validation losses."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextlib.contextmanager
def training_progress(max_epochs: int, label: str = "NDT") -> Iterator[Any]:
    """Yield ``update(epoch, train_loss, val_loss, summary)``; draws on stderr when it is a terminal."""
    console = Console(stderr=True)
    columns = (TextColumn(f"{label} epoch"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn(), TextColumn("{task.fields[losses]}"))
    with Progress(*columns, console=console, disable=not console.is_terminal, transient=False) as bar:
        task = bar.add_task("fit", total=max_epochs, losses="")
        last_val = [math.nan]

        def update(epoch: int, train_loss: float, val_loss: float | None, summary: Any) -> None:
            if val_loss is not None:
                last_val[0] = val_loss
            text = (f"train {train_loss:.4f}  val {last_val[0]:.4f}  "
                    f"best {summary.best_val_nll:.4f} @ {summary.best_epoch}")
            bar.update(task, completed=epoch, losses=text)

        yield update
