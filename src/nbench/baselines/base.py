"""The model protocol every baseline (and every plug-in model) follows.

A model is constructed with its config, a seed, a work directory and a device; ``fit`` sees only
:class:`~nbench.tasks.base.TaskInputs`; ``predict`` returns an ordinary :class:`~nbench.submission.Submission`,
so baselines and uploaded files are scored by the same code.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from nbench.submission import Submission
from nbench.tasks.base import TaskInputs


class Model(ABC):
    """Base class of all models.

    Subclasses define ``name``, a dataclass ``Config`` and, optionally, per-task defaults in
    :meth:`default_config`.

    Parameters
    ----------
    config
        An instance of ``Config``.
    seed
        Random seed; a model must be deterministic given its seed on CPU.
    workdir
        Directory for checkpoints and logs of this run (created by the runner).
    device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ... (models that do not use torch ignore it).
    """

    name: ClassVar[str]
    Config: ClassVar[type]

    def __init__(self, config: Any, seed: int = 0, workdir: Path | None = None, device: str = "cpu") -> None:
        self.config = config
        self.seed = seed
        self.workdir = workdir
        self.device = device
        #: Diagnostics of the last fit (iterations, final loss, chosen penalties ...), copied into the record.
        self.fit_info: dict[str, Any] = {}

    @classmethod
    def default_config(cls, task_name: str) -> Any:
        """The model's default config for ``task_name`` (per-dataset defaults live here)."""
        return cls.Config()

    @classmethod
    def make_config(cls, task_name: str, overrides: dict[str, Any] | None = None) -> Any:
        """Default config for the task with ``overrides`` applied and checked (its ``validate()``, if any);
        unknown keys and bad values raise ConfigError before any data is loaded."""
        from nbench.config import apply_overrides

        config = apply_overrides(cls.default_config(task_name), overrides or {}, cls.name)
        if callable(getattr(config, "validate", None)):
            config.validate()
        return config

    @abstractmethod
    def fit(self, inputs: TaskInputs) -> None:
        """Fit on the training part of ``inputs`` (eval held-in spikes may be used as inputs)."""

    @abstractmethod
    def predict(self, inputs: TaskInputs) -> Submission:
        """Predict rates for train and eval trials of ``inputs``."""


def config_to_dict(config: Any) -> dict[str, Any]:
    """A plain-JSON dict of a dataclass config."""
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
