"""Drive jobs through an executor: skip what is stored, lock each key while it runs, store every outcome.

The driving process does every file operation (locks, records, temp files); an executor only computes. For each
job, in order:

1. a stored ``ok`` result: skipped; a stored failure: skipped unless ``retry_failed``;
2. its key is locked (:meth:`KeyedStore.lock`); a key another process holds is put aside and tried again later
   (when the other process stored it, it is skipped then), so two sweeps on one folder share the work and each
   finishes only when every key is stored;
3. the result is checked again under the lock (another process may just have finished it), the job runs, its
   document (or its failure record with the one-line error) replaces the stored one atomically, the lock is
   released.

Interrupted (Ctrl-C, SIGTERM), the driver releases its locks and stores nothing for the unfinished jobs.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from nbench.errors import DataError
from nbench.io import atomic_path
from nbench.runs.jobs import Job, call_limited, error_detail, one_line
from nbench.runs.progress import Progress
from nbench.runs.store import KeyedStore, KeyLock
from nbench.submission import write_submission

POLL_S = 0.5


@dataclass
class Outcome:
    """What one job gave: its document, or the error."""

    doc: dict[str, Any] | None = None
    error: BaseException | None = None
    error_type: str = ""


class Executor(Protocol):
    """Runs jobs; :attr:`slots` of them at once."""

    slots: int
    name: str

    def start(self, job: Job) -> Any: ...

    def wait(self, handles: list[Any]) -> list[tuple[Any, Outcome]]: ...

    def cancel(self, handles: list[Any]) -> None: ...

    def close(self) -> None: ...


class SerialExecutor:
    """Runs each job in this process, one at a time (no Ray import)."""

    slots = 1
    name = "serial"

    def start(self, job: Job) -> Job:
        return job

    def wait(self, handles: list[Job]) -> list[tuple[Job, Outcome]]:
        job = handles[0]
        try:
            return [(job, Outcome(doc=call_limited(job.fn, job.args, job.resources.cpus)))]
        except Exception as exc:  # noqa: BLE001 - any failure of one run is stored as its failure record
            return [(job, Outcome(error=exc, error_type=type(exc).__name__))]

    def cancel(self, handles: list[Job]) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class Summary:
    """How a sweep ended: keys by outcome."""

    ran: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> document stored by this sweep
    errors: dict[str, BaseException] = field(default_factory=dict)  # key -> what made it fail
    predictions: dict[str, list[Any]] = field(default_factory=dict)  # key -> submissions, when jobs return them


@dataclass
class Driver:
    """Runs ``jobs`` on ``executor`` against ``store`` (see the module docstring)."""

    store: KeyedStore
    executor: Executor
    progress: Progress
    retry_failed: bool = False
    rerun: bool = False
    predictions: dict[str, Path] = field(default_factory=dict)  # job key -> where to write its predictions
    log: Callable[[str], None] = print
    record_data_errors: bool = True  # False: a missing dataset fails the run without a failure record

    def execute(self, jobs: list[Job]) -> Summary:
        summary = Summary()
        todo: deque[Job] = deque()
        for job in jobs:
            if self._done(job):
                self.progress.skip(job)
                summary.skipped.append(job.key)
            else:
                todo.append(job)
        self.progress.begin(len(jobs), len(todo), self.executor)
        running: dict[Any, tuple[Job, KeyLock, float]] = {}
        try:
            self._loop(todo, running, summary)
        finally:  # interrupted: stop the unfinished jobs first, then free their keys (nothing is stored)
            self.executor.cancel(list(running))
            self.executor.close()
            for _, lock, _ in running.values():
                lock.release()
        self.progress.end()
        return summary

    def _loop(self, todo: deque[Job], running: dict[Any, tuple[Job, KeyLock, float]], summary: Summary) -> None:
        busy: deque[Job] = deque()
        while todo or running or busy:
            while todo and len(running) < self.executor.slots:
                job = todo.popleft()
                lock = self.store.lock(job.folder, job.key)
                if lock is None:
                    busy.append(job)
                    continue
                if self._done(job):  # stored by another process since the first look
                    lock.release()
                    self.progress.skip(job, elsewhere=True)
                    summary.skipped.append(job.key)
                    continue
                running[self.executor.start(job)] = (job, lock, time.perf_counter())
                self.progress.start(job)
            if running:
                for handle, outcome in self.executor.wait(list(running)):
                    job, lock, t0 = running.pop(handle)
                    try:
                        self._store(job, outcome, time.perf_counter() - t0, summary)
                    finally:
                        lock.release()
            elif busy:
                time.sleep(POLL_S)  # every remaining key is held by another process: wait for it
            todo.extend(busy)
            busy.clear()

    def _done(self, job: Job) -> bool:
        """True when the job is not to run: stored ok, or stored failed and failures are not retried."""
        if self.rerun:
            return False
        status = self.store.status(job.folder, job.key, warn=self.log)
        return status == "ok" or (status == "error" and not self.retry_failed)

    def _store(self, job: Job, outcome: Outcome, seconds: float, summary: Summary) -> None:
        if outcome.error is not None and job.optional and _is_data_error(outcome):
            self.progress.unavailable(job, one_line(outcome.error))
            summary.unavailable.append(job.key)
            return
        if outcome.error is not None and not self.record_data_errors and _is_data_error(outcome):
            message = one_line(outcome.error)  # the user's input to fix, not a result to keep
            self.progress.finish(job, seconds, error=message)
            summary.failed.append(job.key)
            summary.docs[job.key], summary.errors[job.key] = {"status": "error", "error": message}, outcome.error
            return
        if outcome.error is not None:
            message = one_line(outcome.error)
            self._write_traceback(job, outcome.error)
            doc = job.failure(message) if job.failure is not None else {"status": "error", "error": message}
            self.store.write(job.folder, job.key, doc)
            self.progress.finish(job, seconds, error=message)
            summary.failed.append(job.key)
            summary.docs[job.key], summary.errors[job.key] = doc, outcome.error
            return
        doc = dict(outcome.doc or {})
        predictions = doc.pop("__predictions__", None)
        if predictions is not None and job.key in self.predictions:
            self._write_predictions(job, doc, predictions)
        elif predictions is not None:
            summary.predictions[job.key] = predictions
        self.store.write(job.folder, job.key, doc)
        self.progress.finish(job, seconds)
        summary.ran.append(job.key)
        summary.docs[job.key] = doc

    def _write_predictions(self, job: Job, doc: dict[str, Any], predictions: list[Any]) -> None:
        """The committed-predictions pair of a slow run: ``<dir>/<key>.h5`` and its training record."""
        from nbench.results import Record, write_record

        folder = self.predictions[job.key]
        write_submission(folder / job.folder / f"{job.key}.h5", predictions)
        write_record(Record.from_dict(doc), folder)
        self.log(f"predictions: {folder / job.folder / job.key}.h5 and .json (commit both)")

    def _write_traceback(self, job: Job, error: BaseException) -> None:
        """The failed run's traceback beside its work files (the record holds the one line)."""
        path = self.store.root / "work" / job.key / "error.txt"
        try:
            with atomic_path(path) as tmp:
                tmp.write_text(error_detail(error))
        except OSError:
            pass


def _is_data_error(outcome: Outcome) -> bool:
    return isinstance(outcome.error, DataError) or outcome.error_type == "DataError"
