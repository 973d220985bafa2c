"""Progress of a sweep as plain lines (readable in a terminal and in a Slurm log): runs done, running, failed,
skipped, and the time left at the mean duration of the runs finished so far."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def clock(seconds: float) -> str:
    """``h:mm:ss``."""
    seconds = int(round(max(0.0, seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@dataclass
class Progress:
    """Counts of one sweep and the lines that report them through ``log``."""

    log: Callable[[str], None] = print
    total: int = 0
    to_run: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    n_unavailable: int = 0
    running: int = 0
    slots: int = 1
    durations: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def skip(self, job: Any, elsewhere: bool = False) -> None:
        self.skipped += 1
        if elsewhere:
            self.to_run -= 1
            self.log(f"skipped {job.label}: stored by another process meanwhile | {self.counts()}")

    def begin(self, total: int, to_run: int, executor: Any) -> None:
        self.total, self.to_run, self.slots = total, to_run, max(1, int(executor.slots))
        self.started = time.perf_counter()
        self.log(f"sweep: {total} runs; {self.skipped} already stored (skipped), {to_run} to run on "
                 f"{executor.name} ({self.slots} at a time)")

    def start(self, job: Any) -> None:
        self.running += 1

    def finish(self, job: Any, seconds: float, error: str | None = None) -> None:
        self.running -= 1
        self.durations.append(seconds)
        if error is None:
            self.done += 1
            self.log(f"[{self.position()}] ok     {job.label} ({seconds:.1f} s) | {self.counts()}")
        else:
            self.failed += 1
            self.log(f"[{self.position()}] FAILED {job.label} ({seconds:.1f} s): {error} | {self.counts()}")

    def unavailable(self, job: Any, reason: str) -> None:
        """A run of an optional block whose data is not on this machine (nothing is stored)."""
        self.running -= 1
        self.n_unavailable += 1
        self.to_run -= 1
        self.log(f"not available here: {job.label} ({reason}) | {self.counts()}")

    def position(self) -> str:
        width = len(str(self.to_run))
        return f"{self.done + self.failed:>{width}}/{self.to_run}"

    def counts(self) -> str:
        text = f"done {self.done}, running {self.running}, failed {self.failed}, skipped {self.skipped}"
        if self.n_unavailable:
            text += f", not available {self.n_unavailable}"
        eta = self.eta()
        return text + (f", ETA {clock(eta)}" if eta is not None else "")

    def eta(self) -> float | None:
        """Seconds left: remaining runs x mean duration so far / runs at a time; None before the first finishes."""
        if not self.durations:
            return None
        left = self.to_run - self.done - self.failed
        mean = sum(self.durations) / len(self.durations)
        return left * mean / max(1, min(self.slots, left)) if left > 0 else 0.0

    def end(self) -> None:
        self.log(f"sweep finished in {clock(time.perf_counter() - self.started)}: {self.done} done, "
                 f"{self.failed} failed, {self.skipped} skipped"
                 + (f", {self.n_unavailable} not available here" if self.n_unavailable else ""))
