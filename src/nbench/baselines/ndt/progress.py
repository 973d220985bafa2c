"""A progress bar for training (NDT, MtM): epoch, time elapsed and left, and the train / validation losses."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

from nbench.baselines.progress import fit_progress


@contextlib.contextmanager
def training_progress(max_epochs: int, label: str = "NDT") -> Iterator[Any]:
    """Yield ``update(epoch, train_loss, val_loss, summary)``; draws on stderr when it is a terminal."""
    with fit_progress(f"{label} epoch", max_epochs) as bar:
        last_val = [math.nan]

        def update(epoch: int, train_loss: float, val_loss: float | None, summary: Any) -> None:
            if val_loss is not None:
                last_val[0] = val_loss
            bar(epoch, f"train {train_loss:.4f}  val {last_val[0]:.4f}  "
                       f"best {summary.best_val_nll:.4f} @ {summary.best_epoch}")

        yield update
