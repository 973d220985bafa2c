"""Task definitions: what a task declares, the queries it poses, and the views it builds from recordings.

The built-ins are registered by name in :mod:`nbench._builtins`; datasets imported with `nbench data import`
are tasks too (:mod:`nbench.tasks.imported`).
"""

from __future__ import annotations

from pathlib import Path

from nbench import registry
from nbench.errors import ValidationError
from nbench.tasks.base import Task


def make_task(name: str, data_dir: str | None = None, targets_path: str | Path | None = None) -> Task:
    """Instantiate a registered task.

    Tasks that keep data on disk accept ``data_dir``; tasks whose test-phase targets come from a file (NLB)
    accept ``targets_path``.
    """
    factory = registry.get("tasks", name, data_dir=data_dir)
    kwargs = {key: value for key, value in (("data_dir", data_dir), ("targets_path", targets_path)) if value}
    try:
        return factory(**kwargs)
    except TypeError as exc:
        if "targets_path" in kwargs and "targets_path" in str(exc):
            raise ValidationError(f"task {name!r} builds its own targets; a target file applies to NLB tasks "
                                  "only") from exc
        raise
