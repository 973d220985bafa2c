"""A progress bar for training (NDT, MtM): epoch, time elapsed and left, and the train / validation losses.

Long CPU fits also say so in words (``warning:`` lines on the CLI, the ``nbench`` logger otherwise): before
training, when the epoch budget is one sized for a GPU (the authors' NLB presets: tens of thousands of epochs),
and once, after the first epochs, with the time the whole budget would take at the measured pace.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

from nbench.baselines.progress import fit_progress

logger = logging.getLogger("nbench.training")

#: Epoch budgets above this are GPU-sized (the CPU presets run at most a few thousand epochs).
GPU_SIZED_EPOCHS = 5000
#: Epochs timed before the estimate, and the estimated total above which it is shown.
ESTIMATE_AFTER_EPOCHS = 3
ESTIMATE_ABOVE_S = 30 * 60


class BudgetNotes:
    """The warnings of a long fit: a GPU-sized budget on a CPU, then the measured estimate of the whole budget.

    Parameters
    ----------
    label
        The model's name in the messages.
    max_epochs
        The epoch budget (early stopping may end the fit sooner).
    device
        The torch device type the fit runs on (``"cpu"``, ``"cuda"``).
    clock
        Seconds, monotonic (a parameter so that tests can drive it).
    """

    def __init__(self, label: str, max_epochs: int, device: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.label, self.max_epochs, self.device, self.clock = label, max_epochs, device, clock
        self.started: tuple[int, float] | None = None
        self.estimated = False

    def before(self) -> None:
        """Say a GPU-sized budget out loud before a CPU fit starts."""
        if self.device == "cpu" and self.max_epochs > GPU_SIZED_EPOCHS:
            logger.warning(f"{self.label}: this config trains up to {self.max_epochs:,} epochs, a budget sized for "
                           f"a GPU, on the CPU; the time it takes here follows after a few "
                           "epochs (--device cuda on a GPU, or --set max_epochs=N for a shorter fit)")

    def after_epoch(self, epoch: int) -> None:
        """Once, after the first epochs: the estimated time of the rest of the budget, when it is long. The clock
        starts at the first epoch reported (a resumed fit starts where its checkpoint ended)."""
        if self.estimated:
            return
        if self.started is None:
            self.started = (epoch, self.clock())
            return
        first, t0 = self.started
        done = epoch - first
        if done < ESTIMATE_AFTER_EPOCHS:
            return
        self.estimated = True
        per_epoch = (self.clock() - t0) / done
        left = per_epoch * (self.max_epochs - epoch)
        if left >= ESTIMATE_ABOVE_S:
            logger.warning(f"{self.label}: {per_epoch:.2f} s per epoch on {self.device}: about "
                           f"{_duration(left)} for the remaining {self.max_epochs - epoch:,} epochs (early stopping "
                           "may end sooner)")


def _duration(seconds: float) -> str:
    hours, rest = divmod(int(round(seconds)), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min"


@contextlib.contextmanager
def training_progress(max_epochs: int, label: str = "NDT", device: str = "cpu") -> Iterator[Any]:
    """Yield ``update(epoch, train_loss, val_loss, summary)``; draws on stderr when it is a terminal, and warns
    about long CPU fits (:class:`BudgetNotes`)."""
    notes = BudgetNotes(label, max_epochs, device)
    notes.before()
    with fit_progress(f"{label} epoch", max_epochs) as bar:
        last_val = [math.nan]

        def update(epoch: int, train_loss: float, val_loss: float | None, summary: Any) -> None:
            if val_loss is not None:
                last_val[0] = val_loss
            best = (f"best co-bps {summary.best_val_co_bps:.4f}" if getattr(summary, "best_val_co_bps", None)
                    is not None else f"best {summary.best_val_nll:.4f}")
            bar(epoch, f"train {train_loss:.4f}  val {last_val[0]:.4f}  {best} @ {summary.best_epoch}")
            notes.after_epoch(epoch)

        yield update
