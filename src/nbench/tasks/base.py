"""Task interface: what a model sees (``TaskInputs``) and what only the scorer sees (``Targets``).

A task is a dataset at one bin size; a *phase* picks the trial splits the way NLB does
(``val``: fit on ``train``, evaluate on ``val``; ``test``: fit on ``train`` + ``val``, evaluate on ``test``).
Array names follow the NLB'21 tensor and target-file names so that NLB files map onto these one to one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PHASE_SPLITS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "val": (("train",), ("val",)),
    "test": (("train", "val"), ("test",)),
}


@dataclass(frozen=True, eq=False)
class TaskInputs:
    """Everything a model may use. Arrays are float64 or float32 counts, trials x bins x neurons.

    Attributes
    ----------
    task, dataset, phase
        Names of the task, its dataset and the phase.
    group
        Submission group name (``"mc_maze"``, ``"mc_maze_20"``, ``"lorenz"``).
    bin_ms
        Bin width in ms; rates are predicted in expected counts per bin.
    train_spikes_heldin, train_spikes_heldout
        Training trials, held-in and held-out neurons.
    eval_spikes_heldin
        Evaluation trials, held-in neurons only (held-out neurons of eval trials are targets).
    train_spikes_heldin_forward, train_spikes_heldout_forward
        Training trials' forward window (``forward_bins`` bins after the trial window), or None.
    train_behavior
        Training behavior (trials x bins x k, lag applied) or per-trial (trials x k), or None.
    train_conditions
        Condition label per training trial, or None.
    heldin_ids, heldout_ids
        Neuron identifiers in column order.
    regions_heldin, regions_heldout
        Brain-region label per neuron, or None.
    dataset_info
        Provenance of the data (source, version, sha256) for records.
    """

    task: str
    dataset: str
    phase: str
    group: str
    bin_ms: float
    train_spikes_heldin: np.ndarray
    train_spikes_heldout: np.ndarray
    eval_spikes_heldin: np.ndarray
    train_spikes_heldin_forward: np.ndarray | None = None
    train_spikes_heldout_forward: np.ndarray | None = None
    train_behavior: np.ndarray | None = None
    train_conditions: np.ndarray | None = None
    heldin_ids: np.ndarray | None = None
    heldout_ids: np.ndarray | None = None
    regions_heldin: np.ndarray | None = None
    regions_heldout: np.ndarray | None = None
    dataset_info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        return int(self.train_spikes_heldin.shape[0])

    @property
    def n_eval(self) -> int:
        return int(self.eval_spikes_heldin.shape[0])

    @property
    def n_bins(self) -> int:
        return int(self.train_spikes_heldin.shape[1])

    @property
    def n_heldin(self) -> int:
        return int(self.train_spikes_heldin.shape[2])

    @property
    def n_heldout(self) -> int:
        return int(self.train_spikes_heldout.shape[2])

    @property
    def forward_bins(self) -> int:
        fwd = self.train_spikes_heldin_forward
        return 0 if fwd is None else int(fwd.shape[1])


@dataclass(frozen=True, eq=False)
class Targets:
    """Hidden evaluation data of one submission group; the NLB target-file keys plus nbench extensions.

    The metrics that get computed follow from which fields are present, exactly as in
    ``nlb_tools.evaluation.evaluate``: ``eval_spikes_heldout`` gives co-bps; per-bin behavior gives vel R2,
    per-trial behavior (DMFC) gives tp corr; ``psth`` gives psth R2; forward spikes give fp-bps; true rates
    (nbench extension) give rate R2.

    Attributes
    ----------
    group
        Submission group name this target belongs to.
    eval_spikes_heldout
        True held-out counts of eval trials (NaN outside the scored window, e.g. DMFC).
    train_behavior, eval_behavior
        Behavior for the decoding metrics (per bin, lagged) or per-trial (DMFC: is_eye, theta, is_short, ts, tp).
    eval_spikes_heldin_forward, eval_spikes_heldout_forward
        True forward-window counts of eval trials.
    train_decode_mask, eval_decode_mask
        trials x masks booleans (Area2_Bump: active / passive); None means one all-True mask.
    psth, eval_cond_idx, eval_jitter
        True PSTHs (conditions x bins x all neurons), eval-trial indices per condition, per-trial jitter in bins.
    eval_true_rates_heldin, eval_true_rates_heldout
        Ground-truth rates (expected counts per bin) of eval trials (synthetic data only).
    reference
        Reference metric values that give scores context (e.g. the condition-average rate R2), computed by the
        task from the data; reported beside a submission's metrics, never from it.
    """

    group: str
    eval_spikes_heldout: np.ndarray
    train_behavior: np.ndarray | None = None
    eval_behavior: np.ndarray | None = None
    eval_spikes_heldin_forward: np.ndarray | None = None
    eval_spikes_heldout_forward: np.ndarray | None = None
    train_decode_mask: np.ndarray | None = None
    eval_decode_mask: np.ndarray | None = None
    psth: np.ndarray | None = None
    eval_cond_idx: list[np.ndarray] | None = None
    eval_jitter: np.ndarray | None = None
    eval_true_rates_heldin: np.ndarray | None = None
    eval_true_rates_heldout: np.ndarray | None = None
    reference: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskInfo:
    """Static metadata of a task: the single source of truth for its name, version and metrics.

    Attributes
    ----------
    name
        Registry name, e.g. ``"lorenz"`` or ``"mc_maze_small_20"``.
    dataset
        Dataset name the task is built on.
    bin_ms
        Bin width in ms.
    version
        Task version; bumped whenever inputs or targets change, so records stay comparable.
    description
        One-line description.
    phases
        Phases the task supports; the first is the default.
    main_metric
        The headline metric, e.g. ``"co-bps"``.
    """

    name: str
    dataset: str
    bin_ms: float
    version: str
    description: str
    phases: tuple[str, ...] = ("val", "test")
    main_metric: str = "co-bps"

    @property
    def default_phase(self) -> str:
        return self.phases[0]


class Task(ABC):
    """A benchmark task: builds model inputs and hidden targets for a phase.

    Subclasses set ``self.info`` (a :class:`TaskInfo`) in ``__init__``.
    """

    info: TaskInfo

    @abstractmethod
    def prepare(self, phase: str | None = None) -> tuple[TaskInputs, Targets]:
        """Return model inputs and hidden targets for ``phase`` (default: the task's default phase)."""

    def resolve_phase(self, phase: str | None) -> str:
        """Return ``phase`` or the default, raising a one-line error for an unsupported phase."""
        from nbench.errors import ValidationError

        phase = phase or self.info.default_phase
        if phase not in self.info.phases:
            raise ValidationError(
                f"task {self.info.name!r}: phase {phase!r} is not supported (expected one of "
                f"{', '.join(self.info.phases)})")
        return phase
