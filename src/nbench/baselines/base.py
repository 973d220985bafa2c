"""The model protocol every baseline (and every plug-in model) follows.

A model is constructed with its config, a seed, a work directory and a device; ``fit`` sees only
:class:`~nbench.tasks.base.TaskInputs`; ``predict`` returns an ordinary :class:`~nbench.submission.Submission`,
so baselines and uploaded files are scored by the same code.

A model declares its :class:`Capabilities`: what it consumes (binned counts, spike times, several sessions at
once, any query from one fit) and what it produces (rates, behaviour, latents). The runner reads them to refuse a
task the model cannot serve and to plan the fits: a model that answers any query is fit once per session on
every unit of the training trials, then predicts each query; other models are fit once per query. A model that
consumes several sessions gets the views of all sessions in one call to :meth:`Model.fit_sessions`.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from nbench.submission import Submission
from nbench.tasks.base import TaskInputs

CONSUMES = ("bins", "spike_times", "sessions", "any_query")
PRODUCES = ("rates", "behavior", "latents")


@dataclass(frozen=True)
class Capabilities:
    """What a model consumes and produces.

    Attributes
    ----------
    consumes
        ``"bins"`` (binned counts), ``"spike_times"`` (needs spike times), ``"sessions"`` (one model across
        several sessions), ``"any_query"`` (answers any query from one fit).
    produces
        ``"rates"``, ``"behavior"`` (direct behaviour predictions), ``"latents"``.
    """

    consumes: frozenset[str] = frozenset({"bins"})
    produces: frozenset[str] = frozenset({"rates"})

    def __post_init__(self) -> None:
        unknown = (set(self.consumes) - set(CONSUMES)) | (set(self.produces) - set(PRODUCES))
        if unknown:
            raise ValueError(f"unknown capabilities {sorted(unknown)} (consumes {CONSUMES}, produces {PRODUCES})")

    def __str__(self) -> str:
        return f"consumes {', '.join(sorted(self.consumes))}; produces {', '.join(sorted(self.produces))}"


@dataclass(frozen=True)
class Resources:
    """What one run of a model needs, for executors that place runs (a Ray cluster, a Slurm allocation).

    Attributes
    ----------
    cpus
        Threads the run uses (BLAS, OpenMP and torch are limited to this many in every executor, so a run's
        numbers do not depend on where it ran).
    gpus
        GPUs the run can use (0: never). A run asks for them only when its device allows a GPU and the cluster
        has one.
    """

    cpus: int = 1
    gpus: float = 0.0

    def __post_init__(self) -> None:
        if not (isinstance(self.cpus, int) and self.cpus >= 1) or self.gpus < 0:
            raise ValueError(f"resources need cpus >= 1 and gpus >= 0, got {self.cpus}, {self.gpus}")


@dataclass(frozen=True)
class NoConfig:
    """The config of a model without settings."""


class Model(ABC):
    """Base class of all models.

    Subclasses define ``name``, a dataclass ``Config`` (default: no settings), optionally ``capabilities``,
    ``resources`` (what one run needs) and per-family presets (:meth:`preset`); they implement :meth:`fit` and
    :meth:`predict` (docs/byom.md).

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
    Config: ClassVar[type] = NoConfig
    capabilities: ClassVar[Capabilities] = Capabilities()
    resources: ClassVar[Resources] = Resources()

    def __init__(self, config: Any, seed: int = 0, workdir: Path | None = None, device: str = "cpu") -> None:
        self.config = config
        self.seed = seed
        self.workdir = workdir
        self.device = device
        #: Diagnostics of the last fit (iterations, final loss, chosen penalties ...), copied into the record.
        self.fit_info: dict[str, Any] = {}

    @classmethod
    def preset(cls, family: str, bin_ms: float | None = None) -> Any | None:
        """The model's preset config for a dataset family (``"mc_maze_small"``, ``"lorenz"``) at ``bin_ms``
        (None: the family's native bin width), or None when the model has no preset for it."""
        return None

    @classmethod
    def default_config(cls, family: str, bin_ms: float | None = None) -> Any:
        """The preset of ``family``, else the generic defaults (``Config()``)."""
        preset = cls.preset(family, bin_ms)
        return preset if preset is not None else cls.Config()

    @classmethod
    def make_config(cls, family: str, overrides: dict[str, Any] | None = None, bin_ms: float | None = None) -> Any:
        """Default config for the dataset family with ``overrides`` applied and checked (its ``validate()``, if
        any); unknown keys and bad values raise ConfigError before any data is loaded."""
        from nbench.config import apply_overrides

        config = apply_overrides(cls.default_config(family, bin_ms), overrides or {}, cls.name)
        if callable(getattr(config, "validate", None)):
            config.validate()
        return config

    @abstractmethod
    def fit(self, inputs: TaskInputs) -> None:
        """Fit on the training part of ``inputs`` (eval held-in spikes may be used as inputs)."""

    def fit_sessions(self, inputs: Sequence[TaskInputs]) -> None:
        """Fit one model on the views of several sessions (models that consume ``"sessions"``)."""
        raise NotImplementedError(f"model {self.name!r} does not train across sessions")

    @abstractmethod
    def predict(self, inputs: TaskInputs) -> Submission:
        """Predict rates (and/or behaviour) for train and eval trials of ``inputs``."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} seed={self.seed} config={self.config!r}>"


#: Field metadata of a config field added after runs were committed: it is written to the config dict (and so
#: to the config hash and run key) only when set away from its default, so earlier run keys still name the
#: same computation.
OMIT_AT_DEFAULT = {"omit_at_default": True}


def config_to_dict(config: Any) -> dict[str, Any]:
    """A plain-JSON dict of a dataclass config, without :data:`OMIT_AT_DEFAULT` fields at their default."""
    if not dataclasses.is_dataclass(config):
        return dict(config)
    out = dataclasses.asdict(config)
    for f in dataclasses.fields(config):
        if f.metadata.get("omit_at_default") and out[f.name] == f.default:
            del out[f.name]
    return out


def uses_fallback(model_cls: type[Model], family: str) -> bool:
    """True when the model has presets for some families but none for ``family`` (generic defaults are used)."""
    has_presets = model_cls.preset.__func__ is not Model.preset.__func__  # type: ignore[attr-defined]
    return has_presets and model_cls.preset(family) is None


def preset_key(model_cls: type[Model], keys: Sequence[str], bin_ms: float | None = None) -> str:
    """The first of ``keys`` (a task's :attr:`~nbench.tasks.info.TaskInfo.preset_keys`) the model has a preset
    for, else the last one (the dataset family, whose generic defaults apply)."""
    return next((key for key in keys if model_cls.preset(key, bin_ms) is not None), keys[-1])
